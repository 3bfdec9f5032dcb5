"""The live tiles of the supervisors' board: today's service level, answered, abandoned, speed of
answer and longest wait of a serving unit and the units it serves (from today's day cells of the
aggregates), with the calls waiting now and the agents in each status now.

``tiles(serving_unit_id)`` costs one Query per (unit, queue) owner of today, one Query of the unit's
queue and one of its agents: a handful, whatever the day's traffic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from vkyc.domain.agent import AgentState
from vkyc.domain.figures import Sums, figures
from vkyc.domain.metrics import Family, owner_of_queue
from vkyc.protocol.messages import TilesRow
from vkyc.repositories import aggregates, directory
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.units import UnitView


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def tiles(
    serving_unit_id: str,
    units: Sequence[UnitView],
    *,
    calls: CallRepository | None = None,
    agents: AgentRepository | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> TilesRow:
    """Today's tiles of ``serving_unit_id`` (``units``: every unit, for the serving map)."""
    calls = calls or CallRepository()
    agents = agents or AgentRepository()
    settings = cached_settings(serving_unit_id)
    today = now().astimezone(settings.zone()).date().isoformat()
    queues = [None, *(q.id for q in directory.queues().values() if q.unit_id == serving_unit_id)]
    sums = Sums()
    for unit in units:
        if unit.served_by != serving_unit_id:
            continue
        for queue_id in queues:
            owner = owner_of_queue(unit.unit_id, queue_id)
            for row in aggregates.read(Family.QUEUE_DAY, owner, today, today).values():
                sums.add_item(row, states=False)
    figure = figures(sums)
    waiting = calls.waiting(serving_unit_id)
    oldest = min((c.created_at for c in waiting), default=None)
    states = Counter(a.state for a in agents.of_unit(serving_unit_id))
    return TilesRow(
        unit_id=serving_unit_id,
        date=today,
        queued=sums["queued"],
        answered=sums["answered"],
        abandoned=sums["abandoned_queue"] + sums["abandoned_ringing"],
        service_level_percent=figure["service_level_percent"],
        sla_target_percent=settings.sla_target_percent,
        sla_answer_within_s=settings.sla_answer_within_s,
        avg_speed_of_answer_s=figure["avg_speed_of_answer_s"],
        longest_wait_today_s=figure["longest_wait_s"],
        waiting=len(waiting),
        oldest_since_ms=_ms(oldest) if oldest else None,
        agents={state.value: states.get(state.value, 0) for state in AgentState},
    )
