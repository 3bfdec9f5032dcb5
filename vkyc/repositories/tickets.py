"""The tickets table (``vkyc.repositories.tables.Ticket``): reads by key and by index. Writes go through
``vkyc.repositories.transitions`` (``vkyc.services.tickets``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from vkyc.repositories.batch import get_many
from vkyc.repositories.stateful import StatefulRepository
from vkyc.repositories.tables import Ticket
from vkyc.repositories.transitions import Touch, TouchRejected, commit


def customer_key(serving_unit_id: str, customer: str) -> str:
    return f"{serving_unit_id}#{customer}"


class TicketRepository(StatefulRepository[Ticket]):
    def __init__(self) -> None:
        super().__init__(Ticket)

    def of_customer(self, serving_unit_id: str, customer: str) -> list[Ticket]:
        """The customer's tickets that are not done, oldest first (one Query, one BatchGetItem)."""
        keys = [
            t.ticket_id
            for t in Ticket.by_customer.query(customer_key(serving_unit_id, customer))
            if t.state != "done"
        ]
        return self.many(keys)

    def open_for(self, key: str, limit: int) -> list[Ticket]:
        """At most ``limit`` of the tickets not done that wait for ``key`` (``open_for_key``), oldest
        first, as the index has them: ``ticket_id`` and ``created_at`` only (read the rest with ``many``).
        One Query of at most ``limit`` entries. Index reads are eventually consistent: a ticket moved a
        moment ago may still be listed under its former key."""
        return list(Ticket.open_for_assignee.query(key, limit=limit))

    def open_ids_in(self, serving_unit_id: str) -> Iterator[str]:
        """The ids of every ticket of a serving unit that is not done, oldest first (as many Queries as
        the ``open`` index's pages): what the ``open_for`` backfill walks, never a request's path."""
        for ticket in Ticket.open_tickets.query(serving_unit_id):
            yield ticket.ticket_id

    def fill_open_for(self, ticket: Ticket) -> bool:
        """Give ``ticket`` (as read) the ``open_for`` key it lacks, stored before the key existed: an
        unversioned write (no log entry, no webhook) on the condition that the ticket is still at the
        version read and still has no key. False when it needs none or moved meanwhile (every change
        writes the key itself, ``Ticket.derived``)."""
        key = ticket.derived(ticket.state).get("open_for")
        if key is None or ticket.open_for is not None:
            return False
        unchanged = (Ticket.version == ticket.version) & Ticket.open_for.does_not_exist()
        try:
            commit(
                Touch(ticket, {"open_for": key}, name="ticket", condition=unchanged),
                request_id=f"open-for:{ticket.ticket_id}:{ticket.version}",
            )
        except TouchRejected:
            return False
        return True

    def page_of_unit(
        self, unit_id: str, since: datetime, until: datetime, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]:
        """One Query of a unit's tickets created in [since, until], newest first: their ids and where the
        next Query starts (None: the end)."""
        result: Iterator[Ticket] = Ticket.by_unit.query(
            unit_id,
            range_key_condition=Ticket.created_at.between(since, until),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
        )
        ids = [t.ticket_id for t in result]
        return ids, result.last_evaluated_key  # type: ignore[attr-defined]

    def many(self, ticket_ids: list[str]) -> list[Ticket]:
        """The tickets of ``ticket_ids`` that exist, in that order (BatchGetItems of 100)."""
        found: list[Ticket] = []
        for start in range(0, len(ticket_ids), 100):
            chunk = ticket_ids[start : start + 100]
            found += [t for t in get_many([Ticket(ticket_id=i) for i in chunk]) if isinstance(t, Ticket)]
        return found
