from tests.support.fixtures import demo_target, plain_target  # noqa: F401
