"""Tag filtering (-T / -E) with Locust's semantics, TaskSet tags included."""

from __future__ import annotations

import pytest
from user_fakes import FakeEnv, run_user

from horde.errors import ScriptError
from horde.user import TaskSet, User, has_tasks, tag, task
from horde.user.table import task_table


def wheres(
    user_cls: type, tags: set[str] | None = None, exclude: set[str] | None = None
) -> list[str]:
    table = task_table(
        user_cls,
        frozenset(tags) if tags is not None else None,
        frozenset(exclude) if exclude is not None else None,
    )
    return [e.where for e in table.entries]


class Shop(User):
    @tag("browse")
    @task
    def home(self) -> None: ...

    @tag("browse", "slow")
    @task
    def search(self) -> None: ...

    @tag("buy")
    @task
    def checkout(self) -> None: ...

    @task
    def untagged(self) -> None: ...


def test_decorators_stack_into_one_tag_set() -> None:
    assert Shop.search.horde_tags == frozenset({"browse", "slow"})  # type: ignore[attr-defined]


def test_no_filter_keeps_everything() -> None:
    assert wheres(Shop) == ["Shop.home", "Shop.search", "Shop.checkout", "Shop.untagged"]


def test_tags_keep_only_matching_tasks() -> None:
    assert wheres(Shop, {"browse"}) == ["Shop.home", "Shop.search"]
    assert wheres(Shop, {"buy", "slow"}) == ["Shop.search", "Shop.checkout"]


def test_exclude_tags_remove_matching_tasks_and_keep_untagged() -> None:
    assert wheres(Shop, exclude={"slow"}) == ["Shop.home", "Shop.checkout", "Shop.untagged"]


def test_tags_and_exclude_together() -> None:
    assert wheres(Shop, {"browse"}, {"slow"}) == ["Shop.home"]


def test_taskset_tags_apply_to_its_tasks() -> None:
    @tag("admin")
    class Admin(TaskSet):
        @task
        def users(self) -> None: ...

        @tag("danger")
        @task
        def wipe(self) -> None: ...

    class U(User):
        tasks = [Admin]

        @task
        def public(self) -> None: ...

    assert wheres(U, {"admin"}) == ["U.Admin"]
    assert [e.where for e in task_table(Admin, frozenset({"admin"}), None).entries] == [
        "Admin.users",
        "Admin.wipe",
    ]
    # The tags a nested TaskSet's tasks inherit reach its table.
    inner = task_table(U, frozenset({"admin"})).entries[0]
    assert inner.tags == frozenset()  # what U passes down; Admin adds its own
    assert wheres(U, exclude={"admin"}) == ["U.public"]
    # Only `wipe` is tagged danger: the TaskSet stays, without it.
    assert wheres(U, exclude={"danger"}) == ["U.Admin", "U.public"]
    danger_free = task_table(Admin, None, frozenset({"danger"}))
    assert [e.where for e in danger_free.entries] == ["Admin.users"]


def test_a_taskset_with_no_matching_task_is_dropped() -> None:
    class Inner(TaskSet):
        @tag("x")
        @task
        def x(self) -> None: ...

    class U(User):
        tasks = [Inner]

        @tag("y")
        @task
        def y(self) -> None: ...

    assert wheres(U, {"y"}) == ["U.y"]
    assert wheres(U, {"x"}) == ["U.Inner"]


def test_filtered_nested_taskset_runs_only_matching_tasks() -> None:
    seen: list[str] = []

    class Inner(TaskSet):
        @tag("keep")
        @task
        def kept(self) -> None:
            seen.append("kept")

        @task
        def dropped(self) -> None:
            seen.append("dropped")

    class U(User):
        tasks = [Inner]

    run_user(U(FakeEnv(stop_after=20, tags=frozenset({"keep"}))))
    assert seen and set(seen) == {"kept"}


def test_has_tasks_and_a_user_without_matching_tasks() -> None:
    assert has_tasks(Shop)
    assert has_tasks(Shop, frozenset({"buy"}))
    assert not has_tasks(Shop, frozenset({"nope"}))
    with pytest.raises(ScriptError, match="no tasks matching the tags"):
        Shop(FakeEnv(tags=frozenset({"nope"})))


def test_user_without_tasks_is_refused() -> None:
    class Empty(User):
        pass

    assert not has_tasks(Empty)
    with pytest.raises(ScriptError, match="Empty has no tasks"):
        Empty(FakeEnv())


def test_a_taskset_that_contains_itself_does_not_recurse_forever() -> None:
    class Loop(TaskSet):
        @task
        def leave(self) -> None:
            self.interrupt()

    Loop.tasks = [Loop]

    class U(User):
        tasks = [Loop]

    assert wheres(U) == ["U.Loop"]
    assert [e.where for e in task_table(Loop).entries] == ["Loop.Loop", "Loop.leave"]


def test_tags_on_a_user_class_apply_to_all_its_tasks() -> None:
    @tag("api")
    class Api(User):
        @task
        def get(self) -> None: ...

    class Web(User):
        @task
        def page(self) -> None: ...

    assert has_tasks(Api, frozenset({"api"}))
    assert not has_tasks(Web, frozenset({"api"}))
    assert not has_tasks(Api, None, frozenset({"api"}))


def test_tags_of_outer_tasksets_reach_inner_ones() -> None:
    class Inner(TaskSet):
        @task
        def deep(self) -> None: ...

    @tag("outer")
    class Outer(TaskSet):
        tasks = [Inner]

    class U(User):
        tasks = [Outer]

    assert wheres(U, {"outer"}) == ["U.Outer"]
    assert wheres(U, exclude={"outer"}) == []
    assert not has_tasks(Inner, frozenset({"outer"}))  # on its own Inner has no tag
