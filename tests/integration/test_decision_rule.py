"""A decision must be earned (issue #10 item 1), through real sockets: the attacks that worked before
(deciding a call that rang and was cancelled; approving through a call-back that never rang) are
refused with a code and change nothing, and the agent's real call stays decidable."""

from __future__ import annotations

import uuid

from tests.integration.test_callbacks import call_of, registered_mobile
from tests.integration.test_calls import (
    agent_state,
    available,
    caller,
    new_dossier,
    quiet_unit_1,  # noqa: F401 (autouse fixture: a quiet unit 1)
    unit_settings,
)
from tests.media_facts import customer_seen
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.dossiers import DossierRepository


def _answered_and_hung_up(stack, agent) -> str:
    """A call of a new dossier that ``agent`` answers; the mobile hangs up: the agent is in WRAP_UP."""
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    assert mobile.request("call.hangup", call_id=call_id)["state"] == "FINISHED"
    agent.next_push("call.ended")
    assert agent_state(agent) == "WRAP_UP"
    mobile.close()
    return call_id


def test_a_call_that_rang_and_was_cancelled_cannot_be_approved_later(stack):
    agent = available(stack, "tdv1.kv1")
    target = new_dossier()
    mobile = caller(stack, target)
    cancelled_id = mobile.request("call.request")["call_id"]
    agent.next_push("call.offer")
    assert mobile.request("call.cancel", call_id=cancelled_id)["state"] == "E"
    assert call_of(cancelled_id).agent_id == "tdv1.kv1", "the call remembers who it rang"
    agent.next_push("offer.withdrawn")

    real_id = _answered_and_hung_up(stack, agent)
    before = (DossierRepository().get(target).version, call_of(cancelled_id).version)

    for decision, reason in (("A", ""), ("C", "later"), ("R", "x"), ("D", "x")):
        refused = agent.request("call.decide", call_id=cancelled_id, decision=decision, reason=reason)
        assert (refused["code"], refused["call_id"]) == ("DECISION_NOT_ALLOWED", cancelled_id), decision
    assert DossierRepository().get(target).state == "W"
    assert (DossierRepository().get(target).version, call_of(cancelled_id).version) == before
    held = AgentRepository().get("tdv1.kv1")
    assert (held.state, held.call_id) == ("WRAP_UP", real_id), "the refusal moved nothing"

    decided = agent.request("call.decide", call_id=real_id, decision="D", reason="line dropped")
    assert decided["dossier_state"] == "D", "the call the agent holds is still decidable"
    mobile.close()
    agent.close()


def test_a_call_back_that_never_rang_cannot_approve(stack):
    """From a wrap-up, a call-back to a customer with no registered device ends I at once."""
    agent = available(stack, "tdv2.kv1")
    _answered_and_hung_up(stack, agent)
    # A number of its own: other tests register devices for the shared test number.
    target = new_dossier(subscriber=f"849{uuid.uuid4().int % 10**8:08d}")
    mobile = caller(stack, target)  # the dealer called once and gave up: the dossier waits (W)
    queued = mobile.request("call.request")
    assert queued["action"] == "call.queued", "nobody free: the agent is in wrap-up"
    assert mobile.request("call.cancel", call_id=queued["call_id"])["state"] == "E"
    mobile.close()
    assert DossierRepository().get(target).state == "W"
    refused = agent.request("callback.start", dossier_id=target)
    assert refused["code"] == "DEVICE_NOT_REGISTERED"
    callback_id = refused["call_id"]
    assert call_of(callback_id).state == "I"
    assert AgentRepository().get("tdv2.kv1").call_id == callback_id, "the agent holds the attempt"

    for decision, reason in (("A", ""), ("C", "x"), ("R", "x")):
        answer = agent.request("call.decide", call_id=callback_id, decision=decision, reason=reason)
        assert answer["code"] == "DECISION_NOT_ALLOWED", decision
    assert DossierRepository().get(target).state == "W"
    unreachable = agent.request("call.decide", call_id=callback_id, decision="D", reason="no device")
    assert unreachable["dossier_state"] == "D" and agent_state(agent) == "AVAILABLE"
    agent.close()


def test_an_answered_call_back_without_video_may_be_rejected_but_not_approved(stack):
    target = new_dossier()
    mobile = registered_mobile(stack, target)
    agent = available(stack, "tdv1.kv1")
    call_id = agent.request("callback.start", dossier_id=target)["call_id"]
    mobile.next_push("callback.incoming")
    mobile.request("callback.accept", call_id=call_id)
    assert agent.request("call.decide", call_id=call_id, decision="A", reason="")["code"] == (
        "DECISION_NOT_ALLOWED"
    )
    rejected = agent.request("call.decide", call_id=call_id, decision="R", reason="not the owner")
    assert rejected["dossier_state"] == "R"
    mobile.close()
    agent.close()


def test_approval_rests_on_a_snapshot_with_a_face_unless_the_unit_says_otherwise(stack):
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    blank = customer_seen(call_id, "snap-blank", face=False)

    refused = agent.request("call.decide", call_id=call_id, decision="A", reason="", snapshot_id=blank)
    assert (refused["code"], refused["call_id"]) == ("FACE_SNAPSHOT_REQUIRED", call_id)
    assert agent.request("call.decide", call_id=call_id, decision="A", reason="")["code"] == (
        "FACE_SNAPSHOT_REQUIRED"
    )
    foreign = agent.request("call.decide", call_id=call_id, decision="A", reason="", snapshot_id="snap-x")
    assert foreign["code"] == "DECISION_NOT_ALLOWED", "a snapshot of another call"
    with unit_settings("1", approve_requires_face=False):
        approved = agent.request("call.decide", call_id=call_id, decision="A", reason="", snapshot_id=blank)
    assert approved["dossier_state"] == "A"
    assert mobile.next_push("call.result")["decision"] == "A"
    mobile.close()
    agent.close()
