"""The inbound call end to end through the local stack: mobile and agents over real sockets."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.signaling_client import Client, rest
from tests.integration.test_signaling import API_KEY_UNIT_1, agent_client
from tests.media_facts import customer_seen
from tests.polling import wait_until
from vkyc.domain.agent import AGENT, AgentEvent
from vkyc.domain.call import CALL, CallEvent
from vkyc.domain.dossier import DOSSIER, DossierEvent
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.settings import clear_settings, put_settings
from vkyc.repositories.settings_cache import SETTINGS_CACHE
from vkyc.repositories.transitions import transition

API_KEY_UNIT_6 = "vkyc_demo_kv6_e07d4b19c8a26f50d3e1b7c5"
pytestmark = pytest.mark.usefixtures("stack_tables")
AGENTS = {"tdv1.kv1", "tdv2.kv1", "tdv3.kv1"}


# How a leftover agent state is brought to a break through legal moves (what the sweeper would do).
TO_BREAK = {
    "WRAP_UP": [AgentEvent.WRAP_UP_EXPIRED, AgentEvent.BREAK],
    "RINGING": [AgentEvent.SWEEP, AgentEvent.BREAK],
    "IN_CALL": [AgentEvent.SWEEP, AgentEvent.BREAK],
    "AVAILABLE": [AgentEvent.BREAK],
}


def all_on_break() -> None:
    agents = AgentRepository()
    for listed in agents.of_unit("1"):
        current = agents.get(listed.agent_id)
        for event in TO_BREAK.get(current.state, []):
            current = transition(current, AGENT, event, request_id=uuid.uuid4().hex, actor="test")


class _Silent:
    """Notifier and timers that do nothing: the settling below talks to no client."""

    def send(self, connection_id, message):
        return True

    def close(self, connection_id):
        return None

    def schedule(self, kind, payload, delay_s):
        return None

    def schedule_many(self, timers):
        return None


def settle_calls() -> None:
    """End every unfinished call of units 1 and 6 the way the system would (queue timeout, sweep)."""
    from tests.graph import graph_on
    from vkyc.services.routing import DataRouter

    # Ending a ringing call frees its agent, who may then be offered the next waiting call: routing runs.
    graph = graph_on(_Silent(), router=DataRouter())
    calls = CallRepository()
    now = datetime.now(UTC)
    for unit in ("1", "6"):
        for listed in calls.of_unit(unit, now - timedelta(hours=1), now + timedelta(minutes=1)):
            call = calls.get(listed.call_id)
            if call.state in ("N", "W", "R", "M"):
                graph.run(graph.inbound.queue_timeout(call.call_id))
            elif call.state in ("A", "CONNECTED", "RECONNECTING"):
                transition(call, CALL, CallEvent.SWEEP, request_id=uuid.uuid4().hex, actor="test")


@pytest.fixture(autouse=True)
def quiet_unit_1(stack_tables):
    """Each test starts with no call in flight and every unit-1 agent on a break: only the agents a
    test makes available take its calls."""
    settle_calls()
    all_on_break()
    yield
    settle_calls()
    all_on_break()


@contextmanager
def unit_settings(unit_id: str, **values):
    """Override settings of a unit for one test; the per-process cache is cleared both ways so the
    stack (same process) sees the change at once instead of within 60 s."""
    put_settings(values, unit_id=unit_id, by="test")
    SETTINGS_CACHE.clear()
    try:
        yield
    finally:
        clear_settings(list(values), unit_id=unit_id)
        SETTINGS_CACHE.clear()


def new_dossier(unit: str = "1", **overrides) -> str:
    dossier_id = f"T-{unit}-{uuid.uuid4().hex[:8]}"
    fields = {
        "subscriber": "84901234567",
        "sub_type": "MC",
        "customer_type": "KHCN",
        "payment_type": "prepaid",
    }
    fields.update(overrides)
    DossierRepository().create(dossier_id, unit_id=unit, request_id=uuid.uuid4().hex, actor="test", **fields)
    return dossier_id


def caller(stack, dossier_id: str, api_key: str = API_KEY_UNIT_1) -> Client:
    status, grant = rest(
        stack.http_url,
        "/auth/mobile",
        {"dealer_account": "dl-9", "dossier_id": dossier_id},
        {"x-api-key": api_key},
    )
    assert status == 200, grant
    client = Client(stack.ws_url, token=grant["token"])
    client.hello()
    return client


def available(stack, username: str) -> Client:
    agent = agent_client(stack, username)
    reply = agent.request("agent.set_status", status="available")
    assert reply.get("status") == "AVAILABLE", reply
    return agent


def agent_state(client: Client) -> str:
    return AgentRepository().get(client.welcome["principal_id"]).state


def test_agent_accepts_then_hangup_then_decision_a(stack):
    dossier_id = new_dossier()
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, dossier_id)
    queued = mobile.request("call.request")
    assert queued["action"] == "call.ringing", "an agent was free: the reply says it rings"
    offer = agent.next_push("call.offer")
    assert offer["call_id"] == queued["call_id"] and offer["dossier"]["dossier_id"] == dossier_id
    assert offer["ring_timeout_s"] == 60
    assert agent_state(agent) == "RINGING"

    connected = agent.request("offer.accept", offer_id=offer["offer_id"])
    assert connected["action"] == "call.connected"
    assert mobile.next_push("call.connected")["agent_id"] == agent.welcome["principal_id"]
    assert agent_state(agent) == "IN_CALL"

    ended = mobile.request("call.hangup", call_id=queued["call_id"])
    assert (ended["state"], ended["reason"], ended["ended_by"]) == ("FINISHED", "completed", "mobile")
    assert agent.next_push("call.ended")["call_id"] == queued["call_id"]
    assert agent_state(agent) == "WRAP_UP"

    refused = agent.request("call.decide", call_id=queued["call_id"], decision="A", reason="")
    assert (refused["code"], refused["call_id"]) == ("DECISION_NOT_ALLOWED", queued["call_id"]), (
        "no video ever reached both sides: nobody saw the customer"
    )
    snapshot_id = customer_seen(queued["call_id"])
    decided = agent.request(
        "call.decide", call_id=queued["call_id"], decision="A", reason="", snapshot_id=snapshot_id
    )
    assert decided["dossier_state"] == "A"
    assert DossierRepository().get(dossier_id).state == "A"
    result = mobile.next_push("call.result")
    assert result["decision"] == "A" and result["dossier"]["dossier_id"] == dossier_id
    assert agent_state(agent) == "AVAILABLE"
    call = CallRepository().get(queued["call_id"])
    assert (call.state, call.decision, call.end_reason) == ("FINISHED", "A", "completed")
    mobile.close()
    agent.close()


def test_reject_reroutes_to_the_next_agent_who_accepts(stack):
    first, second = available(stack, "tdv1.kv1"), available(stack, "tdv2.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    ringing = [c for c in (first, second) if any(p["action"] == "call.offer" for p in _drain(c))]
    assert len(ringing) == 1
    refuser = ringing[0]
    other = second if refuser is first else first
    offer = next(p for p in refuser.pushes if p["action"] == "call.offer")
    assert refuser.request("offer.reject", offer_id=offer["offer_id"], reason="busy")["action"] == "ack"
    second_offer = other.next_push("call.offer")
    assert second_offer["call_id"] == call_id
    other.request("offer.accept", offer_id=second_offer["offer_id"])
    assert mobile.next_push("call.connected")["agent_id"] == other.welcome["principal_id"]
    assert agent_state(refuser) == "AVAILABLE"
    assert refuser.welcome["principal_id"] in CallRepository().get(call_id).tried_agent_ids
    mobile.request("call.hangup", call_id=call_id)
    for client in (mobile, first, second):
        client.close()


def test_ring_timeout_moves_the_call_on_and_the_first_agent_becomes_unavailable(stack):
    with unit_settings("1", ring_timeout_s=1):
        first = available(stack, "tdv1.kv1")
        mobile = caller(stack, new_dossier())
        call_id = mobile.request("call.request")["call_id"]
        offer = first.next_push("call.offer")
        second = available(stack, "tdv2.kv1")  # free only once the first is ringing
        withdrawn = first.next_push("offer.withdrawn", timeout=15)
        assert withdrawn["reason"] == "rang_out"
        assert wait_until(lambda: agent_state(first) == "UNAVAILABLE")
        assert second.next_push("call.offer", timeout=15)["call_id"] == call_id
        assert first.request("offer.accept", offer_id=offer["offer_id"])["code"] == "OFFER_NOT_FOUND"
        for client in (mobile, first, second):
            client.close()


def test_caller_cancels_while_ringing(stack):
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.next_push("call.offer")
    ended = mobile.request("call.cancel", call_id=call_id)
    assert ended["action"] == "call.ended" and CallRepository().get(call_id).state == "E"
    assert agent.next_push("offer.withdrawn")["reason"] == "caller_hung_up"
    assert agent_state(agent) == "AVAILABLE"
    mobile.close()
    agent.close()


def test_call_waits_in_the_queue_until_an_agent_frees_up(stack):
    mobile = caller(stack, new_dossier())
    queued = mobile.request("call.request")
    assert queued["position"] == 1
    agent = available(stack, "tdv2.kv1")
    assert agent.next_push("call.offer")["call_id"] == queued["call_id"]
    mobile.close()
    agent.close()


def test_callers_behind_are_told_their_new_position_when_the_first_is_offered(stack):
    first, second = caller(stack, new_dossier()), caller(stack, new_dossier())
    one = first.request("call.request")
    two = second.request("call.request")
    assert (one["action"], one["position"], two["action"], two["position"]) == (
        "call.queued",
        1,
        "call.queued",
        2,
    )
    agent = available(stack, "tdv2.kv1")
    assert agent.next_push("call.offer")["call_id"] == one["call_id"]
    assert first.next_push("call.ringing")["call_id"] == one["call_id"]
    moved = second.next_push("call.queued")
    assert (moved["call_id"], moved["position"]) == (two["call_id"], 1)
    for client in (first, second, agent):
        client.close()


def test_no_agent_until_the_queue_timeout_ends_the_call(stack):
    with unit_settings("1", queue_timeout_s=1):
        mobile = caller(stack, new_dossier())
        call_id = mobile.request("call.request")["call_id"]
        assert mobile.next_push("error", timeout=15)["code"] == "NO_AGENT_AVAILABLE"
        ended = mobile.next_push("call.ended")
        assert ended["reason"] == "no_agent" and CallRepository().get(call_id).state == "FINISHED"
        mobile.close()


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"kyc_at_counter": True}, "KYC_AT_COUNTER_REQUIRED"),
        ({"payment_type": "postpaid"}, "VIDEO_CALL_NOT_REQUIRED"),
        ({"sub_type": "ASI"}, "VIDEO_CALL_NOT_REQUIRED"),
        ({"sub_type": "NOPE"}, "UNKNOWN_SUB_TYPE"),
    ],
)
def test_ineligible_dossiers_are_refused_with_their_code(stack, overrides, code):
    mobile = caller(stack, new_dossier(**overrides))
    assert mobile.request("call.request")["code"] == code
    mobile.close()


def test_a_decided_dossier_cannot_be_called_again(stack):
    mobile = caller(stack, "HS-KV1-0003")  # approved in the demo data
    assert mobile.request("call.request")["code"] == "DOSSIER_ALREADY_APPROVED"
    mobile.close()


def test_a_unit_6_dealer_reaches_a_unit_1_agent(stack):
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier(unit="6"), api_key=API_KEY_UNIT_6)
    call_id = mobile.request("call.request")["call_id"]
    assert agent.next_push("call.offer")["call_id"] == call_id
    assert CallRepository().get(call_id).serving_unit_id == "1"
    mobile.close()
    agent.close()


def test_decision_needs_a_reason_except_approval(stack):
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    assert (
        agent.request("call.decide", call_id=call_id, decision="R", reason=" ")["code"] == "REASON_REQUIRED"
    )
    decided = agent.request("call.decide", call_id=call_id, decision="D", reason="customer left the shop")
    assert decided["dossier_state"] == "D", "decided during the call: the call ends, the agent is free"
    assert agent_state(agent) == "AVAILABLE" and CallRepository().get(call_id).state == "FINISHED"
    assert mobile.next_push("call.result")["decision"] == "D"
    mobile.close()
    agent.close()


def test_mobile_gone_beyond_the_grace_ends_the_call_and_frees_the_agent(stack):
    put_settings({"reconnect_grace_s": 1}, by="test")
    SETTINGS_CACHE.clear()  # the stack runs in this process: see the change now, not within 60 s
    try:
        agent = available(stack, "tdv1.kv1")
        mobile = caller(stack, new_dossier())
        call_id = mobile.request("call.request")["call_id"]
        agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
        mobile.drop()
        assert agent.next_push("peer.reconnecting")["role"] == "mobile"
        ended = agent.next_push("call.ended", timeout=15)
        assert ended["reason"] == "grace_expired"
        assert CallRepository().get(call_id).end_reason == "grace_expired"
        assert agent_state(agent) == "WRAP_UP"
        assert (
            agent.request("call.decide", call_id=call_id, decision="D", reason="lost")["dossier_state"] == "D"
        )
        agent.close()
    finally:
        put_settings({"reconnect_grace_s": 15}, by="test")
        SETTINGS_CACHE.clear()


def _drain(client: Client, seconds: float = 1.0) -> list[dict]:
    """Collect pushes for a moment (both agents may be rung; only one is)."""
    import json
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            client.pushes.append(json.loads(client.ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
        except TimeoutError:
            break
    return client.pushes


def test_a_drop_shorter_than_the_grace_resumes_the_call(stack):
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    mobile.drop()
    assert agent.next_push("peer.reconnecting")["call_id"] == call_id
    assert wait_until(lambda: CallRepository().get(call_id).state == "RECONNECTING")
    back = Client(stack.ws_url, resume=mobile.welcome["resume_token"])
    back.hello()
    assert agent.next_push("peer.reconnected")["call_id"] == call_id
    assert wait_until(lambda: CallRepository().get(call_id).state == "CONNECTED")
    assert back.request("call.hangup", call_id=call_id)["state"] == "FINISHED"
    back.close()
    agent.close()


def test_agent_reload_mid_call_keeps_the_call(stack):
    agent = available(stack, "tdv2.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    reloaded = Client(stack.ws_url, resume=agent.welcome["resume_token"])
    reloaded.hello()
    assert AgentRepository().get(agent.welcome["principal_id"]).state == "IN_CALL"
    customer_seen(call_id)
    decided = reloaded.request("call.decide", call_id=call_id, decision="A", reason="")
    assert decided["dossier_state"] == "A"
    assert mobile.next_push("call.ended")["ended_by"] == "agent"
    assert mobile.next_push("call.result")["decision"] == "A"
    mobile.close()
    reloaded.close()


def test_overflow_group_takes_the_call_after_its_delay(stack):
    from vkyc.repositories.queues import find_queue, put_queue
    from vkyc.repositories.tables import QueueGroup

    queue = find_queue("kv1-ekyc")
    assert queue is not None
    original = [
        QueueGroup(group_id=g.group_id, priority=g.priority, overflow_after_s=g.overflow_after_s)
        for g in queue.groups
    ]
    faster = [
        QueueGroup(
            group_id=g.group_id, priority=g.priority, overflow_after_s=1 if g.overflow_after_s else None
        )
        for g in queue.groups
    ]
    put_queue(
        "kv1-ekyc",
        unit_id="1",
        name=queue.name,
        groups=faster,
        timeout_s=queue.timeout_s,
        auto_ticket=queue.auto_ticket,
    )
    try:
        backup = available(stack, "tdv3.kv1")  # only the overflow group (kv1-du-phong) is free
        mobile = caller(stack, new_dossier())
        queued = mobile.request("call.request")
        assert queued["position"] == 1, "the overflow group is closed when the call arrives"
        offer = backup.next_push("call.offer", timeout=15)
        assert offer["call_id"] == queued["call_id"]
        mobile.close()
        backup.close()
    finally:
        put_queue(
            "kv1-ekyc",
            unit_id="1",
            name=queue.name,
            groups=original,
            timeout_s=queue.timeout_s,
            auto_ticket=queue.auto_ticket,
        )


def test_a_group_that_takes_one_dealer_channel_is_rung_only_for_its_channels_calls(stack):
    """The dealer's channel travels from ``/auth/mobile`` through the session to the call, where
    the group's ``dealer_channels`` condition reads it."""
    from tests.integration.call_drivers import create_unit, login_agent, mobile_client
    from tests.integration.call_drivers import new_dossier as unit_dossier
    from vkyc.repositories.tables import Group

    unit = create_unit(f"ch{uuid.uuid4().hex[:5]}", agent_count=1)
    Group(
        f"load-{unit.unit_id}-group", unit_id=unit.unit_id, name="Agents' shops", dealer_channels={"DL"}
    ).save()
    agent = login_agent(stack.http_url, stack.ws_url, unit.agents[0])
    assert agent.request("agent.set_status", status="available")["status"] == "AVAILABLE"

    shop = mobile_client(
        stack.http_url, stack.ws_url, unit_dossier(unit.unit_id), unit.api_key, dealer_channel="DBH"
    )
    queued = shop.request("call.request")
    assert queued["action"] == "call.queued", "no group takes point-of-sale calls"
    assert CallRepository().get(queued["call_id"]).dealer_channel == "DBH"
    assert shop.request("call.cancel", call_id=queued["call_id"])["state"] == "E"

    dealer = mobile_client(
        stack.http_url, stack.ws_url, unit_dossier(unit.unit_id), unit.api_key, dealer_channel="DL"
    )
    rung = dealer.request("call.request")
    assert rung["action"] == "call.ringing"
    assert agent.next_push("call.offer")["call_id"] == rung["call_id"]

    refused = rest(
        stack.http_url,
        "/auth/mobile",
        {"dealer_account": "dl-1", "dossier_id": unit_dossier(unit.unit_id), "dealer_channel": "no spaces"},
        {"x-api-key": unit.api_key},
    )
    assert refused[0] == 400 and refused[1]["code"] == "BAD_MESSAGE"
    for client in (shop, dealer, agent):
        client.close()


# A mobile's hello reads its dossier ahead of the call request (off the path to the ring): a copy that
# went stale in between must neither let a call through nor refuse one.


def test_a_dossier_decided_after_the_hello_is_refused_and_gets_no_call(stack, quiet_unit_1):
    dossier_id = new_dossier()
    mobile = caller(stack, dossier_id)  # the dossier is read ahead here, not decided
    dossier = DossierRepository().get(dossier_id)
    for event in ([DossierEvent.SUBMIT] if dossier.state == "N" else []) + [DossierEvent.APPROVE]:
        dossier = transition(dossier, DOSSIER, event, request_id=uuid.uuid4().hex, actor="back-office")
    assert mobile.request("call.request")["code"] == "DOSSIER_ALREADY_APPROVED"
    assert CallRepository().of_dossier(dossier_id) == []
    mobile.close()


def test_a_dossier_made_eligible_after_the_hello_can_be_called(stack, quiet_unit_1):
    dossier_id = new_dossier(kyc_at_counter=True)
    mobile = caller(stack, dossier_id)  # read ahead: KYC at the counter required
    fixed = DossierRepository().get(dossier_id)  # a back-office correction after the hello
    fixed.kyc_at_counter = False
    fixed.version += 1
    fixed.save()
    reply = mobile.request("call.request")
    assert reply["action"] in ("call.queued", "call.ringing"), reply
    assert mobile.request("call.cancel", call_id=reply["call_id"])["action"] == "call.ended"
    mobile.close()


def test_an_answered_call_nobody_brings_media_to_ends_t_and_frees_the_agent(stack):
    """The no-call timer starts at the answer, not at a party's media offer: with no media at all the
    call still ends T (``no_call_arrived``) and the agent goes to wrap-up."""
    with unit_settings("1", no_call_arrived_s=2):
        agent = available(stack, "tdv1.kv1")
        mobile = caller(stack, new_dossier())
        call_id = mobile.request("call.request")["call_id"]
        agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
        ended = mobile.next_push("call.ended", timeout=30)
        assert (ended["call_id"], ended["state"], ended["reason"]) == (call_id, "T", "no_call_arrived")
        assert agent.next_push("call.ended", timeout=30)["state"] == "T"
        assert agent_state(agent) == "WRAP_UP"
        decided = agent.request("call.decide", call_id=call_id, decision="D", reason="no video")
        assert decided["dossier_state"] == "D" and agent_state(agent) == "AVAILABLE"
        mobile.close()
        agent.close()


def test_peer_pushes_stop_at_the_end_of_the_call(stack):
    """``peer.*`` only between call.connected and call.ended: a caller leaving after the call was decided
    is nobody's business; one leaving during the call is told before the call's end."""
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    agent.request("call.decide", call_id=call_id, decision="D", reason="customer left the shop")
    mobile.next_push("call.ended")
    assert mobile.request("session.bye")["action"] == "ack"  # any peer.left went out before this ack
    assert agent.request("ping")["action"] == "pong"
    assert [p["action"] for p in agent.pushes if p["action"].startswith("peer.")] == []

    second = caller(stack, new_dossier())
    second_id = second.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    assert second.request("session.bye")["action"] == "ack"
    left = agent.next_push("peer.left")
    assert (left["call_id"], left["reason"]) == (second_id, "bye")
    assert agent.next_push("call.ended")["reason"] == "mobile_left"
    agent.close()


def test_an_agent_who_says_bye_during_a_call_ends_it_and_goes_offline(stack):
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    assert agent.request("session.bye")["action"] == "ack"
    ended = mobile.next_push("call.ended")
    assert (ended["call_id"], ended["reason"]) == (call_id, "agent_left")
    assert agent_state(agent) == "OFFLINE", "nobody is at the desk: no call may ring there"
    mobile.close()
