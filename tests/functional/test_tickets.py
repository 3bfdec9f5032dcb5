"""Tickets for missed calls (seed 004) on moto: the four merge modes, the merge resetting at midnight in
the serving unit's time zone (the calls' own times are the virtual clock), at-least-once stream delivery
creating nothing twice, the ticket's life (a call-back starts it, an answered and decided call-back
closes it), the agent's work list, and ``/v1/tickets`` through the integrations app's REST layer: other
units' tickets answer 404, bad input answers its code and changes nothing."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vkyc.domain.settings import CallSettings, MissedTicketMerge
from vkyc.domain.webhooks import EventType, events_of
from vkyc.protocol import v1
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.tables import Agent, Call, Group, Queue, QueueGroup, Ticket
from vkyc.repositories.tickets import TicketRepository
from vkyc.services import ticket_index, ticket_reads
from vkyc.services.integrator_auth import Integrator
from vkyc.services.ticket_reads import TicketReads
from vkyc.services.tickets import CONFLICT_RETRIES, TicketService
from vkyc.services.webhook_fanout import plain_image

# 2026-03-10 in Vietnam (UTC+7): local midnight is 17:00 UTC.
DAY = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 09:00 local
BEFORE_MIDNIGHT = datetime(2026, 3, 10, 16, 55, tzinfo=UTC)  # 23:55 local
AFTER_MIDNIGHT = datetime(2026, 3, 10, 17, 5, tzinfo=UTC)  # 00:05 local, the 11th


class World:
    """One serving unit with two queues (tickets on) and a queue with tickets off, its settings."""

    def __init__(self, mode: MissedTicketMerge, *, zone: str = "Asia/Ho_Chi_Minh", auto: bool = True) -> None:
        self.unit_id = f"u{uuid.uuid4().hex[:6]}"
        self.settings = CallSettings(auto_ticket=auto, missed_ticket_merge=mode, timezone=zone)
        self.group_a, self.group_b = f"{self.unit_id}-a", f"{self.unit_id}-b"
        for group in (self.group_a, self.group_b):
            Group(group, unit_id=self.unit_id, name=group).save()
        self.queues = {
            name: Queue(
                f"{self.unit_id}-{name}",
                unit_id=self.unit_id,
                name=name,
                groups=[QueueGroup(group_id=group, priority=1)],
                auto_ticket=name != "quiet",
            )
            for name, group in (("q1", self.group_a), ("q2", self.group_b), ("quiet", self.group_a))
        }
        self.service = TicketService(
            settings=lambda unit: self.settings,
            queues=lambda queue_id: next((q for q in self.queues.values() if q.queue_id == queue_id), None),
            clock=lambda: DAY + timedelta(hours=1),
        )

    def call(
        self,
        at: datetime,
        *,
        queue: str | None = "q1",
        direction: str = "in",
        state: str = "E",
        subscriber: str = "84901000001",
        answered: bool = False,
        **attrs: Any,
    ) -> Call:
        """A call that ended ``state`` at ``at`` (not stored: the stream carries its images)."""
        prefix = "cb-" if direction == "out" else ""
        return Call(
            f"{prefix}{uuid.uuid4()}",
            direction=direction,
            unit_id=self.unit_id,
            serving_unit_id=self.unit_id,
            dossier_id=f"HS-{subscriber}",
            subscriber=subscriber,
            queue_id=self.queues[queue].queue_id if queue else None,
            state=state,
            version=3,
            created_at=at - timedelta(minutes=1),
            updated_at=at,
            ended_at=at,
            answered_at=at - timedelta(seconds=30) if answered else None,
            last_request_id="r",
            **attrs,
        )

    def agent(self, groups: set[str]) -> str:
        """A new agent of the unit, in ``groups``; its id."""
        agent = Agent(f"a-{uuid.uuid4().hex[:6]}", unit_id=self.unit_id, group_ids=groups or None)
        agent.state, agent.version, agent.last_request_id = "AVAILABLE", 1, "r"
        agent.created_at = agent.updated_at = DAY
        agent.save()
        return agent.agent_id

    def missed(self, call: Call, before: str = "N") -> list[str]:
        old = {**image(call), "state": before, "ended_at": None}
        return self.service.call_changed(old, image(call))

    def tickets(self) -> list[Ticket]:
        found = list(Ticket.by_unit.query(self.unit_id))
        return sorted(TicketRepository().many([t.ticket_id for t in found]), key=lambda t: t.created_at)


def image(item: Any) -> dict[str, Any]:
    plain = plain_image(item.serialize())
    assert plain is not None
    return plain


# -- the four merge modes, and midnight ---------------------------------------------------------------


def a_day_of_misses(world: World) -> list[Call]:
    """One customer's missed calls of one local day: q1, q2, q1 inbound, one failed call-back (T), and
    one whose device was not registered (I)."""
    calls = [
        world.call(DAY, queue="q1"),
        world.call(DAY + timedelta(hours=1), queue="q2", state="FINISHED", end_reason="no_agent"),
        world.call(DAY + timedelta(hours=2), queue="q1"),
        world.call(DAY + timedelta(hours=3), queue=None, direction="out", state="T"),
        world.call(DAY + timedelta(hours=4), queue=None, direction="out", state="I"),
    ]
    for call in calls:
        assert len(world.missed(call)) == 1
    return calls


EXPECTED = {
    # mode: the tickets' calls, as indexes into a_day_of_misses
    MissedTicketMerge.ALL_IN_ONE: [[0, 1, 2, 3, 4]],
    MissedTicketMerge.ONE_PER_CALL: [[0], [1], [2], [3], [4]],
    MissedTicketMerge.INBOUND_AND_OUTBOUND: [[0, 1, 2], [3, 4]],
    MissedTicketMerge.PER_QUEUE_AND_OUTBOUND: [[0, 2], [1], [3, 4]],
}


@pytest.mark.parametrize("mode", list(MissedTicketMerge), ids=lambda m: m.value)
def test_each_merge_mode_gathers_one_customers_missed_calls_of_the_day(tables, mode):
    world = World(mode)
    calls = a_day_of_misses(world)
    tickets = world.tickets()
    assert [t.call_ids for t in tickets] == [[calls[i].call_id for i in group] for group in EXPECTED[mode]]
    assert {t.state for t in tickets} == {"open"} and {t.day for t in tickets} == {"2026-03-10"}
    # Another customer's miss never joins them.
    other = world.call(DAY, subscriber="84901000002")
    (other_ticket,) = world.missed(other)
    assert other_ticket not in {t.ticket_id for t in tickets}


@pytest.mark.parametrize("mode", list(MissedTicketMerge), ids=lambda m: m.value)
def test_the_merge_resets_at_midnight_in_the_units_time_zone(tables, mode):
    world = World(mode)
    late = world.call(BEFORE_MIDNIGHT, queue="q1")
    later = world.call(BEFORE_MIDNIGHT + timedelta(minutes=2), queue="q1")
    next_day = world.call(AFTER_MIDNIGHT, queue="q1")
    for call in (late, later, next_day):
        world.missed(call)
    tickets = world.tickets()
    by_day = {t.day: t.call_ids for t in tickets}
    if mode is MissedTicketMerge.ONE_PER_CALL:
        assert len(tickets) == 3
    else:
        assert by_day == {"2026-03-10": [late.call_id, later.call_id], "2026-03-11": [next_day.call_id]}


def test_midnight_is_the_serving_units_own(tables):
    """The same two instants, 10 minutes apart across 17:00 UTC: one day in UTC, two in Vietnam."""
    in_utc = World(MissedTicketMerge.ALL_IN_ONE, zone="UTC")
    for at in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT):
        in_utc.missed(in_utc.call(at))
    assert [t.day for t in in_utc.tickets()] == ["2026-03-10"]
    in_vietnam = World(MissedTicketMerge.ALL_IN_ONE)
    for at in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT):
        in_vietnam.missed(in_vietnam.call(at))
    assert [t.day for t in in_vietnam.tickets()] == ["2026-03-10", "2026-03-11"]


# -- when there is no ticket ----------------------------------------------------------------------------


def test_no_ticket_when_the_setting_or_the_queue_has_tickets_off(tables):
    off = World(MissedTicketMerge.ALL_IN_ONE, auto=False)
    assert off.missed(off.call(DAY)) == []
    assert off.missed(off.call(DAY, queue=None, direction="out", state="T")) == []
    on = World(MissedTicketMerge.ALL_IN_ONE)
    assert on.missed(on.call(DAY, queue="quiet")) == []  # the queue does not ask for tickets
    assert on.missed(on.call(DAY, queue=None)) == []  # an inbound call of no queue
    assert len(on.missed(on.call(DAY, queue=None, direction="out", state="T"))) == 1  # setting alone
    assert off.tickets() == [] and len(on.tickets()) == 1


def test_answered_calls_and_cancelled_call_backs_are_not_missed(tables):
    world = World(MissedTicketMerge.ONE_PER_CALL)
    assert world.missed(world.call(DAY, state="FINISHED", answered=True), before="CONNECTED") == []
    assert world.missed(world.call(DAY, state="T", answered=True), before="A") == []  # no media came
    assert world.missed(world.call(DAY, queue=None, direction="out", state="E")) == []  # agent hung up
    # A change of a call already missed (e.g. its recording facts) is not a second miss.
    missed = world.call(DAY)
    world.missed(missed)
    assert world.service.call_changed(image(missed), image(missed)) == []
    assert world.service.call_changed(None, image(world.call(DAY, state="N"))) == []
    assert len(world.tickets()) == 1


# -- at least once: duplicated deliveries create nothing twice ------------------------------------------


def record(new: Call, before: str = "N") -> dict[str, Any]:
    """The stream record of ``new`` reaching its state from ``before`` (DynamoDB JSON, as Lambda hands it)."""
    new_json = new.serialize()
    old_json = {k: v for k, v in new_json.items() if k != "ended_at"}
    return {"OldImage": {**old_json, "state": {"S": before}}, "NewImage": new_json}


@pytest.mark.parametrize("mode", list(MissedTicketMerge), ids=lambda m: m.value)
def test_a_record_delivered_again_adds_nothing(tables, mode):
    world = World(mode)
    first, second = world.call(DAY), world.call(DAY + timedelta(minutes=5))
    batch = [record(c) for c in (first, second)]
    world.service.records(batch)
    before = [(t.ticket_id, t.version, t.call_ids) for t in world.tickets()]
    world.service.records(batch)  # the stream delivers the batch again (a consumer failed after it)
    world.service.records(batch[1:] + batch[:1])  # and out of order
    assert [(t.ticket_id, t.version, t.call_ids) for t in world.tickets()] == before
    assert sorted(c for t in world.tickets() for c in t.call_ids) == sorted([first.call_id, second.call_id])


def test_the_same_miss_delivered_twice_at_once_lands_once(tables):
    world = World(MissedTicketMerge.ALL_IN_ONE)
    world.missed(world.call(DAY))  # the ticket exists: the racers both merge into it
    calls = [world.call(DAY + timedelta(minutes=m)) for m in (1, 2)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def deliver(call: Call) -> None:
        barrier.wait()
        try:
            world.missed(call)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(c,)) for c in calls for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (ticket,) = world.tickets()
    assert sorted(ticket.call_ids[1:]) == sorted(c.call_id for c in calls) and len(ticket.call_ids) == 3
    assert ticket.version == 3  # created, then one note per call


def test_a_miss_that_loses_every_race_fails_its_batch_and_lands_when_delivered_again(tables, monkeypatch):
    # Somebody else writes the ticket between each read and its commit: after the last try the miss is
    # not in the ticket, so the batch must fail (the stream delivers it again), not report it ticketed.
    world = World(MissedTicketMerge.ALL_IN_ONE)
    world.missed(world.call(DAY))
    late = world.call(DAY + timedelta(minutes=1))
    repository = world.service.tickets
    read = repository.find
    reads = []

    def read_then_another_writer(ticket_id: str) -> Ticket | None:
        ticket = read(ticket_id)
        if ticket is not None:
            reads.append(ticket_id)
            Ticket.get(ticket_id).update(actions=[Ticket.version.set(ticket.version + 1)])
        return ticket

    monkeypatch.setattr(repository, "find", read_then_another_writer)
    with pytest.raises(TransitionConflict):
        world.service.records([record(late)])
    assert len(reads) == CONFLICT_RETRIES
    (ticket,) = world.tickets()
    assert late.call_id not in ticket.call_ids

    monkeypatch.setattr(repository, "find", read)
    world.service.records([record(late)])  # the stream's next delivery
    (ticket,) = world.tickets()
    assert ticket.call_ids[1:] == [late.call_id]


# -- the ticket's life ---------------------------------------------------------------------------------


def test_a_call_back_starts_the_ticket_and_an_answered_decided_one_closes_it(tables):
    world = World(MissedTicketMerge.ALL_IN_ONE)
    missed = world.call(DAY)
    (tid,) = world.missed(missed)
    callback = world.call(DAY + timedelta(hours=1), queue=None, direction="out", state="N", agent_id="a-1")
    callback.ended_at = None
    assert world.service.call_changed(None, image(callback)) == [tid]
    ticket = TicketRepository().get(tid)
    assert (ticket.state, ticket.assignee_agent_id) == ("in_progress", "a-1")
    # Delivered again: nothing moves.
    assert world.service.call_changed(None, image(callback)) == []
    assert TicketRepository().get(tid).version == ticket.version
    answered = world.call(DAY + timedelta(hours=1), queue=None, direction="out", state="C", answered=True)
    answered.call_id = callback.call_id
    before = {**image(answered), "decision": None}
    answered.decision = "A"
    assert world.service.call_changed(before, image(answered)) == [tid]
    closed = TicketRepository().get(tid)
    assert (closed.state, closed.close_reason, closed.open_in) == ("done", "callback_decided", None)
    # The customer misses another call the same day: a new ticket, the done one stays done.
    again = world.call(DAY + timedelta(hours=2))
    (new_tid,) = world.missed(again)
    assert new_tid != tid and TicketRepository().get(new_tid).call_ids == [again.call_id]
    assert TicketRepository().get(tid).call_ids == [missed.call_id]


def test_an_agent_sees_the_tickets_of_their_groups_and_their_own(tables):
    world = World(MissedTicketMerge.PER_QUEUE_AND_OUTBOUND)
    (for_a,) = world.missed(world.call(DAY, queue="q1"))
    (for_b,) = world.missed(world.call(DAY + timedelta(minutes=1), queue="q2"))
    agent = world.agent({world.group_a})
    reads = TicketReads()
    assert [t.ticket_id for t in reads.for_agent(agent).tickets] == [for_a]
    world.service.patch(world.unit_id, for_b, v1.TicketPatch(assignee=v1.Assignee(agent_id=agent)), "test")
    assert [t.ticket_id for t in reads.for_agent(agent).tickets] == [for_a, for_b]
    # Given back to group b: the agent's list drops it, as the index key follows every change.
    world.service.patch(
        world.unit_id, for_b, v1.TicketPatch(assignee=v1.Assignee(group_id=world.group_b)), "test"
    )
    assert [t.ticket_id for t in reads.for_agent(agent).tickets] == [for_a]
    assert reads.for_agent("nobody").tickets == []


BACKLOG = 120  # more than the agent list's bound (``AGENT_LIST_MAX``)


def test_an_agent_sees_their_tickets_behind_a_backlog_of_other_groups(tables, dynamodb_reads):
    """A unit with more open tickets of another group than the list's bound, all older: the agent still
    sees every ticket of their group, the one assigned to them by name and the one for anyone, oldest
    first, and what the list reads does not grow with the backlog."""
    world = World(MissedTicketMerge.ONE_PER_CALL)
    agent = world.agent({world.group_a})
    for n in range(BACKLOG):
        world.missed(world.call(DAY + timedelta(seconds=n), queue="q2", subscriber=f"8490200{n:04d}"))
    later = DAY + timedelta(hours=2)
    (for_a,) = world.missed(world.call(later, queue="q1"))
    (for_anyone,) = world.missed(  # a failed call-back of an agent of no group: anyone's
        world.call(later + timedelta(minutes=1), queue=None, direction="out", state="T", agent_id="ghost")
    )
    (for_me,) = world.missed(world.call(later + timedelta(minutes=2), queue="q2"))
    world.service.patch(world.unit_id, for_me, v1.TicketPatch(assignee=v1.Assignee(agent_id=agent)), "test")
    (for_someone_else,) = world.missed(world.call(later + timedelta(minutes=3), queue="q1"))
    other = world.agent({world.group_a})
    world.service.patch(
        world.unit_id, for_someone_else, v1.TicketPatch(assignee=v1.Assignee(agent_id=other)), "test"
    )
    (closed,) = world.missed(world.call(later + timedelta(minutes=4), queue="q1"))
    world.service.patch(world.unit_id, closed, v1.TicketPatch(state="done"), "test")
    dynamodb_reads.clear()
    listed = [t.ticket_id for t in TicketReads().for_agent(agent).tickets]
    assert listed == [for_a, for_anyone, for_me]
    # The agent, the index entries of its keys (the agent, group a, anyone: the tickets it lists), then
    # those tickets whole: nothing of the backlog.
    assert sum(items for _operation, items in dynamodb_reads) == 1 + 2 * len(listed)
    assert sorted(operation for operation, _items in dynamodb_reads) == sorted(
        ["GetItem", "Query", "Query", "Query", "BatchGetItem"]
    )


def test_the_bound_keeps_the_agents_own_tickets_and_fills_up_with_the_oldest(tables, monkeypatch):
    """Bound 3: the agent's own ticket, newest of all, is kept; the two oldest of the group's and
    anyone's make up the rest (merged across both keys by age); the list is oldest first."""
    monkeypatch.setattr(ticket_reads, "AGENT_LIST_MAX", 3)
    world = World(MissedTicketMerge.ONE_PER_CALL)
    agent = world.agent({world.group_a})
    group_tickets = [world.missed(world.call(DAY + timedelta(minutes=m), queue="q1"))[0] for m in (0, 2, 3)]
    (for_anyone,) = world.missed(
        world.call(DAY + timedelta(minutes=1), queue=None, direction="out", state="T", agent_id="ghost")
    )
    (for_me,) = world.missed(world.call(DAY + timedelta(minutes=9), queue="q2"))
    world.service.patch(world.unit_id, for_me, v1.TicketPatch(assignee=v1.Assignee(agent_id=agent)), "test")
    listed = [t.ticket_id for t in TicketReads().for_agent(agent).tickets]
    assert listed == [group_tickets[0], for_anyone, for_me]


def test_a_tickets_open_for_key_follows_its_assignee_and_state_through_every_change(tables):
    world = World(MissedTicketMerge.ALL_IN_ONE)
    unit = world.unit_id
    (tid,) = world.missed(world.call(DAY))
    assert TicketRepository().get(tid).open_for == f"group#{unit}#{world.group_a}"
    callback = world.call(DAY + timedelta(hours=1), queue=None, direction="out", state="N", agent_id="a-1")
    callback.ended_at = None
    world.service.call_changed(None, image(callback))  # the call-back starts it, assigned to a-1
    assert TicketRepository().get(tid).open_for == f"agent#{unit}#a-1"
    world.service.patch(unit, tid, v1.TicketPatch(state="open", assignee=v1.Assignee()), "test")
    assert TicketRepository().get(tid).open_for == f"unit#{unit}"
    world.missed(world.call(DAY + timedelta(hours=2)))  # a note (another call) keeps it
    assert TicketRepository().get(tid).open_for == f"unit#{unit}"
    world.service.patch(unit, tid, v1.TicketPatch(state="done"), "test")
    done = TicketRepository().get(tid)
    assert (done.open_for, done.open_in) == (None, None)


# -- tickets stored before the open_for key existed ----------------------------------------------------


def stored_by_an_older_release(tid: str) -> Ticket:
    """The ticket as a release before ``open_for`` left it: the same, without the key."""
    Ticket(tid).update(actions=[Ticket.open_for.remove()])
    ticket = TicketRepository().get(tid)
    assert ticket.open_for is None
    return ticket


def test_the_backfill_gives_old_tickets_their_key_once_and_sends_no_webhook(tables):
    world = World(MissedTicketMerge.ONE_PER_CALL)
    agent = world.agent({world.group_a})
    old_ids = [world.missed(world.call(DAY + timedelta(minutes=m)))[0] for m in range(3)]
    (closed,) = world.missed(world.call(DAY + timedelta(minutes=5)))
    world.service.patch(world.unit_id, closed, v1.TicketPatch(state="done"), "test")
    before = {tid: stored_by_an_older_release(tid) for tid in old_ids}
    assert TicketReads().for_agent(agent).tickets == []  # no key, not in the index: nobody sees them
    assert [t.ticket_id for t in ticket_index.lacking([world.unit_id])] == old_ids
    assert ticket_index.main(["check", "--unit", world.unit_id]) == 1

    assert ticket_index.backfill([world.unit_id]).written == 3
    assert [t.ticket_id for t in TicketReads().for_agent(agent).tickets] == old_ids
    for tid, old in before.items():
        now = TicketRepository().get(tid)
        assert (now.version, now.open_for) == (old.version, f"group#{world.unit_id}#{world.group_a}")
        assert events_of("tickets", image(old), image(now)) == []  # unversioned: no ticket.* webhook
    assert TicketRepository().get(closed).open_for is None  # done: waits for nobody
    assert ticket_index.backfill([world.unit_id]).written == 0  # run again: nothing left to write
    assert ticket_index.main(["check", "--unit", world.unit_id]) == 0


def test_an_old_ticket_that_changes_gets_its_key_from_the_change_and_the_backfill_leaves_it(tables):
    world = World(MissedTicketMerge.ALL_IN_ONE)
    (tid,) = world.missed(world.call(DAY))
    read_by_the_backfill = stored_by_an_older_release(tid)
    world.missed(world.call(DAY + timedelta(minutes=1)))  # a note: the change writes the key it lacked
    assert TicketRepository().get(tid).open_for == f"group#{world.unit_id}#{world.group_a}"
    agent = world.agent(set())
    world.service.patch(world.unit_id, tid, v1.TicketPatch(assignee=v1.Assignee(agent_id=agent)), "test")
    # The backfill read it before these changes: its write is refused, the change's key stays.
    assert TicketRepository().fill_open_for(read_by_the_backfill) is False
    assert TicketRepository().get(tid).open_for == f"agent#{world.unit_id}#{agent}"
    assert [t.ticket_id for t in TicketReads().for_agent(agent).tickets] == [tid]


# -- webhooks ------------------------------------------------------------------------------------------


def test_ticket_changes_are_created_updated_and_closed_events_with_stable_ids(tables):
    world = World(MissedTicketMerge.ALL_IN_ONE)
    (tid,) = world.missed(world.call(DAY))
    created = image(TicketRepository().get(tid))
    world.missed(world.call(DAY + timedelta(minutes=1)))
    updated = image(TicketRepository().get(tid))
    (event,) = events_of("tickets", None, created)
    assert (event.type, event.unit_id, event.body()["resource"]["href"]) == (
        EventType.TICKET_CREATED,
        world.unit_id,
        f"/v1/tickets/{tid}",
    )
    (again,) = events_of("tickets", None, created)
    assert again.event_id == event.event_id
    (change,) = events_of("tickets", created, updated)
    assert change.type is EventType.TICKET_UPDATED and len(change.data["call_ids"]) == 2
    closed = {**updated, "state": "done", "version": updated["version"] + 1}
    assert events_of("tickets", updated, closed)[0].type is EventType.TICKET_CLOSED


# -- /v1/tickets through the integrations app's REST layer ---------------------------------------------


@pytest.fixture
def v1_api(tables, monkeypatch) -> Any:
    from functions.integrations import app as integrations
    from vkyc.api.routes import RestRequest

    def key(request: RestRequest) -> Integrator:
        return Integrator(request.header("x-api-key") or "", "test")

    api = integrations.rest_api()
    monkeypatch.setattr(api, "authenticate_key", key)

    def call(unit: str, name: str, *, path: dict[str, str] | None = None, **kwargs: Any) -> tuple[int, Any]:
        body = kwargs.pop("body", None)
        request = RestRequest(
            "PATCH" if body is not None else "GET",
            path_params=path or {},
            query={k: [v] for k, v in kwargs.items()},
            headers={"x-api-key": unit, "content-type": "application/json"},
            body=None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode()),
        )
        answer = api.handle(name, request)
        return answer.status, answer.body

    return call


def test_integrators_read_page_and_update_their_units_tickets(v1_api):
    world = World(MissedTicketMerge.ONE_PER_CALL)
    ids = [world.missed(world.call(DAY + timedelta(minutes=m)))[0] for m in range(5)]
    pages, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = v1_api(world.unit_id, "v1_tickets_list", **query)
        assert status == 200, page
        pages.append([t["ticket_id"] for t in page["tickets"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [t for p in pages for t in p] == list(reversed(ids))
    status, got = v1_api(world.unit_id, "v1_ticket_get", path={"ticket_id": ids[0]})
    assert (
        status == 200
        and got["state"] == "open"
        and got["assignee"] == {"group_id": world.group_a, "agent_id": None}
    )
    patch = {"state": "in_progress", "assignee": {"group_id": world.group_b}}
    status, changed = v1_api(world.unit_id, "v1_ticket_update", path={"ticket_id": ids[0]}, body=patch)
    assert status == 200 and changed["state"] == "in_progress" and changed["version"] == got["version"] + 1
    status, same = v1_api(world.unit_id, "v1_ticket_update", path={"ticket_id": ids[0]}, body=patch)
    assert same["version"] == changed["version"]  # the same values again change nothing
    status, page = v1_api(world.unit_id, "v1_tickets_list", state="in_progress")
    assert [t["ticket_id"] for t in page["tickets"]] == [ids[0]]
    status, done = v1_api(
        world.unit_id, "v1_ticket_update", path={"ticket_id": ids[0]}, body={"state": "done"}
    )
    assert (done["state"], done["close_reason"]) == ("done", "closed_by_integrator") and done["closed_at"]


def test_another_units_ticket_answers_as_one_that_does_not_exist(v1_api):
    world = World(MissedTicketMerge.ONE_PER_CALL)
    (tid,) = world.missed(world.call(DAY))
    stranger = world.unit_id + "x"
    for answer in (
        v1_api(stranger, "v1_ticket_get", path={"ticket_id": tid}),
        v1_api(stranger, "v1_ticket_update", path={"ticket_id": tid}, body={"state": "done"}),
        v1_api(stranger, "v1_ticket_get", path={"ticket_id": "tkt_nothing"}),
    ):
        assert answer[0] == 404 and answer[1]["code"] == "TICKET_NOT_FOUND"
    assert v1_api(stranger, "v1_tickets_list")[1]["tickets"] == []
    assert TicketRepository().get(tid).state == "open"


def test_bad_input_answers_its_code_and_changes_nothing(v1_api):
    world = World(MissedTicketMerge.ONE_PER_CALL)
    (tid,) = world.missed(world.call(DAY))
    stored = image(TicketRepository().get(tid))
    path = {"ticket_id": tid}
    refused = [
        (v1_api(world.unit_id, "v1_ticket_update", path=path, body={"state": "closed"}), 400, "BAD_MESSAGE"),
        (v1_api(world.unit_id, "v1_ticket_update", path=path, body={"colour": "red"}), 400, "BAD_MESSAGE"),
        (v1_api(world.unit_id, "v1_ticket_update", path=path, body=b"{not json"), 400, "BAD_JSON"),
        (v1_api(world.unit_id, "v1_ticket_get", path={"ticket_id": "../etc"}), 400, "BAD_MESSAGE"),
        (v1_api(world.unit_id, "v1_tickets_list", state="closed"), 400, "BAD_MESSAGE"),
        (v1_api(world.unit_id, "v1_tickets_list", limit="1000"), 400, "BAD_MESSAGE"),
        (v1_api(world.unit_id, "v1_tickets_list", cursor="bm90LW91cnM"), 400, "BAD_MESSAGE"),
        (v1_api(world.unit_id, "v1_tickets_list", **{"from": "2026-03-10T00:00:00"}), 400, "BAD_MESSAGE"),
        (
            v1_api(world.unit_id, "v1_ticket_update", path=path, body={"assignee": {"group_id": "nope"}}),
            422,
            "TICKET_ASSIGNEE_NOT_FOUND",
        ),
        (
            v1_api(world.unit_id, "v1_ticket_update", path=path, body={"assignee": {"agent_id": "nobody"}}),
            422,
            "TICKET_ASSIGNEE_NOT_FOUND",
        ),
    ]
    for (status, body), want_status, want_code in refused:
        assert (status, body["code"]) == (want_status, want_code), body
    assert image(TicketRepository().get(tid)) == stored
    # A cursor of one filter set is refused with another.
    for m in range(3):
        world.missed(world.call(DAY + timedelta(minutes=m + 1)))
    cursor = v1_api(world.unit_id, "v1_tickets_list", limit="1")[1]["next_cursor"]
    assert cursor
    assert (
        v1_api(world.unit_id, "v1_tickets_list", limit="1", state="open", cursor=cursor)[1]["code"]
        == "BAD_MESSAGE"
    )
    # Done is final.
    v1_api(world.unit_id, "v1_ticket_update", path=path, body={"state": "done"})
    closed = image(TicketRepository().get(tid))
    for body in ({"state": "open"}, {"assignee": {"group_id": world.group_b}}):
        status, answer = v1_api(world.unit_id, "v1_ticket_update", path=path, body=body)
        assert (status, answer["code"]) == (409, "STATE_CONFLICT")
    assert image(TicketRepository().get(tid)) == closed
