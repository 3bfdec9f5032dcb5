"""The agent's own day and the dossier search (``vkyc.services.workspace``, issue #16), on moto: the
figures count only this agent's calls of this day, missed offers come from the status log, the search
filters the list but not the figures, and a dossier search never lists another unit's dossier."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.functional.test_media_service import stamped
from vkyc.protocol import rest
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import Role
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import AgentLog, Call, CustomerInfo
from vkyc.repositories.units import UnitView
from vkyc.services.auth import Principal
from vkyc.services.reports import Caller, ReportsService
from vkyc.services.workspace import WorkspaceService

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)  # 16:00 in Vietnam


class NoFiles:
    pass


@pytest.fixture
def world(tables: Any) -> Any:
    class World:
        unit = f"u{uuid.uuid4().hex[:5]}"
        other = f"o{uuid.uuid4().hex[:5]}"
        agent = f"tdv-{uuid.uuid4().hex[:5]}"
        service = WorkspaceService(ReportsService(NoFiles(), units=lambda: [], clock=lambda: NOW))

        def caller(self, role: Role = Role.AGENT) -> Caller:
            principal = Principal(role=role, principal_id=self.agent, unit_id=self.unit)
            return Caller(principal, (UnitView(self.unit, "Khu vực thử", self.unit, True),))

    return World()


def call(
    world: Any, *, agent: str, ago_min: float, talk_s: float | None, unit: str | None = None, **kw: Any
) -> str:
    call_id = f"c-{uuid.uuid4().hex[:8]}"
    created = NOW - timedelta(minutes=ago_min)
    item = Call(call_id, direction="in", unit_id=unit or world.unit, agent_id=agent, **kw)
    if talk_s is not None:
        item.answered_at = created + timedelta(seconds=5)
        item.ended_at = item.answered_at + timedelta(seconds=talk_s)
    stamped(item, "FINISHED" if talk_s is not None else "E", at=created)
    return call_id


def log(world: Any, version: int, event: str, ago_min: float) -> None:
    AgentLog(
        world.agent,
        version,
        to_state="AVAILABLE",
        event=event,
        actor=world.agent,
        request_id=uuid.uuid4().hex,
        at=NOW - timedelta(minutes=ago_min),
    ).save()


def test_the_agents_day_counts_its_own_calls_and_missed_offers(world):
    first = call(
        world, agent=world.agent, ago_min=120, talk_s=100, dossier_id="HS-1", subscriber="84901000001"
    )
    second = call(
        world, agent=world.agent, ago_min=60, talk_s=200, dossier_id="HS-2", subscriber="84901000002"
    )
    call(world, agent="someone-else", ago_min=30, talk_s=50)
    call(world, agent=world.agent, ago_min=60 * 24, talk_s=80)  # yesterday
    call(world, agent=world.agent, ago_min=10, talk_s=60, unit=world.other)  # outside the reach
    log(world, 1, "reject", 60 * 24)  # yesterday
    log(world, 2, "login", 300)
    log(world, 3, "ring_timeout", 90)
    log(world, 4, "reject", 45)
    log(world, 5, "accept", 44)

    day = world.service.my_day(world.caller(), rest.MyCallsQuery())
    assert day.date == "2026-12-06"
    assert (day.figures.handled, day.figures.missed, day.figures.average_handle_s) == (2, 2, 150.0)
    assert [c.call_id for c in day.calls] == [second, first]

    found = world.service.my_day(world.caller(), rest.MyCallsQuery(q="000001"))
    assert [c.call_id for c in found.calls] == [first] and found.figures.handled == 2
    yesterday = world.service.my_day(world.caller(), rest.MyCallsQuery(date="2026-12-05"))
    assert yesterday.figures.handled == 1 and yesterday.figures.missed == 1


def test_a_supervisor_has_no_day_of_its_own(world):
    with pytest.raises(ProtocolError) as refused:
        world.service.my_day(world.caller(Role.SUPERVISOR), rest.MyCallsQuery())
    assert refused.value.code == "FORBIDDEN_ACTION"


def test_dossiers_are_found_by_id_or_subscriber_within_the_reach_only(world):
    repo = DossierRepository()
    mine = f"HS-{uuid.uuid4().hex[:6]}"
    theirs = f"HS-{uuid.uuid4().hex[:6]}"
    subscriber = "849" + str(uuid.uuid4().int)[:8]
    for dossier_id, unit in ((mine, world.unit), (theirs, world.other)):
        repo.create(
            dossier_id,
            unit_id=unit,
            request_id=uuid.uuid4().hex,
            actor="t",
            subscriber=subscriber,
            customer=CustomerInfo(name="Đỗ Văn Hùng", id_number="001"),
        )
        call(
            world,
            agent=world.agent,
            ago_min=5,
            talk_s=30,
            unit=unit,
            dossier_id=dossier_id,
            subscriber=subscriber,
        )

    by_number = world.service.search_dossiers(world.caller(), rest.DossierSearchQuery(q="0" + subscriber[2:]))
    assert [(h.dossier_id, h.customer_name) for h in by_number.dossiers] == [(mine, "Đỗ Văn Hùng")]
    assert by_number.dossiers[0].last_call_at is not None
    assert [
        h.dossier_id
        for h in world.service.search_dossiers(world.caller(), rest.DossierSearchQuery(q=mine)).dossiers
    ] == [mine]
    assert world.service.search_dossiers(world.caller(), rest.DossierSearchQuery(q=theirs)).dossiers == []


def test_a_supervisor_sees_which_dossiers_wait_in_each_queue(world):
    repo = DossierRepository()
    waiting = []
    for n, name in enumerate(("Nguyễn Văn An", "Lê Thị Bình")):
        dossier_id = f"HS-{uuid.uuid4().hex[:6]}"
        repo.create(
            dossier_id,
            unit_id=world.unit,
            request_id=uuid.uuid4().hex,
            actor="t",
            customer=CustomerInfo(name=name, id_number="0"),
        )
        call_id = f"c-{uuid.uuid4().hex[:8]}"
        item = Call(call_id, direction="in", unit_id=world.unit, dossier_id=dossier_id, waiting_in=world.unit)
        stamped(item, "N", at=NOW - timedelta(minutes=5 - n))
        waiting.append((call_id, dossier_id, name))
    call(world, agent=world.agent, ago_min=1, talk_s=30)  # answered: not waiting

    queues = world.service.waiting(world.caller(Role.SUPERVISOR)).queues
    assert [q.unit_id for q in queues] == [world.unit]
    assert [(c.call_id, c.dossier_id, c.customer_name) for c in queues[0].calls] == waiting, "oldest first"
