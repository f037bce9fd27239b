"""Loading scripts: every way a script can be broken names the file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from horde.cli.loader import load_scripts
from horde.errors import ScriptError, UsageError

GOOD = """
from horde import HttpUser, User, events, task

class Base(HttpUser):
    abstract = True

class Shopper(HttpUser):
    @task
    def browse(self):
        self.client.get("/")

class Other(User):
    @task
    def nothing(self):
        pass

@events.test_start.add_listener
def started(environment, **kwargs):
    pass
"""


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_finds_concrete_user_classes_and_listeners(tmp_path: Path) -> None:
    loaded = load_scripts(write(tmp_path, "hordefile.py", GOOD))
    assert [c.__name__ for c in loaded.user_classes] == ["Shopper", "Other"]
    assert [(name, fn.__name__) for name, fn in loaded.listeners] == [("test_start", "started")]


def test_choose_classes_by_name(tmp_path: Path) -> None:
    loaded = load_scripts(write(tmp_path, "hordefile.py", GOOD), ["Other"])
    assert [c.__name__ for c in loaded.user_classes] == ["Other"]


def test_unknown_class_name(tmp_path: Path) -> None:
    # The command line's mistake: a UsageError, not ScriptError ("broken test script").
    with pytest.raises(UsageError, match="unknown user class Nope; the script defines Other, "
                                          "Shopper"):
        load_scripts(write(tmp_path, "hordefile.py", GOOD), ["Nope"])


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "x = 1\ndef f(:\n    pass\n")
    with pytest.raises(ScriptError) as info:
        load_scripts(path)
    assert f"{path}:2" in str(info.value) and "syntax error" in str(info.value)


def test_import_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "imports.py", "import os\nimport no_such_module_here\n")
    with pytest.raises(ScriptError) as info:
        load_scripts(path)
    message = str(info.value)
    assert f"{path}:2" in message and "no_such_module_here" in message


def test_exception_at_import_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "raises.py", "a = 1\n\nb = 1 / 0\n")
    with pytest.raises(ScriptError) as info:
        load_scripts(path)
    assert f"{path}:3" in str(info.value) and "ZeroDivisionError" in str(info.value)


def test_no_user_class(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.py", "from horde import HttpUser\n")
    with pytest.raises(ScriptError, match="no User class found"):
        load_scripts(path)


def test_missing_file_and_wrong_suffix(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_scripts(tmp_path / "nope.py")
    with pytest.raises(UsageError, match="must be a .py file"):
        load_scripts(write(tmp_path, "script.txt", "x"))


def test_directory_loads_every_script_and_skips_private(tmp_path: Path) -> None:
    write(tmp_path, "a.py", GOOD)
    write(tmp_path, "b.py", "from horde import User, task\n"
                            "class Third(User):\n    @task\n    def t(self): pass\n")
    write(tmp_path, "_helpers.py", "raise RuntimeError('must not be imported')\n")
    loaded = load_scripts(tmp_path)
    assert [c.__name__ for c in loaded.user_classes] == ["Shopper", "Other", "Third"]
    assert loaded.root == tmp_path
    assert [p.name for p in loaded.files] == ["a.py", "b.py"]


def test_script_can_import_its_own_helper_module(tmp_path: Path) -> None:
    write(tmp_path, "_paths.py", "HOME = '/'\n")
    path = write(tmp_path, "main.py", "from _paths import HOME\nfrom horde import User, task\n"
                                      "class U(User):\n    @task\n    def t(self): pass\n")
    assert [c.__name__ for c in load_scripts(path).user_classes] == ["U"]


def test_script_with_future_annotations_and_a_dataclass(tmp_path: Path) -> None:
    """dataclasses look the module up in sys.modules while the class is built."""
    path = write(tmp_path, "dc.py", """
        from __future__ import annotations
        from dataclasses import dataclass
        from horde import User, task

        @dataclass
        class Item:
            id: int

        class U(User):
            @task
            def t(self) -> None:
                Item(1)
    """)
    assert [c.__name__ for c in load_scripts(path).user_classes] == ["U"]


def test_bad_wait_time_arguments_name_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "waits.py", """
        from horde import HttpUser, between, task

        class U(HttpUser):
            wait_time = between(5, 1)

            @task
            def t(self):
                pass
        """)
    with pytest.raises(ScriptError) as info:
        load_scripts(path)
    assert str(info.value) == (f"{path}:5: between(5, 1): the maximum is below the minimum "
                               "(write between(1, 5))")


def test_horde_checks_of_a_class_body_are_not_wrapped(tmp_path: Path) -> None:
    path = write(tmp_path, "weights.py", """
        from horde import HttpUser, task

        class U(HttpUser):
            weight = -1

            @task
            def t(self):
                pass
        """)
    with pytest.raises(ScriptError) as info:
        load_scripts(path)
    assert str(info.value) == f"{path}:4: U.weight must be a number >= 0, not -1"


SHAPES = GOOD + """
from horde import LoadTestShape

class Base(LoadTestShape):
    abstract = True

class Steps(Base):
    def tick(self):
        return None
"""


def test_finds_the_one_load_shape_and_refuses_two(tmp_path: Path) -> None:
    loaded = load_scripts(write(tmp_path, "hordefile.py", SHAPES))
    assert loaded.shape is not None and loaded.shape.__name__ == "Steps"
    assert load_scripts(write(tmp_path, "plain.py", GOOD)).shape is None
    two = SHAPES + "\nclass Waves(LoadTestShape):\n    def tick(self):\n        return None\n"
    with pytest.raises(ScriptError, match="more than one LoadTestShape.*Steps, Waves"):
        load_scripts(write(tmp_path, "hordefile.py", two))
