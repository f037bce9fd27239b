"""Fixtures for the web UI tests: real target processes from tests/support."""

from tests.support.fixtures import demo_target, plain_target

__all__ = ["demo_target", "plain_target"]
