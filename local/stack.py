"""``python -m local up`` (``make up``): the whole vkyc stack on one machine, with demo data.

Steps, each announced on one line: moto server → tables, queues, bucket → demo data → Chalice apps
→ WebSocket API → event runners → REST API and web client, and a media node (a child process,
``python -m media_node run``; ``--no-media-node`` leaves it out). Ctrl-C (or SIGTERM) stops
everything in reverse order. Addresses come from the environment (defaults in the table below) so two stacks
can run side by side.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from chalice import Chalice
from chalice.app import ScheduledEventConfig

from vkyc import env

if TYPE_CHECKING:
    from local.media_node_process import MediaNodeProcess

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("signaling", "routing", "reports")
SQS_POLLERS = 4  # concurrent timer invocations, as Lambda runs several on one queue


@dataclass(frozen=True)
class Addresses:
    """Where the parts listen; a port of 0 lets the system pick a free one (``Stack`` reads it back:
    ``aws_endpoint``, ``ws_url``, ``http_url``)."""

    host: str
    aws_port: int
    ws_port: int
    http_port: int

    @classmethod
    def from_environment(cls) -> Addresses:
        return cls(
            host=os.environ.get("VKYC_HOST", "127.0.0.1"),
            aws_port=int(os.environ.get("VKYC_AWS_PORT", "4566")),
            ws_port=int(os.environ.get("VKYC_WS_PORT", "3001")),
            http_port=int(os.environ.get("VKYC_HTTP_PORT", "8000")),
        )


class StackError(Exception):
    pass


def _where(host: str, port: int) -> str:
    return f"{host}:{port}" if port else f"{host}, a port the system picks"


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class Stack:
    """Starts the parts in order and remembers how to stop each one."""

    def __init__(
        self, addresses: Addresses, out: Callable[[str], None] = print, *, media_nodes: int = 0
    ) -> None:
        self.addresses = addresses
        self.out = out
        self.media_nodes = media_nodes  # media node processes to start (``make up``: one)
        self.nodes: list[MediaNodeProcess] = []
        self._stops: list[tuple[str, Callable[[], object]]] = []
        self._step = 0
        self.aws_endpoint = ""
        self.ws_url = ""
        self.http_url = ""

    def step(self, text: str) -> None:
        self._step += 1
        self.out(f"[{self._step}/7] {text}")

    def start(self, demo_file: Path | None) -> str:
        """Start everything; returns the demo summary text ('' without demo data)."""
        a = self.addresses
        for name, port in (("WebSocket API", a.ws_port), ("REST API", a.http_port)):
            if not _port_free(a.host, port):
                raise StackError(
                    f"port {port} ({name}) is in use: is another `make up` running? "
                    f"Stop it, or choose other ports with VKYC_WS_PORT / VKYC_HTTP_PORT."
                )
        from local.moto_server import MotoServer, ensure_fake_credentials

        ensure_fake_credentials()
        external = env.endpoint_url()
        if external:
            self.step(f"AWS endpoint: using {external} (AWS_ENDPOINT_URL / LOCALSTACK_HOST is set)")
            self.aws_endpoint = external
        else:
            self.step(f"moto server (DynamoDB + Streams, SQS, S3) on {_where(a.host, a.aws_port)}")
            if not _port_free(a.host, a.aws_port):
                raise StackError(
                    f"port {a.aws_port} (AWS endpoint) is in use: is another `make up` or a "
                    f"LocalStack running? To use it, set AWS_ENDPOINT_URL=http://{a.host}:{a.aws_port}; "
                    f"else choose another port with VKYC_AWS_PORT."
                )
            moto = MotoServer(a.host, a.aws_port)
            moto.start()
            self._stops.append(("moto server", moto.stop))
            self.aws_endpoint = moto.url
            os.environ["AWS_ENDPOINT_URL"] = moto.url

        from local.bootstrap import create_resources

        self.step("tables, timer queue + dead-letter queue, media bucket")
        resources = create_resources(self.aws_endpoint)
        resources.export_stream_arns()
        self.out(
            f"      {len(resources.tables)} tables (prefix {env.table_prefix()!r}), "
            f"queues {', '.join(resources.queues)}, bucket {resources.bucket}"
        )

        summary = ""
        if demo_file is None:
            self.step("demo data: skipped (--no-demo)")
        else:
            from local.demo.load import summary_text, write_demo_data
            from local.demo.schema import load_demo_file

            shown = demo_file.relative_to(ROOT) if demo_file.is_relative_to(ROOT) else demo_file
            self.step(f"demo data from {shown}")
            data = load_demo_file(demo_file)
            result = write_demo_data(data)
            summary = summary_text(result)
            from local.demo.images import upload_demo_images
            from vkyc.adapters.s3 import s3_client

            pictures = upload_demo_images(data, s3_client(), resources.bucket)
            self.out(f"      dossier pictures: {pictures} written (ID card front and back, portrait)")

        _local_secrets()
        from local.chalice_app import load_app

        self.step("Chalice apps: " + ", ".join(f"functions/{name}" for name in FUNCTIONS))
        apps = {name: load_app(ROOT / "functions" / name) for name in FUNCTIONS}

        self.step(f"WebSocket API (API Gateway emulator) on ws://{_where(a.host, a.ws_port)}")
        self._start_websocket(apps["signaling"])
        # Read back: port 0 asks the system for a free one.
        os.environ.setdefault("VKYC_WS_URL", self.ws_url)
        from local.chalice_app import point_websocket_api_at

        # The routing app pushes too (sweeper, end of day), and so does reports (the supervisors' live
        # board): same API, same emulator.
        for pushing in ("routing", "reports"):
            point_websocket_api_at(apps[pushing], self.ws_url.replace("ws://", "http://"), self.aws_endpoint)

        self.step("event runners: SQS timers, schedules, DynamoDB streams")
        self._start_runners(list(apps.values()))

        self.step(f"REST API and web client on http://{_where(a.host, a.http_port)}")
        from local.rest import RestServer
        from local.web_policy import load_web_config, security_headers

        # The pages' policy names the origins they really use: the grants' WebSocket API, the
        # pre-signed media URLs (the AWS endpoint), the API origins of web/config.json.
        headers = security_headers(
            load_web_config(ROOT / "web" / "config.json"),
            ws_url=os.environ["VKYC_WS_URL"],
            media_url=self.aws_endpoint,
        )
        rest = RestServer(list(apps.values()), ROOT / "web", a.host, a.http_port, headers).start()
        self._stops.append(("REST server", rest.stop))
        self.http_url = rest.url
        self._start_media_nodes()
        return summary

    def _start_media_nodes(self) -> None:
        """The media nodes, last: they connect to the WebSocket API and get their token over REST."""
        from local.media_node_process import MediaNodeProcess

        for number in range(1, self.media_nodes + 1):
            node = MediaNodeProcess(self.http_url, f"media-local-{number}").start()
            self.nodes.append(node)
            self._stops.append((f"media node {node.node_id}", node.stop))
            self.out(f"      media node {node.node_id} (pid {node.pid}) connected to signaling")

    def _start_websocket(self, app: Chalice) -> None:
        from local.apigw.server import EmulatorThread, WebSocketEmulator

        a = self.addresses
        emulator = WebSocketEmulator(
            app, a.host, a.ws_port, region=env.region(), aws_endpoint=self.aws_endpoint
        )
        # The timer handler (SQS) pushes through @connections too: tell it which API that is.
        os.environ["VKYC_WS_API_ID"], os.environ["VKYC_WS_STAGE"] = emulator.api_id, emulator.stage
        thread = EmulatorThread(emulator)
        thread.start()
        self._stops.append(("WebSocket API", thread.stop))
        self.ws_url = emulator.url

    def _start_runners(self, apps: list[Chalice]) -> None:
        from local.runners import EventRunners

        # VKYC_LOCAL_SCHEDULES=0 keeps the minutely schedules (sweeper, end of day) off, for tests that
        # drive housekeeping themselves and must not meet it by the clock.
        schedules = os.environ.get("VKYC_LOCAL_SCHEDULES", "1") != "0"
        for app in apps:
            include = None
            if not schedules:
                include = {c.name for c in app.event_sources if not isinstance(c, ScheduledEventConfig)}
            runners = EventRunners(
                app, self.aws_endpoint, env.region(), include=include, sqs_pollers=SQS_POLLERS
            ).start()
            self._stops.append((f"runners of {app.app_name}", runners.stop))

    def stop(self) -> None:
        for name, stop in reversed(self._stops):
            try:
                stop()
            except Exception as exc:  # keep stopping the rest
                self.out(f"      stopping {name} failed: {exc}")
        self._stops.clear()

    def banner(self) -> str:
        return "\n".join(
            [
                "",
                "vkyc is up.",
                f"  WebSocket API        {self.ws_url}   (@connections: {self.ws_url.replace('ws://', 'http://')}/@connections)",
                f"  REST API + web       {self.http_url}",
                f"  AWS endpoint (moto)  {self.aws_endpoint}   (AWS_ENDPOINT_URL={self.aws_endpoint})",
                *(f"  Media node           {n.node_id} (pid {n.pid})" for n in self.nodes),
                "Press Ctrl-C to stop.",
            ]
        )


def _local_secrets() -> None:
    """Secrets production keeps in its secret store; locally, fresh random ones for each run."""
    os.environ.setdefault("VKYC_TOKEN_SECRET", secrets.token_urlsafe(48))
    # Signaling keeps the node-key master; each node process gets only its own key, derived from it
    # (``local.media_node_process``).
    os.environ.setdefault("VKYC_MEDIA_NODE_MASTER_KEY", secrets.token_urlsafe(32))


def run_stack(args: argparse.Namespace) -> int:
    demo_file: Path | None = None
    if not args.no_demo:
        demo_file = Path(args.demo).resolve() if args.demo else ROOT / "local" / "demo" / "demo.toml"
    stack = Stack(
        Addresses.from_environment(),
        out=lambda line: print(line, flush=True),
        media_nodes=0 if getattr(args, "no_media_node", False) else 1,
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("Starting the vkyc local stack...", flush=True)
    started = time.monotonic()
    try:
        summary = stack.start(demo_file)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        stack.stop()
        return 1
    if summary:
        print(summary, flush=True)
    print(stack.banner(), flush=True)
    print(f"ready in {time.monotonic() - started:.1f} s", flush=True)
    while not stopping.wait(0.5):
        pass
    print("\nstopping...", flush=True)
    stack.stop()
    print("stopped.", flush=True)
    return 0
