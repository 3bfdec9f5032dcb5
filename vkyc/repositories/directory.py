"""What the reports name: the queues, groups and agents of the units, read whole and cached per process
(``CONFIG_TTL_S``). Queues and groups are a handful of configuration items per unit: one Scan each;
a unit's agents are one Query of the agents' ``by_unit`` index."""

from __future__ import annotations

from dataclasses import dataclass

from vkyc.repositories import tables
from vkyc.repositories.settings_cache import TtlCache
from vkyc.repositories.tables import Agent, Group, Queue


@dataclass(frozen=True)
class Named:
    id: str
    unit_id: str
    name: str
    group_ids: frozenset[str] = frozenset()


_QUEUES: TtlCache[str, dict[str, Named]] = TtlCache()
_GROUPS: TtlCache[str, dict[str, Named]] = TtlCache()
_AGENTS: TtlCache[tuple[str, str], dict[str, Named]] = TtlCache()


def queues() -> dict[str, Named]:
    """Every queue by id (cached). One Scan when cold."""
    return _QUEUES.get(
        tables.prefix(), lambda: {q.queue_id: Named(q.queue_id, q.unit_id, q.name) for q in Queue.scan()}
    )


def groups() -> dict[str, Named]:
    """Every group by id (cached). One Scan when cold."""
    return _GROUPS.get(
        tables.prefix(), lambda: {g.group_id: Named(g.group_id, g.unit_id, g.name) for g in Group.scan()}
    )


def agents_of(unit_id: str) -> dict[str, Named]:
    """The unit's agents by id, with their names and groups (cached). One Query when cold."""

    def load() -> dict[str, Named]:
        return {
            a.agent_id: Named(a.agent_id, a.unit_id, a.name or a.agent_id, frozenset(a.group_ids or ()))
            for a in Agent.by_unit.query(unit_id)
        }

    return _AGENTS.get((tables.prefix(), unit_id), load)


def clear() -> None:
    """Forget what was read (tests, or after a configuration change in this process)."""
    for cache in (_QUEUES, _GROUPS, _AGENTS):
        cache.clear()
