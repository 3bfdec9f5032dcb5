"""Media routing rules (issue #5): which media node carries a call, and when a party may send media.

Pure: no I/O. The media service reads the node registrations and the call, and asks these functions.

- **Node choice** (``choose_node``): a node is *live* when its last heartbeat is at most
  ``NODE_DEAD_AFTER`` old and its socket is connected (signaling can push orders to it). Its load is
  the larger of what its heartbeat said and the calls assigned to it since (a burst of calls between
  two heartbeats must not all land on the node that looked emptiest). Among live nodes with room
  (load < capacity) the least loaded relative to its capacity wins; ties go to the smaller load, then
  the node id (deterministic). No live node: ``NoNode.NONE_LIVE``; live nodes but all full:
  ``NoNode.ALL_FULL``.
- **Who may offer media when**: each direction's rules (``vkyc.domain.direction.CallRules``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

NODE_DEAD_AFTER = timedelta(seconds=15)
"""A node silent this long is dead (issue #5): routing skips it, the sweeper ends its calls."""
NODE_HEARTBEAT_S = 3.0
"""How often a node sends ``node.heartbeat`` (five chances before it counts as dead)."""


@dataclass(frozen=True)
class NodeView:
    """What routing needs of one node's registration."""

    node_id: str
    capacity: int
    load: int  # as its last heartbeat said
    assigned: int  # calls assigned to it and not yet reported closed
    heartbeat_at: datetime
    connected: bool  # its socket is up (signaling can push to it)

    @property
    def effective_load(self) -> int:
        return max(self.load, self.assigned)

    def live(self, now: datetime) -> bool:
        return self.connected and now - self.heartbeat_at <= NODE_DEAD_AFTER

    def has_room(self) -> bool:
        return self.effective_load < self.capacity


class NoNode(StrEnum):
    NONE_LIVE = "none_live"
    ALL_FULL = "all_full"


def choose_node(nodes: Iterable[NodeView], now: datetime) -> NodeView | NoNode:
    """The live node with room and the lowest relative load (see the module docstring)."""
    live = [n for n in nodes if n.live(now)]
    if not live:
        return NoNode.NONE_LIVE
    roomy = [n for n in live if n.has_room()]
    if not roomy:
        return NoNode.ALL_FULL
    return min(roomy, key=lambda n: (n.effective_load / n.capacity, n.effective_load, n.node_id))


def dead(node: NodeView, now: datetime) -> bool:
    """Whether a node's heartbeat is older than ``NODE_DEAD_AFTER`` (its socket state aside)."""
    return now - node.heartbeat_at > NODE_DEAD_AFTER
