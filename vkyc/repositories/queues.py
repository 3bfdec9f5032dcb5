"""Queues: which groups answer a hotline's calls, in which order, and the per-queue options."""

from __future__ import annotations

from collections.abc import Sequence

from vkyc.domain.settings import CallSettings
from vkyc.repositories.tables import Queue, QueueGroup


def find_queue(queue_id: str) -> Queue | None:
    """The queue, or None. One GetItem (eventually consistent: configuration changes rarely)."""
    try:
        return Queue.get(queue_id)
    except Queue.DoesNotExist:
        return None


def put_queue(
    queue_id: str,
    *,
    unit_id: str,
    name: str,
    groups: Sequence[QueueGroup],
    timeout_s: int | None = None,
    auto_ticket: bool = False,
) -> Queue:
    """Store the queue as given, replacing any previous version (idempotent); return it.

    ``groups`` is stored ordered by ``priority``, ties in the given order, so readers offer in list
    order. ``timeout_s`` None = the unit's ``queue_timeout_s`` setting (see ``queue_timeout_s``).
    Raises ``ValueError`` (nothing written) for no groups, a group listed twice, a priority below 1,
    an overflow delay or a timeout that is not positive, or only overflow groups (nobody would answer
    before the first delay). One PutItem.
    """
    if not groups:
        raise ValueError(f"queue {queue_id!r}: at least one group must answer it")
    seen: set[str] = set()
    for entry in groups:
        if entry.group_id in seen:
            raise ValueError(f"queue {queue_id!r}: group {entry.group_id!r} is listed twice")
        seen.add(entry.group_id)
        if entry.priority < 1:
            raise ValueError(
                f"queue {queue_id!r}: group {entry.group_id!r} has priority {entry.priority} < 1"
            )
        if entry.overflow_after_s is not None and entry.overflow_after_s <= 0:
            raise ValueError(f"queue {queue_id!r}: group {entry.group_id!r} overflow delay must be positive")
    if all(entry.overflow_after_s is not None for entry in groups):
        raise ValueError(f"queue {queue_id!r}: at least one group must answer without an overflow delay")
    if timeout_s is not None and timeout_s <= 0:
        raise ValueError(f"queue {queue_id!r}: timeout_s must be positive")
    queue = Queue(
        queue_id,
        unit_id=unit_id,
        name=name,
        groups=sorted(groups, key=lambda entry: entry.priority),  # sorted() is stable: ties keep order
        timeout_s=timeout_s,
        auto_ticket=auto_ticket,
    )
    queue.save()
    return queue


def queue_timeout_s(queue: Queue, settings: CallSettings) -> int:
    """How long a call may wait in ``queue``: its own ``timeout_s``, else ``settings.queue_timeout_s``
    (pass the settings of the queue's unit)."""
    return queue.timeout_s if queue.timeout_s is not None else settings.queue_timeout_s
