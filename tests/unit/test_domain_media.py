"""Media routing rules (``vkyc.domain.media``): which node carries a call, and who may offer media when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vkyc.domain.media import (
    NODE_DEAD_AFTER,
    NodeView,
    NoNode,
    choose_node,
    dead,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def node(
    node_id: str,
    *,
    load: int = 0,
    capacity: int = 8,
    assigned: int = 0,
    age_s: float = 1.0,
    connected: bool = True,
) -> NodeView:
    return NodeView(node_id, capacity, load, assigned, NOW - timedelta(seconds=age_s), connected)


def test_the_least_loaded_live_node_wins() -> None:
    chosen = choose_node([node("a", load=3), node("b", load=1), node("c", load=2)], NOW)
    assert isinstance(chosen, NodeView) and chosen.node_id == "b"


def test_load_is_relative_to_capacity() -> None:
    chosen = choose_node([node("small", load=2, capacity=4), node("big", load=4, capacity=16)], NOW)
    assert isinstance(chosen, NodeView) and chosen.node_id == "big"


def test_calls_assigned_since_the_last_heartbeat_count() -> None:
    # A burst of calls between two heartbeats must not all land on the node that looked emptiest.
    chosen = choose_node([node("a", load=0, assigned=3), node("b", load=1)], NOW)
    assert isinstance(chosen, NodeView) and chosen.node_id == "b"


def test_ties_go_to_the_smaller_id() -> None:
    chosen = choose_node([node("n2"), node("n1"), node("n3")], NOW)
    assert isinstance(chosen, NodeView) and chosen.node_id == "n1"


def test_a_silent_or_unreachable_node_is_never_chosen() -> None:
    silent = node("silent", age_s=NODE_DEAD_AFTER.total_seconds() + 0.5)
    unreachable = node("unreachable", connected=False)
    assert choose_node([silent, unreachable], NOW) is NoNode.NONE_LIVE
    assert dead(silent, NOW) and not dead(unreachable, NOW)
    chosen = choose_node([silent, unreachable, node("busy", load=7)], NOW)
    assert isinstance(chosen, NodeView) and chosen.node_id == "busy"


def test_full_nodes_are_told_apart_from_no_node() -> None:
    assert choose_node([node("a", load=8), node("b", assigned=8)], NOW) is NoNode.ALL_FULL
    assert choose_node([], NOW) is NoNode.NONE_LIVE
