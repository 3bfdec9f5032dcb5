"""``make up`` as a service (``local.supervisor``, ``local.moto_state``), as a real process on free ports:

- kill -9 of the moto server: it comes back with every record, and a call works;
- kill -9 of the only media node: a new one comes up, and the next call's media connects to it;
- Ctrl-C stops everything without a traceback; started again, the stack still holds the demo data and
  the calls made before;
- ``AWS_ENDPOINT_URL`` at another endpoint (a stand-in for LocalStack: another moto server): the stack
  uses it and starts no moto server of its own.

How long each restart took is printed (``-s``) and reported in docs/benchmarks.md; the tests wait on
conditions, never on the clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.moto_server import MotoServer
from tests.integration.signaling_client import Client, rest
from tests.integration.test_local_up import banner_urls
from tests.polling import wait_until
from tests.ports import refused_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
REGION = "ap-southeast-1"
AGENT, AGENT_PASSWORD = "tdv1.kv1", "demo-tdv1-kv1"
# Callable dossiers answered by unit 1's agents, each with its unit's integrator key (local/demo/demo.toml).
DOSSIERS = {
    "HS-KV1-0001": "vkyc_demo_kv1_2f6c0a9e41b87d35c0e1a9f4",
    "HS-KV1-0002": "vkyc_demo_kv1_2f6c0a9e41b87d35c0e1a9f4",
    "HS-KV4-0001": "vkyc_demo_kv4_c3a0f8e61b9d27a54e0f6d13",
}
START_S = 600.0  # a cold start on the shared machine can take minutes; a quiet one, seconds


class UpProcess:
    """``python -m local up`` with its output collected by a thread (a full pipe would block it)."""

    def __init__(
        self,
        state_dir: Path | None,
        extra: list[str],
        env: dict[str, str] | None = None,
        aws_port: int = 0,
    ) -> None:
        # Ports the system picks, read back from the banner (a port found free beforehand may be taken
        # by another process meanwhile).
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("VKYC_")}
        inherited.pop("AWS_ENDPOINT_URL", None)
        environment = {
            **inherited,
            "PYTHONPATH": str(ROOT),
            "VKYC_AWS_PORT": str(aws_port),
            "VKYC_WS_PORT": "0",
            "VKYC_HTTP_PORT": "0",
            "VKYC_WEBHOOK_SINK_PORT": "0",
            **(env or {}),
        }
        state = ["--state-dir", str(state_dir)] if state_dir is not None else ["--no-state"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local", "up", *state, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        assert wait_until(lambda: self.printed("ready in") or self.proc.poll() is not None, timeout=START_S)
        assert self.printed("ready in"), self.output()
        urls = banner_urls(self.lines)
        self.http, self.ws, self.aws = urls["http"], urls["ws"], urls["aws"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def printed(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def output(self) -> str:
        return "\n".join(self.lines)

    def pid_of(self, pattern: str) -> int:
        """The last pid printed on a line matching ``pattern`` (``(pid N``)."""
        for line in reversed(self.lines):
            if re.search(pattern, line) and (found := re.search(r"pid (\d+)", line)):
                return int(found.group(1))
        raise AssertionError(f"no pid for {pattern!r}:\n{self.output()}")

    def stop(self) -> tuple[int, str]:
        """Ctrl-C (SIGINT to the stack alone, as a terminal's process group would deliver it)."""
        since = len(self.lines)
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=180)
        self._reader.join(timeout=10)
        return code, "\n".join(self.lines[since:])


def health(http: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{http}/health", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def healthy(http: str) -> bool:
    return health(http)[0] == 200


def count(aws: str, table: str) -> int:
    dynamodb = boto3.client("dynamodb", endpoint_url=aws, region_name=REGION)
    return int(dynamodb.scan(TableName=f"vkyc-{table}", Select="COUNT")["Count"])


def objects(aws: str) -> int:
    return int(
        boto3.client("s3", endpoint_url=aws, region_name=REGION).list_objects_v2(Bucket="vkyc-media")[
            "KeyCount"
        ]
    )


def complete_call(up: UpProcess, dossier_id: str) -> str:
    """A whole call through the stack without media: request, ring, accept, hang up, decide D."""
    status, grant = rest(up.http, "/auth/login", {"username": AGENT, "password": AGENT_PASSWORD})
    assert status == 200, grant
    agent = Client(grant["ws_url"], token=grant["token"])
    agent.hello()
    status, token = rest(
        up.http,
        "/auth/mobile",
        {"dealer_account": "dl-svc", "dossier_id": dossier_id},
        {"x-api-key": DOSSIERS[dossier_id]},
    )
    assert status == 200, token
    mobile = Client(token["ws_url"], token=token["token"])
    mobile.hello()
    try:
        assert agent.request("agent.set_status", status="available")["action"] != "error"
        ringing = mobile.request("call.request")
        assert ringing["action"] == "call.ringing", ringing
        offer = agent.next_push("call.offer", timeout=30)
        assert agent.request("offer.accept", offer_id=offer["offer_id"])["action"] == "call.connected"
        agent.request("call.hangup", call_id=ringing["call_id"])
        decided = agent.request(
            "call.decide", call_id=ringing["call_id"], decision="D", reason="service test"
        )
        assert decided["action"] != "error", decided
        return str(ringing["call_id"])
    finally:
        mobile.close()
        agent.close()


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vkyc-state")


@pytest.fixture(scope="module")
def up(state_dir: Path) -> Iterator[UpProcess]:
    running = UpProcess(state_dir, [])
    yield running
    if running.proc.poll() is None:
        running.stop()


def kill_and_wait_until_back(up: UpProcess, name: str, started_line: str) -> None:
    """kill -9 the supervised process ``name`` (its pid from the banner or its last restart), then wait
    until the supervisor has it back and ``/health`` says so."""
    pid = up.pid_of(f"{started_line}|{name} is back")
    restarts = sum(f"{name} is back" in line for line in up.lines)
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    back = lambda: sum(f"{name} is back" in line for line in up.lines) > restarts  # noqa: E731
    assert wait_until(back, timeout=300), up.output()
    assert wait_until(lambda: healthy(up.http), timeout=120), health(up.http)
    print(f"\n{name} killed -> back and /health ok in {time.monotonic() - killed:.1f} s")


CALLS: list[str] = []  # made through the module's stack: a restarted stack must still hold them


def test_a_killed_moto_server_comes_back_with_every_record_and_a_call_works(up):
    CALLS.append(complete_call(up, "HS-KV1-0001"))
    before = {t: count(up.aws, t) for t in ("dossiers", "calls", "call_events", "users")}
    pictures = objects(up.aws)
    kill_and_wait_until_back(up, "aws", r"AWS endpoint \(moto\)")
    assert {t: count(up.aws, t) for t in before} == before
    assert objects(up.aws) == pictures
    CALLS.append(complete_call(up, "HS-KV1-0002"))
    assert count(up.aws, "calls") == before["calls"] + 1


def test_a_killed_media_node_is_replaced_and_the_next_calls_media_connects(up):
    from bench.media_peers import agent_peer, mobile_peer
    from sdk import VkycClient, login, mobile_token
    from sdk.media import connect_media

    kill_and_wait_until_back(up, "media-local-1", r"Media node +media-local-1")

    async def media_call() -> str:
        grant = await login(up.http, AGENT, AGENT_PASSWORD)
        agent = await VkycClient.open(grant.ws_url, token=grant.token)
        await agent.request("agent.set_status", status="available")
        token = await mobile_token(up.http, DOSSIERS["HS-KV4-0001"], "dl-svc", "HS-KV4-0001")
        mobile = await VkycClient.open(token.ws_url, token=token.token)
        peers = [mobile_peer(), agent_peer()]
        try:
            ringing = await mobile.request("call.request")
            offer = await agent.next_push("call.offer", timeout=30)
            await connect_media(mobile, ringing.call_id, peers[0])
            await agent.request("offer.accept", offer_id=offer.offer_id)
            await connect_media(agent, ringing.call_id, peers[1])
            for peer in peers:
                await peer.wait_connected(60)
            await agent.request("call.hangup", call_id=ringing.call_id)
            await agent.request("call.decide", call_id=ringing.call_id, decision="D", reason="service test")
            return str(ringing.call_id)
        finally:
            for peer in peers:
                await peer.close()
            await mobile.close()
            await agent.close()

    CALLS.append(asyncio.run(media_call()))


def test_ctrl_c_stops_cleanly_and_a_restart_keeps_the_demo_data_and_the_calls(up, state_dir):
    if not CALLS:  # run alone: a call of its own to find after the restart
        CALLS.append(complete_call(up, "HS-KV1-0001"))
    dossiers, users = count(up.aws, "dossiers"), count(up.aws, "users")
    code, after_stop = up.stop()
    assert code == 0 and "stopped." in after_stop
    assert "Traceback" not in after_stop, after_stop
    again = UpProcess(state_dir, ["--no-media-node"])
    try:
        assert again.printed("kept from the last run")
        assert count(again.aws, "dossiers") == dossiers and count(again.aws, "users") == users
        dynamodb = boto3.client("dynamodb", endpoint_url=again.aws, region_name=REGION)
        for call_id in CALLS:
            item = dynamodb.get_item(TableName="vkyc-calls", Key={"call_id": {"S": call_id}}).get("Item")
            assert item is not None, f"call {call_id} made before the restart is gone"
        status, grant = rest(again.http, "/auth/login", {"username": AGENT, "password": AGENT_PASSWORD})
        assert status == 200, grant
    finally:
        again.stop()


def test_an_endpoint_given_in_aws_endpoint_url_is_used_instead_of_a_moto_server_of_the_stacks(tmp_path):
    # LocalStack cannot run here (its DynamoDB downloads a JDK): another moto server stands in for it.
    external = MotoServer(port=0)
    external.start()
    try:
        # The stack's own AWS port is one held here: a moto server of the stack's could not start on it.
        with refused_port() as aws_port:
            up = UpProcess(
                None, ["--no-media-node"], env={"AWS_ENDPOINT_URL": external.url}, aws_port=aws_port
            )
            try:
                assert up.printed(f"AWS endpoint: using {external.url}")
                assert up.aws == external.url
                status, answer = health(up.http)
                assert status == 200 and "aws" not in answer["checks"], (
                    "nothing of the stack's own to supervise"
                )
                assert count(external.url, "dossiers") > 0, "the demo data went to the given endpoint"
                with pytest.raises(OSError):
                    urllib.request.urlopen(f"http://127.0.0.1:{aws_port}/moto-api/", timeout=2)
            finally:
                up.stop()
    finally:
        external.stop()
