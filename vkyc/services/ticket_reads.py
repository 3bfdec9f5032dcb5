"""Reading tickets: the integrator's list (``GET /v1/tickets``, a page at a time, newest first) and the
agent's work list (``GET /tickets``). Nothing here writes; the writes are ``vkyc.services.tickets``."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from vkyc.protocol import v1
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.tables import Ticket
from vkyc.repositories.tickets import TicketRepository
from vkyc.services.integrator_reads import EPOCH, MAX_QUERIES_PER_PAGE, decode_cursor, encode_cursor, iso
from vkyc.services.ports import Clock, utc_now

AGENT_LIST_MAX = 100


def ticket_view(ticket: Ticket) -> v1.TicketV1:
    return v1.TicketV1(
        ticket_id=ticket.ticket_id,
        state=ticket.state,  # type: ignore[arg-type]
        unit_id=ticket.unit_id,
        serving_unit_id=ticket.serving_unit_id,
        subscriber=ticket.subscriber,
        dossier_id=ticket.dossier_id,
        day=ticket.day,
        call_ids=list(ticket.call_ids or []),
        directions=sorted(ticket.directions or ()),  # type: ignore[arg-type]
        queue_ids=sorted(ticket.queue_ids or ()),
        assignee=v1.Assignee(group_id=ticket.assignee_group_id, agent_id=ticket.assignee_agent_id),
        created_at=iso(ticket.created_at) or "",
        updated_at=iso(ticket.updated_at) or "",
        closed_at=iso(ticket.closed_at),
        close_reason=ticket.close_reason,
        version=ticket.version,
    )


class TicketReads:
    def __init__(self, *, clock: Clock = utc_now) -> None:
        self.clock = clock
        self.tickets = TicketRepository()
        self.agents = AgentRepository()

    def list(self, unit_id: str, query: v1.TicketsQuery) -> v1.TicketsPage:
        """The unit's tickets created in [from, to], newest first, kept when they match every filter.
        Up to ``MAX_QUERIES_PER_PAGE`` Queries fill a page; a cursor belongs to its filters."""
        since = query.from_ or EPOCH
        until = query.to or (self.clock() + timedelta(days=1))
        scope = _scope(unit_id, since, query.to, query)
        start = decode_cursor(query.cursor, scope, "unit_id", unit_id, "ticket_id") if query.cursor else None
        found: list[Ticket] = []
        for _ in range(MAX_QUERIES_PER_PAGE):
            ids, start = self.tickets.page_of_unit(unit_id, since, until, query.limit - len(found), start)
            found += [t for t in self.tickets.many(ids) if _matches(t, unit_id, query)]
            if not start or len(found) >= query.limit:
                break
        found.sort(key=lambda t: t.created_at, reverse=True)
        return v1.TicketsPage(
            tickets=[ticket_view(t) for t in found],
            next_cursor=encode_cursor(start, scope) if start else None,
        )

    def for_agent(self, agent_id: str) -> v1.AgentTickets:
        """The tickets ``agent_id`` may work on (see ``v1.AgentTickets``); none for an unknown agent."""
        agent = self.agents.find(agent_id, consistent=False)
        if agent is None:
            return v1.AgentTickets(tickets=[])
        groups = set(agent.group_ids or ())
        mine = [
            t.ticket_id
            for t in self.tickets.open_in(agent.unit_id, limit=AGENT_LIST_MAX)
            if _assigned_to(t, agent_id, groups)
        ]
        tickets = sorted(self.tickets.many(mine), key=lambda t: t.created_at)
        return v1.AgentTickets(tickets=[ticket_view(t) for t in tickets if t.state != "done"])


def _assigned_to(ticket: Ticket, agent_id: str, groups: set[str]) -> bool:
    if ticket.assignee_agent_id is not None:
        return ticket.assignee_agent_id == agent_id
    return ticket.assignee_group_id is None or ticket.assignee_group_id in groups


def _matches(ticket: Ticket, unit_id: str, query: v1.TicketsQuery) -> bool:
    return (
        ticket.unit_id == unit_id
        and (query.state is None or ticket.state == query.state)
        and (query.subscriber is None or ticket.subscriber == query.subscriber)
        and (query.dossier is None or ticket.dossier_id == query.dossier)
    )


def _scope(unit_id: str, since: datetime, until: datetime | None, query: v1.TicketsQuery) -> str:
    """What a cursor belongs to: the list and every filter as asked."""
    text = "|".join(
        [
            "tickets",
            unit_id,
            since.astimezone(UTC).isoformat(),
            "" if until is None else until.astimezone(UTC).isoformat(),
            query.state or "",
            query.subscriber or "",
            query.dossier or "",
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]
