"""``vkyc.repositories.conflicts.retry_on_conflict``: read, plan, commit; on a lost race read and plan
again, within a bound, then what the caller says. Against an in-memory item whose commit is
conditioned on the version it was planned from, as ``transitions.commit`` is; no AWS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NoReturn

import pytest

from vkyc.domain.machine import IllegalTransition
from vkyc.repositories import transitions
from vkyc.repositories.conflicts import LOST_OR_STALE, Commit, Settled, retry_on_conflict
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.tables import Agent, Call
from vkyc.repositories.transitions import Guard


@dataclass(frozen=True)
class Item:
    state: str
    version: int


@dataclass
class Store:
    """One item; ``rival`` runs between a plan and its commit (another writer getting there first)."""

    item: Item | None = field(default_factory=lambda: Item("open", 1))
    rival: Callable[[Store], None] | None = None
    reads: int = 0
    commits: list[Item] = field(default_factory=list)  # each commit tried, as planned

    def read(self) -> Item | None:
        self.reads += 1
        return self.item

    def commit(self, planned: Item, target: str) -> Item:
        self.commits.append(planned)
        if self.rival is not None:
            self.rival(self)
        if self.item != planned:
            actual = self.item
            raise TransitionConflict(
                "item",
                "i-1",
                planned.state,
                planned.version,
                actual.state if actual else None,
                actual.version if actual else None,
            )
        self.item = Item(target, planned.version + 1)
        return self.item


def moves(times: int) -> Callable[[Store], None]:
    """A rival that moves the item on, at the next ``times`` commits."""
    left = [times]

    def rival(store: Store) -> None:
        if left[0] > 0 and store.item is not None:
            left[0] -= 1
            store.item = Item(store.item.state, store.item.version + 1)

    return rival


def closing(store: Store) -> Callable[[Item | None], Commit[Item] | Settled[str]]:
    """The plan of most tests: close an open item; a closed or vanished one needs nothing."""

    def plan(item: Item | None) -> Commit[Item] | Settled[str]:
        if item is None:
            return Settled("gone")
        if item.state == "closed":
            return Settled("already closed")
        return Commit(lambda: store.commit(item, "closed"))

    return plan


def test_a_lost_race_reads_again_and_the_next_plan_commits() -> None:
    store = Store(rival=moves(1))

    result = retry_on_conflict(store.read, closing(store), attempts=3)

    assert result == Item("closed", 3)
    assert store.item == Item("closed", 3)
    assert store.reads == 2
    assert store.commits == [Item("open", 1), Item("open", 2)]  # the second planned on the new version


def test_a_race_lost_at_every_attempt_raises_the_last_conflict_by_default() -> None:
    store = Store(rival=moves(10))

    with pytest.raises(TransitionConflict) as lost:
        retry_on_conflict(store.read, closing(store), attempts=3)

    assert (lost.value.expected_version, lost.value.actual_version) == (3, 4)  # the last one
    assert len(store.commits) == 3
    assert store.reads == 3, "no read after the last attempt"
    assert store.item == Item("open", 4)


def test_a_race_lost_at_every_attempt_gives_what_the_caller_says() -> None:
    store = Store(rival=moves(10))
    seen: list[Exception] = []

    def lost(conflict: Exception) -> Item | str:
        seen.append(conflict)
        return "lost the race"

    result = retry_on_conflict(store.read, closing(store), attempts=2, lost=lost)

    assert result == "lost the race"
    assert len(seen) == 1 and isinstance(seen[0], TransitionConflict)
    assert len(store.commits) == 2


def test_the_callers_error_for_a_lost_race_is_raised_unchained() -> None:
    store = Store(rival=moves(10))

    def refuse(_: Exception) -> NoReturn:
        raise LookupError("kept changing; try again")

    with pytest.raises(LookupError) as refused:
        retry_on_conflict(store.read, closing(store), attempts=2, lost=refuse)

    # Raised where the caller's own loop would have raised it: after the loop, not while handling.
    assert refused.value.__context__ is None and refused.value.__cause__ is None


def test_an_item_that_vanished_meanwhile_is_the_plans_to_decide() -> None:
    def deletes(store: Store) -> None:
        store.item = None

    store = Store(rival=deletes)

    result = retry_on_conflict(store.read, closing(store), attempts=3)

    assert result == "gone"
    assert store.reads == 2 and len(store.commits) == 1


def test_a_plan_with_nothing_to_do_writes_nothing() -> None:
    store = Store(item=Item("closed", 7))

    result = retry_on_conflict(store.read, closing(store), attempts=3)

    assert result == "already closed"
    assert store.commits == [] and store.reads == 1


def test_a_winner_that_did_the_work_leaves_nothing_to_do() -> None:
    def closes_first(store: Store) -> None:
        if store.item is not None and store.item.state == "open":
            store.item = Item("closed", store.item.version + 1)

    store = Store(rival=closes_first)

    assert retry_on_conflict(store.read, closing(store), attempts=3) == "already closed"
    assert len(store.commits) == 1


def test_the_item_as_the_caller_read_it_is_planned_on_without_a_read() -> None:
    store = Store(rival=moves(1))
    as_read: Item | None = Item("open", 1)

    result = retry_on_conflict(store.read, closing(store), attempts=3, first=as_read)

    assert result == Item("closed", 3)
    assert store.reads == 1, "read only after the conflict"


def test_an_error_of_planning_is_never_taken_for_a_lost_race() -> None:
    store = Store()

    class State(Enum):
        OPEN = "open"

    def plan(item: Item | None) -> Commit[Item] | Settled[str]:
        raise IllegalTransition("item", State.OPEN, State.OPEN)

    with pytest.raises(IllegalTransition):
        retry_on_conflict(store.read, plan, attempts=3, conflicts=LOST_OR_STALE)
    assert store.reads == 1


def test_a_write_that_plans_as_it_commits_retries_a_stale_refusal_only_when_asked() -> None:
    class State(Enum):
        OPEN = "open"

    def stale_once(store: Store) -> Callable[[Item | None], Commit[str] | Settled[str]]:
        refused: list[bool] = []

        def plan(item: Item | None) -> Commit[str] | Settled[str]:
            def write() -> str:
                if not refused:
                    refused.append(True)
                    raise IllegalTransition("item", State.OPEN, State.OPEN)
                return "ended"

            return Commit(write)

        return plan

    store = Store()
    assert retry_on_conflict(store.read, stale_once(store), attempts=2, conflicts=LOST_OR_STALE) == "ended"
    assert store.reads == 2
    with pytest.raises(IllegalTransition):
        retry_on_conflict(store.read, stale_once(store), attempts=2)


def test_at_least_one_attempt_is_needed() -> None:
    store = Store()
    with pytest.raises(ValueError):
        retry_on_conflict(store.read, closing(store), attempts=0)
    assert store.reads == 0


def test_commit_of_writes_the_ops_in_one_transaction_and_gives_the_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    conflicts = [TransitionConflict("item", "i-1", "open", 1)]

    def commit(*ops: Any, **options: Any) -> None:
        calls.append((ops, options))
        if conflicts:
            raise conflicts.pop()

    monkeypatch.setattr(transitions, "commit", commit)
    reads: list[int] = []

    def read() -> int:
        reads.append(len(reads))
        return len(reads)

    ops = (Guard(Call("c-1"), "W", 1), Guard(Agent("a-1"), "AVAILABLE", 4))

    def plan(version: int) -> Commit[str] | Settled[str]:
        return Commit.of(*ops, request_id=f"req-{version}", result=f"written at {version}")

    assert retry_on_conflict(read, plan, attempts=2) == "written at 2"
    assert calls == [(ops, {"request_id": "req-1", "at": None}), (ops, {"request_id": "req-2", "at": None})]
