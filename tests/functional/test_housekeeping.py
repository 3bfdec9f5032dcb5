"""The sweeper and the end of day (moto): stuck agents released, calls whose timers were lost swept,
calls still in time left alone, online agents OFFLINE at the end of day."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vkyc.domain.settings import CallSettings
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.tables import Agent, AgentLog, Call, Offer, Session, Unit
from vkyc.services.housekeeping import Housekeeping

NOW = datetime.now(UTC).replace(microsecond=0)
LONG_AGO = NOW - timedelta(minutes=10)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        self.sent.append((connection_id, message))
        return True

    def close(self, connection_id: str) -> None:
        return None


def _stamp(item: Any, state: str, at: datetime, version: int = 3) -> Any:
    for name, value in item.derived(state).items():  # as a transition into ``state`` would
        setattr(item, name, value)
    item.state = state
    item.version = version
    item.created_at = at
    item.updated_at = at
    item.last_request_id = f"setup-{uuid.uuid4().hex[:6]}"
    item.save()
    return item


def new_unit() -> str:
    unit_id = f"u{uuid.uuid4().hex[:6]}"
    Unit(unit_id, name=f"Unit {unit_id}", has_agents=True).save()
    return unit_id


def new_agent(unit_id: str, state: str, at: datetime = LONG_AGO, **attrs: Any) -> Agent:
    agent = Agent(f"a-{uuid.uuid4().hex[:8]}", unit_id=unit_id, connection_id=f"conn-{uuid.uuid4().hex[:6]}")
    for name, value in attrs.items():
        setattr(agent, name, value)
    return _stamp(agent, state, at)


def new_call(unit_id: str, state: str, at: datetime = LONG_AGO, **attrs: Any) -> Call:
    call = Call(call_id=str(uuid.uuid4()), direction="in", unit_id=unit_id, serving_unit_id=unit_id)
    for name, value in attrs.items():
        setattr(call, name, value)
    return _stamp(call, state, at)


def new_offer(call: Call, agent: Agent, ring_deadline: datetime) -> Offer:
    offer = Offer(
        str(uuid.uuid4()), call_id=call.call_id, agent_id=agent.agent_id, ring_deadline=ring_deadline
    )
    return _stamp(offer, "PENDING", ring_deadline - timedelta(seconds=60))


def new_session(unit_id: str, state: str, role: str = "mobile") -> Session:
    session = Session(
        str(uuid.uuid4()), principal_id="p", role=role, unit_id=unit_id, session_key="k", connection_id=None
    )
    return _stamp(session, state, LONG_AGO)


def ringing(unit_id: str, deadline: datetime, at: datetime = LONG_AGO) -> tuple[Call, Agent, Offer]:
    """A call RINGING at an agent, its offer ringing out at ``deadline``."""
    agent = new_agent(unit_id, "AVAILABLE")
    call = new_call(unit_id, "W", at=at, agent_id=agent.agent_id)
    offer = new_offer(call, agent, deadline)
    call.offer_id = offer.offer_id
    call.save()
    agent.call_id, agent.offer_id = call.call_id, offer.offer_id
    _stamp(agent, "RINGING", at)
    return call, agent, offer


def state_of(model: Any, entity_id: str) -> str:
    return str(model.get(entity_id, consistent_read=True).state)


@pytest.fixture
def service(tables) -> tuple[Housekeeping, Recorder, list[str]]:
    notifier = Recorder()
    freed: list[str] = []
    housekeeping = Housekeeping(
        notifier,
        lambda: NOW,
        settings=lambda unit_id: CallSettings(wrap_up_limit_s=120, queue_timeout_s=180),
        on_agent_freed=freed.append,
    )
    return housekeeping, notifier, freed


def test_an_agent_ringing_for_a_finished_call_is_released(service):
    housekeeping, notifier, freed = service
    unit = new_unit()
    call, agent, offer = ringing(unit, NOW + timedelta(seconds=30))
    _stamp(call, "FINISHED", LONG_AGO)

    report = housekeeping.sweep()

    released = AgentRepository().get(agent.agent_id)
    assert released.state == "AVAILABLE"
    assert released.call_id is None and released.offer_id is None
    assert state_of(Offer, offer.offer_id) == "CANCELLED"
    assert report.agents_released >= 1
    assert unit in freed
    assert [e.event for e in AgentRepository().history(agent.agent_id)][-1] == "sweep"
    assert any(m["action"] == "agent.status" for c, m in notifier.sent if c == agent.connection_id)


def test_an_agent_in_call_on_a_missing_call_is_released(service):
    housekeeping, _, _ = service
    agent = new_agent(new_unit(), "IN_CALL", call_id="no-such-call")
    housekeeping.sweep()
    assert state_of(Agent, agent.agent_id) == "AVAILABLE"


def test_wrap_up_past_the_limit_is_released_and_within_it_kept(service):
    housekeeping, _, _ = service
    unit = new_unit()
    expired = new_agent(unit, "WRAP_UP", at=NOW - timedelta(seconds=200))
    recent = new_agent(unit, "WRAP_UP", at=NOW - timedelta(seconds=60))

    housekeeping.sweep()

    assert state_of(Agent, expired.agent_id) == "AVAILABLE"
    assert AgentRepository().history(expired.agent_id)[-1].event == "wrap_up_expired"
    assert state_of(Agent, recent.agent_id) == "WRAP_UP"


def test_a_ringing_call_long_past_its_ring_deadline_is_swept_and_its_agent_freed(service):
    housekeeping, notifier, _ = service
    unit = new_unit()
    call, agent, offer = ringing(unit, NOW - timedelta(seconds=90), at=NOW - timedelta(seconds=150))

    report = housekeeping.sweep()

    swept = CallRepository().get(call.call_id)
    assert swept.state == "FINISHED" and swept.end_reason == "swept" and swept.ended_by == "system"
    assert CallRepository().history(call.call_id)[-1].event == "sweep"
    assert state_of(Offer, offer.offer_id) == "CANCELLED"
    assert state_of(Agent, agent.agent_id) == "AVAILABLE"
    assert report.calls_swept >= 1
    assert any(m["action"] == "offer.withdrawn" for c, m in notifier.sent if c == agent.connection_id)


def test_a_live_call_whose_two_sessions_ended_is_swept(service):
    housekeeping, _, _ = service
    unit = new_unit()
    mobile, desk = new_session(unit, "ENDED"), new_session(unit, "ENDED", role="agent")
    agent = new_agent(unit, "AVAILABLE")
    call = new_call(
        unit,
        "CONNECTED",
        agent_id=agent.agent_id,
        mobile_session_id=mobile.session_id,
        agent_session_id=desk.session_id,
    )
    agent.call_id = call.call_id
    _stamp(agent, "IN_CALL", LONG_AGO)

    housekeeping.sweep()

    assert CallRepository().get(call.call_id).end_reason == "swept"
    assert state_of(Agent, agent.agent_id) == "AVAILABLE"


def test_a_live_call_of_days_ago_whose_agent_moved_on_is_still_found_and_swept(service):
    housekeeping, _, _ = service
    unit = new_unit()
    mobile, desk = new_session(unit, "ENDED"), new_session(unit, "ENDED", role="agent")
    agent = new_agent(unit, "AVAILABLE")  # freed long ago: no agent listing leads to this call
    call = new_call(
        unit,
        "CONNECTED",
        at=NOW - timedelta(days=3),
        agent_id=agent.agent_id,
        mobile_session_id=mobile.session_id,
        agent_session_id=desk.session_id,
    )

    housekeeping.sweep()

    swept = CallRepository().get(call.call_id)
    assert swept.state == "FINISHED" and swept.end_reason == "swept" and swept.open_in is None
    assert all(c.call_id != call.call_id for c in CallRepository().open_in(unit))


def test_calls_still_in_time_are_left_alone(service):
    housekeeping, _, _ = service
    unit = new_unit()
    call, agent, offer = ringing(unit, NOW + timedelta(seconds=20), at=NOW - timedelta(seconds=40))
    waiting = new_call(unit, "N", at=NOW - timedelta(seconds=100), waiting_in=unit)
    live = new_call(
        unit,
        "CONNECTED",
        mobile_session_id=new_session(unit, "ACTIVE").session_id,
        agent_session_id=new_session(unit, "ENDED", role="agent").session_id,
    )

    housekeeping.sweep()

    assert state_of(Call, call.call_id) == "W"
    assert state_of(Agent, agent.agent_id) == "RINGING"
    assert state_of(Offer, offer.offer_id) == "PENDING"
    assert state_of(Call, waiting.call_id) == "N"
    assert state_of(Call, live.call_id) == "CONNECTED"


def test_a_call_waiting_past_its_queue_timeout_is_swept(service):
    housekeeping, _, _ = service
    unit = new_unit()
    waiting = new_call(unit, "M", at=NOW - timedelta(seconds=180 + 60), waiting_in=unit)
    housekeeping.sweep()
    swept = CallRepository().get(waiting.call_id)
    assert swept.state == "FINISHED" and swept.waiting_in is None
    assert all(c.call_id != waiting.call_id for c in CallRepository().waiting(unit))


def test_a_lost_race_is_counted_not_raised(service, monkeypatch):
    housekeeping, _, _ = service
    agent = new_agent(new_unit(), "IN_CALL", call_id="no-such-call")
    original = AgentRepository.find

    def moved_meanwhile(self, entity_id, *, consistent=True):
        found = original(self, entity_id, consistent=consistent)
        if entity_id == agent.agent_id:  # a handler writes the agent right after the sweeper read it
            _stamp(Agent.get(entity_id, consistent_read=True), "IN_CALL", LONG_AGO, version=4)
        return found

    monkeypatch.setattr(AgentRepository, "find", moved_meanwhile)

    report = housekeeping.sweep()

    assert report.conflicts >= 1
    assert state_of(Agent, agent.agent_id) == "IN_CALL"


# -- end of day ----------------------------------------------------------------------------------------

EVENING = datetime(2024, 5, 1, 15, 30, tzinfo=UTC)  # 22:30 in Vietnam (UTC+7)


def eod_service(unit_id: str) -> Housekeeping:
    def settings(unit: str | None) -> CallSettings:
        # Only this test's unit is past its end of day; other modules' units are not touched.
        return CallSettings(end_of_day="22:00" if unit == unit_id else "23:59")  # type: ignore[arg-type]

    return Housekeeping(Recorder(), lambda: EVENING, settings=settings)


def test_end_of_day_takes_online_agents_offline_and_leaves_those_in_a_call(tables):
    unit = new_unit()
    before = EVENING - timedelta(hours=2)
    available = new_agent(unit, "AVAILABLE", at=before)
    on_break = new_agent(unit, "UNAVAILABLE", at=before)
    wrapping = new_agent(unit, "WRAP_UP", at=before)
    in_call = new_agent(unit, "IN_CALL", at=before, call_id="c")
    ringing_agent = new_agent(unit, "RINGING", at=before, call_id="c2")
    late = new_agent(unit, "AVAILABLE", at=EVENING - timedelta(minutes=5))
    AgentLog(
        late.agent_id,
        3,
        from_state="OFFLINE",
        to_state="UNAVAILABLE",
        event="login",
        actor=late.agent_id,
        request_id="r",
        at=EVENING - timedelta(minutes=10),
    ).save()
    housekeeping = eod_service(unit)

    assert housekeeping.end_of_day(EVENING - timedelta(hours=1)) == 0  # 21:30 local: not yet
    assert state_of(Agent, available.agent_id) == "AVAILABLE"

    assert housekeeping.end_of_day(EVENING) == 3
    for agent in (available, on_break, wrapping):
        assert state_of(Agent, agent.agent_id) == "OFFLINE"
        assert AgentRepository().history(agent.agent_id)[-1].event == "end_of_day"
    assert state_of(Agent, in_call.agent_id) == "IN_CALL"
    assert state_of(Agent, ringing_agent.agent_id) == "RINGING"
    assert state_of(Agent, late.agent_id) == "AVAILABLE"  # logged in after 22:00: works late

    assert housekeeping.end_of_day(EVENING + timedelta(minutes=1)) == 0  # done today: nothing twice


def test_end_of_day_uses_the_settings_time_zone(tables):
    unit = new_unit()
    agent = new_agent(unit, "AVAILABLE", at=EVENING - timedelta(hours=9))

    def settings(unit_id: str | None) -> CallSettings:
        if unit_id == unit:
            return CallSettings(end_of_day="22:00", timezone="UTC")  # type: ignore[arg-type]
        return CallSettings(end_of_day="23:59")  # type: ignore[arg-type]

    housekeeping = Housekeeping(Recorder(), settings=settings)
    assert housekeeping.end_of_day(EVENING) == 0  # 15:30 UTC is before 22:00 UTC
    assert housekeeping.end_of_day(EVENING + timedelta(hours=7)) == 1
    assert state_of(Agent, agent.agent_id) == "OFFLINE"


def test_an_agent_ringing_for_an_offer_the_call_no_longer_holds_is_released(service):
    housekeeping, _, _ = service
    unit = new_unit()
    call, agent, _offer = ringing(unit, NOW + timedelta(seconds=30), at=NOW - timedelta(seconds=60))
    other = new_agent(unit, "RINGING")
    call.offer_id = new_offer(call, other, NOW + timedelta(seconds=40)).offer_id
    call.save()
    housekeeping.sweep()
    assert state_of(Agent, agent.agent_id) == "AVAILABLE"
    assert state_of(Call, call.call_id) == "W"  # the call itself is another agent's business
