"""The mobile side by hand (issue #16): ``python -m sdk mobile --call --answer-callbacks``, as ``make up``
prints it, against the session's local stack and a media node process, with a scripted agent (the
SDK's client and an aiortc peer): the command places the call with its built-in face, prints each
event, gets the decision, then answers the agent's call-back with media both ways. Also: the commands
``make up`` prints are ones the command line accepts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.media_peers import agent_peer
from local.demo.by_hand import mobile_commands
from local.demo.schema import load_demo_file
from local.media_node_process import MediaNodeProcess
from sdk import VkycClient, login
from sdk.cli import build_parser
from sdk.media import connect_media
from tests.browser.helpers import dossier_with_images
from tests.integration.call_drivers import PASSWORD, LoadUnit, create_unit, invalidate_routing
from tests.integration.sdk_watched import DUMP_END
from tests.polling import wait_until
from vkyc import env
from vkyc.protocol.messages import CallOffer
from vkyc.repositories import tables

ROOT = Path(__file__).resolve().parents[2]
UNIT = "61"

pytestmark = pytest.mark.usefixtures("stack_tables")


@pytest.fixture(scope="module")
def unit(stack: Any) -> LoadUnit:
    tables.bind(stack.aws_endpoint, env.region(), os.environ["VKYC_TABLE_PREFIX"])
    created = create_unit(UNIT, 1)
    # The unit's hotline lets its agents call customers back.
    hotline = tables.Hotline.get(f"1900{UNIT.zfill(4)}")
    hotline.allow_call_out, hotline.call_out_group_ids = True, {f"load-{UNIT}-group"}
    hotline.save()
    invalidate_routing()
    return created


@pytest.fixture(scope="module")
def node(stack: Any) -> Iterator[MediaNodeProcess]:
    started = MediaNodeProcess(stack.http_url, f"media-cli-{uuid.uuid4().hex[:4]}").start()
    yield started
    started.stop()


class Command:
    """The command as a process; its stdout's JSON lines, as they come."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen(
            # sdk_watched: Ctrl-C as from a terminal, even when this suite runs with SIGINT ignored; and
            # with faulthandler, a command that does not stop prints where its tasks and threads were.
            [sys.executable, "-X", "faulthandler", "-m", "tests.integration.sdk_watched", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr: list[str] = []  # read as it comes, so that a full pipe never blocks the command
        threading.Thread(target=self._read, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def until(
        self, key: str, value: str, after: int = 0, timeout: float = 40.0, stop: Callable[[], bool] = bool
    ) -> tuple[int, dict[str, Any]]:
        """The first line from index ``after`` on whose ``key`` is ``value``, and its index, waiting for
        more lines as needed (their order follows the server's pushes, not this test's script)."""
        while True:
            for index in range(after, len(self.seen)):
                if self.seen[index].get(key) == value:
                    return index, self.seen[index]
            deadline = time.monotonic() + timeout
            while True:
                if stop():
                    raise AssertionError(f"given up waiting for {key}={value}")
                with contextlib.suppress(queue.Empty):
                    self.seen.append(self.lines.get(timeout=0.5))
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {key}={value} within {timeout} s; saw {self.seen}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # sdk_watched prints every asyncio task's awaits
            with contextlib.suppress(AssertionError):  # no dump (a loop stuck in C): the threads' stacks
                wait_until(lambda: any(DUMP_END in line for line in self.stderr), timeout=10)
            self.process.send_signal(signal.SIGABRT)  # faulthandler writes every thread's stack
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._stderr_reader.join(timeout=10)
            while not self.lines.empty():
                self.seen.append(self.lines.get())
            raise AssertionError(
                "no exit within 20 s of Ctrl-C; its last lines:\n"
                + "\n".join(json.dumps(line) for line in self.seen[-12:])
                + "\nwhere its tasks and threads were:\n"
                + "".join(self.stderr)[-12000:]
            ) from None


async def scripted_agent(stack: Any, unit: LoadUnit, command: Command) -> None:
    """Answer the call, see the face, decide D (unreachable: the dossier may be called again), call back,
    see the customer again, hang up and decide D again."""
    grant = await login(stack.http_url, unit.agents[0], PASSWORD)
    agent = await VkycClient.open(grant.ws_url, token=grant.token)
    try:
        await agent.request("agent.set_status", status="available")
        offer = await agent.next_push("call.offer", timeout=40)
        assert isinstance(offer, CallOffer)
        await agent.request("offer.accept", offer_id=offer.offer_id)
        peer = await connect_media(agent, offer.call_id, agent_peer())
        await peer.wait_frames("video", 15, timeout=20)  # the command's face
        shot = await agent.media_snapshot(offer.call_id)
        assert shot.face_found
        await agent.request("call.hangup", call_id=offer.call_id)
        await peer.close()
        await agent.request(
            "call.decide", call_id=offer.call_id, decision="D", reason="by hand", snapshot_id=None
        )
        ringing = await agent.request("callback.start", dossier_id=offer.dossier.dossier_id)
        call_id = ringing.call_id  # type: ignore[union-attr]
        await agent.next_push("call.connected", timeout=30)
        peer = await connect_media(agent, call_id, agent_peer())
        await peer.wait_frames("video", 15, timeout=20)
        await agent.request("call.hangup", call_id=call_id)
        await peer.close()
        await agent.request("call.decide", call_id=call_id, decision="D", reason="again", snapshot_id=None)
    finally:
        await agent.close()


@pytest.mark.timeout(240)  # the stack, a media node and a command with aiortc start on a shared machine
def test_the_mobile_command_places_a_whole_call_and_answers_a_call_back(stack, unit, node):
    dossier_id = dossier_with_images(unit=UNIT)
    command = Command(
        [
            "mobile", "--call", "--answer-callbacks", "--rest", stack.http_url, "--api-key", unit.api_key,
            "--dealer", "dbh.by-hand", "--dossier", dossier_id, "--result-wait", "60",
        ]
    )  # fmt: skip
    failures: list[BaseException] = []

    def run_agent() -> None:
        try:
            asyncio.run(scripted_agent(stack, unit, command))
        except BaseException as exc:  # reported below, after the command's own failure if any
            failures.append(exc)

    agent = threading.Thread(target=run_agent)
    try:
        agent.start()
        at, connected = command.until("sdk", "media_connected")
        call_id = connected["call_id"]
        assert command.until("action", "call.connected")[1]["call_id"] == call_id
        command.until("sdk", "video_received", at)
        ended_at, ended = command.until("action", "call.ended", at)
        assert ended["call_id"] == call_id
        at, closed = command.until("sdk", "media_closed", ended_at)
        assert closed["frames_received"]["video"] > 0 and closed["frames_received"]["audio"] > 0
        at, result = command.until("action", "call.result", at)
        assert (result["call_id"], result["decision"]) == (call_id, "D")
        at, incoming = command.until(
            "action", "callback.incoming", at, timeout=60, stop=lambda: bool(failures)
        )
        at, answered = command.until("sdk", "callback_answered", at)
        assert answered["call_id"] == incoming["call_id"]
        command.until("sdk", "video_received", at)
        assert command.until("sdk", "media_closed", at)[1]["frames_received"]["video"] > 0
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the agent's failures: {failures!r}") from None
    finally:
        agent.join(timeout=60)
        status = command.stop()
    assert not failures, failures
    assert status == 0, "".join(command.stderr)


def test_the_commands_make_up_prints_are_ones_the_command_line_takes():
    data = load_demo_file(ROOT / "local" / "demo" / "demo.toml")
    text = mobile_commands(data, "http://127.0.0.1:8000")
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith(".venv/bin/python")]
    assert len(commands) == len([d for d in data.dossiers if d.unit in {k.unit for k in data.api_keys}])
    for line in commands:
        args = build_parser().parse_args(shlex.split(line)[3:])
        assert args.call and args.answer_callbacks and args.camera == "face"
        dossier = next(d for d in data.dossiers if d.id == args.dossier)
        assert args.dealer == dossier.dealer_account
