"""A webhook receiver for benchmarks and tests: a real HTTP server on a port of its own, whose answers
the caller scripts (``ok``, ``500``, a ``hang`` longer than the sender's timeout, and closing its port so
that the next connection is refused), recording each arrival with its time."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Arrival:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: str
    at: float = field(default_factory=time.perf_counter)

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """A webhook receiver on a port of its own. ``script`` is what it answers to each request in
    turn (``ok``, ``500``, ``hang``); when it runs out, ``ok``."""

    script: list[str] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.port = 0  # the first listen picks a free port; later ones reuse it
        self._server: ThreadingHTTPServer | None = None
        self.listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listen(self) -> None:
        """(Again) accept connections on the same port."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def close_port(self) -> None:
        """Stop listening: the next delivery's connection is refused."""
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self.close_port()

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> str:
        with self._lock:
            behaviour = self.script.pop(0) if self.script else "ok"
            self.arrivals.append(Arrival(path, headers, body, behaviour))
        if behaviour == "hang":
            self._release.wait(10)
        return behaviour

    def received(self, event_type: str | None = None, resource_id: str | None = None) -> list[Arrival]:
        with self._lock:
            found = list(self.arrivals)
        return [
            a
            for a in found
            if (event_type is None or a.event.get("type") == event_type)
            and (resource_id is None or a.event.get("resource", {}).get("id") == resource_id)
        ]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            behaviour = receiver.answer(self.path, {k: v for k, v in self.headers.items()}, body)
            status = 500 if behaviour == "500" else 200
            payload = b'{"ok": false}' if status == 500 else b'{"ok": true}'
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the sender gave up waiting (a hang)

    return Handler
