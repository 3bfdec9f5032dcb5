"""Who may read which report, and what a report's filters cover: every filter value is checked here,
before anything is counted, each refusal with its code.

- the range: ``from`` ≤ ``to`` (``BAD_MESSAGE``), at most the bucket's longest range
  (``REPORT_RANGE_TOO_LONG``);
- ``unit_id``: one of the caller's units (``UNIT_NOT_SERVED``, and nothing is read);
- ``queue_id``, ``group_id``, ``agent_id``: one of the caller's units' (``NOT_FOUND`` otherwise, as
  for an id that does not exist: ids are not probed);
- ``sub_type``: a SUB_TYPE of the policy table (``BAD_MESSAGE`` naming it);
- a combination of filters the counters do not keep (``REPORT_FILTERS_UNSUPPORTED``).

Callers: a supervisor (the units its unit serves), an admin (every unit: unit ``*``), an integrator
(the unit of its API key).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from vkyc.domain.buckets import day_start
from vkyc.domain.metrics import AGENT_DIMENSION_SETS, DIMENSION_SETS, filter_suffix
from vkyc.domain.policy import normalize_sub_type
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories import directory
from vkyc.repositories.directory import Named
from vkyc.repositories.policy import policy_rows
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.units import UnitView
from vkyc.services.integrator_auth import Integrator

MAX_DAYS = {"15min": 2, "hour": 7, "day": 92, "week": 400, "month": 400}
"""The longest range of each bucket, in days (13 months for weeks and months)."""
LIST_MAX_DAYS = 400


@dataclass(frozen=True)
class ReportCaller:
    """Who asks a report and the units it reaches."""

    principal_id: str
    home_unit: str  # "*" for an admin
    units: tuple[UnitView, ...]

    @property
    def unit_ids(self) -> list[str]:
        return [u.unit_id for u in self.units]


def bearer_caller(caller: Any) -> ReportCaller:
    """The caller of a bearer token (``vkyc.services.reports.Caller``: its principal and reach)."""
    return ReportCaller(caller.principal.principal_id, caller.principal.unit_id, tuple(caller.units))


def as_report_caller(caller: Any) -> ReportCaller:
    """What the REST layer authenticated (a bearer's caller or an integrator's), as a ``ReportCaller``."""
    return caller if isinstance(caller, ReportCaller) else bearer_caller(caller)


def reach(home_unit: str, units: Sequence[UnitView]) -> tuple[UnitView, ...]:
    """The units a supervisor (or integrator) of ``home_unit`` reaches: those it serves (``*``: all)."""
    return tuple(u for u in units if home_unit in ("*", u.served_by))


def integrator_caller(integrator: Integrator, units: Sequence[UnitView]) -> ReportCaller:
    """The caller of a verified integrator key (``IntegratorAuth``): its own unit only."""
    own = tuple(u for u in units if u.unit_id == integrator.unit_id)
    return ReportCaller(f"api-key:{integrator.key_name}", integrator.unit_id, own)


@dataclass
class Scope:
    """What a report covers once its filters are checked."""

    first: date
    last: date
    start: datetime  # the range's first instant (UTC), in the report's time zone
    end: datetime  # the instant after its last day
    settings: CallSettings  # whose time zone and SLA the report shows
    units: list[UnitView]  # the callers' units whose calls are counted
    queues: dict[str, list[str | None]]  # per unit: the queues its calls may wait in
    staff_units: list[str]  # the units whose agents' time is counted
    agents: list[Named]  # the agents covered (all of the staff units unless asked)
    by_agents: bool  # group_id or agent_id given: only the agents' work is counted
    dims: dict[str, str] = field(default_factory=dict)

    @property
    def zone(self) -> tzinfo:
        return self.settings.zone()

    @property
    def unit_ids(self) -> list[str]:
        return [u.unit_id for u in self.units]

    def suffix(self) -> str:
        sets = AGENT_DIMENSION_SETS if self.by_agents else DIMENSION_SETS
        chosen = filter_suffix(self.dims, sets)
        if chosen is None:
            raise ProtocolError("REPORT_FILTERS_UNSUPPORTED", _unsupported(self.dims, self.by_agents))
        return chosen


def _unsupported(dims: dict[str, str], by_agents: bool) -> str:
    if by_agents:
        return "With group_id or agent_id, only direction may narrow the calls."
    return "Combine direction with at most one of sub_type, customer_type, dealer_channel."


def resolve(
    caller: ReportCaller,
    params: Any,
    *,
    max_days: int,
    counters: bool = True,
    settings: Callable[[str | None], CallSettings] = cached_settings,
) -> Scope:
    """Check every filter of ``params`` (any of the reports' query models) and say what it covers.
    ``counters``: the report reads the aggregates (whose dimensions limit the combinations); False for
    the call list, which filters the calls themselves."""
    first, last = date.fromisoformat(params.from_), date.fromisoformat(params.to)
    if last < first:
        raise ProtocolError("BAD_MESSAGE", "to: is before from.")
    if (last - first).days + 1 > max_days:
        raise ProtocolError("REPORT_RANGE_TOO_LONG", f"At most {max_days} days here.")
    units = list(caller.units)
    if params.unit_id is not None:
        units = [u for u in units if u.unit_id == params.unit_id]
        if not units:
            raise ProtocolError("UNIT_NOT_SERVED", f"Unit {params.unit_id!r}.")
    serving = sorted({u.served_by for u in units})
    staff_units = [u.unit_id for u in units if u.has_agents and u.served_by == u.unit_id]
    home = params.unit_id or (caller.home_unit if caller.home_unit != "*" else None)
    chosen = settings(home)
    queues = {
        u.unit_id: [None, *(q.id for q in directory.queues().values() if q.unit_id == u.served_by)]
        for u in units
    }
    queue_id = getattr(params, "queue_id", None)
    if queue_id is not None:
        queue = directory.queues().get(queue_id)
        if queue is None or queue.unit_id not in serving:
            raise ProtocolError("NOT_FOUND", f"No queue {queue_id!r} among your units.")
        queues = {unit: [queue_id] for unit, listed in queues.items() if queue_id in listed}
    agents = [a for unit in staff_units for a in directory.agents_of(unit).values()]
    group_id, agent_id = getattr(params, "group_id", None), getattr(params, "agent_id", None)
    if group_id is not None:
        group = directory.groups().get(group_id)
        if group is None or group.unit_id not in serving:
            raise ProtocolError("NOT_FOUND", f"No group {group_id!r} among your units.")
        agents = [a for a in agents if group_id in a.group_ids]
    if agent_id is not None:
        reachable = {a.id: a for unit in serving for a in directory.agents_of(unit).values()}
        if agent_id not in reachable:
            raise ProtocolError("NOT_FOUND", f"No agent {agent_id!r} among your units.")
        agents = [a for a in agents if a.id == agent_id] if group_id is not None else [reachable[agent_id]]
    dims: dict[str, str] = {}
    for name, param in (("dir", "direction"), ("ct", "customer_type"), ("ch", "dealer_channel")):
        value = getattr(params, param, None)
        if value is not None:
            dims[name] = value
    sub_type = getattr(params, "sub_type", None)
    if sub_type is not None:
        dims["st"] = normalize_sub_type(sub_type)
        if dims["st"] not in policy_rows():
            raise ProtocolError("BAD_MESSAGE", f"sub_type: {sub_type!r} is not in the SUB_TYPE table.")
    by_agents = group_id is not None or agent_id is not None
    if by_agents and (
        queue_id is not None or (params.unit_id is not None and params.unit_id not in staff_units)
    ):
        raise ProtocolError(
            "REPORT_FILTERS_UNSUPPORTED", "Agents' work is kept per agent, not per queue or caller's unit."
        )
    start = day_start(first, chosen.zone())
    end = day_start(last + timedelta(days=1), chosen.zone())
    return Scope(first, last, start, end, chosen, units, queues, staff_units, agents, by_agents, dims)


def clipped_end(scope: Scope, now: datetime | None = None) -> datetime:
    """The range's end, or now if sooner: time after now is neither online nor offline yet."""
    return min(scope.end, now or datetime.now(UTC))
