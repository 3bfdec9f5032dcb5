"""The tickets' ``open_for`` key (who a ticket not done waits for, ``vkyc.repositories.tables.open_for_key``)
on tickets stored before the key existed: find them, and give them the key.

Every change of a ticket writes the key (``Ticket.derived``, through ``vkyc.repositories.transitions``),
so a stored ticket lacks it only if it has not changed since the release that added the key; until it
gets it, no agent's list shows it. After deploying that release, once::

    python -m vkyc.services.ticket_index check      # the tickets without it; exits 1 if any
    python -m vkyc.services.ticket_index backfill   # gives it to them; run again until check finds none

``--unit`` limits both to one serving unit. Reads: one Query per unit of the ``open`` index (a serving
unit's tickets not done, however many pages) and one BatchGetItem per 100 tickets; writes: one
conditional update per ticket without the key (at the version read, and only while it still has no
key: a ticket that changes meanwhile gets the key from its change). Safe to run while the system runs,
and again: a ticket that has the key is left alone. The update moves no version: no ``ticket.*``
webhook is sent for it. The local stack runs ``backfill`` at every start (``local/bootstrap.py``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

from vkyc.repositories.tables import Ticket
from vkyc.repositories.tickets import TicketRepository
from vkyc.repositories.units import list_units


def lacking(unit_ids: Iterable[str] | None = None) -> list[Ticket]:
    """The tickets not done of ``unit_ids`` (serving units; default: every unit) without their
    ``open_for`` key, oldest first per unit."""
    tickets = TicketRepository()
    found: list[Ticket] = []
    for unit_id in _units(unit_ids):
        ids = list(tickets.open_ids_in(unit_id))
        found += [t for t in tickets.many(ids) if t.open_for is None and t.state != "done"]
    return found


def backfill(unit_ids: Iterable[str] | None = None) -> int:
    """Give the key to the tickets ``lacking`` it; how many were written (a ticket that changed
    meanwhile is not: its change wrote the key)."""
    tickets = TicketRepository()
    return sum(1 for ticket in lacking(unit_ids) if tickets.fill_open_for(ticket))


def _units(unit_ids: Iterable[str] | None) -> list[str]:
    return list(unit_ids) if unit_ids is not None else [u.unit_id for u in list_units()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vkyc.services.ticket_index", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=("check", "backfill"))
    parser.add_argument("--unit", help="one serving unit (default: every unit)")
    args = parser.parse_args(argv)
    units = [args.unit] if args.unit else None
    if args.command == "backfill":
        print(f"open_for written on {backfill(units)} ticket(s)")
        return 0
    missing = lacking(units)
    for ticket in missing:
        created = ticket.created_at.isoformat()
        print(f"{ticket.serving_unit_id} {ticket.ticket_id} {ticket.state} created {created}")
    print(f"{len(missing)} ticket(s) not done without open_for")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
