"""The ``open_for`` backfill's mark on moto (``vkyc.services.ticket_index``): a complete pass writes the
keys and then its mark, a later run reads the mark alone (one GetItem, counted on the shared client),
a pass that fails midway leaves no mark and the next run finishes the job, ``--force`` runs again,
a pass over one unit marks nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.functional.test_tickets import DAY, World, stored_by_an_older_release
from vkyc.domain.settings import MissedTicketMerge
from vkyc.repositories import job_marks
from vkyc.repositories.tables import Setting, Unit
from vkyc.repositories.tickets import TicketRepository
from vkyc.services import ticket_index


@pytest.fixture
def unmarked(tables) -> Iterator[None]:
    """No earlier pass is marked (the module's tests share their tables)."""
    Setting(job_marks.JOBS_SCOPE, ticket_index.JOB).delete()
    yield


def old_tickets(count: int) -> tuple[World, list[str]]:
    """A unit (in the units table, so a pass over every unit walks it) with ``count`` tickets not done
    as a release before ``open_for`` stored them."""
    world = World(MissedTicketMerge.ONE_PER_CALL)
    Unit(world.unit_id, name=world.unit_id, has_agents=True).save()
    ids = [world.missed(world.call(DAY + timedelta(minutes=m)))[0] for m in range(count)]
    for tid in ids:
        stored_by_an_older_release(tid)
    return world, ids


def keyed(ids: list[str]) -> list[bool]:
    return [TicketRepository().get(tid).open_for is not None for tid in ids]


def test_a_complete_pass_writes_the_keys_and_its_mark_and_a_later_run_reads_only_the_mark(
    unmarked, dynamodb_reads, capsys
):
    world, ids = old_tickets(3)

    first = ticket_index.backfill()
    assert (first.written, first.done_before) == (3, None)
    assert keyed(ids) == [True, True, True]
    mark = job_marks.find_mark(ticket_index.JOB)
    assert mark is not None and mark.report == {"written": 3}

    dynamodb_reads.clear()
    again = ticket_index.backfill()
    assert (again.written, again.done_before) == (0, mark.done_at)
    assert dynamodb_reads == [("GetItem", 1)]  # the mark, and nothing of the tickets or the units

    dynamodb_reads.clear()
    assert ticket_index.main(["backfill"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert dynamodb_reads == [("GetItem", 1)]
    assert ticket_index.main(["check", "--unit", world.unit_id]) == 0


def test_force_runs_the_pass_again_whatever_the_mark_says(unmarked, capsys):
    world, _ = old_tickets(1)
    ticket_index.backfill()
    before = job_marks.find_mark(ticket_index.JOB)
    assert before is not None
    # A ticket without the key after the mark (a table restored from an older backup, say): the
    # mark says done, so only --force finds it.
    (late,) = world.missed(world.call(DAY + timedelta(hours=1)))
    stored_by_an_older_release(late)
    assert ticket_index.backfill().written == 0
    assert ticket_index.main(["check", "--unit", world.unit_id]) == 1

    assert ticket_index.main(["backfill", "--force"]) == 0
    assert "open_for written on 1 ticket(s)" in capsys.readouterr().out
    assert keyed([late]) == [True]
    after = job_marks.find_mark(ticket_index.JOB)
    assert after is not None and after.done_at > before.done_at and after.report == {"written": 1}
    assert ticket_index.main(["check", "--unit", world.unit_id]) == 0


def test_a_pass_that_fails_midway_leaves_no_mark_and_the_next_run_finishes_the_job(unmarked, monkeypatch):
    _, ids = old_tickets(3)
    fill = TicketRepository.fill_open_for
    calls = []

    def fails_on_the_second(self: TicketRepository, ticket):  # type: ignore[no-untyped-def]
        calls.append(ticket.ticket_id)
        if len(calls) == 2:
            raise RuntimeError("the process died here")
        return fill(self, ticket)

    monkeypatch.setattr(TicketRepository, "fill_open_for", fails_on_the_second)
    with pytest.raises(RuntimeError):
        ticket_index.backfill()
    assert job_marks.find_mark(ticket_index.JOB) is None
    assert keyed(ids) == [True, False, False]

    monkeypatch.setattr(TicketRepository, "fill_open_for", fill)
    assert ticket_index.backfill().written == 2
    assert keyed(ids) == [True, True, True]
    assert job_marks.find_mark(ticket_index.JOB) is not None


def test_a_pass_over_one_unit_marks_nothing(unmarked):
    world, ids = old_tickets(2)
    assert ticket_index.backfill([world.unit_id]).written == 2
    assert keyed(ids) == [True, True]
    assert job_marks.find_mark(ticket_index.JOB) is None
    assert ticket_index.backfill().written == 0  # every unit: nothing left, and now the mark
    assert job_marks.find_mark(ticket_index.JOB) is not None
