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

**Done once, then one read.** A ``backfill`` over every unit that gets to its end records it
(``vkyc.repositories.job_marks``, the mark ``ticket_open_for_backfill``), and every later ``backfill``
reads that one item and stops. Why nothing can be missing once the mark is there: the tickets that
lacked the key were those stored before the release that added it; the pass gave it to every one of
them still not done (or saw it given by a change meanwhile), and every ticket written since, created or
changed, is written by code that always sets the key. So the mark is written only after a complete
pass: a pass that stops midway (a crash, a throttled request) leaves none, and the next run does the
whole job again (what it wrote already is left alone). A pass limited by ``--unit`` writes no mark.
``--force`` runs the pass whatever the mark says (and writes it again): after restoring the tickets
table from a backup older than the mark, or if an older release still ran and wrote tickets after
the pass. ``check`` always reads every ticket not done: it is how to verify the mark's claim.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from vkyc.repositories import job_marks
from vkyc.repositories.tables import Ticket
from vkyc.repositories.tickets import TicketRepository
from vkyc.repositories.units import list_units

PROG = "python -m vkyc.services.ticket_index"
JOB = "ticket_open_for_backfill"
"""The name of the backfill's mark (``vkyc.repositories.job_marks``)."""


@dataclass(frozen=True)
class Backfilled:
    """What a ``backfill`` did: ``written`` tickets given the key; ``done_before``: the time of the mark
    of an earlier complete pass, when this run read only the mark and did nothing else."""

    written: int
    done_before: datetime | None = None


def lacking(unit_ids: Iterable[str] | None = None) -> list[Ticket]:
    """The tickets not done of ``unit_ids`` (serving units; default: every unit) without their
    ``open_for`` key, oldest first per unit."""
    tickets = TicketRepository()
    found: list[Ticket] = []
    for unit_id in _units(unit_ids):
        ids = list(tickets.open_ids_in(unit_id))
        found += [t for t in tickets.many(ids) if t.open_for is None and t.state != "done"]
    return found


def backfill(unit_ids: Iterable[str] | None = None, *, force: bool = False) -> Backfilled:
    """Give the key to the tickets ``lacking`` it (a ticket that changed meanwhile is not written: its
    change wrote the key), unless a complete pass is marked already (one GetItem, nothing else) and not
    ``force``. A pass over every unit (``unit_ids`` None) that ends writes the mark; an exception
    midway leaves it unwritten."""
    if not force:
        mark = job_marks.find_mark(JOB)
        if mark is not None:
            return Backfilled(0, done_before=mark.done_at)
    tickets = TicketRepository()
    written = sum(1 for ticket in lacking(unit_ids) if tickets.fill_open_for(ticket))
    if unit_ids is None:
        job_marks.put_mark(JOB, by=f"{PROG} backfill", report={"written": written})
    return Backfilled(written)


def _units(unit_ids: Iterable[str] | None) -> list[str]:
    return list(unit_ids) if unit_ids is not None else [u.unit_id for u in list_units()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("check", "backfill"))
    parser.add_argument("--unit", help="one serving unit (default: every unit)")
    parser.add_argument(
        "--force", action="store_true", help="backfill: run even though a complete pass is marked done"
    )
    args = parser.parse_args(argv)
    units = [args.unit] if args.unit else None
    if args.command == "backfill":
        done = backfill(units, force=args.force)
        if done.done_before is not None:
            when = done.done_before.isoformat()
            print(f"open_for backfill already complete ({when}); --force runs it again")
        else:
            print(f"open_for written on {done.written} ticket(s)")
        return 0
    missing = lacking(units)
    for ticket in missing:
        created = ticket.created_at.isoformat()
        print(f"{ticket.serving_unit_id} {ticket.ticket_id} {ticket.state} created {created}")
    print(f"{len(missing)} ticket(s) not done without open_for")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
