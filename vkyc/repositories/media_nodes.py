"""Media node registrations (a node is live while its heartbeat is fresh)."""

from __future__ import annotations

from datetime import datetime, timedelta

from vkyc.repositories.tables import MediaNode

DEAD_AFTER = timedelta(seconds=15)
FORGET_AFTER = timedelta(days=1)


def record_heartbeat(node_id: str, address: str, capacity: int, load: int, *, at: datetime) -> None:
    MediaNode(
        node_id=node_id,
        address=address,
        capacity=capacity,
        load=load,
        heartbeat_at=at,
        expires_at=at + FORGET_AFTER,
    ).save()


def live_nodes(now: datetime) -> list[MediaNode]:
    """Nodes heard from within ``DEAD_AFTER``. A Scan: the table holds a handful of nodes."""
    return [n for n in MediaNode.scan() if now - n.heartbeat_at <= DEAD_AFTER]
