"""``sdk.client.VkycClient`` against the in-process fake server (``test_sdk_fake``): hello, signing,
seq and request ids, replies and errors, pushes, heartbeats, renewal, drop and resume, the end of a
session, and the raw test hooks.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from sdk import (
    ConnectError,
    ConnectionInterrupted,
    NotConnected,
    RequestTimeout,
    SdkError,
    ServerError,
    SessionLost,
    UnknownMessage,
    VkycClient,
)
from tests.cancellation import cancel_as_it_completes
from tests.unit.test_sdk_fake import FakeServer, fake_server
from vkyc.protocol.messages import (
    AgentStatus,
    PeerReconnecting,
    Pong,
    Role,
    SessionReplaced,
)
from vkyc.protocol.signing import verify

REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


async def until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.01)


async def open_client(server: FakeServer, role: Role = Role.MOBILE, **options: Any) -> VkycClient:
    options.setdefault("heartbeat", False)
    return await VkycClient.open(server.url, token=server.issue_token(role, "A-1"), **options)


def test_open_says_hello_and_keeps_what_the_welcome_gives():
    async def scenario() -> None:
        async with (
            fake_server() as server,
            VkycClient.open(server.url, token=server.issue_token(), client_name="test-client/9") as client,
        ):
            (hello,) = server.hellos
            assert hello.keys() == {"action", "request_id", "protocol", "client"}, "hello is not signed"
            assert hello["protocol"] == 1 and hello["client"] == "test-client/9"
            session = server.only_session()
            assert client.welcome.session_id == client.session_id == session.session_id
            assert client.session_key == session.key and len(client.session_key) == 32
            assert client.resume_token == session.resume_token
            assert client.last_seq == 0 and client.state == "connected" and client.role == "mobile"

    run(scenario)


def test_requests_are_signed_numbered_from_one_and_carry_unique_request_ids():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            before = int(time.time() * 1000)
            replies = [await client.request_as(Pong, "ping") for _ in range(3)]
            sent = server.accepted_of(client.session_id)
            assert [m["seq"] for m in sent] == [1, 2, 3] and client.last_seq == 3
            for message, reply in zip(sent, replies, strict=True):
                assert message.keys() == {"action", "request_id", "seq", "ts", "mac"}
                assert verify(client.session_key, message)
                assert REQUEST_ID.match(message["request_id"]) and reply.request_id == message["request_id"]
                assert before - 1000 <= message["ts"] <= int(time.time() * 1000) + 1000
            assert len({m["request_id"] for m in sent}) == 3
            await client.close()

    run(scenario)


def test_concurrent_requests_go_out_in_seq_order():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            replies = await asyncio.gather(*(client.request_as(Pong, "ping") for _ in range(25)))
            assert len({r.request_id for r in replies}) == 25
            # the fake refuses any seq not above the last accepted one: all 25 accepted means in order
            assert [m["seq"] for m in server.accepted_of(client.session_id)] == list(range(1, 26))
            assert not server.errors
            await client.close()

    run(scenario)


def test_fields_are_sent_and_error_replies_raise_without_breaking_the_connection():
    async def scenario() -> None:
        async with fake_server() as server:
            agent = await open_client(server, Role.AGENT)
            status = await agent.request_as(AgentStatus, "agent.set_status", status="available")
            assert status.status == "AVAILABLE" and status.agent_id == "A-1"
            with pytest.raises(ServerError) as bad:
                await agent.request("agent.set_status", status="asleep")
            assert bad.value.code == "BAD_MESSAGE" and "status" in bad.value.message
            assert bad.value.request_id and bad.value.call_id is None
            mobile = await open_client(server, Role.MOBILE)
            with pytest.raises(ServerError) as forbidden:
                await mobile.request("agent.set_status", status="available")
            assert forbidden.value.code == "FORBIDDEN_ACTION"
            assert isinstance(await mobile.request("ping"), Pong), "the connection is still usable"
            with pytest.raises(SdkError) as wrong_type:
                await mobile.request_as(AgentStatus, "ping")
            assert wrong_type.value.code == "BAD_RESPONSE"
            # a refused message consumed a seq on the client but not on the server: still accepted
            assert [m["seq"] for m in server.accepted_of(mobile.session_id)] == [2, 3]
            await agent.close()
            await mobile.close()

    run(scenario)


def test_envelope_fields_cannot_be_passed_and_consume_no_seq():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            for name in ("seq", "ts", "mac", "request_id"):
                with pytest.raises(TypeError):
                    await client.request("ping", **{name: 1})
            assert client.last_seq == 0
            await client.request("ping")
            assert [m["seq"] for m in server.accepted_of(client.session_id)] == [1]
            await client.close()

    run(scenario)


def test_ts_follows_the_server_clock():
    async def scenario() -> None:
        # the fake's clock is 5 minutes ahead and it refuses ts more than 60 s away from its clock
        async with fake_server(clock_skew_ms=300_000) as server:
            client = await open_client(server)
            assert abs(client.clock_offset_ms - 300_000) < 2_000
            assert isinstance(await client.request("ping"), Pong)
            await client.close()

    run(scenario)


def test_a_request_without_reply_times_out():
    async def scenario() -> None:
        async with fake_server(silent_actions={"ping"}) as server:
            client = await open_client(server, request_timeout_s=0.2)
            with pytest.raises(RequestTimeout) as timeout:
                await client.request("ping")
            assert timeout.value.code == "TIMEOUT" and isinstance(timeout.value, TimeoutError)
            assert client.state == "connected" and client.last_seq == 1

    run(scenario)


def test_pushes_are_queued_and_taken_by_action():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server, Role.AGENT)
            session = server.only_session()
            await server.push(session, {"action": "peer.reconnecting", "role": "mobile", "grace_s": 15})
            await server.push(
                session, {"action": "agent.status", "agent_id": "A-1", "status": "OFFLINE", "since_ms": 1}
            )
            await server.push(session, {"action": "call.future_thing", "x": 1})
            status = await client.next_push("agent.status")
            assert (
                isinstance(status, AgentStatus) and status.status == "OFFLINE" and status.request_id is None
            )
            reconnecting = await client.next_push()
            assert isinstance(reconnecting, PeerReconnecting) and reconnecting.grace_s == 15
            unknown = await client.next_push()
            assert isinstance(unknown, UnknownMessage) and unknown.action == "call.future_thing"
            assert unknown.data["x"] == 1
            with pytest.raises(TimeoutError):
                await client.next_push(timeout=0.05)
            await client.close()

    run(scenario)


def test_heartbeat_pings_at_the_interval():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server, heartbeat=True, heartbeat_interval_s=0.05)
            await until(lambda: len(server.accepted_of(client.session_id, "ping")) >= 3, what="3 heartbeats")
            await client.close()
            count = len(server.accepted_of(client.session_id, "ping"))
            await asyncio.sleep(0.15)  # three intervals: proves the heartbeat stopped (nothing to poll for)
            assert len(server.accepted_of(client.session_id, "ping")) == count

    run(scenario)


def test_a_dropped_socket_is_resumed_and_seq_continues():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            await client.request("ping")
            first_key = client.session_key
            await client.drop()
            assert client.state in {"reconnecting", "connected"}
            assert isinstance(await client.request("ping"), Pong), "waits for the resume, then sends"
            assert client.welcome.resumed and client.reconnects == 1 and client.session_key == first_key
            assert ("resume", 101) in server.upgrades and len(server.sessions) == 1
            assert [m["seq"] for m in server.accepted_of(client.session_id)] == [1, 2]
            assert server.closes[0][1] == 1006, "the drop sent no close frame"
            assert server.accepted_of(client.session_id, "session.bye") == []
            await client.close()

    run(scenario)


def test_a_socket_dropped_by_the_server_is_resumed():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            server.drop(server.only_session())
            await until(lambda: client.reconnects == 1, what="resume")
            assert isinstance(await client.request("ping"), Pong)
            await client.close()

    run(scenario)


def test_a_request_in_flight_when_the_socket_drops_is_interrupted():
    async def scenario() -> None:
        async with fake_server(silent_actions={"ping"}) as server:
            client = await open_client(server)
            pending = asyncio.create_task(client.request("ping"))
            await until(lambda: len(server.accepted) == 1, what="the ping reaching the server")
            await client.drop()
            with pytest.raises(ConnectionInterrupted) as interrupted:
                await pending
            assert interrupted.value.code == "INTERRUPTED"
            await until(lambda: client.state == "connected", what="resume")
            await client.close()

    run(scenario)


def test_drop_without_resume_stays_down_until_resume_is_called():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            await client.request("ping")
            await client.drop(resume=False)
            assert client.state == "disconnected"
            with pytest.raises(NotConnected):
                await client.request("ping")
            assert client.last_seq == 1, "a message not sent consumes no seq"
            assert [u for u in server.upgrades if u[0] == "resume"] == []
            welcome = await client.resume()
            assert welcome.resumed and welcome.last_seq == 1 and client.state == "connected"
            await client.request("ping")
            assert [m["seq"] for m in server.accepted_of(client.session_id)] == [1, 2]
            await client.close()

    run(scenario)


def test_resume_while_connected_swaps_the_socket():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            await client.request("ping")
            await client.resume()
            assert client.reconnects == 1 and client.state == "connected"
            await until(lambda: len(server.closes) == 1, what="the old socket closed")
            assert server.closes[0][1] == 1000, "the old socket was closed cleanly, without bye"
            await client.request("ping")
            assert [m["seq"] for m in server.accepted_of(client.session_id)] == [1, 2]
            await client.close()

    run(scenario)


def test_the_socket_is_renewed_after_renew_after_s_without_failing_requests():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server, renew_after_s=0.1)
            await client.request("ping")
            deadline = time.monotonic() + 5
            while client.reconnects < 2:  # keep requests going across the renewals: none may fail
                assert time.monotonic() < deadline, "two renewals within 5 s"
                await asyncio.gather(*(client.request_as(Pong, "ping") for _ in range(3)))
            assert [u for u in server.upgrades if u[0] == "resume"] == [("resume", 101)] * client.reconnects
            assert {code for _, code in server.closes} == {1000}
            await client.request("ping")
            seqs = [m["seq"] for m in server.accepted_of(client.session_id)]
            assert seqs == list(range(1, len(seqs) + 1))
            await client.close()

    run(scenario)


def test_a_switch_waits_for_replies_in_flight_on_the_old_socket():
    async def scenario() -> None:
        # the server hangs up on the old socket when the new one resumes: a reply still owed on the
        # old socket would be lost if the client switched without waiting for it
        async with fake_server(slow_actions={"ping": 0.3}) as server:
            client = await open_client(server)
            slow = asyncio.create_task(client.request_as(Pong, "ping"))
            await until(lambda: len(server.accepted) == 1, what="the ping reaching the server")
            later = asyncio.create_task(client.request_as(Pong, "ping"))  # made during the switch
            await client.resume()
            await slow
            await later
            assert client.reconnects == 1
            assert [m["seq"] for m in server.accepted_of(client.session_id)] == [1, 2]
            await client.close()

    run(scenario)


def test_requests_made_while_the_socket_is_switched_wait_for_the_new_one():
    async def scenario() -> None:
        async with fake_server(resume_hello_delay_s=0.3) as server:
            client = await open_client(server)
            switching = asyncio.create_task(client.resume())
            # the server hung up on the old socket at the upgrade; the welcome is still to come
            await until(lambda: client.state == "reconnecting", what="the old socket gone")
            assert isinstance(await client.request("ping"), Pong)
            await switching
            assert client.reconnects == 1 and client.state == "connected"
            await client.close()

    run(scenario)


def test_a_resume_token_opens_the_same_session_from_a_new_client():
    async def scenario() -> None:
        async with fake_server() as server:
            first = await open_client(server)
            await first.request("ping")
            await first.request("ping")
            second = await VkycClient.open(server.url, resume_token=first.resume_token, heartbeat=False)
            assert second.session_id == first.session_id and second.welcome.resumed and second.last_seq == 2
            await second.request("ping")
            assert [m["seq"] for m in server.accepted_of(second.session_id)] == [1, 2, 3]
            # the server hung up on the first client's socket; its resume token was rotated away by the
            # second hello, so its auto-resume is refused and it ends
            with pytest.raises(SessionLost) as lost:
                await first.next_push(timeout=5)
            assert lost.value.reason == "resume_refused"
            await second.close()

    run(scenario)


def test_session_replaced_ends_the_client_without_resume():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server, Role.AGENT)
            await server.replace(server.only_session())
            replaced = await client.next_push("session.replaced")
            assert isinstance(replaced, SessionReplaced) and replaced.code == "SESSION_REPLACED"
            with pytest.raises(SessionLost) as lost:
                await client.next_push()
            assert lost.value.reason == "replaced" and lost.value.push == replaced
            with pytest.raises(SessionLost):
                await client.request("ping")
            assert client.state == "ended"
            assert [u for u in server.upgrades if u[0] == "resume"] == []
            await client.close()  # idempotent, no bye
            assert server.accepted_of(client.session_id, "session.bye") == []

    run(scenario)


def test_session_ended_fails_pending_requests():
    async def scenario() -> None:
        async with fake_server(silent_actions={"ping"}) as server:
            client = await open_client(server)
            pending = asyncio.create_task(client.request("ping"))
            await until(lambda: len(server.accepted) == 1, what="the ping reaching the server")
            await server.end(server.only_session(), "grace_expired")
            with pytest.raises(SessionLost) as lost:
                await pending
            assert lost.value.reason == "ended:grace_expired"
            assert (await client.next_push()).action == "session.ended"

    run(scenario)


def test_a_refused_resume_ends_the_session():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            server.refuse_resumes = True
            await client.drop()
            with pytest.raises(SessionLost) as lost:
                await client.next_push(timeout=5)
            assert lost.value.reason == "resume_refused"

    run(scenario)


def test_an_explicit_resume_after_the_grace_gets_403():
    async def scenario() -> None:
        async with fake_server(reconnect_grace_s=0) as server:
            client = await open_client(server)
            await client.drop(resume=False)
            await until(lambda: server.only_session().state == "DETACHED", what="the server noticing")
            await asyncio.sleep(0.01)  # the fake's grace (0 s) must be strictly over
            with pytest.raises(ConnectError) as refused:
                await client.resume()
            assert refused.value.status == 403 and refused.value.code == "HANDSHAKE_REFUSED"
            assert client.state == "ended" and client.ended is not None
            assert client.ended.reason == "resume_refused"

    run(scenario)


def test_the_session_is_lost_when_the_server_stays_away_past_the_grace():
    async def scenario() -> None:
        server = FakeServer(reconnect_grace_s=1)
        await server.start()
        client = await open_client(server)
        started = time.monotonic()
        await server.stop()  # closes the socket (1001) and refuses connections from now on
        with pytest.raises(SessionLost) as lost:
            await client.next_push(timeout=5)  # lost within 5 s, or TimeoutError
        assert lost.value.reason == "grace_expired"
        # Not before the grace the welcome announced (1 s): a bound a busy machine cannot break.
        assert time.monotonic() - started >= 0.9

    run(scenario)


def test_close_says_bye_and_ends_the_client():
    async def scenario() -> None:
        async with fake_server() as server:
            async with VkycClient.open(server.url, token=server.issue_token(), heartbeat=False) as client:
                await client.request("ping")
            (bye,) = server.accepted_of(client.session_id, "session.bye")
            assert bye["seq"] == 2 and verify(client.session_key, bye)
            assert server.only_session().state == "ENDED"
            assert client.state == "ended" and client.ended is not None and client.ended.reason == "closed"
            with pytest.raises(SessionLost):
                await client.request("ping")
            await client.close()
            assert [u for u in server.upgrades if u[0] == "resume"] == [], "no resume after bye"

    run(scenario)


def test_raw_hooks_show_forged_and_replayed_messages_refused():
    async def scenario() -> None:
        async with fake_server() as server:
            client = await open_client(server)
            await client.request("ping")
            cases: list[tuple[dict[str, Any] | str, str]] = [
                ({**client.signed("ping"), "request_id": "altered"}, "MAC_INVALID"),
                (client.signed("ping", seq=1), "SEQ_REPLAYED"),
                (client.signed("ping", ts=client.now_ms() - 120_000), "MESSAGE_EXPIRED"),
                ("{not json", "BAD_JSON"),
            ]
            for message, code in cases:
                await client.send_raw(message if isinstance(message, str) else json.dumps(message))
                reply = json.loads(await client.recv_raw(timeout=2))
                assert reply["action"] == "error" and reply["code"] == code, reply
            assert client.last_seq == 1, "signed() and send_raw consume no seq"
            assert isinstance(await client.request("ping"), Pong)
            assert [m["seq"] for m in server.accepted_of(client.session_id)] == [1, 2]
            await client.close()

    run(scenario)


@pytest.mark.parametrize(
    ("make_url", "code", "status"),
    [
        (lambda s: s.url, "HANDSHAKE_REFUSED", 403),  # no token accepted
        (lambda s: "ws://127.0.0.1:1", "UNREACHABLE", None),
    ],
)
def test_open_failures_raise_connect_error(
    make_url: Callable[[FakeServer], str], code: str, status: int | None
):
    async def scenario() -> None:
        async with fake_server() as server:
            with pytest.raises(ConnectError) as failed:
                await VkycClient.open(make_url(server), token="not-a-token", connect_timeout_s=2)
            assert failed.value.code == code and failed.value.status == status

    run(scenario)


def test_a_refused_hello_raises_server_error():
    async def scenario() -> None:
        async with fake_server(hello_error="UNSUPPORTED_PROTOCOL") as server:
            with pytest.raises(ServerError) as refused:
                await open_client(server)
            assert refused.value.code == "UNSUPPORTED_PROTOCOL"

    run(scenario)


def test_open_needs_exactly_one_credential():
    with pytest.raises(ValueError):
        VkycClient.open("ws://127.0.0.1:1")
    with pytest.raises(ValueError):
        VkycClient.open("ws://127.0.0.1:1", token="a", resume_token="b")


def test_on_message_sees_every_message_in_order():
    async def scenario() -> None:
        seen: list[str] = []
        async with fake_server() as server:
            client = await open_client(server, Role.AGENT, on_message=lambda m: seen.append(m.action))
            await client.request("ping")
            await server.push(
                server.only_session(), {"action": "peer.left", "role": "mobile", "reason": "bye"}
            )
            await client.next_push("peer.left")
            await client.close()
        assert seen == ["session.welcome", "pong", "peer.left", "ack"]

    run(scenario)


def test_a_cancel_that_comes_as_the_awaited_push_arrives_is_not_swallowed():
    # ci39: `python -m sdk mobile` did not stop on Ctrl-C. A push arrived as the main task was
    # cancelled, and Python 3.11's wait_for returned the push instead of raising: the command went on
    # waiting for the next call-back. This is that interleaving, made certain.
    from sdk.client import wait_event

    async def scenario() -> str:
        event = asyncio.Event()  # the push, as Ctrl-C cancels the task
        return await cancel_as_it_completes(wait_event(event, 10), lambda: True, event.set)

    assert asyncio.run(scenario()) == "cancelled"


def test_wait_event_says_whether_the_event_came_within_the_timeout():
    from sdk.client import wait_event

    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        missed = await wait_event(event, 0.01)
        event.set()
        return missed, await wait_event(event, 10)

    assert asyncio.run(scenario()) == (False, True)
