"""``python -m local up`` (what ``make up`` runs) as a real process, on ports the system picks (port 0,
read back from the banner: a port chosen beforehand could be taken by another process meanwhile)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

from tests.integration.signaling_client import Client, rest
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]


def start_up(
    extra_args: list[str], ports: dict[str, int] | None = None, settings: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``python -m local up``; ``ports`` (``aws``, ``ws``, ``http``, ``sink``) default to 0; ``settings``:
    ``VKYC_*`` variables an operator sets."""
    ports = {"aws": 0, "ws": 0, "http": 0, "sink": 0, **(ports or {})}
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("VKYC_")}  # no test-stack settings
    env = {
        **inherited,
        "PYTHONPATH": str(ROOT),
        "VKYC_AWS_PORT": str(ports["aws"]),
        "VKYC_WS_PORT": str(ports["ws"]),
        "VKYC_HTTP_PORT": str(ports["http"]),
        "VKYC_WEBHOOK_SINK_PORT": str(ports["sink"]),
        **(settings or {}),
    }
    env.pop("AWS_ENDPOINT_URL", None)  # up must start its own moto server
    return subprocess.Popen(
        # No state directory: a developer's `make up` data (.vkyc-state/) is never touched by a test.
        [sys.executable, "-m", "local", "up", "--no-state", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 180) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed; got:\n" + "\n".join(lines))


BANNER = {
    "ws": r"WebSocket API +(ws://\S+)",
    "http": r"REST API \+ web +(http://\S+)",
    "aws": r"AWS endpoint \(moto\) +(http://\S+)",
    "sink": r"Webhook sink +(http://\S+)",
}


def banner_urls(lines: list[str]) -> dict[str, str]:
    """The addresses ``up`` printed in its banner: ``ws``, ``http``, ``aws`` and ``sink`` URLs."""
    text = "\n".join(lines)
    found = {name: re.search(pattern, text) for name, pattern in BANNER.items()}
    missing = [name for name, match in found.items() if match is None]
    assert not missing, f"no {missing} address in the banner:\n{text}"
    return {name: match.group(1) for name, match in found.items() if match is not None}


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_up_starts_everything_prints_addresses_and_stops_cleanly():
    proc = start_up([], settings={"VKYC_FRAME_ORIGINS": "https://crm.example.vn, http://127.0.0.1:8088"})
    ports: dict[str, int] = {}
    try:
        lines = read_until(proc, "ready in")
        text = "\n".join(lines)
        for step in range(1, 8):
            assert f"[{step}/7]" in text
        urls = banner_urls(lines)
        ports = {name: int(url.rsplit(":", 1)[1]) for name, url in urls.items()}
        assert urls == {
            "ws": f"ws://127.0.0.1:{ports['ws']}",
            "http": f"http://127.0.0.1:{ports['http']}",
            "aws": f"http://127.0.0.1:{ports['aws']}",
            "sink": f"http://127.0.0.1:{ports['sink']}",
        }
        assert all(ports.values()), "the ports the system picked, not 0"
        assert get_json(f"{urls['sink']}/events.json") == []
        assert "tdv1.kv1" in text and "demo-tdv1-kv1" in text, "demo agents and passwords are printed"
        assert "media node media-local-1" in text and "Media node" in text, "make up starts one media node"

        http = urls["http"]
        assert get_json(f"{http}/health") == {
            "status": "ok",
            "checks": {"dynamodb": "ok", "bucket": "ok", "aws": "ok", "media-local-1": "ok"},
        }
        served_by = {u["unit_id"]: u["served_by"] for u in get_json(f"{http}/units")["units"]}
        assert served_by["4"] == served_by["6"] == "1" and served_by["7"] == "3" and served_by["2"] == "2"
        with urllib.request.urlopen(f"{http}/agent.html", timeout=5) as response:
            assert b"js/agent.js" in response.read()
            # The pages' policy names the WebSocket API and the media endpoint of this very stack.
            policy = response.headers["Content-Security-Policy"]
            assert f"connect-src 'self' ws://127.0.0.1:{ports['ws']};" in policy
            assert f"img-src 'self' data: http://127.0.0.1:{ports['aws']};" in policy
            # ... and the CRM origins the operator lets the answer-URL panel frame.
            assert "; frame-src https://crm.example.vn http://127.0.0.1:8088;" in policy
        assert "Framed CRM origins   https://crm.example.vn http://127.0.0.1:8088" in text
        with urllib.request.urlopen(f"{http}/", timeout=5) as response:
            assert b"<h1>vkyc</h1>" in response.read()

        status, grant = rest(http, "/auth/login", {"username": "tdv1.kv1", "password": "demo-tdv1-kv1"})
        assert status == 200 and grant["ws_url"] == f"ws://127.0.0.1:{ports['ws']}"
        client = Client(grant["ws_url"], token=grant["token"])
        client.hello()
        assert client.request("ping")["action"] == "pong"
        client.close()

        aws = f"http://127.0.0.1:{ports['aws']}"
        dynamodb = boto3.client("dynamodb", endpoint_url=aws, region_name="ap-southeast-1")
        names = dynamodb.list_tables()["TableNames"]
        assert "vkyc-dossiers" in names and "vkyc-agents" in names
        assert dynamodb.scan(TableName="vkyc-dossiers", Select="COUNT")["Count"] > 0

        def registered() -> list[dict]:
            items = dynamodb.scan(TableName="vkyc-media_nodes")["Items"]
            return [n for n in items if n["node_id"]["S"] == "media-local-1"]

        assert wait_until(registered, timeout=10), "the media node registered with its heartbeat"
        sqs = boto3.client("sqs", endpoint_url=aws, region_name="ap-southeast-1")
        assert sqs.get_queue_url(QueueName="vkyc-timers")["QueueUrl"]
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0
    assert "stopped." in output
    assert "Traceback" not in output.split("stopping...")[-1], "Ctrl-C stops everything without a traceback"
    for port in ports.values():  # released: a restarted stack can bind again (TIME_WAIT aside)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))


def test_up_refuses_a_broken_demo_file_naming_the_field(tmp_path):
    good = (ROOT / "local/demo/demo.toml").read_text(encoding="utf-8")
    bad = tmp_path / "demo.toml"
    bad.write_text(good.replace("ring_timeout_s = 60", "ring_timeout_s = -5", 1), encoding="utf-8")
    assert bad.read_text(encoding="utf-8") != good, "the demo file must set ring_timeout_s for this test"
    proc = start_up(["--demo", str(bad)])
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1
    assert "ring_timeout_s" in output and "error:" in output


def test_up_refuses_a_frame_origin_that_is_a_wildcard_before_starting_anything():
    proc = start_up(
        ["--no-demo"], settings={"VKYC_FRAME_ORIGINS": "https://crm.example.vn https://*.example.vn"}
    )
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1
    assert "error: FRAME_ORIGIN_WILDCARD: VKYC_FRAME_ORIGINS entry 'https://*.example.vn'" in output
    assert "[1/7]" not in output, "refused before any part started"


def test_up_explains_a_port_in_use():
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        proc = start_up(["--no-demo"], {"ws": taken})
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1
    assert f"port {taken}" in output and "in use" in output
