"""What the reports count, how each change of a call or an agent adds to the counters, and which
figures a report derives from their sums (``docs/reports.md`` defines every figure). Pure.

**Cells.** Counters live in cells: a ``Family`` (what is counted, at which grain), an owner and a
bucket. Call counters are kept per (unit, queue) and per agent; agents' state times per agent and per
the agents' unit ("staff"); each at two grains, 15 minutes (``2025-01-31T01:15Z``, UTC: every time zone
offset in use is a multiple of 15 minutes, so any local hour is a sum of them) and the local day
(``2025-01-31`` in the owner unit's time zone). A report reads the day cells for ranges of days and the
15-minute cells for finer buckets: what it reads depends on the range, never on how many calls there were.

**Milestones, so that order does not matter.** A call adds to the counters at its milestones: created,
answered, ended, an offer missed or rejected, decided, and each fact of its evidence. Each milestone is
reached by exactly one write of the call (the facts it sets are never unset), and what it adds depends
only on facts that never change once set, all attributed to the bucket in which the call was created.
So the change-stream consumer can apply the records of a call in any order: each record's
``call_milestones(old, new)`` names the milestones that record reached; each milestone carries a
``mark`` that makes it count once however often the record is delivered. ``milestones_from_log`` finds
the same milestones from a call as it stands and its log (the rebuild), and both go through the same
``call_contribution``: the stream and the rebuild cannot disagree by construction.

An agent's state time is counted per stint: version *n* of an agent ends a stint in the state of
version *n - 1*, from that version's time to version *n*'s, split over the buckets it spans
(``stint_contributions``; the rebuild reads the stints from the agent log). OFFLINE time is not stored:
a report derives it as the range's length minus the time online.

**Dimensions.** Call counters are also kept per value of the call's direction (``dir``), SUB_TYPE
(``st``), customer type (``ct``) and dealer channel (``ch``): one dimension at a time, or the direction
with one other (``DIMENSION_SETS``); agent cells per direction only. Each of those slices is a cell of
its own, named by its suffix (``Cell.dims``: ``|dim=value[|dim=value]``, ``""`` for every call), with
the same counter names: a cell holds the counters of one slice only, so what a report reads of a cell
does not grow with the dimension values the calls carried (one item holding every slice grew to ~500
counters, of which a report used ~30).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum

from vkyc.domain.buckets import day_key, ms, pieces, quarter_key, quarter_of
from vkyc.domain.call import CALL, CallState
from vkyc.domain.callback import CALLBACK

NONE = "-"
"""The value of a dimension the call does not have (no dealer channel, no queue)."""
CELLS_PER_CONTRIBUTION = 90
"""At most this many cells per contribution: one contribution is one DynamoDB transaction (100 items),
with room for its marks."""

INBOUND, OUTBOUND = "in", "out"
RINGING = CallState.RINGING.value
OFFER_ENDS = {CallState.MISSED.value: "missed", CallState.REJECTED.value: "rejected"}
DECISIONS = ("A", "R", "C", "D")
AGENT_STATES = ("AVAILABLE", "UNAVAILABLE", "RINGING", "IN_CALL", "WRAP_UP")
"""The states whose time is counted (OFFLINE is derived)."""
_FINALS = {
    INBOUND: frozenset(s.value for s in CALL.finals),
    OUTBOUND: frozenset(s.value for s in CALLBACK.finals),
}

# -- counters ----------------------------------------------------------------------------------------

CALL_COUNTERS = (
    "queued",  # inbound calls created (entered the queue)
    "answered",  # inbound calls an agent accepted
    "in_sla",  # ... within the serving unit's sla_answer_within_s of their creation
    "wait_ms",  # Σ creation → answer of the answered inbound calls
    "unanswered",  # inbound calls that ended without an answer (abandoned, no agent, swept)
    "abandoned_queue",  # the caller hung up while the call waited with no offer ringing
    "abandoned_ringing",  # the caller hung up while an offer rang at an agent
    "abandon_ms",  # Σ creation → hang-up of the abandoned calls
    "no_agent",  # ended by the queue timeout or the offer limit (FINISHED no_agent)
    "missed",  # offers that rang out (the call went M)
    "rejected",  # offers the agent declined (the call went R)
    "talked",  # answered calls (in and out) that ended
    "talk_ms",  # Σ answer → end of those
    "cb_placed",  # call-backs started (every attempt, the unreachable ones too)
    "cb_answered",  # call-backs the customer answered
    "decided",  # calls through which a decision was submitted
    "dec_A",
    "dec_R",
    "dec_C",
    "dec_D",
    "ev_recording",  # decided calls whose recording is stored
    "ev_face",  # decided calls with a snapshot in which the node found a face
    "ev_bundle",  # decided calls whose evidence bundle is stored
    "ev_complete",  # decided calls with all three
)
MAXIMA = ("max_wait_ms",)
"""Kept with a conditional "greater than" write (idempotent and order-free), not ``ADD``."""
STATE_PREFIX = "t:"
WRAP_UPS = "wrapups"
"""Stints of WRAP_UP that ended: the average after-call work is ``t:WRAP_UP / wrapups``."""
END_PREFIX = "end:"
"""``end:<state>:<reason>``: every final call, by how it ended (the errors report)."""

DIMENSIONS = ("dir", "st", "ct", "ch")
DIMENSION_SETS: tuple[tuple[str, ...], ...] = (
    (),
    ("dir",),
    ("st",),
    ("ct",),
    ("ch",),
    ("dir", "st"),
    ("dir", "ct"),
    ("dir", "ch"),
)
AGENT_DIMENSION_SETS: tuple[tuple[str, ...], ...] = ((), ("dir",))


class Family(StrEnum):
    QUEUE_15 = "q15"  # owner: "<unit>|<queue>" (the call's unit, its queue or "-")
    QUEUE_DAY = "qd"
    AGENT_15 = "a15"  # owner: the agent id
    AGENT_DAY = "ad"
    STAFF_15 = "s15"  # owner: the agents' unit (state times summed over its agents)
    STAFF_DAY = "sd"

    @property
    def daily(self) -> bool:
        return self in (Family.QUEUE_DAY, Family.AGENT_DAY, Family.STAFF_DAY)


@dataclass(frozen=True, order=True)
class Cell:
    family: Family
    owner: str
    bucket: str
    dims: str = ""  # the slice: the calls with these dimension values (a ``filter_suffix``), "" for all


@dataclass
class Contribution:
    """What one milestone adds: ``adds`` (``ADD``) and ``maxima`` (kept if greater) per cell. ``mark``
    names the milestone: applied once, whatever the deliveries."""

    mark: str
    adds: dict[Cell, dict[str, int]] = field(default_factory=dict)
    maxima: dict[Cell, dict[str, int]] = field(default_factory=dict)

    def add(self, cell: Cell, name: str, amount: int) -> None:
        row = self.adds.setdefault(cell, {})
        row[name] = row.get(name, 0) + amount

    def keep_max(self, cell: Cell, name: str, value: int) -> None:
        row = self.maxima.setdefault(cell, {})
        row[name] = max(row.get(name, value), value)

    @property
    def cells(self) -> set[Cell]:
        return set(self.adds) | set(self.maxima)


def owner_of_queue(unit_id: str, queue_id: str | None) -> str:
    return f"{unit_id}|{queue_id or NONE}"


def split_queue_owner(owner: str) -> tuple[str, str | None]:
    unit_id, _, queue = owner.partition("|")
    return unit_id, None if queue == NONE else queue


def _escape(value: str) -> str:
    return value.replace("%", "%25").replace("|", "%7C").replace("=", "%3D")


def slice_of(dims: Sequence[tuple[str, str]]) -> str:
    """The suffix naming the slice of the calls with dimension values ``dims`` (in ``DIMENSIONS``
    order): ``|dir=in|st=ZP``, ``""`` for every call."""
    return "".join(f"|{d}={_escape(v)}" for d, v in dims)


def dimension_suffixes(values: Mapping[str, str], sets: Sequence[tuple[str, ...]]) -> list[str]:
    """The slices a call with dimension ``values`` counts in: one per dimension set."""
    return [slice_of([(d, values[d]) for d in dims]) for dims in sets]


def filter_suffix(chosen: Mapping[str, str], sets: Sequence[tuple[str, ...]]) -> str | None:
    """The slice of the calls with every chosen dimension value (``Cell.dims``), or None when that
    combination of dimensions is not kept."""
    dims = tuple(d for d in DIMENSIONS if d in chosen)
    if dims not in sets:
        return None
    return slice_of([(d, chosen[d]) for d in dims])


# -- calls --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallFacts:
    """A call as its stream image or its item shows it (only what the counters read)."""

    call_id: str
    version: int
    direction: str
    state: str
    unit_id: str
    created_at: datetime
    serving_unit_id: str | None = None
    queue_id: str | None = None
    sub_type: str | None = None
    customer_type: str | None = None
    dealer_channel: str | None = None
    agent_id: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    decision: str | None = None
    recording: bool = False  # the recording is stored (its facts and a key)
    face: bool = False  # a snapshot of the call in which the node found a face
    bundle: bool = False  # the decision's evidence bundle is stored

    @property
    def final(self) -> bool:
        return self.state in _FINALS.get(self.direction, frozenset())

    @property
    def dimensions(self) -> dict[str, str]:
        return {
            "dir": self.direction,
            "st": self.sub_type or NONE,
            "ct": self.customer_type or NONE,
            "ch": self.dealer_channel or NONE,
        }

    def evidence(self) -> dict[str, bool]:
        """Each evidence fact, counted only for a decided call."""
        decided = bool(self.decision)
        return {
            "ev_recording": decided and self.recording,
            "ev_face": decided and self.face,
            "ev_bundle": decided and self.bundle,
            "ev_complete": decided and self.recording and self.face and self.bundle,
        }


@dataclass(frozen=True)
class LogFacts:
    """One entry of a call's log (``CallEvent``)."""

    version: int
    from_state: str | None
    to_state: str
    event: str
    actor: str
    at: datetime


class Kind(StrEnum):
    CREATED = "created"
    ANSWERED = "answered"
    ENDED = "ended"
    OFFER = "offer"  # an offer missed or rejected (one per call version)
    DECIDED = "decided"
    EVIDENCE = "evidence"  # one evidence fact (``name``)


@dataclass(frozen=True)
class Milestone:
    kind: Kind
    name: str = ""  # the evidence fact; "missed" / "rejected" for an offer
    from_ringing: bool = False  # ENDED: the call was ringing at an agent when it ended
    agent_id: str | None = None  # OFFER: the agent it rang at
    version: int = 0  # OFFER: the call's version that recorded it

    def mark(self, call_id: str) -> str:
        if self.kind is Kind.OFFER:
            return f"c:{call_id}:v{self.version}"
        if self.kind is Kind.EVIDENCE:
            return f"c:{call_id}:{self.name}"
        return f"c:{call_id}:{self.kind.value}"


def call_milestones(old: CallFacts | None, new: CallFacts) -> list[Milestone]:
    """The milestones the write from ``old`` (None: the call's creation) to ``new`` reached."""
    found: list[Milestone] = []
    if old is None:
        found.append(Milestone(Kind.CREATED))
    if new.answered_at is not None and (old is None or old.answered_at is None):
        found.append(Milestone(Kind.ANSWERED))
    if new.final and (old is None or not old.final):
        found.append(Milestone(Kind.ENDED, from_ringing=old is not None and old.state == RINGING))
    if (
        old is not None
        and new.direction == INBOUND
        and old.state == RINGING
        and new.state in OFFER_ENDS
        and new.version == old.version + 1
    ):
        found.append(Milestone(Kind.OFFER, OFFER_ENDS[new.state], agent_id=old.agent_id, version=new.version))
    if new.decision and (old is None or not old.decision):
        found.append(Milestone(Kind.DECIDED))
    before = old.evidence() if old is not None else {}
    for name, present in new.evidence().items():
        if present and not before.get(name):
            found.append(Milestone(Kind.EVIDENCE, name))
    return found


def milestones_from_log(call: CallFacts, log: Sequence[LogFacts]) -> list[Milestone]:
    """Every milestone the call has reached, from the call as it stands and its log (the rebuild): the
    same milestones ``call_milestones`` finds over all the call's writes."""
    found = [Milestone(Kind.CREATED)]
    if call.answered_at is not None:
        found.append(Milestone(Kind.ANSWERED))
    entries = sorted(log, key=lambda e: e.version)
    if call.final:
        finals = _FINALS[call.direction]
        entered = next((e for e in entries if e.to_state in finals), None)
        found.append(
            Milestone(Kind.ENDED, from_ringing=entered is not None and entered.from_state == RINGING)
        )
    if call.direction == INBOUND:
        for entry in entries:
            if entry.from_state == RINGING and entry.to_state in OFFER_ENDS:
                found.append(
                    Milestone(
                        Kind.OFFER, OFFER_ENDS[entry.to_state], agent_id=entry.actor, version=entry.version
                    )
                )
    if call.decision:
        found.append(Milestone(Kind.DECIDED))
    found += [Milestone(Kind.EVIDENCE, name) for name, present in call.evidence().items() if present]
    return found


def _between(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else max(0, ms(end) - ms(start))


def call_contribution(
    milestone: Milestone,
    call: CallFacts,
    *,
    zone_of: Callable[[str], tzinfo],
    sla_s_of: Callable[[str], int],
) -> Contribution:
    """What ``milestone`` of ``call`` adds, to the cells of the call's (unit, queue) and of its agent,
    in the buckets of the call's creation. ``zone_of(unit_id)`` gives a unit's time zone,
    ``sla_s_of(unit_id)`` its ``sla_answer_within_s`` (the serving unit's applies)."""
    serving = call.serving_unit_id or call.unit_id
    quarter = quarter_key(quarter_of(call.created_at))
    queue_owner = owner_of_queue(call.unit_id, call.queue_id)
    queue_day = day_key(call.created_at, zone_of(call.unit_id))
    queue_cells = [
        Cell(family, queue_owner, bucket, dims)
        for family, bucket in ((Family.QUEUE_15, quarter), (Family.QUEUE_DAY, queue_day))
        for dims in dimension_suffixes(call.dimensions, DIMENSION_SETS)
    ]
    agent_suffixes = dimension_suffixes(call.dimensions, AGENT_DIMENSION_SETS)
    contribution = Contribution(milestone.mark(call.call_id))

    def agent_cells(agent_id: str | None) -> list[Cell]:
        if not agent_id:
            return []
        day = day_key(call.created_at, zone_of(serving))
        return [
            Cell(family, agent_id, bucket, dims)
            for family, bucket in ((Family.AGENT_15, quarter), (Family.AGENT_DAY, day))
            for dims in agent_suffixes
        ]

    def count(name: str, amount: int = 1, agent_id: str | None = None, queue: bool = True) -> None:
        for cell in [*(queue_cells if queue else ()), *agent_cells(agent_id)]:
            contribution.add(cell, name, amount)

    def longest(wait_ms: int) -> None:
        for cell in queue_cells:
            contribution.keep_max(cell, "max_wait_ms", wait_ms)

    inbound = call.direction == INBOUND
    kind = milestone.kind
    if kind is Kind.CREATED:
        count("queued" if inbound else "cb_placed", agent_id=None if inbound else call.agent_id)
    elif kind is Kind.ANSWERED:
        if inbound:
            wait = _between(call.created_at, call.answered_at) or 0
            count("answered", agent_id=call.agent_id)
            count("wait_ms", wait, agent_id=call.agent_id)
            if wait <= sla_s_of(serving) * 1000:
                count("in_sla", agent_id=call.agent_id)
            longest(wait)
        else:
            count("cb_answered", agent_id=call.agent_id)
    elif kind is Kind.ENDED:
        count(f"{END_PREFIX}{call.state}:{call.end_reason or NONE}")
        if call.answered_at is not None:
            count("talked", agent_id=call.agent_id)
            count("talk_ms", _between(call.answered_at, call.ended_at) or 0, agent_id=call.agent_id)
        elif inbound:
            waited = _between(call.created_at, call.ended_at) or 0
            count("unanswered")
            longest(waited)
            if call.state == CallState.CALLER_HUNG_UP.value:
                count("abandoned_ringing" if milestone.from_ringing else "abandoned_queue")
                count("abandon_ms", waited)
            elif call.end_reason == "no_agent":
                count("no_agent")
    elif kind is Kind.OFFER:
        count(milestone.name, agent_id=milestone.agent_id)
    elif kind is Kind.DECIDED:
        count("decided", agent_id=call.agent_id)
        if call.decision in DECISIONS:
            count(f"dec_{call.decision}", agent_id=call.agent_id)
    elif kind is Kind.EVIDENCE:
        count(milestone.name, agent_id=call.agent_id)
    return contribution


# -- agents -------------------------------------------------------------------------------------------


def stint_contributions(
    agent_id: str,
    unit_id: str,
    state: str,
    start: datetime,
    end: datetime,
    version: int,
    zone: tzinfo,
) -> list[Contribution]:
    """The time an agent spent in ``state`` from ``start`` to ``end`` (the stint version ``version``
    ended), split over 15-minute and local-day buckets, to the agent's and its unit's staff cells.
    Several contributions when the stint spans many buckets (marks ``a:<agent>:v<n>:<k>``)."""
    if state not in AGENT_STATES:
        return []
    name = STATE_PREFIX + state
    rows: dict[Cell, dict[str, int]] = {}

    def add(cell: Cell, key: str, amount: int) -> None:
        row = rows.setdefault(cell, {})
        row[key] = row.get(key, 0) + amount

    for quarter, day, amount in pieces(start, end, zone):
        add(Cell(Family.AGENT_15, agent_id, quarter), name, amount)
        add(Cell(Family.STAFF_15, unit_id, quarter), name, amount)
        add(Cell(Family.AGENT_DAY, agent_id, day), name, amount)
        add(Cell(Family.STAFF_DAY, unit_id, day), name, amount)
    if state == "WRAP_UP":
        quarter, day = quarter_key(quarter_of(end)), day_key(end, zone)
        for cell in (
            Cell(Family.AGENT_15, agent_id, quarter),
            Cell(Family.STAFF_15, unit_id, quarter),
            Cell(Family.AGENT_DAY, agent_id, day),
            Cell(Family.STAFF_DAY, unit_id, day),
        ):
            add(cell, WRAP_UPS, 1)
    cells = sorted(rows)
    found: list[Contribution] = []
    for index, start_at in enumerate(range(0, len(cells), CELLS_PER_CONTRIBUTION)):
        part = Contribution(f"a:{agent_id}:v{version}:{index}")
        for cell in cells[start_at : start_at + CELLS_PER_CONTRIBUTION]:
            part.adds[cell] = rows[cell]
        found.append(part)
    return found


# -- sums


def merge(
    into: dict[Cell, dict[str, int]],
    contributions: Iterable[Contribution],
    maxima: dict[Cell, dict[str, int]],
) -> None:
    """Fold ``contributions`` into cell rows (``into`` for sums, ``maxima`` for maxima): what the
    counters hold once every one of them is applied."""
    for contribution in contributions:
        for cell, row in contribution.adds.items():
            target = into.setdefault(cell, {})
            for name, amount in row.items():
                target[name] = target.get(name, 0) + amount
        for cell, row in contribution.maxima.items():
            target = maxima.setdefault(cell, {})
            for name, value in row.items():
                target[name] = max(target.get(name, value), value)
