"""REST routes of several Chalice apps and the static web client on one port (default 8000).

Each request goes to the first app that has a route for its path (through Chalice's own
``LocalGateway``, so routing, CORS, authorizers and error responses behave as under
``chalice local``); anything else is a file under ``web/``, sent with ``static_headers`` (the pages'
Content-Security-Policy: ``local/web_policy.py``); else a 404.

What this server answers itself (a body over API Gateway's 10 MB, a missing or bad ``Content-Length``,
a path nobody serves) is a catalogue error ``{code, message}`` (``vkyc.api.routes.error_response``), as
the apps answer. The event's ``requestContext.identity.sourceIp`` is the TCP peer's address, as API
Gateway fills it (Chalice's gateway would say 127.0.0.1 for everyone); headers such as
``X-Forwarded-For`` are passed through and never used for it.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException, RouteMatcher

from local.invocations import GATE
from vkyc.api.routes import error_response
from vkyc.protocol.errors import CATALOGUE, ProtocolError

log = logging.getLogger("local.rest")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's REST payload limit


class _PeerGateway(LocalGateway):
    """Chalice's local gateway with the caller's real address in ``identity.sourceIp``."""

    peer = threading.local()

    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = super()._generate_lambda_event(method, path, headers, body)
        event["requestContext"]["identity"]["sourceIp"] = getattr(self.peer, "address", "")
        return event


class _Mounted:
    def __init__(self, app: Chalice) -> None:
        self.app = app
        self.matcher = RouteMatcher(list(app.routes))
        config = Config.create(
            chalice_stage="local", app_name=app.app_name, lambda_timeout=60, lambda_memory_size=512
        )
        self.gateway = _PeerGateway(app, config)

    def matches(self, path: str) -> bool:
        try:
            self.matcher.match_route(path)
        except ValueError:
            return False
        return True


class RestServer:
    """``ThreadingHTTPServer`` in a daemon thread. Port 0 picks a free port."""

    def __init__(
        self,
        apps: list[Chalice],
        static_dir: Path | None,
        host: str = "127.0.0.1",
        port: int = 8000,
        static_headers: Mapping[str, str] | None = None,
        health: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.mounted = [_Mounted(app) for app in apps]
        self.health = health  # the local processes' states, added to the apps' GET /health
        self.static_dir = static_dir.resolve() if static_dir else None
        self.static_headers = dict(static_headers or {})
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self.host, self.port = host, int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="rest", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> RestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def static_file(self, path: str) -> Path | None:
        if self.static_dir is None:
            return None
        relative = path.split("?", 1)[0].lstrip("/") or "index.html"
        candidate = (self.static_dir / relative).resolve()
        if candidate.is_dir():
            candidate = candidate / "index.html"
        # No escaping the web root with '..' or symlinks.
        if self.static_dir not in candidate.parents or not candidate.is_file():
            return None
        return candidate


def _with_local_health(status: int, payload: bytes, local: dict[str, str]) -> tuple[int, bytes]:
    """The apps' ``/health`` answer with the local processes' states added (``local.supervisor``):
    503 ``SERVICE_UNAVAILABLE`` naming each one that is not ``ok``, as the apps name theirs."""
    failing = [f"{name}: {state}" for name, state in local.items() if state != "ok"]
    if status == 200 and not failing:
        answer = json.loads(payload)
        answer["checks"] = {**answer.get("checks", {}), **local}
        return 200, json.dumps(answer).encode()
    if not failing:
        return status, payload
    unavailable = CATALOGUE["SERVICE_UNAVAILABLE"].message
    before = json.loads(payload).get("message", "").removeprefix(unavailable).strip() if status != 200 else ""
    # Not through error_response: a restart under way is expected, not worth a logged warning.
    error = ProtocolError("SERVICE_UNAVAILABLE", "; ".join(filter(None, [before, *failing])))
    return error.info.http_status, json.dumps({"code": error.code, "message": error.message}).encode()


def _handler_for(server: RestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

        def _dispatch(self) -> None:
            length_text = self.headers.get("Content-Length", "0").strip()
            refusal = None
            if self.headers.get("Transfer-Encoding"):
                refusal = ProtocolError("BAD_MESSAGE", "Send the body with a Content-Length, not chunked.")
            elif not length_text.isdigit():
                refusal = ProtocolError("BAD_MESSAGE", "Content-Length is not a number of bytes.")
            elif int(length_text) > MAX_BODY_BYTES:
                refusal = ProtocolError("PAYLOAD_TOO_LARGE", f"At most {MAX_BODY_BYTES} bytes.")
            if refusal is not None:
                # The body is left unread: the connection cannot carry another request.
                self.close_connection = True
                self._send_error(refusal, {"Connection": "close"})
                return
            body = self.rfile.read(int(length_text)) if int(length_text) else None
            path = self.path.split("?", 1)[0]
            for mounted in server.mounted:
                if mounted.matches(path):
                    self._from_gateway(mounted, body)
                    return
            if self.command in ("GET", "HEAD"):
                file = server.static_file(self.path)
                if file is not None:
                    self._send_file(file)
                    return
            self._send_error(ProtocolError("NOT_FOUND", f"No route or file {path[:200]!r}."))

        def _from_gateway(self, mounted: _Mounted, body: bytes | None) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            _PeerGateway.peer.address = self.client_address[0]
            try:
                with GATE.invocation():
                    response = mounted.gateway.handle_request(self.command, self.path, headers, body)
            except LocalGatewayException as exc:
                self._send(exc.CODE, dict(exc.headers), exc.body or b"")
                return
            status = int(response["statusCode"])
            out_headers = dict(response.get("headers") or {})
            payload = response.get("body") or b""
            if isinstance(payload, str):
                payload = payload.encode("utf-8")
            if server.health is not None and self.command == "GET" and self.path.split("?")[0] == "/health":
                status, payload = _with_local_health(status, payload, server.health())
            self._send(status, out_headers, payload, response.get("multiValueHeaders") or {})

        def _send_file(self, file: Path) -> None:
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            data = file.read_bytes()
            headers = {"Content-Type": content_type, "Cache-Control": "no-cache", **server.static_headers}
            self._send(200, headers, data)

        def _send_error(self, error: ProtocolError, headers: dict[str, str] | None = None) -> None:
            answer = error_response(error)
            self._send(
                answer.status,
                {"Content-Type": "application/json", **answer.headers, **(headers or {})},
                json.dumps(answer.body).encode(),
            )

        def _send(
            self, status: int, headers: dict[str, str], body: bytes, multi: dict[str, list[str]] | None = None
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            for name, values in (multi or {}).items():
                if name not in headers:
                    for value in values:
                        self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

    return Handler
