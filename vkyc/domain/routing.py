"""Routing policy: which unit serves a call, which groups may take it now, which agent gets the offer.

Routing is data (domain.md "Units and who serves whom", seed 001 "flexible per-group routing rules"):

* **Serving unit.** A unit's calls are answered by the agents of its serving unit (``Unit.served_by``);
  absent = the unit itself. "Unit 1 serves 4 and 6, unit 3 serves 7" is ``{"4": "1", "6": "1", "7": "3"}``.
* **Groups of a queue.** Each ``GroupRule`` is one group answering the queue, with a ``priority`` (lower
  first), an optional overflow delay (the group joins only once the call has waited that long) and
  optional conditions on the call (customer type, SUB_TYPE, dealer channel; empty = any).
* **Agent.** Among the available agents not yet tried for this call, those of the best priority level
  that has any; among them the one idle longest.

Pure: no I/O, no clock (the caller passes how long the call has waited). Imports only the domain and the
standard library.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vkyc.domain.policy import normalize_sub_type


def serving_unit(unit_id: str, served_by: Mapping[str, str | None]) -> str:
    """The unit whose agents answer calls of ``unit_id``: ``served_by[unit_id]``, or ``unit_id`` itself
    when absent, None or empty.

    One hop, never transitive: a serving unit answers with its own agents, so "A served by B served by C"
    is a configuration error for the writer to refuse, not a chain to follow here.
    """
    return served_by.get(unit_id) or unit_id


@dataclass(frozen=True)
class GroupRule:
    """One group answering a queue.

    ``priority``: lower is offered first; rules of equal priority form one level, offered together.
    ``overflow_after_s``: None = answers from the start; else the group opens only once the call has
    waited that many seconds. ``customer_types`` / ``sub_types`` / ``dealer_channels``: the group takes
    only calls whose fact is in the set; an empty set = any value (also an unknown one). ``sub_types``
    hold normalized codes (``normalize_sub_type``).
    """

    group_id: str
    priority: int
    overflow_after_s: float | None = None
    customer_types: frozenset[str] = frozenset()
    sub_types: frozenset[str] = frozenset()
    dealer_channels: frozenset[str] = frozenset()

    def matches(self, call: CallFacts) -> bool:
        """True when every condition of the group holds for ``call``.

        A condition that is set refuses a call whose fact is unknown (None): a KHDN-only team must not
        get a call nobody classified.
        """
        sub_type = normalize_sub_type(call.sub_type) if call.sub_type is not None else None
        return (
            _allows(self.customer_types, call.customer_type)
            and _allows(self.sub_types, sub_type)
            and _allows(self.dealer_channels, call.dealer_channel)
        )

    def is_open(self, call: CallFacts) -> bool:
        """True when the group may take ``call`` now: its conditions match and, for an overflow group,
        the call has waited at least ``overflow_after_s``."""
        if not self.matches(call):
            return False
        return self.overflow_after_s is None or call.waited_s >= self.overflow_after_s


def _allows(allowed: frozenset[str], value: str | None) -> bool:
    return not allowed or (value is not None and value in allowed)


@dataclass(frozen=True)
class CallFacts:
    """What routing knows about a waiting call. ``waited_s``: seconds since it entered the queue."""

    customer_type: str | None = None  # KHCN | KHDN
    sub_type: str | None = None
    dealer_channel: str | None = None
    waited_s: float = 0.0


@dataclass(frozen=True)
class Candidate:
    """An available agent, as routing sees it.

    ``available_since``: when the agent last became AVAILABLE (None = unknown, counted as idle longest).
    ``ref``: opaque to routing; the caller's own item (e.g. the agent row it will claim), handed back
    with the chosen candidate so no second read is needed. Not compared, not shown.
    """

    agent_id: str
    group_ids: frozenset[str] = frozenset()
    available_since: datetime | None = None
    ref: object = field(default=None, compare=False, repr=False)


def open_groups(rules: Iterable[GroupRule], call: CallFacts) -> list[GroupRule]:
    """The groups that may take ``call`` now (``GroupRule.is_open``), by priority, lower first; rules of
    equal priority keep their given order. No rules (a queue without groups) → empty."""
    return sorted((rule for rule in rules if rule.is_open(call)), key=lambda rule: rule.priority)


def choose(
    candidates: Iterable[Candidate],
    rules: Iterable[GroupRule],
    call: CallFacts,
    excluded: Collection[str] = (),
) -> Candidate | None:
    """The agent to offer ``call`` to, or None when nobody may take it now.

    ``candidates`` must be the AVAILABLE agents only (the caller's query selects them). Agents whose id
    is in ``excluded`` (they rejected or missed this call) are never offered it again. The open groups
    (``open_groups``) are taken by priority level: the first level with at least one remaining candidate
    in any of its groups wins, all groups of that level together (equal priority = offered together).
    Within it, the candidate idle longest: earliest ``available_since``, None first; ties by
    ``agent_id``, so the choice does not depend on the order of ``candidates``.

    No rules, no open group, or no remaining candidate in any open group → None; the caller waits for an
    agent to become available or for the next overflow (``next_overflow_in``), or gives up.
    """
    ranked = rank(candidates, rules, call, excluded)
    return ranked[0] if ranked else None


def rank(
    candidates: Iterable[Candidate],
    rules: Iterable[GroupRule],
    call: CallFacts,
    excluded: Collection[str] = (),
) -> list[Candidate]:
    """Every candidate that may take ``call`` now, best first; ``rank(...)[0]`` is ``choose(...)``.

    Same rules as ``choose``: by priority level of the open groups, then idle longest, then ``agent_id``.
    An agent in groups of several levels appears once, at its best level. For a caller whose claim of
    the first may lose a race (another call took that agent) and who tries the next without a new read.
    """
    remaining = [c for c in candidates if c.agent_id not in excluded]
    ranked: list[Candidate] = []
    placed: set[str] = set()
    for level in _levels(open_groups(rules, call)):
        pool = [c for c in remaining if c.agent_id not in placed and not c.group_ids.isdisjoint(level)]
        pool.sort(key=_idle_longest_first)
        ranked.extend(pool)
        placed.update(c.agent_id for c in pool)
    return ranked


def _levels(ordered: Sequence[GroupRule]) -> list[frozenset[str]]:
    """Group ids of rules already sorted by priority, one set per priority value, best first."""
    levels: list[frozenset[str]] = []
    current: set[str] = set()
    priority: int | None = None
    for rule in ordered:
        if priority is not None and rule.priority != priority:
            levels.append(frozenset(current))
            current = set()
        priority = rule.priority
        current.add(rule.group_id)
    if current:
        levels.append(frozenset(current))
    return levels


def _idle_longest_first(candidate: Candidate) -> tuple[bool, float, str]:
    # timestamp() rather than the datetime itself: None sorts first without comparing it to a datetime.
    since = candidate.available_since
    return (since is not None, since.timestamp() if since is not None else 0.0, candidate.agent_id)


def next_overflow_in(rules: Iterable[GroupRule], call: CallFacts) -> float | None:
    """Seconds until the next overflow group still closed to ``call`` opens (for a timer that retries
    routing then), or None when no such group is left.

    Only groups whose conditions match the call count: a group that will never take it needs no timer.
    """
    waits = [
        rule.overflow_after_s - call.waited_s
        for rule in rules
        if rule.overflow_after_s is not None and rule.overflow_after_s > call.waited_s and rule.matches(call)
    ]
    return min(waits, default=None)


def second_chance(
    rejected_once: Collection[str],
    last_rejected_at: datetime | None,
    now: datetime,
    reoffer_after_s: float,
) -> frozenset[str]:
    """The agents who rejected a call once that it may be offered to again now (issue #16): a single
    reject (one Esc too many) must not leave a caller waiting to the queue timeout beside an Available
    agent. Only when nobody else may take the call (the caller asks this after ``choose`` found no one)
    and once ``reoffer_after_s`` has passed since the last reject, so the agent is not rung again at
    once. An agent re-offered the call and rejecting it again is not in ``rejected_once`` any more
    (the caller's bookkeeping): never a third time. A missed (rung-out) offer gives no second chance:
    that agent went Unavailable.
    """
    if not rejected_once or last_rejected_at is None:
        return frozenset()
    if (now - last_rejected_at).total_seconds() < reoffer_after_s:
        return frozenset()
    return frozenset(rejected_once)
