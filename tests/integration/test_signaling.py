"""Signaling end to end through the local stack: real sockets, the emulator, moto, the SQS timer runner."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import NODE_MASTER_KEY
from tests.integration.signaling_client import Client, rest
from tests.polling import wait_until
from vkyc.domain.agent import AGENT, AgentEvent
from vkyc.protocol import signing
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.settings import put_settings
from vkyc.repositories.settings_cache import SETTINGS_CACHE
from vkyc.repositories.tables import Session
from vkyc.repositories.transitions import transition
from vkyc.security import tokens
from vkyc.security.node_keys import node_key

API_KEY_UNIT_1 = "vkyc_demo_kv1_2f6c0a9e41b87d35c0e1a9f4"
pytestmark = pytest.mark.usefixtures("stack_tables")


def login(stack, username: str) -> dict:
    status, body = rest(
        stack.http_url,
        "/auth/login",
        {"username": username, "password": "demo-" + username.replace(".", "-")},
    )
    assert status == 200, body
    return body


def agent_client(stack, username: str) -> Client:
    client = Client(stack.ws_url, token=login(stack, username)["token"])
    client.hello()
    return client


def mobile_token(stack, dealer: str, dossier: str = "HS-KV1-0001") -> str:
    status, body = rest(
        stack.http_url,
        "/auth/mobile",
        {"dealer_account": dealer, "dossier_id": dossier},
        {"x-api-key": API_KEY_UNIT_1},
    )
    assert status == 200, body
    return body["token"]


def mobile_client(stack, dossier: str = "HS-KV1-0001") -> Client:
    client = Client(stack.ws_url, token=mobile_token(stack, "dl-001", dossier))
    client.hello()
    return client


def session_of(client: Client) -> Session:
    return SessionRepository().get(client.welcome["session_id"])


def refused(stack, query: str) -> int:
    with pytest.raises(InvalidStatus) as info:
        Client(stack.ws_url, token=query)
    return info.value.response.status_code


# -- credentials per role --------------------------------------------------------------------------------


def test_each_role_connects_with_a_good_credential(stack):
    agent = agent_client(stack, "tdv3.kv1")
    assert agent.welcome["role"] == "agent" and agent.request("ping")["action"] == "pong"
    supervisor = agent_client(stack, "gs.kv1")
    assert supervisor.welcome["role"] == "supervisor"
    mobile = mobile_client(stack)
    assert mobile.welcome["role"] == "mobile" and mobile.request("ping")["action"] == "pong"
    status, grant = rest(stack.http_url, "/auth/node", {"node_id": "node-a", "node_key": node_key("node-a")})
    assert status == 200
    node = Client(stack.ws_url, token=grant["token"])
    node.hello()
    assert node.request("node.heartbeat", address="10.0.0.5:9000", capacity=8, load=1)["action"] == "ack"
    for client in (agent, supervisor, mobile, node):
        client.close()


def test_bad_missing_or_expired_credentials_are_refused_with_403(stack):
    assert refused(stack, "not-a-token") == 403
    assert refused(stack, "") == 403
    expired = tokens.issue({"role": "agent", "sub": "x", "unit": "1"}, -1)
    assert refused(stack, expired) == 403
    forged = tokens.issue({"role": "supervisor", "sub": "gs.kv1", "unit": "*"}, 60, key=b"another-secret" * 4)
    assert refused(stack, forged) == 403


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "code"),
    [
        ("/auth/login", {"username": "tdv1.kv1", "password": "wrong"}, {}, 401, "INVALID_CREDENTIALS"),
        ("/auth/login", {"username": "nobody", "password": "x"}, {}, 401, "INVALID_CREDENTIALS"),
        ("/auth/login", {"username": "tdv1.kv1"}, {}, 400, "BAD_MESSAGE"),
        ("/auth/mobile", {"dealer_account": "d", "dossier_id": "HS-KV1-0001"}, {}, 401, "AUTH_REQUIRED"),
        (
            "/auth/mobile",
            {"dealer_account": "d", "dossier_id": "HS-KV1-0001"},
            {"x-api-key": "nope"},
            401,
            "API_KEY_INVALID",
        ),
        (
            "/auth/mobile",
            {"dealer_account": "d", "dossier_id": "HS-KV4-0001"},
            {"x-api-key": API_KEY_UNIT_1},
            403,
            "DOSSIER_OTHER_UNIT",
        ),
        (
            "/auth/mobile",
            {"dealer_account": "d", "dossier_id": "NO-SUCH"},
            {"x-api-key": API_KEY_UNIT_1},
            404,
            "NOT_FOUND",
        ),
        ("/auth/node", {"node_id": "n", "node_key": "wrong"}, {}, 401, "INVALID_CREDENTIALS"),
        (
            "/auth/node",
            {"node_id": "node-b", "node_key": node_key("node-a", NODE_MASTER_KEY.encode())},
            {},
            401,
            "INVALID_CREDENTIALS",
        ),
    ],
    ids=[
        "bad-password",
        "unknown-user",
        "missing-field",
        "no-api-key",
        "bad-api-key",
        "other-unit",
        "no-dossier",
        "bad-node-key",
        "another-nodes-key",
    ],
)
def test_token_endpoints_refuse_with_coded_errors(stack, path, body, headers, status, code):
    got_status, got = rest(stack.http_url, path, body, headers)
    assert (got_status, got["code"]) == (status, code) and got["message"]


# -- roles -------------------------------------------------------------------------------------------------


def test_a_role_sending_another_roles_action_gets_forbidden_action(stack):
    mobile = mobile_client(stack)
    before = session_of(mobile).last_seq
    reply = mobile.request("agent.set_status", status="available")
    assert reply["code"] == "FORBIDDEN_ACTION" and reply["request_id"]
    agent = agent_client(stack, "tdv1.kv2")
    assert agent.request("monitor.snapshot")["code"] == "FORBIDDEN_ACTION"
    assert session_of(mobile).last_seq == before, "a refused message consumes no seq"
    mobile.seq = before  # the refused message did not count
    assert mobile.request("ping")["action"] == "pong"
    mobile.close()
    agent.close()


def test_supervisor_sees_the_agents_of_the_units_it_serves_only(stack):
    supervisor = agent_client(stack, "gs.kv1")
    rows = supervisor.request("monitor.snapshot")["agents"]
    assert {r["unit_id"] for r in rows} <= {"1", "4", "6"} and any(r["agent_id"] for r in rows)
    assert all(r["unit_id"] == "1" for r in rows)  # only unit 1 has agents among 1, 4, 6
    supervisor.close()


def test_agent_status_control_moves_the_agent_and_reports_it(stack):
    agent = agent_client(stack, "tdv1.kv3")
    assert agent.request("agent.set_status", status="available")["status"] == "AVAILABLE"
    assert agent.request("agent.set_status", status="available")["status"] == "AVAILABLE"  # idempotent
    assert agent.request("agent.set_status", status="unavailable")["status"] == "UNAVAILABLE"
    agent.close()


# -- one login per agent -----------------------------------------------------------------------------------


def test_second_login_takes_over_and_the_first_device_is_told(stack):
    first = agent_client(stack, "tdv2.kv1")
    second = agent_client(stack, "tdv2.kv1")
    replaced = first.next_push("session.replaced")
    assert replaced["code"] == "SESSION_REPLACED"
    assert wait_until(lambda: session_of(first).state == "ENDED")
    assert session_of(first).ended_reason == "replaced"
    assert second.request("ping")["action"] == "pong"
    second.close()


def test_second_login_is_refused_while_the_agent_is_in_a_call(stack, quiet_unit_1):
    device = agent_client(stack, "tdv1.kv1")
    device.request("agent.set_status", status="available")
    agents = AgentRepository()
    agent = agents.get(device.welcome["principal_id"])
    ringing = transition(agent, AGENT, AgentEvent.OFFER, request_id="t-offer", actor="test")
    transition(ringing, AGENT, AgentEvent.ACCEPT, request_id="t-accept", actor="test")
    status, body = rest(stack.http_url, "/auth/login", {"username": "tdv1.kv1", "password": "demo-tdv1-kv1"})
    assert (status, body["code"]) == (409, "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL")
    # A token issued before the call cannot connect either.
    stale_token = tokens.issue(
        {"role": "agent", "sub": agent.agent_id, "unit": "1", "agent": agent.agent_id}, 60
    )
    assert refused(stack, stale_token) == 403
    assert device.request("ping")["action"] == "pong", "the device in the call keeps its session"
    release = agents.get(agent.agent_id)
    transition(release, AGENT, AgentEvent.RELEASE, request_id="t-release", actor="test")
    device.close()


# -- message authentication ------------------------------------------------------------------------------


def test_forged_replayed_and_out_of_window_messages_are_refused_and_change_nothing(stack):
    client = mobile_client(stack)
    assert client.request("ping")["action"] == "pong"
    before = session_of(client).last_seq

    forged = client.signed("ping")
    forged["mac"] = "A" * 43
    assert client.call(forged)["code"] == "MAC_INVALID"
    altered = client.signed("ping")
    altered["ts"] += 1  # changed after signing
    assert client.call(altered)["code"] == "MAC_INVALID"
    client.seq = before
    replay = client.signed("ping")
    replay["seq"] = before  # already accepted
    replay = signing.sign(client.key, {k: v for k, v in replay.items() if k != "mac"})
    assert client.call(replay)["code"] == "SEQ_REPLAYED"
    ahead = signing.sign(client.key, {**client.signed("ping"), "seq": before + 5000})
    assert client.call(ahead)["code"] == "SEQ_OUT_OF_WINDOW"
    stale = signing.sign(client.key, {**client.signed("ping"), "seq": before + 1, "ts": 1_000})
    assert client.call(stale)["code"] == "MESSAGE_EXPIRED"
    assert session_of(client).last_seq == before, "no refused message moved the sequence"

    client.seq = before
    assert client.request("ping")["action"] == "pong", "the connection is still usable"
    client.close()


def test_signed_message_before_hello_gets_hello_required(stack):
    client = Client(stack.ws_url, token=mobile_token(stack, "d"))
    client.key = b"0" * 32
    assert client.request("ping")["code"] == "HELLO_REQUIRED"
    client.close()


# -- drops, grace, reload -----------------------------------------------------------------------------------


def link_as_peers(a: Client, b: Client) -> None:
    """What a connected call does (issue #4): each session learns its peer."""
    for me, other in ((a, b), (b, a)):
        Session(session_id=me.welcome["session_id"]).update(
            actions=[Session.peer_session_id.set(other.welcome["session_id"])]
        )


def test_a_drop_shorter_than_the_grace_resumes_and_the_peer_is_told(stack):
    mobile, agent = mobile_client(stack), agent_client(stack, "tdv3.kv1")
    link_as_peers(mobile, agent)
    mobile.request("ping")
    mobile.drop()
    assert agent.next_push("peer.reconnecting")["role"] == "mobile"
    assert wait_until(lambda: session_of(mobile).state == "DETACHED")
    back = Client(stack.ws_url, resume=mobile.welcome["resume_token"])
    welcome = back.hello()
    assert welcome["resumed"] is True and welcome["session_id"] == mobile.welcome["session_id"]
    assert welcome["last_seq"] == mobile.seq
    assert back.request("ping")["action"] == "pong", "seq and key carried over"
    assert agent.next_push("peer.reconnected")["role"] == "mobile"
    assert session_of(back).state == "ACTIVE"
    back.close()
    agent.close()


def test_a_drop_longer_than_the_grace_ends_the_session_with_a_reason(stack):
    put_settings({"reconnect_grace_s": 1}, by="test")
    SETTINGS_CACHE.clear()  # the stack runs in this process: see the change now, not within 60 s
    try:
        agent, mobile = agent_client(stack, "tdv1.kv2"), mobile_client(stack)
        assert agent.welcome["reconnect_grace_s"] == 1
        link_as_peers(mobile, agent)
        agent.drop()
        assert mobile.next_push("peer.reconnecting")["grace_s"] == 1
        left = mobile.next_push("peer.left", timeout=15)
        assert (left["role"], left["reason"]) == ("agent", "grace_expired")
        ended = session_of(agent)
        assert (ended.state, ended.ended_reason) == ("ENDED", "grace_expired")
        assert AgentRepository().get(agent.welcome["principal_id"]).state == "OFFLINE"
        with pytest.raises(InvalidStatus) as info:
            Client(stack.ws_url, resume=agent.welcome["resume_token"])
        assert info.value.response.status_code == 403
        mobile.close()
    finally:
        put_settings({"reconnect_grace_s": 15}, by="test")
        SETTINGS_CACHE.clear()


def test_a_reload_mid_session_resumes_it_and_retires_the_old_socket(stack):
    page = agent_client(stack, "tdv3.kv1")
    page.request("agent.set_status", status="available")
    reloaded = Client(stack.ws_url, resume=page.welcome["resume_token"])  # before the old socket is gone
    welcome = reloaded.hello()
    assert welcome["resumed"] and welcome["session_id"] == page.welcome["session_id"]
    with pytest.raises(ConnectionClosed):
        for _ in range(10):
            page.ws.recv(timeout=5)  # the server closes the old socket
    assert reloaded.request("agent.set_status", status="available")["status"] == "AVAILABLE"
    assert AgentRepository().get(welcome["principal_id"]).state == "AVAILABLE", "a reload does not log out"
    reloaded.close()


def test_bye_ends_the_session_at_once_and_logs_the_agent_out(stack):
    agent = agent_client(stack, "tdv1.kv3")
    assert agent.request("session.bye")["action"] == "ack"
    assert wait_until(lambda: session_of(agent).state == "ENDED")
    assert AgentRepository().get(agent.welcome["principal_id"]).state == "OFFLINE"


def test_bad_frames_get_coded_errors_and_the_connection_stays_usable(stack):
    client = mobile_client(stack)
    for frame, code in [
        ("{", "BAD_JSON"),
        ("[]", "BAD_MESSAGE"),
        (json.dumps({"action": "fly"}), "UNKNOWN_ACTION"),
        (json.dumps({"action": "ping", "request_id": "r1", "seq": 0}), "BAD_MESSAGE"),
    ]:
        reply = client.call(frame)
        assert reply["action"] == "error" and reply["code"] == code, (frame, reply)
    assert client.request("ping")["action"] == "pong"
    client.close()
