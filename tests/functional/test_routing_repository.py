"""What routing reads (moto): the serving unit's queue and group rules, the available agents, the caches
and what a routed call costs in DynamoDB requests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from local.demo.load import write_demo_data
from local.demo.schema import load_demo_file
from tests.binding import models_bound_to
from tests.fakes import FakeClock
from vkyc.domain.routing import CallFacts, Candidate, GroupRule, choose
from vkyc.repositories.queues import put_queue
from vkyc.repositories.routing import CONFIG_TTL_S, RoutingRepository
from vkyc.repositories.tables import Agent, Group, Hotline, QueueGroup, Unit

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config(tables):
    """Units 1..7 with the demo's serving map; unit 1 has two hotlines (two queues), unit 3 one."""
    for unit_id, served_by in {"1": None, "3": None, "4": "1", "6": "1", "7": "3", "5": None}.items():
        Unit(unit_id, name=f"Unit {unit_id}", served_by=served_by, has_agents=served_by is None).save()
    Group("g1-front", unit_id="1", name="Front KV1").save()
    Group("g1-backup", unit_id="1", name="Backup KV1").save()
    Group("g1-khdn", unit_id="1", name="Enterprise KV1", customer_types={"KHDN"}, sub_types={"fce"}).save()
    Group("g1-shops", unit_id="1", name="Shops KV1", dealer_channels={"DL"}).save()
    Group("g3-front", unit_id="3", name="Front KV3").save()
    put_queue(
        "q1-ekyc",
        unit_id="1",
        name="eKYC KV1",
        groups=[
            QueueGroup(group_id="g1-khdn", priority=1),
            QueueGroup(group_id="g1-front", priority=1),
            QueueGroup(group_id="g1-backup", priority=2, overflow_after_s=20),
        ],
        timeout_s=90,
    )
    put_queue("q1-shops", unit_id="1", name="Shops KV1", groups=[QueueGroup(group_id="g1-shops", priority=1)])
    put_queue("q3-ekyc", unit_id="3", name="eKYC KV3", groups=[QueueGroup(group_id="g3-front", priority=1)])
    Hotline("19001001", unit_id="1", name="Hotline KV1", queue_id="q1-ekyc").save()
    Hotline("19001011", unit_id="1", name="Shops line KV1", queue_id="q1-shops").save()
    Hotline("19001003", unit_id="3", name="Hotline KV3", queue_id="q3-ekyc").save()
    Hotline("19001005", unit_id="5", name="Hotline KV5, no queue yet").save()
    return tables


def put_agent(
    agent_id: str,
    unit_id: str,
    state: str,
    *groups: str,
    version: int = 1,
    since: datetime | None = None,
    connection_id: str | None = None,
) -> None:
    Agent(
        agent_id,
        unit_id=unit_id,
        name=agent_id,
        group_ids=set(groups) or None,
        state=state,
        version=version,
        created_at=T0,
        updated_at=T0,
        last_request_id="setup",
        connection_id=connection_id,
        available_since=since,
    ).save()


def test_a_unit_6_call_waits_in_unit_1s_queue_for_unit_1s_groups(config):
    ctx = RoutingRepository().context("6")
    assert (ctx.unit_id, ctx.serving_unit_id, ctx.hotline_id, ctx.queue_id) == (
        "6",
        "1",
        "19001001",
        "q1-ekyc",
    )
    assert ctx.queue is not None and ctx.queue.timeout_s == 90
    assert ctx.rules == (
        GroupRule("g1-khdn", 1, None, customer_types=frozenset({"KHDN"}), sub_types=frozenset({"FCE"})),
        GroupRule("g1-front", 1, None),
        GroupRule("g1-backup", 2, 20.0),
    )


def test_the_serving_map_of_the_units_table(config):
    repo = RoutingRepository()
    assert [repo.serving_unit(u) for u in ("1", "4", "6", "3", "7", "5")] == ["1", "1", "1", "3", "3", "5"]
    assert repo.serving_unit("99") == "99"  # not in the table: itself


def test_a_unit_7_call_goes_to_unit_3s_queue(config):
    ctx = RoutingRepository().context("7")
    assert (ctx.serving_unit_id, ctx.queue_id, [r.group_id for r in ctx.rules]) == (
        "3",
        "q3-ekyc",
        ["g3-front"],
    )


def test_the_calls_hotline_picks_the_queue_when_the_serving_unit_has_several(config):
    repo = RoutingRepository()
    assert repo.context("4", hotline_id="19001011").queue_id == "q1-shops"
    assert repo.context("4", hotline_id="19001001").queue_id == "q1-ekyc"
    # Another unit's hotline cannot redirect the call to other agents: the serving unit's first hotline.
    assert repo.context("4", hotline_id="19001003").queue_id == "q1-ekyc"
    assert repo.context("4", hotline_id="00000000").queue_id == "q1-ekyc"


def test_a_serving_unit_without_a_hotline_queue_has_nobody_to_answer(config):
    repo = RoutingRepository()
    for unit_id in ("5", "99"):
        ctx = repo.context(unit_id)
        assert (ctx.serving_unit_id, ctx.hotline_id, ctx.queue_id, ctx.queue, ctx.rules) == (
            unit_id,
            None,
            None,
            None,
            (),
        )


def test_available_agents_are_the_units_available_agents_with_what_a_claim_needs(config):
    put_agent("aa-1", "1", "AVAILABLE", "g1-front", version=7, since=T0, connection_id="conn-1")
    put_agent("aa-2", "1", "AVAILABLE", "g1-front", "g1-backup", version=3, since=T0 + timedelta(seconds=5))
    put_agent("aa-busy", "1", "IN_CALL", "g1-front")
    put_agent("aa-ringing", "1", "RINGING", "g1-front")
    put_agent("aa-off", "1", "OFFLINE", "g1-front")
    put_agent("aa-other-unit", "3", "AVAILABLE", "g3-front")
    candidates = {c.agent_id: c for c in RoutingRepository().available_agents("1")}
    assert set(candidates) >= {"aa-1", "aa-2"}
    assert not set(candidates) & {"aa-busy", "aa-ringing", "aa-off", "aa-other-unit"}
    first = candidates["aa-1"]
    assert (first.group_ids, first.available_since) == (frozenset({"g1-front"}), T0)
    assert isinstance(first.ref, Agent)
    assert (first.ref.agent_id, first.ref.state, first.ref.version, first.ref.connection_id) == (
        "aa-1",
        "AVAILABLE",
        7,
        "conn-1",
    )
    assert candidates["aa-2"].group_ids == {"g1-front", "g1-backup"}
    assert candidates["aa-2"].ref.version == 3


def test_an_agent_without_groups_or_availability_time_is_still_a_candidate(config):
    put_agent("lone", "5", "AVAILABLE")
    assert RoutingRepository().available_agents("5") == [Candidate("lone", frozenset(), None)]


def test_with_warm_caches_routing_a_call_costs_one_request(config, dynamodb_calls):
    clock = FakeClock(1000.0)
    repo = RoutingRepository(clock=clock)
    repo.context("6")
    assert sorted(dynamodb_calls) == ["BatchGetItem", "GetItem", "Scan", "Scan"]  # cold: the configuration

    dynamodb_calls.clear()
    clock.now += CONFIG_TTL_S - 1
    ctx = repo.context("6")
    candidates = repo.available_agents(ctx.serving_unit_id)
    choose(candidates, ctx.rules, CallFacts("KHCN", "ZP"), excluded=())
    assert dynamodb_calls == ["Query"]

    dynamodb_calls.clear()
    repo.context("4")  # another unit served by the same queue: the same cached items
    repo.context("7")  # another queue: only that queue and its groups are read
    assert sorted(dynamodb_calls) == ["BatchGetItem", "GetItem"]


def test_configuration_is_read_again_once_the_cache_is_60_s_old(config, dynamodb_calls):
    clock = FakeClock(1000.0)
    repo = RoutingRepository(clock=clock)
    Unit("8", name="Unit 8").save()
    assert repo.serving_unit("8") == "8"
    Unit("8", name="Unit 8", served_by="3").save()
    clock.now += CONFIG_TTL_S - 0.001
    assert repo.serving_unit("8") == "8"  # still the cached map
    dynamodb_calls.clear()
    clock.now += 0.001
    assert repo.serving_unit("8") == "3"
    assert dynamodb_calls == ["Scan"]
    Unit("8", name="Unit 8", served_by="1").save()
    repo.invalidate()
    assert repo.serving_unit("8") == "1"


def test_group_conditions_route_an_enterprise_call_from_the_stored_configuration(config):
    put_agent("gc-khdn", "1", "AVAILABLE", "g1-khdn", since=T0 + timedelta(minutes=9))
    put_agent("gc-front", "1", "AVAILABLE", "g1-front", since=T0)
    put_agent("gc-backup", "1", "AVAILABLE", "g1-backup", since=T0 - timedelta(hours=1))
    repo = RoutingRepository()
    ctx = repo.context("6")
    # Only this test's agents: other tests of the module leave unit 1 agents available too.
    candidates = [c for c in repo.available_agents(ctx.serving_unit_id) if c.agent_id.startswith("gc-")]
    rules = ctx.rules
    enterprise = CallFacts(customer_type="KHDN", sub_type="FCE")
    assert (
        choose(candidates, rules, enterprise, excluded=()).agent_id == "gc-front"
    )  # idle longest of level 1
    assert choose(candidates, rules, enterprise, excluded={"gc-front"}).agent_id == "gc-khdn"
    individual = CallFacts(customer_type="KHCN", sub_type="FCE")
    assert choose(candidates, rules, individual, excluded={"gc-front"}) is None  # backup not open yet
    late = CallFacts(customer_type="KHCN", sub_type="FCE", waited_s=25)
    assert choose(candidates, rules, late, excluded={"gc-front"}).agent_id == "gc-backup"


@pytest.fixture
def demo_tables(tables, moto_server):
    """The shipped demo loaded into tables of their own prefix (this module's tables stay as they are)."""
    with models_bound_to(moto_server.url, f"r{uuid.uuid4().hex[:8]}-"):
        tables.create_all()
        write_demo_data(load_demo_file())
        yield tables
        tables.delete_all()


def test_the_demo_routes_unit_7_to_unit_3s_queue_with_its_enterprise_only_group(demo_tables):
    repo = RoutingRepository()
    ctx = repo.context("7")
    assert (ctx.serving_unit_id, ctx.hotline_id, ctx.queue_id) == ("3", "19001003", "kv3-ekyc")
    assert ctx.rules == (
        GroupRule("kv3-xac-thuc", 1),
        GroupRule("kv3-doanh-nghiep", 1, customer_types=frozenset({"KHDN"})),
    )
    unit_6 = repo.context("6")
    assert (unit_6.serving_unit_id, unit_6.queue_id) == ("1", "kv1-ekyc")
    assert [(r.group_id, r.priority, r.overflow_after_s) for r in unit_6.rules] == [
        ("kv1-xac-thuc", 1, None),
        ("kv1-du-phong", 2, 20.0),
    ]
    assert repo.available_agents("1") == []  # the demo's agents start OFFLINE
