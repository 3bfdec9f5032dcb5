"""What routing reads: the serving unit, the queue and its group rules (configuration, cached), and the
available agents (live state, never cached).

Cost of routing one call (``RoutingRepository``):

* warm caches (the usual case): **one DynamoDB request**, the Query of ``available_agents``;
* cold caches (first call of a process, or 30 s after the last load): at most four more, each then
  cached for ``ttl_s``: a Scan of ``units`` (the serving map, all units at once), a Scan of
  ``hotlines`` (no by-unit index is needed for a handful of items), a GetItem of the queue, and one
  BatchGetItem of its groups (their conditions).

Configuration is cached per process (per Lambda container): an admin change takes effect within
``ttl_s`` seconds (30 by default). Agents' states are never cached: a stale state costs a lost claim.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vkyc.domain.agent import AgentState
from vkyc.domain.policy import normalize_sub_type
from vkyc.domain.routing import Candidate, GroupRule, serving_unit
from vkyc.repositories.settings_cache import TtlCache
from vkyc.repositories.tables import Agent, Group, Hotline, Queue, QueueGroup, Unit

CONFIG_TTL_S = 30.0
"""How long routing trusts its copy of the configuration (units, hotlines, queues, groups)."""


@dataclass(frozen=True)
class _HotlineRef:
    hotline_id: str
    unit_id: str
    queue_id: str | None


@dataclass(frozen=True)
class RoutingContext:
    """Where a call of ``unit_id`` waits and who may answer it.

    ``serving_unit_id``: the unit whose agents answer (``vkyc.domain.routing.serving_unit``).
    ``hotline_id`` / ``queue_id``: the hotline and queue used (see ``RoutingRepository.context``); None
    when the serving unit has no hotline with a queue, a configuration error: nobody can answer.
    ``queue``: the queue item (``timeout_s``, ``auto_ticket``), None likewise or when the queue the
    hotline names does not exist. ``rules``: the queue's groups with their conditions, in priority
    order; empty = nobody answers (``choose`` returns None).
    """

    unit_id: str
    serving_unit_id: str
    hotline_id: str | None
    queue_id: str | None
    queue: Queue | None = field(compare=False, repr=False)
    rules: tuple[GroupRule, ...]


class RoutingRepository:
    """Reads for routing. Create one per process and keep it: the configuration caches live on it.

    ``clock`` (monotonic seconds) and ``ttl_s`` are injectable so tests can age the caches.
    """

    def __init__(self, *, ttl_s: float = CONFIG_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._served_by: TtlCache[str, dict[str, str | None]] = TtlCache(ttl_s, clock)
        self._hotlines: TtlCache[str, tuple[_HotlineRef, ...]] = TtlCache(ttl_s, clock)
        self._queues: TtlCache[str, tuple[Queue | None, tuple[GroupRule, ...]]] = TtlCache(ttl_s, clock)

    def invalidate(self) -> None:
        """Forget every cached configuration item (after an admin change in this process, or in tests)."""
        self._served_by.clear()
        self._hotlines.clear()
        self._queues.clear()

    def serving_unit(self, unit_id: str) -> str:
        """The unit whose agents answer calls of ``unit_id`` (itself when ``served_by`` is absent, also
        for a unit not in the table). Cached; a miss costs one Scan of ``units`` (all units)."""
        return serving_unit(unit_id, self._served_by.get("", _load_served_by))

    def context(self, unit_id: str, hotline_id: str | None = None) -> RoutingContext:
        """The routing context of an inbound call from a dealer of ``unit_id``.

        The queue is the one of a hotline of the *serving* unit: ``hotline_id`` when it is given, belongs
        to the serving unit and names a queue (a serving unit with several queues picks by hotline);
        otherwise the serving unit's first hotline (lowest ``hotline_id``) that names a queue. A hotline
        of another unit is ignored: the token's unit, not the hotline, decides whose agents answer.

        A queue's group missing from ``groups`` keeps its place without conditions (the queue still says
        it answers). Cached; cold, at most four requests (see the module docstring); warm, none.
        """
        serving = self.serving_unit(unit_id)
        hotline = _pick_hotline(self._hotlines.get("", _load_hotlines), serving, hotline_id)
        if hotline is None or hotline.queue_id is None:
            return RoutingContext(unit_id, serving, None, None, None, ())
        queue_id = hotline.queue_id
        queue, rules = self._queues.get(queue_id, lambda: _load_queue(queue_id))
        return RoutingContext(unit_id, serving, hotline.hotline_id, queue_id, queue, rules)

    def available_agents(self, unit_id: str) -> list[Candidate]:
        """The AVAILABLE agents of ``unit_id`` (pass the serving unit), as ``Candidate``s whose ``ref`` is
        the ``Agent`` item from GSI ``by_unit``: keys, ``state``, ``version``, ``group_ids``,
        ``connection_id``, ``available_since`` (enough to claim the agent with a conditional transition
        without reading it again; a stale entry loses that write). Never cached.

        One Query, eventually consistent (a GSI cannot be read consistently). One page holds thousands
        of projected agents, far more than a unit has.
        """
        items = Agent.by_unit.query(unit_id, range_key_condition=Agent.state == AgentState.AVAILABLE.value)
        return [
            Candidate(
                agent_id=item.agent_id,
                group_ids=frozenset(item.group_ids or ()),
                available_since=item.available_since,
                ref=item,
            )
            for item in items
        ]


def _load_served_by() -> dict[str, str | None]:
    return {unit.unit_id: unit.served_by for unit in Unit.scan()}


def _load_hotlines() -> tuple[_HotlineRef, ...]:
    refs = (_HotlineRef(h.hotline_id, h.unit_id, h.queue_id) for h in Hotline.scan())
    return tuple(sorted(refs, key=lambda ref: ref.hotline_id))


def _pick_hotline(
    hotlines: tuple[_HotlineRef, ...], serving_unit_id: str, hotline_id: str | None
) -> _HotlineRef | None:
    # ``hotlines`` is sorted by id, so the first match is the unit's first hotline.
    own = [h for h in hotlines if h.unit_id == serving_unit_id and h.queue_id is not None]
    for hotline in own:
        if hotline.hotline_id == hotline_id:
            return hotline
    return own[0] if own else None


def _load_queue(queue_id: str) -> tuple[Queue | None, tuple[GroupRule, ...]]:
    try:
        queue = Queue.get(queue_id)
    except Queue.DoesNotExist:
        return None, ()
    entries = list(queue.groups or [])
    if not entries:
        return queue, ()
    # One BatchGetItem for the whole queue (up to 100 keys per request; a queue has a few groups).
    groups = {g.group_id: g for g in Group.batch_get({entry.group_id for entry in entries})}
    return queue, tuple(_rule(entry, groups.get(entry.group_id)) for entry in entries)


def _rule(entry: QueueGroup, group: Group | None) -> GroupRule:
    overflow = float(entry.overflow_after_s) if entry.overflow_after_s is not None else None
    if group is None:
        return GroupRule(entry.group_id, entry.priority, overflow)
    return GroupRule(
        entry.group_id,
        entry.priority,
        overflow,
        customer_types=frozenset(group.customer_types or ()),
        sub_types=frozenset(normalize_sub_type(s) for s in group.sub_types or ()),
        dealer_channels=frozenset(group.dealer_channels or ()),
    )
