"""The call-back (agent → mobile) end to end through the local stack, over real sockets: the device
registration and its licence limit, every outcome of a call-back (A then C, T by timeout and by
decline, E, I, F), a mobile reached after it reconnected, drops within and beyond the grace, and bad
input refused with a code and without touching stored data."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from local.chalice_app import load_app
from local.runners import EventRunners
from sdk import VkycClient, login, mobile_token
from tests.integration.call_drivers import create_unit, mobile_client
from tests.integration.signaling_client import Client
from tests.integration.test_calls import (
    agent_state,
    all_on_break,
    available,
    caller,
    settle_calls,
    unit_settings,
)
from tests.integration.test_signaling import API_KEY_UNIT_1, agent_client
from tests.media_facts import customer_seen
from tests.polling import wait_until
from vkyc import env
from vkyc.domain.callback import CALLBACK, CallbackEvent
from vkyc.domain.dossier import DossierEvent
from vkyc.protocol.messages import (
    AgentStatus,
    CallbackIncoming,
    CallbackRinging,
    CallConnected,
    CallDecided,
    CallEnded,
    CallResult,
    DeviceRegistered,
)
from vkyc.repositories import devices
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.settings import clear_settings, put_settings
from vkyc.repositories.settings_cache import SETTINGS_CACHE
from vkyc.repositories.tables import Call
from vkyc.repositories.transitions import transition

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("stack_tables")


def settle_callbacks() -> None:
    """Release every call-back of units 1, 4 and 6 still ringing or answered (as the sweeper would), so
    no test inherits one (and the inbound tests' settling never reads one as an inbound call)."""
    calls = CallRepository()
    now = datetime.now(UTC)
    for unit in ("1", "4", "6"):
        for listed in calls.of_unit(unit, now - timedelta(hours=1), now + timedelta(minutes=1)):
            if listed.direction == "out" and listed.state in ("N", "A"):
                call = calls.get(listed.call_id)
                transition(call, CALLBACK, CallbackEvent.SWEEP, request_id=uuid.uuid4().hex, actor="test")


@pytest.fixture(autouse=True)
def quiet_unit_1(stack_tables):
    """Each test starts with no call in flight and every unit-1 agent on a break."""
    settle_callbacks()
    settle_calls()
    all_on_break()
    yield
    settle_callbacks()
    settle_calls()
    all_on_break()


def new_dossier(unit: str = "1", subscriber: str | None = None, state: str = "W") -> str:
    """A dossier with a subscriber number of its own: registrations are per number."""
    dossier_id = f"CB-{unit}-{uuid.uuid4().hex[:8]}"
    number = subscriber or "8490" + str(random.randrange(10**7)).zfill(7)
    repository = DossierRepository()
    dossier = repository.create(
        dossier_id,
        unit_id=unit,
        request_id=uuid.uuid4().hex,
        actor="test",
        subscriber=number,
        sub_type="MC",
        customer_type="KHCN",
        payment_type="prepaid",
    )
    if state == "W":
        repository.transition(dossier, DossierEvent.SUBMIT, request_id=uuid.uuid4().hex, actor="test")
    return dossier_id


def registered_mobile(stack, dossier_id: str) -> Client:
    mobile = caller(stack, dossier_id)
    reply = mobile.request("device.register", device_id=f"phone-{uuid.uuid4().hex[:6]}")
    assert reply["action"] == "device.registered", reply
    return mobile


def call_of(call_id: str) -> Call:
    return CallRepository().get(call_id)


def test_the_mobile_answers_the_agent_hangs_up_then_decides(stack):
    dossier_id = new_dossier()
    mobile = registered_mobile(stack, dossier_id)
    agent = available(stack, "tdv1.kv1")

    ringing = agent.request("callback.start", dossier_id=dossier_id)
    assert ringing["action"] == "callback.ringing" and ringing["mobile_online"] is True
    call_id = ringing["call_id"]
    incoming = mobile.next_push("callback.incoming")
    assert (incoming["call_id"], incoming["dossier_id"], incoming["agent_name"]) == (
        call_id,
        dossier_id,
        "Nguyễn Thị Lan",
    )
    assert agent_state(agent) == "IN_CALL"

    connected = mobile.request("callback.accept", call_id=call_id)
    assert connected["action"] == "call.connected" and connected["agent_id"] == "tdv1.kv1"
    assert agent.next_push("call.connected")["call_id"] == call_id

    ended = agent.request("call.hangup", call_id=call_id)
    assert (ended["action"], ended["state"], ended["reason"], ended["ended_by"]) == (
        "call.ended",
        "C",
        "completed",
        "agent",
    )
    assert mobile.next_push("call.ended")["state"] == "C"
    assert agent_state(agent) == "WRAP_UP"

    customer_seen(call_id)
    decided = agent.request("call.decide", call_id=call_id, decision="A", reason="")
    assert (decided["action"], decided["dossier_state"]) == ("call.decided", "A")
    assert mobile.next_push("call.result")["decision"] == "A"
    assert agent_state(agent) == "AVAILABLE"
    history = [entry.event for entry in CallRepository().history(call_id)]
    assert history == ["create", "accept", "end", "decided"]
    mobile.close()
    agent.close()


def test_the_reference_sdk_as_mobile_and_agent(stack):
    dossier_id = new_dossier()

    async def scenario() -> None:
        mobile_grant = await mobile_token(stack.http_url, API_KEY_UNIT_1, "dealer-sdk-cb", dossier_id)
        agent_grant = await login(stack.http_url, "tdv2.kv1", "demo-tdv2-kv1")
        async with (
            VkycClient.open(stack.ws_url, token=mobile_grant.token, heartbeat=False) as mobile,
            VkycClient.open(stack.ws_url, token=agent_grant.token, heartbeat=False) as agent,
        ):
            registered = await mobile.request_as(DeviceRegistered, "device.register", device_id="sdk-phone")
            assert registered.unit_id == "1"
            await agent.request_as(AgentStatus, "agent.set_status", status="available")
            ringing = await agent.request_as(CallbackRinging, "callback.start", dossier_id=dossier_id)
            incoming = await mobile.next_push("callback.incoming")
            assert isinstance(incoming, CallbackIncoming) and incoming.call_id == ringing.call_id
            await mobile.request_as(CallConnected, "callback.accept", call_id=ringing.call_id)
            assert isinstance(await agent.next_push("call.connected"), CallConnected)
            ended = await mobile.request_as(CallEnded, "call.hangup", call_id=ringing.call_id)
            assert (ended.state, ended.ended_by) == ("C", "mobile")
            assert isinstance(await agent.next_push("call.ended"), CallEnded)
            decided = await agent.request_as(
                CallDecided, "call.decide", call_id=ringing.call_id, decision="R", reason="not the owner"
            )
            assert decided.dossier_state == "R"
            result = await mobile.next_push("call.result")
            assert isinstance(result, CallResult) and result.dossier.state == "R"

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_the_mobile_declines(stack):
    dossier_id = new_dossier()
    mobile = registered_mobile(stack, dossier_id)
    agent = available(stack, "tdv2.kv1")
    call_id = agent.request("callback.start", dossier_id=dossier_id)["call_id"]
    mobile.next_push("callback.incoming")
    ended = mobile.request("callback.decline", call_id=call_id)
    assert (ended["state"], ended["reason"], ended["ended_by"]) == ("T", "declined", "mobile")
    assert agent.next_push("call.ended")["reason"] == "declined"
    assert agent_state(agent) == "WRAP_UP" and call_of(call_id).state == "T", "held, for a D"
    assert agent.request("agent.set_status", status="available")["status"] == "AVAILABLE"
    mobile.close()
    agent.close()


def test_the_agent_cancels_before_the_answer(stack):
    dossier_id = new_dossier()
    mobile = registered_mobile(stack, dossier_id)
    agent = available(stack, "tdv1.kv1")
    call_id = agent.request("callback.start", dossier_id=dossier_id)["call_id"]
    mobile.next_push("callback.incoming")
    ended = agent.request("callback.cancel", call_id=call_id)
    assert (ended["state"], ended["reason"], ended["ended_by"]) == ("E", "agent_cancelled", "agent")
    assert mobile.next_push("call.ended")["state"] == "E"
    assert agent_state(agent) == "AVAILABLE"
    assert mobile.request("callback.accept", call_id=call_id)["code"] == "ILLEGAL_TRANSITION"
    mobile.close()
    agent.close()


def test_no_answer_within_the_ring_time_ends_t(stack):
    with unit_settings("1", callback_timeout_s=1):
        dossier_id = new_dossier()
        mobile = registered_mobile(stack, dossier_id)
        agent = available(stack, "tdv1.kv1")
        ringing = agent.request("callback.start", dossier_id=dossier_id)
        assert ringing["ring_timeout_s"] == 1
        assert mobile.next_push("call.ended", timeout=15)["reason"] == "no_answer"
        ended = agent.next_push("call.ended", timeout=15)
        assert (ended["call_id"], ended["state"], ended["ended_by"]) == (ringing["call_id"], "T", "system")
        assert wait_until(lambda: agent_state(agent) == "WRAP_UP")
        decided = agent.request("call.decide", call_id=ringing["call_id"], decision="D", reason="no answer")
        assert decided["dossier_state"] == "D" and agent_state(agent) == "AVAILABLE"
        mobile.close()
        agent.close()


def test_an_unregistered_device_records_i_and_the_agent_holds_it_in_wrap_up(stack):
    dossier_id = new_dossier()
    agent = available(stack, "tdv2.kv1")
    refused = agent.request("callback.start", dossier_id=dossier_id)
    assert refused["code"] == "DEVICE_NOT_REGISTERED" and refused["call_id"]
    call = call_of(refused["call_id"])
    assert (call.state, call.direction, call.dossier_id) == ("I", "out", dossier_id)
    assert agent_state(agent) == "WRAP_UP"
    assert agent.request("agent.set_status", status="available")["status"] == "AVAILABLE"
    agent.close()


def test_the_sweeper_releases_a_call_back_whose_timer_was_lost(stack):
    dossier_id = new_dossier()
    mobile = registered_mobile(stack, dossier_id)
    agent = available(stack, "tdv1.kv1")
    call_id = agent.request("callback.start", dossier_id=dossier_id)["call_id"]
    mobile.next_push("callback.incoming")
    # Its ring timer is as good as lost: the deadline passed long ago and nothing ended it.
    Call(call_id).update(actions=[Call.ring_deadline.set(datetime.now(UTC) - timedelta(minutes=5))])
    routing = load_app(ROOT / "functions" / "routing")
    EventRunners(routing, stack.aws_endpoint, env.region(), include={"sweep"}).fire_now("sweep")
    assert call_of(call_id).state == "F"
    ended = agent.next_push("call.ended")
    assert (ended["state"], ended["reason"]) == ("F", "swept")
    assert agent.next_push("agent.status")["status"] == "AVAILABLE"
    assert mobile.next_push("call.ended")["state"] == "F"
    mobile.close()
    agent.close()


def test_a_mobile_that_reconnects_while_it_rings_gets_the_call_back(stack):
    dossier_id = new_dossier()
    first = registered_mobile(stack, dossier_id)
    assert first.request("session.bye")["action"] == "ack"  # the app is closed: no live session
    agent = available(stack, "tdv2.kv1")
    ringing = agent.request("callback.start", dossier_id=dossier_id)
    assert ringing["mobile_online"] is False
    back = caller(stack, dossier_id)  # the dealer opens the eKYC screen again: a new session
    assert back.request("device.register", device_id="phone-2")["new_registration"] is False
    assert back.next_push("callback.incoming")["call_id"] == ringing["call_id"]
    assert back.request("callback.accept", call_id=ringing["call_id"])["action"] == "call.connected"
    assert agent.next_push("call.connected")["call_id"] == ringing["call_id"]
    assert back.request("call.hangup", call_id=ringing["call_id"])["state"] == "C"
    back.close()
    agent.close()


def test_a_drop_shorter_than_the_grace_keeps_the_answered_call_back(stack):
    dossier_id = new_dossier()
    mobile = registered_mobile(stack, dossier_id)
    agent = available(stack, "tdv1.kv1")
    call_id = agent.request("callback.start", dossier_id=dossier_id)["call_id"]
    mobile.next_push("callback.incoming")
    mobile.request("callback.accept", call_id=call_id)
    mobile.drop()
    assert agent.next_push("peer.reconnecting")["call_id"] == call_id
    back = Client(stack.ws_url, resume=mobile.welcome["resume_token"])
    back.hello()
    assert agent.next_push("peer.reconnected")["call_id"] == call_id
    assert wait_until(lambda: "party_resumed" in [e.event for e in CallRepository().history(call_id)])
    assert call_of(call_id).state == "A"
    assert back.request("call.hangup", call_id=call_id)["state"] == "C"
    back.close()
    agent.close()


def test_a_drop_beyond_the_grace_ends_the_call_back_and_the_agent_decides(stack):
    put_settings({"reconnect_grace_s": 1}, by="test")
    SETTINGS_CACHE.clear()  # the stack runs in this process: see the change now
    try:
        dossier_id = new_dossier()
        mobile = registered_mobile(stack, dossier_id)
        agent = available(stack, "tdv2.kv1")
        call_id = agent.request("callback.start", dossier_id=dossier_id)["call_id"]
        mobile.next_push("callback.incoming")
        mobile.request("callback.accept", call_id=call_id)
        mobile.drop()
        ended = agent.next_push("call.ended", timeout=15)
        assert (ended["state"], ended["reason"]) == ("C", "grace_expired")
        assert agent_state(agent) == "WRAP_UP"
        decided = agent.request("call.decide", call_id=call_id, decision="D", reason="line dropped")
        assert decided["dossier_state"] == "D" and agent_state(agent) == "AVAILABLE"
        agent.close()
    finally:
        put_settings({"reconnect_grace_s": 15}, by="test")
        SETTINGS_CACHE.clear()


# -- refusals: a code each, and nothing stored changes ----------------------------------------------------


def _stored(dossier_id: str, agent_id: str) -> tuple[object, ...]:
    dossier = DossierRepository().get(dossier_id)
    agent = AgentRepository().get(agent_id)
    calls = CallRepository().of_dossier(dossier_id)
    return (dossier.version, dossier.last_call_id, agent.version, agent.state, len(calls))


def test_call_out_refusals_have_their_code_and_change_nothing(stack):
    blacklisted = new_dossier(subscriber="84909999999")  # on the demo blacklist
    registered_mobile(stack, blacklisted).close()
    plain = new_dossier()
    registered_mobile(stack, plain).close()
    cases = [
        ("tdv1.kv1", blacklisted, "TO_NUMBER_NOT_ALLOWS_CALLOUT"),
        ("tdv3.kv1", plain, "FROM_NUMBER_NOT_ALLOWS_AGENT_CALL_OUT"),  # the overflow team may not call out
        ("tdv1.kv2", plain, "NOT_FOUND"),  # unit 2 does not serve unit 1's dossiers
        ("tdv1.kv1", "HS-NO-SUCH-DOSSIER", "NOT_FOUND"),
    ]
    for username, dossier_id, code in cases:
        agent = available(stack, username)
        watched = plain if dossier_id == "HS-NO-SUCH-DOSSIER" else dossier_id  # the dossier asked for
        before = _stored(watched, username)
        reply = agent.request("callback.start", dossier_id=dossier_id)
        assert reply["code"] == code, (username, dossier_id, reply)
        assert _stored(watched, username) == before
        agent.request("agent.set_status", status="unavailable")
        agent.close()
    on_break = agent_client(stack, "tdv2.kv1")  # logged in, not yet available
    assert on_break.request("callback.start", dossier_id=plain)["code"] == "ILLEGAL_TRANSITION"
    on_break.close()


def test_unit_2_agents_may_not_call_out_from_their_hotline(stack):
    dossier_id = new_dossier(unit="2")
    agent = available(stack, "tdv1.kv2")
    before = _stored(dossier_id, "tdv1.kv2")
    assert agent.request("callback.start", dossier_id=dossier_id)["code"] == (
        "FROM_NUMBER_NOT_ALLOWS_AGENT_CALL_OUT"
    )
    assert _stored(dossier_id, "tdv1.kv2") == before
    assert agent.request("agent.set_status", status="unavailable")["status"] == "UNAVAILABLE"
    agent.close()


def test_wrong_roles_malformed_and_foreign_messages_are_refused_without_effect(stack):
    dossier_id = new_dossier()
    mobile = registered_mobile(stack, dossier_id)
    agent = available(stack, "tdv1.kv1")
    call_id = agent.request("callback.start", dossier_id=dossier_id)["call_id"]
    stranger = registered_mobile(stack, new_dossier())
    version = call_of(call_id).version
    before = _stored(dossier_id, "tdv1.kv1")

    assert mobile.request("callback.start", dossier_id=dossier_id)["code"] == "FORBIDDEN_ACTION"
    assert agent.request("device.register", device_id="desk")["code"] == "FORBIDDEN_ACTION"
    assert agent.request("callback.accept", call_id=call_id)["code"] == "FORBIDDEN_ACTION"
    assert agent.request("callback.start")["code"] == "BAD_MESSAGE"
    assert mobile.request("device.register", device_id="has spaces")["code"] == "BAD_MESSAGE"
    assert stranger.request("callback.accept", call_id=call_id)["code"] == "CALL_NOT_FOUND"
    assert stranger.request("callback.decline", call_id=call_id)["code"] == "CALL_NOT_FOUND"
    assert mobile.request("callback.accept", call_id="cb-no-such-call")["code"] == "CALL_NOT_FOUND"
    assert mobile.request("call.cancel", call_id=call_id)["code"] == "ILLEGAL_TRANSITION"
    assert mobile.request("call.hangup", call_id=call_id)["code"] == "ILLEGAL_TRANSITION"
    assert agent.request("call.decide", call_id=call_id, decision="A", reason="")["code"] == (
        "DECISION_NOT_ALLOWED"
    )

    assert call_of(call_id).version == version and call_of(call_id).state == "N"
    assert _stored(dossier_id, "tdv1.kv1") == before
    assert agent.request("callback.cancel", call_id=call_id)["state"] == "E"
    for client in (mobile, agent, stranger):
        client.close()


def test_the_licence_limit_of_a_unit_refuses_a_new_number(stack):
    unit = create_unit(f"lic{uuid.uuid4().hex[:5]}", agent_count=0)
    put_settings({"device_licence_limit": 1}, unit_id=unit.unit_id, by="test")
    SETTINGS_CACHE.clear()
    try:
        first_dossier, second_dossier = new_dossier(unit.unit_id), new_dossier(unit.unit_id)
        first = mobile_client(stack.http_url, stack.ws_url, first_dossier, unit.api_key)
        second = mobile_client(stack.http_url, stack.ws_url, second_dossier, unit.api_key)
        assert first.request("device.register", device_id="phone-1")["new_registration"] is True
        refused = second.request("device.register", device_id="phone-2")
        assert (refused["action"], refused["code"]) == ("error", "DEVICE_LIMIT_REACHED")
        assert devices.registered_count(unit.unit_id) == 1
        again = first.request("device.register", device_id="phone-1b")
        assert (again["action"], again["new_registration"]) == ("device.registered", False)
        # The registered device gives its licence up: the other number may now register.
        stale = first.request("device.unregister", device_id="phone-1")
        assert (stale["action"], stale["released"]) == ("device.unregistered", False)
        gone = first.request("device.unregister", device_id="phone-1b")
        assert (gone["action"], gone["released"], gone["unit_id"]) == (
            "device.unregistered",
            True,
            unit.unit_id,
        )
        assert devices.registered_count(unit.unit_id) == 0
        assert second.request("device.register", device_id="phone-2")["new_registration"] is True
        first.close()
        second.close()
    finally:
        clear_settings(["device_licence_limit"], unit_id=unit.unit_id)
        SETTINGS_CACHE.clear()


def test_an_answered_call_back_nobody_brings_media_to_ends_and_frees_the_agent(stack):
    with unit_settings("1", no_call_arrived_s=2):
        dossier_id = new_dossier()
        mobile = registered_mobile(stack, dossier_id)
        agent = available(stack, "tdv1.kv1")
        call_id = agent.request("callback.start", dossier_id=dossier_id)["call_id"]
        mobile.next_push("callback.incoming")
        mobile.request("callback.accept", call_id=call_id)
        ended = agent.next_push("call.ended", timeout=30)
        assert (ended["call_id"], ended["state"], ended["reason"]) == (call_id, "C", "no_call_arrived")
        assert mobile.next_push("call.ended", timeout=30)["reason"] == "no_call_arrived"
        assert agent_state(agent) == "WRAP_UP"
        mobile.close()
        agent.close()
