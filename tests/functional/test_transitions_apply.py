"""Persisting transitions on moto: one conditional transaction per change set, with its log entries.

Request counts are part of the contract: a transition is one TransactWriteItems, a conflict costs nothing
more (the cancellation reasons carry the stored item), an illegal move costs nothing at all.
"""

from __future__ import annotations

import threading
import uuid
from enum import StrEnum

import pytest
from pynamodb.exceptions import CancellationReason

from vkyc.domain.call import CALL, CallEvent
from vkyc.domain.dossier import DOSSIER, DossierEvent, DossierState
from vkyc.domain.machine import IllegalTransition, StateMachine
from vkyc.repositories import transitions
from vkyc.repositories.admin_store import AuditRecord
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import AlreadyExists, RepositoryError, TransitionConflict
from vkyc.repositories.stateful import StatefulRepository
from vkyc.repositories.tables import AdminAudit, Agent, AgentLog, Call, Dossier, DossierLog


class Desk(StrEnum):
    """A stand-in for the agent machine (owned elsewhere): enough to change an agent item."""

    OFFLINE = "OFFLINE"
    AVAILABLE = "AVAILABLE"
    BUSY = "BUSY"


class DeskEvent(StrEnum):
    LOGIN = "login"
    TAKE = "take"
    RELEASE = "release"


DESK = StateMachine[Desk, DeskEvent](
    name="desk",
    initial=Desk.OFFLINE,
    table={
        (Desk.OFFLINE, DeskEvent.LOGIN): Desk.AVAILABLE,
        (Desk.AVAILABLE, DeskEvent.TAKE): Desk.BUSY,
        (Desk.BUSY, DeskEvent.RELEASE): Desk.AVAILABLE,
    },
)

dossiers = DossierRepository()
agents = StatefulRepository(Agent)


def rid() -> str:
    return uuid.uuid4().hex


def new_dossier(state: DossierState = DossierState.NEW) -> Dossier:
    dossier = dossiers.create(f"d-{rid()}", unit_id="1", request_id=rid(), actor="dealer:7")
    if state is DossierState.WAITING:
        dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=rid(), actor="dealer:7")
    return dossier


def new_agent() -> Agent:
    return agents.create(Agent(f"a-{rid()}", unit_id="1", name="Lan"), DESK, request_id=rid(), actor="admin")


def log_versions(dossier_id: str) -> list[int]:
    return [entry.version for entry in DossierLog.query(dossier_id, consistent_read=True)]


def test_a_creation_writes_the_item_at_version_1_and_its_log_entry(tables, dynamodb_calls):
    request_id = rid()
    dossier = dossiers.create(
        "d-" + rid(), unit_id="6", request_id=request_id, actor="dealer:7", reason="new"
    )
    assert dynamodb_calls == ["TransactWriteItems"]
    stored = dossiers.get(dossier.dossier_id)
    assert (stored.state, stored.version, stored.last_request_id) == ("N", 1, request_id)
    assert stored.created_at == stored.updated_at == dossier.created_at
    [entry] = dossiers.history(dossier.dossier_id)
    assert (entry.version, entry.from_state, entry.to_state, entry.event) == (1, None, "N", "create")
    assert (entry.actor, entry.reason, entry.request_id) == ("dealer:7", "new", request_id)


def test_a_transition_writes_the_item_and_exactly_one_log_entry(tables, dynamodb_calls):
    dossier = new_dossier()
    dynamodb_calls.clear()
    request_id = rid()
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7", reason="ready")
    assert dynamodb_calls == ["TransactWriteItems"]
    assert (dossier.state, dossier.version, dossier.last_request_id) == ("W", 2, request_id)
    stored = dossiers.get(dossier.dossier_id)
    assert (stored.state, stored.version, stored.last_request_id) == ("W", 2, request_id)
    assert stored.updated_at == dossier.updated_at
    entries = dossiers.history(dossier.dossier_id)
    assert [e.version for e in entries] == [1, 2]
    entry = entries[1]
    assert (entry.from_state, entry.to_state, entry.event) == ("N", "W", "submit")
    assert (entry.actor, entry.reason, entry.request_id, entry.at) == (
        "dealer:7",
        "ready",
        request_id,
        stored.updated_at,
    )


def test_extra_attributes_are_set_and_removed_with_the_transition(tables):
    dossier = new_dossier(DossierState.WAITING)
    dossiers.transition(
        dossier, DossierEvent.APPROVE, request_id=rid(), actor="agent:a1", decided_by="a1", snapshot_key="s/1"
    )
    stored = dossiers.get(dossier.dossier_id)
    assert (stored.state, stored.decided_by, stored.snapshot_key) == ("A", "a1", "s/1")

    agent = new_agent()
    agents.transition(agent, DESK, DeskEvent.LOGIN, request_id=rid(), actor="a", attrs={"call_id": "c1"})
    assert agents.get(agent.agent_id).call_id == "c1"
    agents.transition(agent, DESK, DeskEvent.TAKE, request_id=rid(), actor="a", attrs={"call_id": None})
    assert agents.get(agent.agent_id).call_id is None
    assert agent.call_id is None


def test_an_illegal_transition_raises_and_writes_nothing(tables, dynamodb_calls):
    dossier = new_dossier()
    dynamodb_calls.clear()
    with pytest.raises(IllegalTransition) as raised:
        dossiers.transition(dossier, DossierEvent.APPROVE, request_id=rid(), actor="agent:a1")
    assert raised.value.code == "ILLEGAL_TRANSITION"
    assert dynamodb_calls == []
    stored = dossiers.get(dossier.dossier_id)
    assert (stored.state, stored.version) == ("N", 1)
    assert log_versions(dossier.dossier_id) == [1]


def test_a_stale_version_raises_conflict_and_changes_nothing(tables, dynamodb_calls):
    dossier = new_dossier()
    stale = dossiers.get(dossier.dossier_id)
    winner = rid()
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=winner, actor="dealer:7")
    dynamodb_calls.clear()
    with pytest.raises(TransitionConflict) as raised:
        dossiers.transition(stale, DossierEvent.SUBMIT, request_id=rid(), actor="dealer:8")
    error = raised.value
    assert error.code == "STATE_CONFLICT"
    assert isinstance(error, RepositoryError)
    assert (error.kind, error.entity_id, error.expected_state, error.expected_version) == (
        "dossier",
        dossier.dossier_id,
        "N",
        1,
    )
    assert (error.actual_state, error.actual_version) == ("W", 2)
    assert dossier.dossier_id in str(error) and "'N'" in str(error)
    assert dynamodb_calls == ["TransactWriteItems"], "a conflict must not cost a GetItem"
    assert (stale.state, stale.version) == ("N", 1), "the loser's object is left as read"
    stored = dossiers.get(dossier.dossier_id)
    assert (stored.state, stored.version, stored.last_request_id) == ("W", 2, winner)
    assert log_versions(dossier.dossier_id) == [1, 2]


def test_a_stale_state_at_the_same_version_raises_conflict(tables):
    dossier = new_dossier()
    forged = dossiers.get(dossier.dossier_id)
    forged.state = "W"  # same version, wrong state: the condition checks both
    with pytest.raises(TransitionConflict) as raised:
        dossiers.transition(forged, DossierEvent.APPROVE, request_id=rid(), actor="agent:a1")
    assert (raised.value.expected_state, raised.value.actual_state) == ("W", "N")
    assert dossiers.get(dossier.dossier_id).state == "N"
    assert log_versions(dossier.dossier_id) == [1]


def test_a_conflict_on_a_missing_item_names_it(tables):
    ghost = Dossier("d-ghost-" + rid(), unit_id="1", state="W", version=2)
    with pytest.raises(TransitionConflict) as raised:
        dossiers.transition(ghost, DossierEvent.APPROVE, request_id=rid(), actor="agent:a1")
    assert raised.value.entity_id == ghost.dossier_id
    assert raised.value.actual_state is None
    assert dossiers.find(ghost.dossier_id) is None
    assert dossiers.history(ghost.dossier_id) == []


@pytest.mark.parametrize("round_", range(20))
def test_two_concurrent_decisions_from_the_same_state_exactly_one_wins(tables, round_):
    dossier_id = new_dossier(DossierState.WAITING).dossier_id
    copies = {event: dossiers.get(dossier_id) for event in (DossierEvent.APPROVE, DossierEvent.REJECT)}
    barrier = threading.Barrier(len(copies))
    outcomes: dict[DossierEvent, object] = {}

    def decide(event: DossierEvent) -> None:
        barrier.wait()
        try:
            dossiers.transition(copies[event], event, request_id=rid(), actor=f"agent:{event.value}")
            outcomes[event] = "won"
        except Exception as error:
            outcomes[event] = error

    threads = [threading.Thread(target=decide, args=(event,)) for event in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    winners = [event for event, outcome in outcomes.items() if outcome == "won"]
    losers = [outcome for outcome in outcomes.values() if outcome != "won"]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], TransitionConflict), outcomes
    stored = dossiers.get(dossier_id)
    expected_state = DOSSIER.transition(DossierState.WAITING, winners[0])
    assert (stored.state, stored.version) == (expected_state.value, 3)
    entries = [e for e in DossierLog.query(dossier_id, consistent_read=True) if e.version == 3]
    assert len(entries) == 1
    assert entries[0].to_state == expected_state.value


def test_two_items_change_together(tables, dynamodb_calls):
    dossier = new_dossier(DossierState.WAITING)
    agent = new_agent()
    agents.transition(agent, DESK, DeskEvent.LOGIN, request_id=rid(), actor="a")
    dynamodb_calls.clear()
    transitions.commit(
        dossiers.plan(dossier, DossierEvent.APPROVE, actor="agent:a1", decided_by=agent.agent_id),
        agents.plan(agent, DESK, DeskEvent.TAKE, actor="agent:a1"),
        request_id=rid(),
    )
    assert dynamodb_calls == ["TransactWriteItems"]
    assert (dossiers.get(dossier.dossier_id).state, agents.get(agent.agent_id).state) == ("A", "BUSY")
    assert [e.version for e in AgentLog.query(agent.agent_id)] == [1, 2, 3]
    assert log_versions(dossier.dossier_id) == [1, 2, 3]


@pytest.mark.parametrize("stale", ["agent", "dossier"])
def test_a_two_item_transaction_is_all_or_nothing(tables, stale):
    dossier = new_dossier(DossierState.WAITING)
    agent = new_agent()
    agents.transition(agent, DESK, DeskEvent.LOGIN, request_id=rid(), actor="a")
    if stale == "agent":
        agent = agents.get(agent.agent_id)
        agents.transition(agents.get(agent.agent_id), DESK, DeskEvent.TAKE, request_id=rid(), actor="b")
    else:
        dossiers.transition(
            dossiers.get(dossier.dossier_id), DossierEvent.REJECT, request_id=rid(), actor="b"
        )
    dossier_before = dossiers.get(dossier.dossier_id)
    agent_before = agents.get(agent.agent_id)

    with pytest.raises(TransitionConflict) as raised:
        transitions.commit(
            dossiers.plan(dossier, DossierEvent.APPROVE, actor="agent:a1"),
            agents.plan(agent, DESK, DeskEvent.TAKE, actor="agent:a1"),
            request_id=rid(),
        )

    assert raised.value.kind == stale
    assert raised.value.entity_id == (agent.agent_id if stale == "agent" else dossier.dossier_id)
    dossier_after = dossiers.get(dossier.dossier_id)
    agent_after = agents.get(agent.agent_id)
    assert (dossier_after.state, dossier_after.version) == (dossier_before.state, dossier_before.version)
    assert (agent_after.state, agent_after.version) == (agent_before.state, agent_before.version)
    assert len(log_versions(dossier.dossier_id)) == dossier_before.version
    assert len(list(AgentLog.query(agent.agent_id))) == agent_before.version


def test_a_failed_guard_cancels_the_change_and_names_the_guarded_item(tables):
    dossier = new_dossier()
    guarded = new_dossier()
    seen = dossiers.get(guarded.dossier_id)
    dossiers.transition(guarded, DossierEvent.SUBMIT, request_id=rid(), actor="x")
    with pytest.raises(TransitionConflict) as raised:
        transitions.commit(
            dossiers.plan(dossier, DossierEvent.SUBMIT, actor="x"),
            StatefulRepository.guard(seen),
            request_id=rid(),
        )
    assert raised.value.entity_id == guarded.dossier_id
    assert dossiers.get(dossier.dossier_id).state == "N"


def test_retrying_the_same_request_with_the_item_as_first_read_succeeds_once(tables, dynamodb_calls):
    dossier = new_dossier()
    first_read = dossiers.get(dossier.dossier_id)
    request_id = rid()
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7")
    dynamodb_calls.clear()

    dossiers.transition(first_read, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7")

    assert dynamodb_calls == ["TransactWriteItems"], "the replay is recognised without a GetItem"
    assert (first_read.state, first_read.version) == ("W", 2)
    assert log_versions(dossier.dossier_id) == [1, 2]


def test_retrying_the_same_request_after_re_reading_the_item_writes_nothing(tables, dynamodb_calls):
    dossier = new_dossier()
    request_id = rid()
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7")
    reread = dossiers.get(dossier.dossier_id)
    dynamodb_calls.clear()
    assert dossiers.transition(reread, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7") is reread
    assert dynamodb_calls == []
    assert log_versions(dossier.dossier_id) == [1, 2]


def test_a_retry_is_recognised_after_the_item_moved_on(tables):
    dossier = new_dossier()
    first_read = dossiers.get(dossier.dossier_id)
    request_id = rid()
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7")
    dossiers.transition(dossier, DossierEvent.UNREACHABLE, request_id=rid(), actor="agent:a1")
    dossiers.transition(first_read, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7")
    assert log_versions(dossier.dossier_id) == [1, 2, 3]
    assert dossiers.get(dossier.dossier_id).state == "D"


def test_a_replay_is_checked_with_one_get_item_when_the_server_returns_no_images(
    tables, dynamodb_calls, monkeypatch
):
    monkeypatch.setattr(transitions, "ALL_OLD", None)
    dossier = new_dossier()
    first_read = dossiers.get(dossier.dossier_id)
    stale = dossiers.get(dossier.dossier_id)
    request_id = rid()
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7")
    dynamodb_calls.clear()
    dossiers.transition(first_read, DossierEvent.SUBMIT, request_id=request_id, actor="dealer:7")
    assert dynamodb_calls == ["TransactWriteItems", "GetItem"]
    with pytest.raises(TransitionConflict):
        dossiers.transition(stale, DossierEvent.SUBMIT, request_id=rid(), actor="dealer:8")
    assert log_versions(dossier.dossier_id) == [1, 2]


def test_creating_twice_is_a_replay_for_the_same_request_and_a_conflict_for_another(tables):
    dossier_id = "d-" + rid()
    request_id = rid()
    dossiers.create(dossier_id, unit_id="1", request_id=request_id, actor="dealer:7")
    again = dossiers.create(dossier_id, unit_id="1", request_id=request_id, actor="dealer:7")
    assert (again.state, again.version) == ("N", 1)
    with pytest.raises(AlreadyExists) as raised:
        dossiers.create(dossier_id, unit_id="1", request_id=rid(), actor="dealer:8")
    assert raised.value.code == "ALREADY_EXISTS"
    assert isinstance(raised.value, TransitionConflict)
    assert log_versions(dossier_id) == [1]


def test_an_in_flight_transaction_conflict_is_retried(tables, monkeypatch, dynamodb_calls):
    dossier = new_dossier()
    real_write = transitions._write
    attempts = []

    def busy_once(ops, request_id, when):
        attempts.append(1)
        if len(attempts) == 1:
            slot = transitions._Slot(0, ops[0])
            raise transitions._Cancelled([(slot, CancellationReason(code="TransactionConflict"))])
        real_write(ops, request_id, when)

    monkeypatch.setattr(transitions, "_write", busy_once)
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=rid(), actor="dealer:7")
    assert len(attempts) == 2
    assert dossiers.get(dossier.dossier_id).state == "W"


def test_one_item_twice_in_a_transaction_is_refused_before_writing(tables, dynamodb_calls):
    dossier = new_dossier()
    dynamodb_calls.clear()
    with pytest.raises(ValueError, match="twice"):
        transitions.commit(
            dossiers.plan(dossier, DossierEvent.SUBMIT, actor="x"),
            StatefulRepository.guard(dossier),
            request_id=rid(),
        )
    assert dynamodb_calls == []


@pytest.mark.parametrize("name", ["state", "version", "dossier_id", "nope"])
def test_attrs_may_not_name_managed_keys_or_unknown_attributes(tables, name):
    dossier = Dossier("d-x", unit_id="1", state="N", version=1)
    with pytest.raises(ValueError):
        transitions.plan(dossier, DOSSIER, DossierEvent.SUBMIT, actor="x", attrs={name: "v"})


def test_a_creation_can_make_its_first_moves_at_once_with_a_version_and_log_entry_each(
    tables, dynamodb_calls
):
    request_id = rid()
    dossier = Dossier(f"d-{rid()}", unit_id="1")
    transitions.commit(
        transitions.plan_create(dossier, DOSSIER, actor="dealer:7", then=[DossierEvent.SUBMIT]),
        request_id=request_id,
    )
    assert dynamodb_calls == ["TransactWriteItems"]
    stored = dossiers.get(dossier.dossier_id)
    assert (stored.state, stored.version, dossier.state, dossier.version) == ("W", 2, "W", 2)
    entries = dossiers.history(dossier.dossier_id)
    assert [(e.version, e.from_state, e.to_state, e.event) for e in entries] == [
        (1, None, "N", "create"),
        (2, "N", "W", "submit"),
    ]
    # A replay of the same request is recognised from either log entry; another request conflicts.
    transitions.commit(
        transitions.plan_create(
            Dossier(dossier.dossier_id, unit_id="1"), DOSSIER, actor="d", then=[DossierEvent.SUBMIT]
        ),
        request_id=request_id,
    )
    with pytest.raises(AlreadyExists):
        transitions.commit(
            transitions.plan_create(Dossier(dossier.dossier_id, unit_id="1"), DOSSIER, actor="d"),
            request_id=rid(),
        )


def test_a_creation_with_an_illegal_first_move_raises_before_writing(tables, dynamodb_calls):
    with pytest.raises(IllegalTransition):
        transitions.plan_create(
            Dossier(f"d-{rid()}", unit_id="1"), DOSSIER, actor="d", then=[DossierEvent.APPROVE]
        )
    assert dynamodb_calls == []


def test_a_touch_updates_attributes_with_the_transaction_without_a_version_or_log(tables, dynamodb_calls):
    dossier = new_dossier(DossierState.WAITING)
    agent = new_agent()
    committed: list[bool] = []
    dynamodb_calls.clear()
    transitions.commit(
        dossiers.plan(dossier, DossierEvent.APPROVE, actor="agent:a1"),
        transitions.Touch(
            Agent(agent.agent_id),
            {"connection_id": "conn-1", "call_id": "call-1"},
            name="link",
            condition=Agent.state == "OFFLINE",
            on_commit=lambda: committed.append(True),
        ),
        request_id=rid(),
    )
    assert dynamodb_calls == ["TransactWriteItems"]
    assert committed == [True]
    stored = agents.get(agent.agent_id)
    assert (stored.connection_id, stored.call_id, stored.version, stored.state) == (
        "conn-1",
        "call-1",
        1,
        "OFFLINE",
    )
    assert [e.version for e in AgentLog.query(agent.agent_id)] == [1]
    assert dossiers.get(dossier.dossier_id).state == "A"


@pytest.mark.parametrize("why", ["condition", "missing item"])
def test_a_failed_touch_cancels_everything_and_says_which(tables, why):
    dossier = new_dossier(DossierState.WAITING)
    agent = new_agent()
    committed: list[bool] = []
    target = Agent(agent.agent_id) if why == "condition" else Agent(f"a-{rid()}")
    with pytest.raises(transitions.TouchRejected) as caught:
        transitions.commit(
            dossiers.plan(dossier, DossierEvent.APPROVE, actor="agent:a1"),
            transitions.Touch(
                target,
                {"call_id": "call-1"},
                name="seq",
                condition=Agent.state == "AVAILABLE",
                on_commit=lambda: committed.append(True),
            ),
            request_id=rid(),
        )
    assert caught.value.name == "seq"
    if why == "condition":
        assert caught.value.stored is not None and caught.value.stored.state == "OFFLINE"
    assert committed == []
    assert dossiers.get(dossier.dossier_id).state == "W"
    assert agents.get(agent.agent_id).call_id is None


def audit_record(object_id: str) -> AdminAudit:
    return AuditRecord("gs.kv1", "1", "call_monitoring", object_id, "start").item()


def records_of(object_id: str) -> list[AdminAudit]:
    return [e for e in AdminAudit.scan(AdminAudit.object_id == object_id)]


def test_an_appended_record_is_written_by_the_same_transaction(tables, dynamodb_calls):
    dossier = new_dossier()
    dynamodb_calls.clear()
    transitions.commit(
        dossiers.plan(dossier, DossierEvent.SUBMIT, actor="dealer:7"),
        transitions.Append(audit_record(dossier.dossier_id)),
        request_id=rid(),
    )
    assert dynamodb_calls == ["TransactWriteItems"]
    assert [(e.actor, e.action) for e in records_of(dossier.dossier_id)] == [("gs.kv1", "start")]


def test_an_appended_record_is_not_written_when_the_change_conflicts(tables):
    dossier = new_dossier()
    stale = dossiers.get(dossier.dossier_id)
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=rid(), actor="dealer:7")
    with pytest.raises(TransitionConflict):
        transitions.commit(
            dossiers.plan(stale, DossierEvent.SUBMIT, actor="dealer:7"),
            transitions.Append(audit_record(dossier.dossier_id)),
            request_id=rid(),
        )
    assert records_of(dossier.dossier_id) == []


def test_a_retry_of_a_committed_request_appends_nothing_more(tables):
    dossier = new_dossier()
    first_read = dossiers.get(dossier.dossier_id)
    request_id = rid()
    transitions.commit(
        dossiers.plan(dossier, DossierEvent.SUBMIT, actor="dealer:7"),
        transitions.Append(audit_record(dossier.dossier_id)),
        request_id=request_id,
    )
    transitions.commit(
        dossiers.plan(first_read, DossierEvent.SUBMIT, actor="dealer:7"),
        transitions.Append(audit_record(dossier.dossier_id)),
        request_id=request_id,
    )
    assert len(records_of(dossier.dossier_id)) == 1
    assert log_versions(dossier.dossier_id) == [1, 2]


def test_an_appended_record_never_overwrites_one_and_the_change_is_not_written(tables):
    dossier = new_dossier()
    existing = audit_record(dossier.dossier_id)
    existing.save()
    with pytest.raises(RepositoryError, match="admin_audit"):
        transitions.commit(
            dossiers.plan(dossier, DossierEvent.SUBMIT, actor="dealer:7"),
            transitions.Append(AdminAudit.from_raw_data(existing.serialize())),
            request_id=rid(),
        )
    assert dossiers.get(dossier.dossier_id).state == "N"
    assert log_versions(dossier.dossier_id) == [1]


def test_a_commit_of_records_only_is_refused(tables, dynamodb_calls):
    with pytest.raises(ValueError):
        transitions.commit(transitions.Append(audit_record(rid())), request_id=rid())
    assert dynamodb_calls == []


def test_a_calls_open_index_key_follows_its_state_through_every_transition(tables):
    """``Call.derived``: created live, the call is listed in its unit's ``open`` index; moved to a
    final state by any transition, it leaves it (the sweeper's complete list of unfinished calls)."""
    unit = f"u{rid()[:6]}"
    call = Call(call_id=f"c-{rid()}", direction="in", unit_id=unit, serving_unit_id=unit)
    transitions.commit(transitions.plan_create(call, CALL, actor="t"), request_id=rid())
    stored = Call.get(call.call_id, consistent_read=True)
    assert stored.open_in == unit and [c.call_id for c in Call.open_calls.query(unit)] == [call.call_id]

    transitions.transition(call, CALL, CallEvent.CALLER_HANGUP, request_id=rid(), actor="t")

    stored = Call.get(call.call_id, consistent_read=True)
    assert stored.state == "E" and stored.open_in is None and call.open_in is None
    assert list(Call.open_calls.query(unit)) == []


def test_a_note_writes_only_the_derived_attributes_it_moves(tables):
    """``plan_note``: a note that moves nothing a derived attribute follows writes none (a live call's
    ``open_in`` is already right); one whose item as read lacks its derived value writes it."""
    unit = f"u{rid()[:6]}"
    call = Call(call_id=f"c-{rid()}", direction="in", unit_id=unit, serving_unit_id=unit)
    transitions.commit(transitions.plan_create(call, CALL, actor="t"), request_id=rid())
    note = transitions.plan_note(call, event="note", actor="t", attrs={"subscriber": "84901000001"})
    assert dict(note.attrs) == {"subscriber": "84901000001"}
    call.open_in = None  # as a release before the index would have stored it
    note = transitions.plan_note(call, event="note", actor="t", attrs={"subscriber": "84901000001"})
    assert dict(note.attrs) == {"open_in": unit, "subscriber": "84901000001"}
