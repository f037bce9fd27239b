"""Helpers shared by horde's integration tests (not shipped with the package).

* `tests.support.target` -- a counting target server in its own process
  (`start_target`, `Target`, `Counts`);
* `tests.support.fixtures` -- pytest fixtures built on it (`plain_target`,
  `demo_target`); import them into a conftest.py to use them.
"""
