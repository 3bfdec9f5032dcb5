"""The supervisors' live board: the agents and queues of the units a supervisor serves.

- ``board(unit_id)``: the whole board, the reply to ``monitor.snapshot`` (``monitor.agents``): every
  agent of the reach with status, since when and current call, and the queue and today's tiles of each
  serving unit.
- ``MonitorService.agents_changed`` / ``calls_changed``: fed the DynamoDB stream records of the
  ``agents`` and ``calls`` tables (``functions/reports``), they push ``monitor.agent`` (an agent's row
  changed), ``monitor.queue`` (a serving unit's queue changed) and ``monitor.tiles`` (today's figures
  of a serving unit, ``vkyc.services.report_tiles``, read once the batch was counted into the
  aggregates) to every live supervisor session of the serving unit. A supervisor's socket is found
  through the ``users`` index (the unit's supervisors, cached ``users_cache_s``) and the ``sessions``
  index (their live sessions, read for each batch: a supervisor who connected a moment ago must not
  miss the changes after its snapshot).
  Admins (unit ``*``) get no pushes.

Reach: a supervisor of unit U sees the units whose ``served_by`` is U (U serves itself); agents belong
to serving units, so an agent of unit A is watched by the supervisors of ``served_by(A)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from vkyc.domain.agent import AgentState
from vkyc.domain.roles import UserRole
from vkyc.domain.session import SessionState
from vkyc.protocol.messages import AgentRow, MonitorAgent, MonitorAgents, MonitorQueue, MonitorTiles, QueueRow
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.batch import get_many
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.tables import Agent, Call
from vkyc.repositories.units import UnitView, list_units
from vkyc.repositories.users import users_of_unit
from vkyc.services.ports import Notifier
from vkyc.services.report_tiles import tiles

log = logging.getLogger("vkyc.monitor")

WORKING = frozenset({AgentState.RINGING.value, AgentState.IN_CALL.value, AgentState.WRAP_UP.value})
"""States in which an agent has a current call (not projected in the agents index: read the items)."""
UNITS_CACHE_S = 60.0
BATCH_GET_MAX = 100


def _ms(when: datetime | None) -> int:
    return int((when or datetime.now(UTC)).timestamp() * 1000)


def agent_row(agent: Agent) -> AgentRow:
    working = agent.state in WORKING
    return AgentRow(
        agent_id=agent.agent_id,
        name=agent.name or agent.agent_id,
        unit_id=agent.unit_id,
        status=agent.state,
        since_ms=_ms(agent.updated_at),
        call_id=agent.call_id if working else None,
    )


def queue_row(serving_unit_id: str, waiting: list[Call]) -> QueueRow:
    oldest = min((c.created_at for c in waiting), default=None)
    return QueueRow(
        unit_id=serving_unit_id, waiting=len(waiting), oldest_since_ms=_ms(oldest) if oldest else None
    )


def reach(unit_id: str, units: Iterable[UnitView]) -> list[UnitView]:
    """The units a supervisor of ``unit_id`` watches (``*``: all)."""
    return [u for u in units if unit_id in ("*", u.served_by)]


def board(
    unit_id: str,
    request_id: str,
    *,
    agents: AgentRepository | None = None,
    calls: CallRepository | None = None,
    units: Callable[[], list[UnitView]] = list_units,
) -> MonitorAgents:
    """The board of a supervisor of ``unit_id``. Requests: one Scan of units, one Query per unit for
    its agents, one BatchGetItem per 100 working agents (their current call), one Query per serving
    unit for its queue."""
    agents = agents or AgentRepository()
    calls = calls or CallRepository()
    everyone = units()
    scope = reach(unit_id, everyone)
    listed = [
        a for u in sorted(scope, key=lambda v: (len(v.unit_id), v.unit_id)) for a in agents.of_unit(u.unit_id)
    ]
    busy = [a.agent_id for a in listed if a.state in WORKING]
    full: dict[str, Agent] = {}
    for start in range(0, len(busy), BATCH_GET_MAX):
        for item in get_many([Agent(agent_id=i) for i in busy[start : start + BATCH_GET_MAX]]):
            if isinstance(item, Agent):
                full[item.agent_id] = item
    rows = [agent_row(full.get(a.agent_id, a)) for a in listed]
    serving = [u for u in scope if u.has_agents and u.served_by == u.unit_id]
    queues = [queue_row(u.unit_id, calls.waiting(u.unit_id)) for u in serving]
    board_tiles = [tiles(u.unit_id, everyone, calls=calls, agents=agents) for u in serving]
    return MonitorAgents(request_id=request_id, agents=rows, queues=queues, tiles=board_tiles)


def _image(record: Mapping[str, Any], which: str) -> dict[str, Any] | None:
    image = record.get(which)
    return image if isinstance(image, dict) and image else None


def _attr(image: dict[str, Any] | None, name: str) -> str | None:
    if image is None:
        return None
    value = image.get(name)
    return str(value["S"]) if isinstance(value, dict) and "S" in value else None


class MonitorService:
    """Pushes board changes to supervisors. Thread-safe (stream batches may arrive concurrently)."""

    def __init__(
        self,
        notifier: Notifier,
        *,
        calls: CallRepository | None = None,
        sessions: SessionRepository | None = None,
        units: Callable[[], list[UnitView]] = list_units,
        users_cache_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifier = notifier
        self.calls = calls or CallRepository()
        self.sessions = sessions or SessionRepository()
        self._load_units = units
        self.users_cache_s = users_cache_s
        self.clock = clock
        self._lock = threading.Lock()
        self._units: tuple[float, dict[str, UnitView]] | None = None
        self._supervisors: dict[str, tuple[float, list[str]]] = {}

    # -- who watches --------------------------------------------------------------------------------

    def serving_unit(self, unit_id: str) -> str:
        with self._lock:
            cached = self._units
        if cached is None or self.clock() - cached[0] > UNITS_CACHE_S or unit_id not in cached[1]:
            cached = (self.clock(), {u.unit_id: u for u in self._load_units()})
            with self._lock:
                self._units = cached
        unit = cached[1].get(unit_id)
        return unit.served_by if unit is not None else unit_id

    def supervisors(self, serving_unit_id: str) -> list[str]:
        """The usernames of the unit's supervisors (cached ``users_cache_s``)."""
        now = self.clock()
        with self._lock:
            cached = self._supervisors.get(serving_unit_id)
        if cached is not None and now - cached[0] <= self.users_cache_s:
            return cached[1]
        names = [u.username for u in users_of_unit(serving_unit_id, UserRole.SUPERVISOR) if not u.disabled]
        with self._lock:
            self._supervisors[serving_unit_id] = (now, names)
        return names

    def watchers(self, serving_unit_id: str) -> list[str]:
        """The connection ids of the live supervisor sessions of ``serving_unit_id``: one Query of the
        sessions index per supervisor."""
        connections: list[str] = []
        for username in self.supervisors(serving_unit_id):
            for session in self.sessions.live_of_principal(username):
                if session.state == SessionState.ACTIVE and session.connection_id:
                    connections.append(session.connection_id)
        return connections

    def _push(self, connections: list[str], message: dict[str, Any]) -> int:
        sent = 0
        for connection_id in connections:
            if self.notifier.send(connection_id, message):
                sent += 1
        return sent

    # -- stream records -----------------------------------------------------------------------------

    def agents_changed(self, records: Iterable[Mapping[str, Any]]) -> int:
        """``records``: stream records of ``agents`` (``NewImage`` in DynamoDB JSON). Pushes the last
        row of each agent changed, then the tiles of each serving unit where an agent changed status;
        returns the number of messages sent."""
        latest: dict[str, Agent] = {}
        moved: set[str] = set()
        for record in records:
            image = _image(record, "NewImage")
            if image is None:
                continue
            agent = Agent.from_raw_data(image)
            latest[agent.agent_id] = agent
            if _attr(_image(record, "OldImage"), "state") != agent.state:
                moved.add(agent.unit_id)
        watching: dict[str, list[str]] = {}
        sent = 0
        for agent in latest.values():
            unit = self.serving_unit(agent.unit_id)
            if unit not in watching:
                watching[unit] = self.watchers(unit)
            message = MonitorAgent(agent=agent_row(agent)).model_dump(mode="json")
            sent += self._push(watching[unit], message)
        return sent + self._push_tiles({self.serving_unit(u) for u in moved}, watching)

    def _push_tiles(self, serving_units: Iterable[str], watching: dict[str, list[str]]) -> int:
        """Read and push the tiles of each unit that somebody watches."""
        sent = 0
        for unit_id in sorted(serving_units):
            if unit_id not in watching:
                watching[unit_id] = self.watchers(unit_id)
            if not watching[unit_id]:
                continue  # nobody watches: nothing to read
            row = tiles(unit_id, self._all_units(), calls=self.calls)
            sent += self._push(watching[unit_id], MonitorTiles(tiles=row).model_dump(mode="json"))
        return sent

    def _all_units(self) -> list[UnitView]:
        """Every unit (the serving map), cached ``UNITS_CACHE_S`` like ``serving_unit``'s."""
        with self._lock:
            cached = self._units
        if cached is None or self.clock() - cached[0] > UNITS_CACHE_S:
            cached = (self.clock(), {u.unit_id: u for u in self._load_units()})
            with self._lock:
                self._units = cached
        return list(cached[1].values())

    def calls_changed(self, records: Iterable[Mapping[str, Any]]) -> int:
        """``records``: stream records of ``calls``. For each serving unit whose queue a record entered
        or left (``waiting_in`` changed), reads the queue once and pushes it; then the tiles of every
        serving unit a record's call belongs to (its counters may have moved)."""
        units: set[str] = set()
        touched: set[str] = set()
        for record in records:
            before = _attr(_image(record, "OldImage"), "waiting_in")
            after = _attr(_image(record, "NewImage"), "waiting_in")
            if before != after:
                units.update(u for u in (before, after) if u)
            serving = _attr(_image(record, "NewImage"), "serving_unit_id")
            if serving:
                touched.add(serving)
        sent = 0
        watching: dict[str, list[str]] = {}
        for unit_id in sorted(units):
            watching[unit_id] = connections = self.watchers(unit_id)
            if not connections:
                continue  # nobody watches: no need to read the queue
            row = queue_row(unit_id, self.calls.waiting(unit_id))
            sent += self._push(connections, MonitorQueue(queue=row).model_dump(mode="json"))
        return sent + self._push_tiles(touched, watching)
