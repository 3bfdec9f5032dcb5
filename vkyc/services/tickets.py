"""Tickets for missed calls (seed 004): what the calls' changes do to them, and the changes integrators
ask for. States, merge buckets and what counts as missed: ``vkyc.domain.tickets``.

**From the calls' stream** (``functions/integrations``, ``call_changes``): every path that ends a call
writes the calls table, so its stream is the one place no path can skip (the refused call-back ``I`` and
the sweeper end calls without a ``CallEnded`` effect). For each change:

* a call became missed, and tickets are on for it (the serving unit's ``auto_ticket`` setting, and for
  an inbound call also its queue's ``auto_ticket``, seed 004): the call goes into its bucket's ticket of
  the day, created if need be (``missed``);
* a call-back was placed: the customer's open tickets go ``in_progress``, assigned to that agent;
* a call-back that was answered decided the dossier: the customer's tickets are ``done``.

Streams deliver at least once, so every write is conditional and idempotent: ticket ids derive from
the merge key (a creation is ``attribute_not_exists``), a call is added only to a ticket that does not
hold it yet (a versioned write conditioned on the ticket as read), and moves carry request ids derived
from the call and the ticket (``vkyc.repositories.transitions`` recognises its own committed write).

Webhooks (``ticket.created`` / ``updated`` / ``closed``) come from the tickets table's own stream
(``vkyc.domain.webhooks``), like every other event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from vkyc.domain.direction import Direction, direction_of
from vkyc.domain.machine import IllegalTransition
from vkyc.domain.settings import CallSettings
from vkyc.domain.tickets import (
    ADD_CALL,
    ASSIGN,
    MAX_GENERATIONS,
    TICKET,
    TicketEvent,
    TicketState,
    answered_and_decided,
    bucket,
    callback_started,
    customer_of,
    local_day,
    missed_call,
    move_to,
    ticket_id,
)
from vkyc.domain.webhooks import parse_time
from vkyc.protocol import v1
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.conflicts import Commit, Settled, retry_on_conflict
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.queues import find_queue
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Group, Queue, Ticket
from vkyc.repositories.tickets import TicketRepository, customer_key
from vkyc.repositories.transitions import commit, plan, plan_create, plan_note
from vkyc.services.ports import Clock, utc_now
from vkyc.services.webhook_fanout import plain_image

log = logging.getLogger("vkyc.tickets")
SYSTEM = "system"
CONFLICT_RETRIES = 5
NO_ASSIGNEE = "TICKET_ASSIGNEE_NOT_FOUND"


def find_group(group_id: str) -> Group | None:
    try:
        return Group.get(group_id)
    except Group.DoesNotExist:
        return None


class TicketService:
    def __init__(
        self,
        *,
        settings: Callable[[str], CallSettings] = cached_settings,
        queues: Callable[[str], Queue | None] = find_queue,
        groups: Callable[[str], Group | None] = find_group,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.queues = queues
        self.groups = groups
        self.clock = clock
        self.tickets = TicketRepository()
        self.agents = AgentRepository()

    # -- the calls' stream -------------------------------------------------------------------------

    def records(self, records: Sequence[Mapping[str, Any]]) -> int:
        """One batch of the calls table's stream records (``{"NewImage", "OldImage"}``, DynamoDB JSON);
        how many tickets were created or changed. Raises what a write raises (the batch is retried)."""
        touched = 0
        for record in records:
            new = plain_image(record.get("NewImage"))
            if new is not None:
                touched += len(self.call_changed(plain_image(record.get("OldImage")), new))
        return touched

    def call_changed(self, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
        """What one change of a call (plain images) does to tickets; the ids of those it wrote."""
        if missed_call(old, new):
            made = self.missed(new)
            return [] if made is None else [made]
        if callback_started(old, new):
            return self._customer_moves(new, TicketState.IN_PROGRESS, "callback_started")
        if answered_and_decided(old, new):
            return self._customer_moves(new, TicketState.DONE, "callback_decided")
        return []

    def missed(self, call: Mapping[str, Any]) -> str | None:
        """Put the missed ``call`` into its ticket (see the module docstring); the ticket's id, or None
        when tickets are off for it or it names no customer. Idempotent."""
        call_id = str(call["call_id"])
        serving = str(call.get("serving_unit_id") or call["unit_id"])
        settings = self.settings(serving)
        direction = direction_of(call.get("direction"))
        customer = customer_of(call)
        if not settings.auto_ticket or customer is None:
            return None
        queue = self.queues(str(call["queue_id"])) if call.get("queue_id") else None
        if direction is Direction.INBOUND and (queue is None or not queue.auto_ticket):
            return None
        when = parse_time(call.get("ended_at") or call.get("updated_at")) or self.clock()
        day = local_day(when, settings.zone())
        name = bucket(settings.missed_ticket_merge, direction, queue.queue_id if queue else None, call_id)
        for generation in range(1, MAX_GENERATIONS + 1):
            tid = ticket_id(serving, customer, day, name, generation)
            outcome = self._into(tid, call, serving, customer, day.isoformat(), name, queue, when)
            if outcome == "full":
                continue
            return tid
        log.error("call %s: %d tickets of its bucket today are done; not ticketed", call_id, MAX_GENERATIONS)
        return None

    def _into(
        self,
        tid: str,
        call: Mapping[str, Any],
        serving: str,
        customer: str,
        day: str,
        name: str,
        queue: Queue | None,
        when: datetime,
    ) -> str:
        """Add ``call`` to ticket ``tid``, creating it: ``"done"`` (it holds the call now) or ``"full"``
        (the ticket is closed: try the next generation). When others wrote it meanwhile at each of
        ``CONFLICT_RETRIES`` reads, ``TransitionConflict`` fails the stream's batch, which is delivered
        again (idempotent: a call the ticket holds is not added twice)."""
        call_id, direction = str(call["call_id"]), direction_of(call.get("direction")).value
        request_id = f"ticket:{call_id}"

        def add(ticket: Ticket | None) -> Commit[str] | Settled[str]:
            if ticket is None:
                ticket = Ticket(
                    tid,
                    unit_id=str(call["unit_id"]),
                    serving_unit_id=serving,
                    customer_key=customer_key(serving, customer),
                    subscriber=call.get("subscriber"),
                    dossier_id=call.get("dossier_id"),
                    day=day,
                    bucket=name,
                    call_ids=[call_id],
                    directions={direction},
                    queue_ids={queue.queue_id} if queue is not None else None,
                    created_at=when,
                )
                ticket.assignee_group_id, ticket.assignee_agent_id = self._assignee(call, queue)
                created = plan_create(ticket, TICKET, actor=SYSTEM, reason=f"missed call {call_id}")
                return Commit.of(created, request_id=request_id, at=when, result="done")
            if call_id in (ticket.call_ids or []):
                return Settled("done")
            if ticket.state == TicketState.DONE:
                return Settled("full")
            attrs: dict[str, Any] = {
                "call_ids": [*(ticket.call_ids or []), call_id],
                "directions": set(ticket.directions or ()) | {direction},
                "dossier_id": call.get("dossier_id") or ticket.dossier_id,
            }
            if queue is not None:
                attrs["queue_ids"] = set(ticket.queue_ids or ()) | {queue.queue_id}
            change = plan_note(
                ticket, event=ADD_CALL, actor=SYSTEM, reason=f"missed call {call_id}", attrs=attrs
            )
            return Commit.of(change, request_id=f"{request_id}:{tid}", at=self.clock(), result="done")

        return retry_on_conflict(lambda: self.tickets.find(tid), add, attempts=CONFLICT_RETRIES)

    def _assignee(self, call: Mapping[str, Any], queue: Queue | None) -> tuple[str | None, str | None]:
        """Who follows a new ticket up: the queue's first group (an inbound call); the calling agent's
        first group (a call-back; any colleague may retry it)."""
        if queue is not None and queue.groups:
            return queue.groups[0].group_id, None
        agent = self.agents.find(str(call.get("agent_id") or ""), consistent=False)
        if agent is not None and agent.group_ids:
            return sorted(agent.group_ids)[0], None
        return None, None

    def _customer_moves(self, call: Mapping[str, Any], target: TicketState, reason: str) -> list[str]:
        customer = customer_of(call)
        if customer is None:
            return []
        serving = str(call.get("serving_unit_id") or call["unit_id"])
        moved = []
        for ticket in self.tickets.of_customer(serving, customer):
            attrs: dict[str, Any] = {}
            if target is TicketState.IN_PROGRESS:
                attrs["assignee_agent_id"] = call.get("agent_id")
            else:
                attrs.update(closed_at=self.clock(), close_reason=reason)
            request_id = f"ticket-{target.value}:{call['call_id']}:{ticket.ticket_id}"
            attrs = {k: v for k, v in attrs.items() if getattr(ticket, k) != v}
            if ticket.last_request_id == request_id or (ticket.state == target and not attrs):
                continue  # a record delivered again, or nothing to change
            try:
                event = move_to(TicketState(ticket.state), target)
                change = (
                    plan(ticket, TICKET, event, actor=SYSTEM, reason=reason, attrs=attrs)
                    if event is not None
                    else plan_note(ticket, event=ASSIGN, actor=SYSTEM, reason=reason, attrs=attrs)
                )
                commit(change, request_id=request_id, at=self.clock())
            except TransitionConflict:
                log.info("ticket %s moved meanwhile: left as it is", ticket.ticket_id)
                continue
            moved.append(ticket.ticket_id)
        return moved

    # -- integrators ---------------------------------------------------------------------------------

    def get(self, unit_id: str, tid: str) -> Ticket:
        """The unit's ticket; another unit's answers ``TICKET_NOT_FOUND``, as one that does not exist."""
        ticket = self.tickets.find(tid)
        if ticket is None or ticket.unit_id != unit_id:
            raise ProtocolError("TICKET_NOT_FOUND", f"No ticket {tid} in your unit.")
        return ticket

    def patch(self, unit_id: str, tid: str, change: v1.TicketPatch, actor: str) -> Ticket:
        """Change the state and/or assignee of the unit's ticket. The same values again change nothing.
        ``STATE_CONFLICT`` for a move out of ``done``; ``TICKET_ASSIGNEE_NOT_FOUND`` for a group or
        agent that is not of the ticket's serving unit. Stored data is untouched on any refusal."""
        ticket = self.get(unit_id, tid)
        attrs: dict[str, Any] = {}
        if change.assignee is not None:
            attrs.update(self._checked_assignee(ticket, change.assignee))
        event: TicketEvent | None = None
        if change.state is not None:
            try:
                event = move_to(TicketState(ticket.state), TicketState(change.state))
            except IllegalTransition as exc:
                raise ProtocolError("STATE_CONFLICT", f"Ticket {tid} is {ticket.state}: {exc}") from None
        if event is TicketEvent.CLOSE:
            attrs.update(closed_at=self.clock(), close_reason="closed_by_integrator")
        attrs = {k: v for k, v in attrs.items() if getattr(ticket, k) != v}
        if event is None and not attrs:
            return ticket
        if ticket.state == TicketState.DONE:
            raise ProtocolError("STATE_CONFLICT", f"Ticket {tid} is done: it cannot change any more.")
        planned = (
            plan(ticket, TICKET, event, actor=actor, attrs=attrs)
            if event is not None
            else plan_note(ticket, event=ASSIGN, actor=actor, attrs=attrs)
        )
        try:
            commit(planned, request_id=f"patch:{uuid.uuid4().hex}", at=self.clock())
        except TransitionConflict:
            raise ProtocolError("STATE_CONFLICT", f"Ticket {tid} changed meanwhile: read it again.") from None
        return ticket

    def _checked_assignee(self, ticket: Ticket, assignee: v1.Assignee) -> dict[str, Any]:
        serving = ticket.serving_unit_id
        if assignee.group_id is not None:
            group = self.groups(assignee.group_id)
            if group is None or group.unit_id != serving:
                raise ProtocolError(NO_ASSIGNEE, f"No group {assignee.group_id} in {serving}")
        if assignee.agent_id is not None:
            agent = self.agents.find(assignee.agent_id, consistent=False)
            if agent is None or agent.unit_id != serving:
                raise ProtocolError(NO_ASSIGNEE, f"No agent {assignee.agent_id} in {serving}")
        return {"assignee_group_id": assignee.group_id, "assignee_agent_id": assignee.agent_id}
