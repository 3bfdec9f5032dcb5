"""Media node registrations (a node is live while its heartbeat is fresh and its socket connected).

The only code that knows the ``media_nodes`` table's key. Writes are single UpdateItems (a heartbeat
must not overwrite ``call_ids``, which signaling keeps as calls are assigned and reported closed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from vkyc.domain.media import NODE_DEAD_AFTER, NodeView
from vkyc.repositories.errors import RepositoryError
from vkyc.repositories.tables import MediaNode

DEAD_AFTER = NODE_DEAD_AFTER
FORGET_AFTER = timedelta(days=1)


def record_heartbeat(
    node_id: str,
    address: str,
    capacity: int,
    load: int,
    *,
    at: datetime,
    connection_id: str | None = None,
    session_id: str | None = None,
) -> None:
    """Refresh the node's registration (creating it on the first heartbeat); a node heard from again is
    no longer lost. One UpdateItem."""
    actions: list[Action] = [
        MediaNode.address.set(address),
        MediaNode.capacity.set(capacity),
        MediaNode.load.set(load),
        MediaNode.heartbeat_at.set(at),
        MediaNode.expires_at.set(at + FORGET_AFTER),
        MediaNode.lost_at.remove(),
    ]
    if connection_id is not None:
        actions.append(MediaNode.connection_id.set(connection_id))
    if session_id is not None:
        actions.append(MediaNode.session_id.set(session_id))
    MediaNode(node_id=node_id).update(actions=actions)


def find(node_id: str) -> MediaNode | None:
    if not node_id:
        return None
    try:
        return MediaNode.get(node_id, consistent_read=True)
    except MediaNode.DoesNotExist:
        return None


def all_nodes() -> list[MediaNode]:
    """Every registration. A Scan: the table holds a handful of nodes (expired ones drop out by TTL)."""
    return list(MediaNode.scan())


def live_nodes(now: datetime) -> list[MediaNode]:
    """Nodes heard from within ``DEAD_AFTER``. A Scan: the table holds a handful of nodes."""
    return [n for n in MediaNode.scan() if now - n.heartbeat_at <= DEAD_AFTER]


def view(node: MediaNode) -> NodeView:
    """What the pure routing rules (``vkyc.domain.media``) need of a registration."""
    return NodeView(
        node_id=node.node_id,
        capacity=node.capacity,
        load=node.load,
        assigned=len(node.call_ids or ()),
        heartbeat_at=node.heartbeat_at,
        connected=bool(node.connection_id),
        draining=bool(node.draining),
    )


def detach(node_id: str, connection_id: str) -> bool:
    """The node's socket ``connection_id`` dropped: forget it, unless a newer one replaced it. False
    when nothing changed."""
    return _update(
        node_id,
        [MediaNode.connection_id.remove()],
        MediaNode.connection_id == connection_id,
    )


def mark_lost(node_id: str, at: datetime) -> bool:
    """Declare the node dead, once: True only for the caller that did it."""
    return _update(
        node_id,
        [MediaNode.lost_at.set(at), MediaNode.connection_id.remove()],
        MediaNode.node_id.exists() & MediaNode.lost_at.does_not_exist(),
    )


def remove_call(node_id: str, call_id: str) -> None:
    """The node reported the call's recording (or the call was given to another node)."""
    _update(node_id, [MediaNode.call_ids.delete({call_id})], MediaNode.node_id.exists())


def _update(node_id: str, actions: list[object], condition: object) -> bool:
    try:
        MediaNode(node_id=node_id).update(actions=actions, condition=condition)  # type: ignore[arg-type]
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise RepositoryError(f"media node {node_id}: {exc}") from exc
    return True
