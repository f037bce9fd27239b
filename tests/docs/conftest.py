from tests.support.fixtures import demo_target  # noqa: F401
