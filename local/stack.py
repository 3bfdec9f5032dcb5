"""``python -m local up`` (``make up``): the whole vkyc stack on one machine, with demo data.

Steps, each announced on one line: moto server → tables, queues, bucket → demo data → Chalice apps
→ WebSocket API → event runners → REST API and web client, and a media node (a child process,
``python -m media_node run``; ``--no-media-node`` leaves it out). Ctrl-C (or SIGTERM) stops
everything in reverse order. Addresses come from the environment (defaults in the table below) so two stacks
can run side by side.

As a service (``local.supervisor``): the moto server keeps its data in a state directory
(``VKYC_STATE_DIR``, default ``.vkyc-state/``; ``local.moto_state``), and so do the local secrets, so a
restart of ``make up`` finds the demo data and the calls made before (``make reset`` forgets them); a
moto server or media node that dies is started again; ``/health`` names what is being restarted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from chalice import Chalice
from chalice.app import ScheduledEventConfig

from vkyc import env

if TYPE_CHECKING:
    from local.demo.schema import DemoData
    from local.media_node_process import MediaNodeProcess
    from local.moto_server import MotoServer
    from local.supervisor import Supervisor
    from local.webhook_sink import WebhookSink

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("signaling", "routing", "reports", "integrations", "admin")
# Timer invocations at once, as Lambda runs several on one queue: enough that a timer waiting on a busy
# DynamoDB never holds up the others due with it; and receivers enough to take a round's 50 session
# timers, due together, in one round of receives (docs/architecture.md, "Timers on time").
SQS_CONCURRENCY = 64
SQS_RECEIVERS = 6
WS_STAGE = "local"


@dataclass(frozen=True)
class Addresses:
    """Where the parts listen; a port of 0 lets the system pick a free one (``Stack`` reads it back:
    ``aws_endpoint``, ``ws_url``, ``http_url``)."""

    host: str
    aws_port: int
    ws_port: int
    http_port: int
    sink_port: int = 0  # the webhook sink's (0: a free port)

    @classmethod
    def from_environment(cls) -> Addresses:
        return cls(
            host=os.environ.get("VKYC_HOST", "127.0.0.1"),
            aws_port=int(os.environ.get("VKYC_AWS_PORT", "4566")),
            ws_port=int(os.environ.get("VKYC_WS_PORT", "3001")),
            http_port=int(os.environ.get("VKYC_HTTP_PORT", "8000")),
            sink_port=int(os.environ.get("VKYC_WEBHOOK_SINK_PORT", "8010")),
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
        self,
        addresses: Addresses,
        out: Callable[[str], None] = print,
        *,
        media_nodes: int = 0,
        state_dir: Path | None = None,
    ) -> None:
        self.addresses = addresses
        self.out = out
        self.media_nodes = media_nodes  # media node processes to start (``make up``: one)
        self.state_dir = state_dir  # where the moto server and the local secrets keep their data
        self.nodes: list[MediaNodeProcess] = []
        self.moto: MotoServer | None = None
        self.supervisor: Supervisor | None = None
        self._stops: list[tuple[str, Callable[[], object]]] = []
        self._step = 0
        self.aws_endpoint = ""
        self.ws_api_id = ""
        self.ws_url = ""
        self.http_url = ""
        self.apps: dict[str, Chalice] = {}
        self.sink: WebhookSink | None = None
        self.demo_api_keys: dict[str, str] = {}  # unit -> the demo integrator's key
        self.demo_data: DemoData | None = None  # once loaded: `make up` prints the mobile commands
        self.frame_origins: tuple[str, ...] = ()  # VKYC_FRAME_ORIGINS, as the pages' frame-src lists them

    def step(self, text: str) -> None:
        self._step += 1
        self.out(f"[{self._step}/7] {text}")

    def start(self, demo_file: Path | None) -> str:
        """Start everything; returns the demo summary text ('' without demo data). Raises
        ``FrameOriginError`` (its code first) for a bad ``VKYC_FRAME_ORIGINS`` before starting anything."""
        from vkyc.domain.frame_origins import FRAME_ORIGINS, frame_origins

        self.frame_origins = frame_origins(os.environ.get(FRAME_ORIGINS, ""), local=True)
        a = self.addresses
        for name, port in (
            ("WebSocket API", a.ws_port),
            ("REST API", a.http_port),
            ("webhook sink", a.sink_port),
        ):
            if not _port_free(a.host, port):
                raise StackError(
                    f"port {port} ({name}) is in use: is another `make up` running? "
                    "Stop it, or choose other ports with VKYC_WS_PORT / VKYC_HTTP_PORT / "
                    "VKYC_WEBHOOK_SINK_PORT."
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
            moto = MotoServer(a.host, a.aws_port, state_dir=self.state_dir)
            moto.start()
            self.moto = moto
            self._stops.append(("moto server", moto.stop))
            self.aws_endpoint = moto.url
            os.environ["AWS_ENDPOINT_URL"] = moto.url

        from local.bootstrap import create_resources

        self.step("tables, timer and integrations queues + dead-letter queues, media bucket")
        resources = create_resources(self.aws_endpoint)
        resources.export_stream_arns()
        self.out(
            f"      {len(resources.tables)} tables (prefix {env.table_prefix()!r}), "
            f"queues {', '.join(resources.queues)}, bucket {resources.bucket}"
        )
        if resources.indexes_added or resources.tickets_backfilled:
            self.out(
                f"      from an older release: indexes added {', '.join(resources.indexes_added) or 'none'}, "
                f"tickets given their open_for key {resources.tickets_backfilled}"
            )

        summary = ""
        data = None
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
            from local.demo.images import check_demo_images

            checked = check_demo_images(data, s3_client(), resources.bucket)
            self.out(f"      dossier pictures checked as integrators' uploads are: {checked} dossier(s)")
            self.demo_api_keys = {str(k.unit): k.key for k in data.api_keys}
            self.demo_data = data

        _local_secrets(self.state_dir)
        # What a deployment's template gives the functions (vkyc.config), before they are imported: they
        # refuse to start without it. The emulator started below serves this API id, stage and address.
        self.ws_api_id = secrets.token_hex(5)
        os.environ.update(
            {
                "VKYC_WS_API_ID": self.ws_api_id,
                "VKYC_WS_STAGE": WS_STAGE,
                # Port 0 (the system picks one): set again once the emulator listens, before any
                # handler reads it (the signaling app reads it per login).
                "VKYC_WS_URL": f"ws://{a.host}:{a.ws_port}",
            }
        )
        # The demo's webhook receiver is local (http://127.0.0.1): never allowed in a deployment.
        os.environ.setdefault("VKYC_WEBHOOK_ALLOW_PRIVATE", "1")
        from local.chalice_app import load_app

        self.step("Chalice apps: " + ", ".join(f"functions/{name}" for name in FUNCTIONS))
        apps = {name: load_app(ROOT / "functions" / name) for name in FUNCTIONS}
        self.apps = apps  # tests and tools reach a function's module through its app
        self.step(f"WebSocket API (API Gateway emulator) on ws://{_where(a.host, a.ws_port)}")
        self._start_websocket(apps["signaling"])
        os.environ["VKYC_WS_URL"] = self.ws_url  # read back: port 0 asks the system for a free one
        from local.chalice_app import point_websocket_api_at

        # The routing app pushes too (sweeper, end of day), and so does reports (the supervisors' live
        # board), and admin (ending the sessions of an account it changed): same API, same emulator.
        for pushing in ("routing", "reports", "admin"):
            point_websocket_api_at(apps[pushing], self.ws_url.replace("ws://", "http://"), self.aws_endpoint)

        self.step(
            "event runners: SQS timers and integration jobs, schedules, DynamoDB streams; image checker"
        )
        self._start_runners(list(apps.values()))
        self._start_image_checker()

        self.step(f"REST API and web client on http://{_where(a.host, a.http_port)}")
        from local.rest import RestServer
        from local.web_policy import load_web_config, security_headers

        # The pages' policy names the origins they really use: the grants' WebSocket API, the
        # pre-signed media URLs (the AWS endpoint), the API origins of web/config.json, the CRM origins
        # the answer-URL panel may frame (VKYC_FRAME_ORIGINS).
        headers = security_headers(
            load_web_config(ROOT / "web" / "config.json"),
            ws_url=os.environ["VKYC_WS_URL"],
            media_url=self.aws_endpoint,
            frame_origins=self.frame_origins,
        )
        rest = RestServer(list(apps.values()), ROOT / "web", a.host, a.http_port, headers, health=self.health)
        rest.start()
        self._stops.append(("REST server", rest.stop))
        self.http_url = rest.url
        self._start_webhook_sink()
        self._start_media_nodes()
        self._supervise()
        return summary

    def _start_image_checker(self) -> None:
        """The check of integrators' uploads, in a thread (in production: ``python -m media_node
        check-images`` beside the media nodes, where OpenCV is)."""
        from media_node.image_check import ImageCheckWorker

        worker = ImageCheckWorker.from_env()
        stopping = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stopping,), name="image-checker", daemon=True)
        thread.start()

        def stop() -> None:
            stopping.set()
            thread.join(5)

        self._stops.append(("image checker", stop))

    def _start_webhook_sink(self) -> None:
        """A receiver that verifies signatures, on its own port, and the demo units subscribed to it
        (each with a fresh secret, handed to the sink)."""
        from local.webhook_sink import WebhookSink
        from vkyc.domain.webhooks import EventType
        from vkyc.protocol.webhook_signing import new_secret
        from vkyc.repositories import webhooks
        from vkyc.repositories.tables import WebhookSubscription

        sink = WebhookSink(self.addresses.host, self.addresses.sink_port, out=self.out).start()
        self._stops.append(("webhook sink", sink.stop))
        self.sink = sink
        now = datetime.now(UTC)
        for unit in sorted(self.demo_api_keys):
            secret, path = new_secret(), f"/units/{unit}"
            sink.secrets[path] = [secret]
            webhooks.put_subscription(
                WebhookSubscription(
                    f"wh_demo_sink_unit_{unit}",
                    unit_id=unit,
                    url=sink.url + path,
                    events={e.value for e in EventType},
                    description="make up's webhook sink",
                    status="active",
                    secret=secret,
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )
        units = ", ".join(sorted(self.demo_api_keys)) or "none"
        self.out(f"      webhook sink on {sink.url} (signatures verified; units subscribed: {units})")

    def _supervise(self) -> None:
        """Restart a dead moto server or media node (``local.supervisor``); stopped first of all."""
        from local.supervisor import Supervisor

        supervisor = Supervisor(self.out)
        if self.moto is not None:
            supervisor.watch_moto(self.moto)
        for index in range(len(self.nodes)):
            supervisor.watch_media_node(self.nodes, index)
        self.supervisor = supervisor.start()
        self._stops.append(("supervisor", supervisor.stop))

    def health(self) -> dict[str, str]:
        """The local processes' own state, beside what the apps' ``/health`` checks."""
        return self.supervisor.health() if self.supervisor is not None else {}

    def _start_media_nodes(self) -> None:
        """The media nodes, last: they connect to the WebSocket API and get their token over REST."""
        from local.media_node_process import MediaNodeProcess

        # The default waiting clip, encoded once and kept (seconds of CPU): a restarted node loads it.
        os.environ.setdefault("VKYC_MEDIA_CACHE_DIR", str(ROOT / "build" / "media-cache"))
        for number in range(1, self.media_nodes + 1):
            node = MediaNodeProcess(self.http_url, f"media-local-{number}").start()
            self.nodes.append(node)
            # The supervisor may have replaced it by the time the stack stops: stop the current one.
            self._stops.append(
                (f"media node {node.node_id}", functools.partial(self._stop_node, len(self.nodes) - 1))
            )
            self.out(f"      media node {node.node_id} (pid {node.pid}) connected to signaling")

    def _stop_node(self, index: int) -> None:
        self.nodes[index].stop()

    def _start_websocket(self, app: Chalice) -> None:
        from local.apigw.server import EmulatorThread, WebSocketEmulator

        a = self.addresses
        emulator = WebSocketEmulator(
            app,
            a.host,
            a.ws_port,
            stage=WS_STAGE,
            api_id=self.ws_api_id,
            region=env.region(),
            aws_endpoint=self.aws_endpoint,
            route_responses=True,  # as the template configures the $default route: two-way
        )
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
                app,
                self.aws_endpoint,
                env.region(),
                include=include,
                sqs_concurrency=SQS_CONCURRENCY,
                sqs_receivers=SQS_RECEIVERS,
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
        sink = []
        if self.sink is not None:
            sink = [f"  Webhook sink         {self.sink.url}   (what the demo units' webhooks delivered)"]
        return "\n".join(
            [
                "",
                "vkyc is up.",
                f"  WebSocket API        {self.ws_url}   (@connections: {self.ws_url.replace('ws://', 'http://')}/@connections)",
                f"  REST API + web       {self.http_url}   (integrator API: {self.http_url}/v1)",
                f"  AWS endpoint (moto)  {self.aws_endpoint}   (AWS_ENDPOINT_URL={self.aws_endpoint})"
                + (f" (pid {self.moto.pid})" if self.moto is not None and self.moto.pid else ""),
                *sink,
                *(f"  Media node           {n.node_id} (pid {n.pid})" for n in self.nodes),
                *(
                    [f"  Framed CRM origins   {' '.join(self.frame_origins)}   (VKYC_FRAME_ORIGINS)"]
                    if self.frame_origins
                    else []
                ),
                "Press Ctrl-C to stop.",
            ]
        )


LOCAL_SECRETS = ("VKYC_TOKEN_SECRET", "VKYC_MEDIA_NODE_MASTER_KEY")


def _local_secrets(state_dir: Path | None) -> None:
    """Secrets production keeps in Secrets Manager; locally random ones, kept in the state directory
    (when there is one) so that tokens and node keys outlive a restart of the stack."""
    stored = state_dir / "secrets.json" if state_dir is not None else None
    values = json.loads(stored.read_text()) if stored is not None and stored.exists() else {}
    for name in LOCAL_SECRETS:
        # Signaling keeps the node-key master; each node process gets only its own key, derived from
        # it (``local.media_node_process``).
        values.setdefault(name, secrets.token_urlsafe(48))
        os.environ.setdefault(name, values[name])
    if stored is not None and not stored.exists():
        stored.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(stored, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(values, file)


def state_dir_of(args: argparse.Namespace) -> Path | None:
    """``--state-dir``, else ``VKYC_STATE_DIR``, else ``.vkyc-state/``; None with ``--no-state``."""
    if getattr(args, "no_state", False):
        return None
    chosen = getattr(args, "state_dir", None) or os.environ.get("VKYC_STATE_DIR") or str(ROOT / ".vkyc-state")
    return Path(chosen).resolve()


def run_stack(args: argparse.Namespace) -> int:
    demo_file: Path | None = None
    if not args.no_demo:
        demo_file = Path(args.demo).resolve() if args.demo else ROOT / "local" / "demo" / "demo.toml"
    state_dir = state_dir_of(args)
    stack = Stack(
        Addresses.from_environment(),
        out=lambda line: print(line, flush=True),
        media_nodes=0 if getattr(args, "no_media_node", False) else 1,
        state_dir=state_dir,
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("Starting the vkyc local stack...", flush=True)
    if state_dir is not None:
        from local.moto_state import describe

        kept = "kept from the last run" if describe(state_dir)["exists"] else "new"
        print(f"      data in {state_dir} ({kept}; make reset forgets it)", flush=True)
    started = time.monotonic()
    try:
        summary = stack.start(demo_file)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        stack.stop()
        return 1
    if summary:
        print(summary, flush=True)
    if stack.demo_data is not None:
        from local.demo.by_hand import mobile_commands

        print("\n" + mobile_commands(stack.demo_data, stack.http_url), flush=True)
    print(stack.banner(), flush=True)
    print(f"ready in {time.monotonic() - started:.1f} s", flush=True)
    while not stopping.wait(0.5):
        pass
    print("\nstopping...", flush=True)
    stack.stop()
    print("stopped.", flush=True)
    return 0
