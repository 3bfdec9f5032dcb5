"""A webhook receiver for the local stack (``make up``): its own port (``VKYC_WEBHOOK_SINK_PORT``,
8010 by default), printed at start, with the demo units subscribed to it (``/units/<unit>``).

Each delivery's signature is verified with the recipe of docs/webhooks.md
(``vkyc.protocol.webhook_signing.verify``, the subscription's secret, the 300 s tolerance): a bad or
missing signature answers 400 and is shown as refused. A good one answers 200 (``{"received": id}``),
and a repeated event id is answered 200 again and counted, not shown twice (the dedupe a receiver
owes an at-least-once sender). ``GET /`` shows what arrived, newest first; ``GET /events.json`` gives
the same as JSON.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vkyc.protocol.webhook_signing import HEADER, SignatureInvalid, verify

log = logging.getLogger("local.webhook_sink")
KEEP = 200


@dataclass
class Arrival:
    at: float
    path: str
    verified: bool
    event_id: str | None
    event_type: str | None
    detail: str
    attempt: str | None
    repeats: int = 0
    body: dict[str, Any] | None = field(default=None, repr=False)


class WebhookSink:
    """``secrets`` maps a path (``/units/1``) to the secrets deliveries to it may be signed with."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, out: Callable[[str], None] = lambda line: None
    ) -> None:
        self.secrets: dict[str, list[str]] = {}
        self.arrivals: deque[Arrival] = deque(maxlen=KEEP)
        self.out = out
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self.host, self.port = host, int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="webhook-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Verify and record one delivery; the status and JSON to answer."""
        attempt = headers.get("vkyc-attempt")
        try:
            verify(self.secrets.get(path, []), headers.get(HEADER.lower()), body, time.time())
            event = json.loads(body)
        except (SignatureInvalid, ValueError) as exc:
            with self._lock:
                self.arrivals.appendleft(Arrival(time.time(), path, False, None, None, str(exc), attempt))
            self.out(f"webhook sink: REFUSED a delivery to {path}: {exc}")
            return 400, {"error": str(exc)}
        event_id, event_type = str(event.get("id")), str(event.get("type"))
        with self._lock:
            seen = next((a for a in self.arrivals if a.verified and a.event_id == event_id), None)
            if seen is not None:
                seen.repeats += 1
                return 200, {"received": event_id, "duplicate": True}
            resource = event.get("resource") or {}
            detail = f"{resource.get('type')} {resource.get('id')} v{resource.get('version')}"
            self.arrivals.appendleft(
                Arrival(time.time(), path, True, event_id, event_type, detail, attempt, body=event)
            )
        self.out(f"webhook sink: {event_type} {detail} (signature verified)")
        return 200, {"received": event_id}

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(a) for a in self.arrivals]

    def page(self) -> str:
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                time.strftime("%H:%M:%S", time.localtime(a["at"])),
                html.escape(a["path"]),
                "verified" if a["verified"] else "<b>refused</b>",
                html.escape(a["event_type"] or ""),
                html.escape(a["detail"]),
                a["repeats"],
            )
            for a in self.snapshot()
        )
        return (
            "<!doctype html><meta charset=utf-8><title>vkyc webhook sink</title>"
            "<h1>vkyc webhook sink</h1><p>Newest first; <a href=/events.json>JSON</a>.</p>"
            "<table border=1 cellpadding=4><tr><th>at</th><th>to</th><th>signature</th><th>event</th>"
            f"<th>resource</th><th>repeats</th></tr>{rows}</table>"
        )


def _handler(sink: WebhookSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1 << 20))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = sink.receive(self.path, headers, body)
            self._send(status, "application/json", json.dumps(answer).encode())

        def do_GET(self) -> None:
            if self.path.startswith("/events.json"):
                self._send(200, "application/json", json.dumps(sink.snapshot()).encode())
            else:
                self._send(200, "text/html; charset=utf-8", sink.page().encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
