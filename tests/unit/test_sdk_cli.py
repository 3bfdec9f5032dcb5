"""``python -m sdk`` (``sdk.cli.main``) against the fake REST and WebSocket servers, and the SDK's
promise to depend on nothing of vkyc but ``vkyc.protocol``."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdk.cli import main
from tests.ports import refused_port
from tests.unit.test_sdk_fake import NODE_KEY, FakeRest, fake_server_in_thread

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def stack() -> Iterator[FakeRest]:
    with fake_server_in_thread() as ws, FakeRest(ws) as rest:
        yield rest


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "credentials",
    [
        ["--username", "agent1", "--password", "pw-agent1"],
        ["--api-key", "key-unit-1", "--dealer", "d-1", "--dossier", "HS-KV1-0001"],
        ["--node-id", "node-1", "--node-key", NODE_KEY],
    ],
)
def test_ping_prints_round_trips_and_exits_0(stack: FakeRest, capsys, credentials: list[str]):
    assert main(["ping", "--rest", stack.url, *credentials, "--count", "2"]) == 0
    out = capsys.readouterr()
    pongs = lines(out.out)
    assert [p["action"] for p in pongs] == ["pong", "pong"] and all(p["rtt_ms"] >= 0 for p in pongs)
    session = stack.ws.only_session()
    assert [m["action"] for m in stack.ws.accepted_of(session.session_id)] == ["ping", "ping", "session.bye"]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--username", "agent1", "--password", "wrong"], "INVALID_CREDENTIALS"),
        (["--username", "agent1"], "BAD_USAGE"),
        (["--username", "agent1", "--password", "x", "--node-id", "n", "--node-key", "k"], "BAD_USAGE"),
        ([], "BAD_USAGE"),
        (["--username", "agent1", "--password", "pw-agent1", "--ws", "ws://127.0.0.1:1"], "UNREACHABLE"),
    ],
)
def test_failures_print_one_error_line_and_exit_2(stack: FakeRest, capsys, argv: list[str], code: str):
    assert main(["ping", "--rest", stack.url, *argv]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith(f"error: {code}: ") and out.err.count("\n") == 1, out.err


def test_an_unreachable_rest_server_is_a_clear_error(capsys):
    with refused_port() as port:
        rest = f"http://127.0.0.1:{port}"
        assert main(["agent", "--rest", rest, "--username", "u", "--password", "p", "--seconds", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: UNREACHABLE: POST ")


def test_mobile_prints_the_welcome_with_secrets_redacted_and_heartbeats(stack: FakeRest, capsys):
    argv = ["mobile", "--rest", stack.url, "--api-key", "key-unit-1", "--dealer", "d-1"]
    assert main([*argv, "--dossier", "HS-KV1-0001", "--seconds", "0.4", "--heartbeat", "0.1"]) == 0
    printed = lines(capsys.readouterr().out)
    welcome = printed[0]
    assert welcome["action"] == "session.welcome" and welcome["role"] == "mobile"
    assert welcome["session_key"] == "<redacted>" and welcome["resume_token"] == "<redacted>"
    session = stack.ws.only_session()
    assert stack.ws.hellos[0]["client"] == "vkyc-sdk-py/0.1"
    pings = stack.ws.accepted_of(session.session_id, "ping")
    assert len(pings) >= 2, "heartbeats"
    assert [p["action"] for p in printed[1:]] == ["pong"] * len(pings) + ["ack"]
    assert session.state == "ENDED", "said bye"


def test_agent_sets_its_status_and_a_supervisor_does_not(stack: FakeRest, capsys):
    assert (
        main(
            [
                "agent",
                "--rest",
                stack.url,
                "--username",
                "agent1",
                "--password",
                "pw-agent1",
                "--seconds",
                "0",
            ]
        )
        == 0
    )
    printed = lines(capsys.readouterr().out)
    assert [p["action"] for p in printed] == ["session.welcome", "agent.status", "ack"]
    assert printed[1]["status"] == "AVAILABLE"
    assert (
        main(
            [
                "agent",
                "--rest",
                stack.url,
                "--username",
                "super1",
                "--password",
                "pw-super1",
                "--seconds",
                "0",
            ]
        )
        == 0
    )
    assert [p["action"] for p in lines(capsys.readouterr().out)] == ["session.welcome", "ack"]


def test_python_dash_m_sdk_runs(stack: FakeRest):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = ["ping", "--rest", stack.url, "--username", "agent1", "--password", "pw-agent1"]
    done = subprocess.run(
        [sys.executable, "-m", "sdk", *argv], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[0]["action"] == "pong"


def test_the_sdk_imports_nothing_of_vkyc_but_the_protocol():
    for path in sorted((ROOT / "sdk").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in {"vkyc", "local", "functions", "media_node"} or (
                    name == "vkyc.protocol" or name.startswith("vkyc.protocol.")
                ), f"{path.name} imports {name}"
