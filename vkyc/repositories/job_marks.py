"""Marks of one-off jobs over stored data (an upgrade's backfill) that finished a complete pass, so that
a later run reads one item and stops instead of reading the data again.

A mark is an item of the settings table (``vkyc.repositories.tables.Setting``) in the scope ``jobs``,
beside the call settings' ``global`` and ``unit#<id>``: ``vkyc.repositories.settings`` reads one named
scope at a time, so it never meets a mark. The item is named by the job; ``value`` is what the pass
reported, ``updated_at`` and ``updated_by`` when and by what it finished. Only this module reads and
writes the scope ``jobs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vkyc.repositories.tables import Setting

JOBS_SCOPE = "jobs"


@dataclass(frozen=True)
class JobMark:
    """A complete pass of ``job``: when it ended, what ran it, what it reported."""

    job: str
    done_at: datetime
    by: str
    report: Mapping[str, Any]


def find_mark(job: str) -> JobMark | None:
    """The mark of ``job``'s last complete pass, or None if it never finished one. One GetItem,
    strongly consistent (a pass that has just finished elsewhere is seen)."""
    try:
        item = Setting.get(JOBS_SCOPE, job, consistent_read=True)
    except Setting.DoesNotExist:
        return None
    done_at = item.updated_at or datetime.min.replace(tzinfo=UTC)
    return JobMark(job, done_at, item.updated_by or "", dict(item.value or {}))


def put_mark(job: str, *, by: str, report: Mapping[str, Any], at: datetime | None = None) -> JobMark:
    """Record that ``job`` finished a complete pass (replacing an earlier mark). Call it only once the
    pass is over: a pass that stops midway must leave no mark. One PutItem."""
    mark = JobMark(job, at or datetime.now(UTC), by, dict(report))
    Setting(JOBS_SCOPE, job, value=dict(mark.report), updated_at=mark.done_at, updated_by=by).save()
    return mark
