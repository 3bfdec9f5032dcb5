"""The reference SDK (``sdk/``) against the REAL stack: ``python -m local up`` as its own process on
free ports, demo data loaded, spoken to only through REST and the WebSocket API (as a phone would).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sdk import (
    ApiError,
    ConnectError,
    ServerError,
    SessionLost,
    VkycClient,
    login,
    mobile_token,
    node_token,
)
from tests.integration.test_local_up import banner_urls
from vkyc.protocol.messages import Ack, AgentStatus, MonitorAgents, Pong, SessionReplaced
from vkyc.security.node_keys import node_key

ROOT = Path(__file__).resolve().parents[2]
DEMO_API_KEY_UNIT_1 = "vkyc_demo_kv1_2f6c0a9e41b87d35c0e1a9f4"
DOSSIER = "HS-KV1-0001"
NODE_MASTER_KEY = "sdk-test-node-key-master-0123456789"


@dataclass
class UpStack:
    rest: str
    ws: str
    output: list[str]


@pytest.fixture(scope="module")
def up() -> Iterator[UpStack]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKYC_") and k != "AWS_ENDPOINT_URL"}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            # The system picks the ports; the banner tells them.
            "VKYC_AWS_PORT": "0",
            "VKYC_WS_PORT": "0",
            "VKYC_HTTP_PORT": "0",
            "VKYC_WEBHOOK_SINK_PORT": "0",  # else 8010: taken by a running `make up` or another test run
            "VKYC_MEDIA_NODE_MASTER_KEY": NODE_MASTER_KEY,
        }
    )
    proc = subprocess.Popen(
        # No video in these tests; no state directory: a developer's `make up` data (.vkyc-state/) is
        # never read nor written by a test, and a run never starts from the one before.
        [sys.executable, "-m", "local", "up", "--no-media-node", "--no-state"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 180  # as test_local_up's: a loaded machine starts it slowly
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line.rstrip("\n"))
        if "ready in" in line:
            break
    if not output or "ready in" not in output[-1]:
        proc.kill()
        raise AssertionError("local up did not print 'ready in':\n" + "\n".join(output))
    # Keep draining the stack's output, or it blocks once the pipe is full.
    urls = banner_urls(output)
    drain = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    drain.start()
    try:
        yield UpStack(rest=urls["http"], ws=urls["ws"], output=output)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(scenario: Callable[[], Coroutine[Any, Any, None]], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout))


def test_mobile_token_connects_and_pings(up: UpStack):
    async def scenario() -> None:
        grant = await mobile_token(up.rest, DEMO_API_KEY_UNIT_1, "dealer-sdk-1", DOSSIER)
        assert grant.role == "mobile" and grant.unit_id == "1" and grant.ws_url == up.ws
        async with VkycClient.open(grant.ws_url, token=grant.token, heartbeat=False) as client:
            assert client.welcome.role == "mobile" and not client.welcome.resumed
            assert len(client.session_key) == 32 and client.welcome.last_seq == 0
            rtt_ms = await client.ping()
            assert 0 < rtt_ms < 5000
            await client.request_as(Pong, "ping")
            assert client.last_seq == 2
        assert client.state == "ended" and client.ended is not None and client.ended.reason == "closed"

    run(scenario)


def test_agent_logs_in_and_sets_available(up: UpStack):
    async def scenario() -> None:
        grant = await login(up.rest, "tdv1.kv1", "demo-tdv1-kv1")
        assert grant.role == "agent" and grant.agent_id and grant.unit_id == "1"
        async with VkycClient.open(grant.ws_url, token=grant.token, heartbeat=False) as client:
            status = await client.request_as(AgentStatus, "agent.set_status", status="available")
            assert status.status == "AVAILABLE" and status.agent_id == grant.agent_id
            with pytest.raises(ServerError) as refused:
                await client.request("monitor.snapshot")
            assert refused.value.code == "FORBIDDEN_ACTION"
            await client.request_as(Pong, "ping")  # still usable

    run(scenario)


def test_supervisor_and_media_node_use_their_actions(up: UpStack):
    async def scenario() -> None:
        supervisor = await login(up.rest, "gs.kv1", "demo-gs-kv1")
        async with VkycClient.open(supervisor.ws_url, token=supervisor.token, heartbeat=False) as client:
            agents = await client.request_as(MonitorAgents, "monitor.snapshot")
            assert {row.unit_id for row in agents.agents} >= {"1"}
        node = await node_token(up.rest, "node-sdk-1", node_key("node-sdk-1", NODE_MASTER_KEY.encode()))
        async with VkycClient.open(node.ws_url, token=node.token, heartbeat=False) as client:
            await client.request_as(Ack, "node.heartbeat", address="127.0.0.1:9999", capacity=10, load=0)

    run(scenario)


def test_refusals_are_typed(up: UpStack):
    async def scenario() -> None:
        with pytest.raises(ApiError) as bad_key:
            await mobile_token(up.rest, "vkyc_wrong_key", "dealer-sdk-1", DOSSIER)
        assert bad_key.value.status == 401 and bad_key.value.code == "API_KEY_INVALID"
        with pytest.raises(ApiError) as bad_password:
            await login(up.rest, "tdv1.kv1", "wrong")
        assert bad_password.value.code == "INVALID_CREDENTIALS"
        with pytest.raises(ConnectError) as bad_token:
            await VkycClient.open(up.ws, token="not-a-token")
        assert bad_token.value.status == 403

    run(scenario)


def test_signed_message_checks_through_the_raw_hooks(up: UpStack):
    async def scenario() -> None:
        grant = await mobile_token(up.rest, DEMO_API_KEY_UNIT_1, "dealer-sdk-2", DOSSIER)
        async with VkycClient.open(grant.ws_url, token=grant.token, heartbeat=False) as client:
            await client.request("ping")
            for message, code in [
                ({**client.signed("ping"), "request_id": "altered"}, "MAC_INVALID"),
                (client.signed("ping", seq=1), "SEQ_REPLAYED"),
                (client.signed("ping", ts=client.now_ms() - 120_000), "MESSAGE_EXPIRED"),
                (client.signed("ping", seq=client.last_seq + 1001), "SEQ_OUT_OF_WINDOW"),
            ]:
                await client.send_raw(json.dumps(message))
                reply = json.loads(await client.recv_raw(timeout=5))
                assert reply["action"] == "error" and reply["code"] == code, reply
            await client.request_as(Pong, "ping")
            assert client.last_seq == 2

    run(scenario)


def test_a_dropped_socket_is_resumed_with_seq_and_key_kept(up: UpStack):
    async def scenario() -> None:
        grant = await mobile_token(up.rest, DEMO_API_KEY_UNIT_1, "dealer-sdk-3", DOSSIER)
        async with VkycClient.open(grant.ws_url, token=grant.token, heartbeat=False) as client:
            await client.request("ping")
            session_id, key = client.session_id, client.session_key
            await client.drop()  # no close frame, no bye: auto-resume
            await client.request_as(Pong, "ping")
            assert client.welcome.resumed and client.session_id == session_id and client.session_key == key
            assert client.welcome.last_seq == 1 and client.last_seq == 2
            await client.drop(resume=False)
            assert client.state == "disconnected"
            welcome = await client.resume()
            assert welcome.resumed and welcome.last_seq == 2
            await client.request_as(Pong, "ping")
            await client.resume()  # while connected: the new socket takes over, the old one closes
            await client.request_as(Pong, "ping")
            assert client.reconnects == 3

    run(scenario)


def test_the_socket_is_renewed_transparently(up: UpStack):
    async def scenario() -> None:
        grant = await mobile_token(up.rest, DEMO_API_KEY_UNIT_1, "dealer-sdk-4", DOSSIER)
        async with VkycClient.open(
            grant.ws_url, token=grant.token, heartbeat=True, heartbeat_interval_s=0.2, renew_after_s=0.5
        ) as client:
            deadline = time.monotonic() + 10
            while client.reconnects < 2:
                assert time.monotonic() < deadline, "no two renewals within 10 s"
                await client.request_as(Pong, "ping")
                await asyncio.sleep(0.05)
            await client.request_as(Pong, "ping")
            assert client.state == "connected" and client.welcome.resumed

    run(scenario)


def test_a_second_login_replaces_the_first_device(up: UpStack):
    async def scenario() -> None:
        first = await login(up.rest, "tdv2.kv1", "demo-tdv2-kv1")
        old = await VkycClient.open(first.ws_url, token=first.token, heartbeat=False)
        await old.request_as(AgentStatus, "agent.set_status", status="available")
        second = await login(up.rest, "tdv2.kv1", "demo-tdv2-kv1")
        async with VkycClient.open(second.ws_url, token=second.token, heartbeat=False) as new:
            replaced = await old.next_push("session.replaced", timeout=10)
            assert isinstance(replaced, SessionReplaced)
            with pytest.raises(SessionLost) as lost:
                await old.request("ping")
            assert lost.value.reason == "replaced"
            await new.request_as(Pong, "ping")
        await old.close()

    run(scenario)


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sdk", *argv], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )


def test_cli_ping_exits_0(up: UpStack):
    done = cli("ping", "--rest", up.rest, "--username", "tdv1.kv1", "--password", "demo-tdv1-kv1")
    assert done.returncode == 0, done.stderr
    (pong,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert pong["action"] == "pong" and pong["rtt_ms"] > 0
    done = cli(
        "ping", "--rest", up.rest, "--api-key", DEMO_API_KEY_UNIT_1, "--dealer", "d", "--dossier", DOSSIER
    )
    assert done.returncode == 0, done.stderr


def test_cli_agent_and_mobile_print_the_session(up: UpStack):
    done = cli(
        "agent",
        "--rest",
        up.rest,
        "--username",
        "tdv3.kv1",
        "--password",
        "demo-tdv3-kv1",
        "--seconds",
        "0.5",
    )
    assert done.returncode == 0, done.stderr
    actions = [json.loads(line) for line in done.stdout.splitlines()]
    assert actions[0]["action"] == "session.welcome" and actions[0]["session_key"] == "<redacted>"
    assert {"action": "agent.status", "status": "AVAILABLE"}.items() <= actions[1].items()
    done = cli(
        "mobile", "--rest", up.rest, "--api-key", DEMO_API_KEY_UNIT_1, "--dealer", "d", "--dossier", DOSSIER,
        "--seconds", "0.3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["role"] == "mobile"


def test_cli_reports_a_refusal_in_one_line(up: UpStack):
    done = cli("ping", "--rest", up.rest, "--username", "tdv1.kv1", "--password", "wrong")
    assert done.returncode == 2
    assert done.stderr.startswith("error: INVALID_CREDENTIALS: ") and done.stderr.count("\n") == 1
