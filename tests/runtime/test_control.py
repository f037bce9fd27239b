"""Both roles satisfy the Controller protocols the web UI and the command line use.

The assignments in `_both_roles_are_controllers` are checked by mypy (strict),
which this test runs on this very file; the runtime check below only catches
a missing method, mypy also catches a wrong signature.
"""

from __future__ import annotations

from pathlib import Path

from horde.runtime.control import Controller, StoppableController
from horde.runtime.local import LocalRunner
from horde.runtime.master import MasterRunner

REPO = Path(__file__).resolve().parents[2]


def _both_roles_are_controllers(local: LocalRunner, master: MasterRunner) -> None:
    views: list[Controller] = [local, master]
    commands: list[StoppableController] = [local, master]
    assert views and commands


def test_mypy_agrees_both_roles_are_controllers() -> None:
    from mypy import api

    out, err, status = api.run(["--config-file", str(REPO / "pyproject.toml"),
                                "--no-error-summary", str(Path(__file__))])
    assert status == 0, out + err


def test_every_protocol_member_exists_on_both_roles() -> None:
    members = [name for name in vars(StoppableController) | vars(Controller)
               if not name.startswith("_")]
    members += list(Controller.__annotations__)
    for cls in (LocalRunner, MasterRunner):
        missing = [m for m in members if not hasattr(cls, m)
                   and m not in ("state", "target_users", "spawn_rate", "trace")]
        assert not missing, (cls.__name__, missing)
