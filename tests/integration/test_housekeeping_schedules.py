"""The routing app's schedules fired through the local schedule runner against the stack's tables.

The ``Stack`` does not expose its ``EventRunners`` (they run the schedules every minute in the
background); this test builds a runner of its own on the same loaded routing app and fires the
handler at once with ``fire_now``, as EventBridge would invoke it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from local.chalice_app import load_app
from local.runners import EventRunners
from vkyc import env
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.tables import Agent, Unit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("stack_tables")


@pytest.fixture
def runners(stack) -> EventRunners:
    app = load_app(ROOT / "functions" / "routing")  # the module the stack loaded (imported once)
    return EventRunners(app, stack.aws_endpoint, env.region(), include={"sweep", "end_of_day"})


@pytest.fixture
def lonely_unit():
    """A unit of its own, so the agent freed here is never offered another test's calls."""
    unit_id = f"hk{uuid.uuid4().hex[:6]}"
    Unit(unit_id, name="Housekeeping test", has_agents=True).save()
    yield unit_id
    Unit(unit_id).delete()


def test_the_schedules_are_registered_every_minute(runners):
    assert runners.schedule is not None
    assert sorted(runners.schedule.names) == ["end_of_day", "sweep"]
    start = runners.schedule.origin
    for name in ("sweep", "end_of_day"):
        first = runners.schedule.next_fire_time(name)
        assert first is not None
        assert abs(first - (start + timedelta(minutes=1))) < timedelta(seconds=1)


def test_the_sweep_schedule_releases_an_agent_stuck_on_a_missing_call(runners, lonely_unit):
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    agent = Agent(
        f"hk-agent-{uuid.uuid4().hex[:6]}",
        unit_id=lonely_unit,
        state="IN_CALL",
        version=4,
        call_id="a-call-nobody-remembers",
        created_at=long_ago,
        updated_at=long_ago,
        last_request_id="setup",
    )
    agent.save()

    event = runners.fire_now("sweep")

    assert event["detail-type"] == "Scheduled Event"
    released = AgentRepository().get(agent.agent_id)
    assert released.state == "AVAILABLE"
    assert released.call_id is None
    assert AgentRepository().history(agent.agent_id)[-1].actor == "sweeper"
