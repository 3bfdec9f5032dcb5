"""Reading tickets: the integrator's list (``GET /v1/tickets``, a page at a time, newest first) and the
agent's work list (``GET /tickets``). Nothing here writes; the writes are ``vkyc.services.tickets``."""

from __future__ import annotations

import hashlib
import heapq
from datetime import UTC, datetime, timedelta
from itertools import islice

from vkyc.protocol import v1
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.tables import Ticket, open_for_key
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
        """The tickets ``agent_id`` may work on (see ``v1.AgentTickets``); none for an unknown agent.

        At most ``AGENT_LIST_MAX``, chosen as: every ticket assigned to the agent by name (the oldest
        ``AGENT_LIST_MAX`` of them), then the oldest of their groups' and of anyone's to make up
        ``AGENT_LIST_MAX``; listed oldest first. Served by the ``open_for`` index, one Query per key (the
        agent, each of their groups, anyone of the unit), each of at most what is left to fill: what it
        reads depends on the agent's tickets, never on the rest of the unit's backlog."""
        agent = self.agents.find(agent_id, consistent=False)
        if agent is None:
            return v1.AgentTickets(tickets=[])
        unit = agent.unit_id
        mine = open_for_key(unit, None, agent_id)
        shared_keys = [open_for_key(unit, group, None) for group in sorted(agent.group_ids or ())]
        shared_keys.append(open_for_key(unit, None, None))
        own = self.tickets.open_for(mine, AGENT_LIST_MAX)
        room = AGENT_LIST_MAX - len(own)
        shared: list[Ticket] = []
        if room > 0:
            lists = [self.tickets.open_for(key, room) for key in shared_keys]
            shared = list(islice(heapq.merge(*lists, key=_age), room))
        chosen = sorted(own + shared, key=_age)
        # The index is eventually consistent: a ticket done or given to someone else a moment ago may
        # still be listed; the stored ticket says whom it waits for now.
        wanted = {mine, *shared_keys}
        tickets = [t for t in self.tickets.many([t.ticket_id for t in chosen]) if t.open_for in wanted]
        return v1.AgentTickets(tickets=[ticket_view(t) for t in tickets])


def _age(ticket: Ticket) -> tuple[datetime, str]:
    return ticket.created_at, ticket.ticket_id


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
