from tests.support.fixtures import plain_target  # noqa: F401
