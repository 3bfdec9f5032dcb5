"""A tiny in-process fake of the signaling server and its REST auth, speaking the contract
(/tmp/spec/signaling_contract.md, ``vkyc.protocol``) well enough to test the SDK before the real
server exists: ``?token=``/``?resume=`` with 403 at the upgrade, hello → welcome, every later message
validated with ``CLIENT_MESSAGE`` and checked in the contract's order (fields, role, hello, MAC, ts,
seq), ping → pong, bye → ack and the end, agent.set_status → agent.status, the reconnect grace,
and controls to push, drop, replace and end a session.

The tests at the bottom check the fake itself with a plain websockets client, so the SDK tests that
pass through it mean something.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response

from vkyc.protocol import PROTOCOL_VERSION
from vkyc.protocol.errors import CATALOGUE
from vkyc.protocol.messages import CLIENT_ACTIONS, CLIENT_MESSAGE, Role
from vkyc.protocol.signing import b64url, sign, verify

WINDOW = 1000
MAX_SKEW_MS = 60_000


@dataclass
class FakeSession:
    session_id: str
    role: Role
    principal_id: str
    unit_id: str
    key: bytes
    resume_token: str
    last_seq: int = 0
    state: str = "ACTIVE"  # ACTIVE, DETACHED, ENDED
    connection: ServerConnection | None = None
    detached_at: float | None = None
    ended_reason: str | None = None


@dataclass
class FakeConn:
    """One socket: what its upgrade presented, and the session once hello is done."""

    connection: ServerConnection
    role: Role
    principal_id: str
    unit_id: str
    resuming: FakeSession | None
    session: FakeSession | None = None


@dataclass
class FakeServer:
    heartbeat_interval_s: int = 60
    reconnect_grace_s: int = 15
    renew_after_s: int = 6600
    clock_skew_ms: int = 0  # the fake's clock minus the real one
    hello_error: str | None = None  # answer session.hello with this error code
    refuse_resumes: bool = False  # 403 every ?resume= (as after the session ended)
    silent_actions: set[str] = field(default_factory=set)  # accepted, never answered
    slow_actions: dict[str, float] = field(default_factory=dict)  # answered after this many seconds
    resume_hello_delay_s: float = 0  # welcome a resuming socket after this many seconds

    tokens: dict[str, tuple[Role, str, str]] = field(default_factory=dict)
    sessions: dict[str, FakeSession] = field(default_factory=dict)
    upgrades: list[tuple[str, int]] = field(default_factory=list)  # ("token"|"resume"|"none", status)
    hellos: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (session_id, message)
    errors: list[dict[str, Any]] = field(default_factory=list)
    closes: list[tuple[str | None, int | None]] = field(default_factory=list)  # (session_id, close code)
    _server: Server | None = None
    _conns: dict[int, FakeConn] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await serve(
            self._handler, "127.0.0.1", 0, process_request=self._process_request, compression=None
        )

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def issue_token(
        self, role: Role = Role.MOBILE, principal_id: str = "dealer-1", unit_id: str = "1"
    ) -> str:
        token = secrets.token_urlsafe(16)
        self.tokens[token] = (role, principal_id, unit_id)
        return token

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_skew_ms

    # -- what tests look at -----------------------------------------------------------------------

    def only_session(self) -> FakeSession:
        assert len(self.sessions) == 1, self.sessions
        return next(iter(self.sessions.values()))

    def accepted_of(self, session_id: str, action: str | None = None) -> list[dict[str, Any]]:
        return [m for s, m in self.accepted if s == session_id and (action is None or m["action"] == action)]

    # -- controls ---------------------------------------------------------------------------------

    async def push(self, session: FakeSession, message: dict[str, Any]) -> None:
        assert session.connection is not None
        await session.connection.send(json.dumps(message))

    def drop(self, session: FakeSession) -> None:
        """Cut the session's socket from the server side (no close frame)."""
        assert session.connection is not None
        session.connection.transport.abort()

    async def replace(self, session: FakeSession) -> None:
        await self.push(
            session, {"action": "session.replaced", "code": "SESSION_REPLACED", "message": "Elsewhere."}
        )
        await self._end(session, "replaced")

    async def end(self, session: FakeSession, reason: str) -> None:
        await self.push(session, {"action": "session.ended", "reason": reason})
        await self._end(session, reason)

    async def _end(self, session: FakeSession, reason: str) -> None:
        session.state, session.ended_reason = "ENDED", reason
        if session.connection is not None:
            await session.connection.close()

    # -- the protocol -----------------------------------------------------------------------------

    def _resumable(self, resume_token: str) -> FakeSession | None:
        for session in self.sessions.values():
            if session.resume_token != resume_token or session.state == "ENDED":
                continue
            detached_at = session.detached_at
            if detached_at is not None and time.monotonic() - detached_at > self.reconnect_grace_s:
                session.state, session.ended_reason = "ENDED", "grace_expired"
                return None
            return session
        return None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        if "token" in query:
            grant = self.tokens.get(query["token"][0])
            if grant is not None:
                self.upgrades.append(("token", 101))
                self._conns[id(connection)] = FakeConn(connection, *grant, resuming=None)
                return None
            self.upgrades.append(("token", 403))
        elif "resume" in query:
            session = None if self.refuse_resumes else self._resumable(query["resume"][0])
            if session is not None:
                self.upgrades.append(("resume", 101))
                previous = session.connection
                if previous is not None:  # like the real server: a resume hangs up on the old socket
                    session.connection = None
                    task = asyncio.get_running_loop().create_task(previous.close())
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                self._conns[id(connection)] = FakeConn(
                    connection, session.role, session.principal_id, session.unit_id, resuming=session
                )
                return None
            self.upgrades.append(("resume", 403))
        else:
            self.upgrades.append(("none", 403))
        return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")

    async def _handler(self, connection: ServerConnection) -> None:
        conn = self._conns.pop(id(connection))
        try:
            async for frame in connection:
                text = frame if isinstance(frame, str) else frame.decode()
                replies = self._handle(conn, text)
                if replies and replies[0].get("action") == "session.welcome" and replies[0]["resumed"]:
                    await asyncio.sleep(self.resume_hello_delay_s)
                elif replies and replies[0].get("action") != "error":
                    await asyncio.sleep(self.slow_actions.get(json.loads(text)["action"], 0))
                for reply in replies:
                    await connection.send(json.dumps(reply))
                    if reply.get("action") == "ack" and conn.session and conn.session.state == "ENDED":
                        await connection.close()
        except ConnectionClosed:
            pass
        finally:
            session = conn.session
            self.closes.append((session.session_id if session else None, connection.close_code))
            if session is not None and session.connection is connection and session.state == "ACTIVE":
                session.state, session.detached_at, session.connection = "DETACHED", time.monotonic(), None

    def _error(self, code: str, request_id: Any, detail: str = "") -> dict[str, Any]:
        assert code in CATALOGUE
        error = {
            "action": "error",
            "code": code,
            "message": f"{CATALOGUE[code].message} {detail}".strip(),
            "request_id": request_id if isinstance(request_id, str) else None,
            "call_id": None,
        }
        self.errors.append(error)
        return error

    def _handle(self, conn: FakeConn, text: str) -> list[dict[str, Any]]:
        try:
            data = json.loads(text)
        except ValueError:
            return [self._error("BAD_JSON", None)]
        if not isinstance(data, dict):
            return [self._error("BAD_MESSAGE", None)]
        request_id = data.get("request_id")
        action = data.get("action")
        if not isinstance(action, str) or action not in CLIENT_ACTIONS:
            return [self._error("UNKNOWN_ACTION", request_id)]
        try:
            message = CLIENT_MESSAGE.validate_python(data)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"][1:])
            return [self._error("BAD_MESSAGE", request_id, f"Field: {where}.")]
        if conn.role not in type(message).ROLES:
            return [self._error("FORBIDDEN_ACTION", request_id)]
        if action == "session.hello":
            return [self._hello(conn, data)]
        session = conn.session
        if session is None or session.connection is not conn.connection:
            return [self._error("HELLO_REQUIRED", request_id)]
        if not verify(session.key, data):
            return [self._error("MAC_INVALID", request_id)]
        if abs(data["ts"] - self.now_ms()) > MAX_SKEW_MS:
            return [self._error("MESSAGE_EXPIRED", request_id)]
        if data["seq"] <= session.last_seq:
            return [self._error("SEQ_REPLAYED", request_id)]
        if data["seq"] > session.last_seq + WINDOW:
            return [self._error("SEQ_OUT_OF_WINDOW", request_id)]
        session.last_seq = data["seq"]
        self.accepted.append((session.session_id, data))
        if action in self.silent_actions:
            return []
        if action == "ping":
            return [{"action": "pong", "request_id": request_id, "server_time_ms": self.now_ms()}]
        if action == "session.bye":
            session.state, session.ended_reason = "ENDED", "bye"
            return [{"action": "ack", "request_id": request_id}]
        if action == "agent.set_status":
            return [
                {
                    "action": "agent.status",
                    "request_id": request_id,
                    "agent_id": session.principal_id,
                    "status": data["status"].upper(),
                    "since_ms": self.now_ms(),
                }
            ]
        if action == "monitor.snapshot":
            return [{"action": "monitor.agents", "request_id": request_id, "agents": []}]
        return [{"action": "ack", "request_id": request_id}]

    def _hello(self, conn: FakeConn, data: dict[str, Any]) -> dict[str, Any]:
        self.hellos.append(data)
        if self.hello_error is not None:
            return self._error(self.hello_error, data["request_id"])
        if conn.resuming is not None:
            session = conn.resuming
            if session.state == "ENDED":
                return self._error("SESSION_ENDED", data["request_id"])
            resumed = True
        else:
            session = FakeSession(
                session_id=f"s-{len(self.sessions) + 1}",
                role=conn.role,
                principal_id=conn.principal_id,
                unit_id=conn.unit_id,
                key=secrets.token_bytes(32),
                resume_token="",
            )
            self.sessions[session.session_id] = session
            resumed = False
        session.state, session.connection, session.detached_at = "ACTIVE", conn.connection, None
        session.resume_token = secrets.token_urlsafe(24)  # like the real server: a fresh one per hello
        conn.session = session
        return {
            "action": "session.welcome",
            "request_id": data["request_id"],
            "protocol": PROTOCOL_VERSION,
            "session_id": session.session_id,
            "role": session.role.value,
            "principal_id": session.principal_id,
            "unit_id": session.unit_id,
            "session_key": b64url(session.key),
            "resume_token": session.resume_token,
            "resumed": resumed,
            "last_seq": session.last_seq,
            "server_time_ms": self.now_ms(),
            "heartbeat_interval_s": self.heartbeat_interval_s,
            "reconnect_grace_s": self.reconnect_grace_s,
            "renew_after_s": self.renew_after_s,
        }


@asynccontextmanager
async def fake_server(**options: Any) -> AsyncIterator[FakeServer]:
    server = FakeServer(**options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextmanager
def fake_server_in_thread(**options: Any) -> Iterator[FakeServer]:
    """The fake on its own event loop in a thread, for code that runs ``asyncio.run`` itself (the CLI)."""
    server = FakeServer(**options)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


# -- the REST side: /auth/mobile, /auth/login, /auth/node ------------------------------------------

API_KEYS = {"key-unit-1": "1"}
DOSSIERS = {"HS-KV1-0001": "1", "HS-KV2-0001": "2"}
USERS = {"agent1": ("pw-agent1", Role.AGENT, "1", "A-1"), "super1": ("pw-super1", Role.SUPERVISOR, "1", None)}
NODE_KEY = "node-key"


class FakeRest:
    """``ThreadingHTTPServer`` on a free port answering the three auth routes like the contract."""

    def __init__(self, ws: FakeServer) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                length = int(self.headers.get("content-length", 0))
                status, body = fake.answer(self.path, self.headers, self.rfile.read(length))
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.ws = ws
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeRest:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _err(code: str, detail: str = "") -> tuple[int, dict[str, Any]]:
        info = CATALOGUE[code]
        return info.http_status, {"code": code, "message": f"{info.message} {detail}".strip()}

    def answer(self, path: str, headers: Any, raw: bytes) -> tuple[int, dict[str, Any] | bytes]:
        if path.startswith("/broken/"):
            return 502, b"<html>bad gateway</html>"
        try:
            body = json.loads(raw)
        except ValueError:
            return self._err("BAD_JSON")
        if not isinstance(body, dict):
            return self._err("BAD_MESSAGE")
        if path == "/auth/mobile":
            key = headers.get("x-api-key")
            if key is None:
                return self._err("AUTH_REQUIRED")
            if key not in API_KEYS:
                return self._err("API_KEY_INVALID")
            dossier = body.get("dossier_id")
            if dossier not in DOSSIERS:
                return self._err("NOT_FOUND")
            if DOSSIERS[dossier] != API_KEYS[key]:
                return self._err("DOSSIER_OTHER_UNIT")
            token = self.ws.issue_token(Role.MOBILE, str(body.get("dealer_account")), API_KEYS[key])
            grant = {"token": token, "expires_in_s": 600, "role": "mobile", "unit_id": API_KEYS[key]}
            return 200, {**grant, "ws_url": self.ws.url}
        if path == "/auth/login":
            user = USERS.get(str(body.get("username")))
            if user is None or user[0] != body.get("password"):
                return self._err("INVALID_CREDENTIALS")
            _, role, unit, agent_id = user
            token = self.ws.issue_token(role, agent_id or str(body["username"]), unit)
            grant = {"token": token, "expires_in_s": 43200, "role": role.value, "unit_id": unit}
            return 200, {**grant, "agent_id": agent_id, "ws_url": self.ws.url}
        if path == "/auth/node":
            if body.get("node_key") != NODE_KEY:
                return self._err("INVALID_CREDENTIALS")
            token = self.ws.issue_token(Role.MEDIA, str(body.get("node_id")), "*")
            return 200, {
                "token": token,
                "expires_in_s": 86400,
                "role": "media",
                "unit_id": "*",
                "ws_url": self.ws.url,
            }
        return 403, {"message": "Missing Authentication Token"}


# -- the fake checked with a plain websockets client --------------------------------------------------


async def _hello(ws: Any, request_id: str = "h-1") -> dict[str, Any]:
    await ws.send(json.dumps({"action": "session.hello", "request_id": request_id, "protocol": 1}))
    return json.loads(await ws.recv())


def test_fake_refuses_upgrades_without_a_valid_credential():
    async def scenario() -> None:
        async with fake_server() as server:
            for query in ("", "?token=nope", "?resume=nope"):
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(server.url + query):
                        pass
                assert refused.value.response.status_code == 403
            assert [status for _, status in server.upgrades] == [403, 403, 403]

    asyncio.run(scenario())


def test_fake_checks_the_contract_in_order():
    async def scenario() -> None:
        async with fake_server() as server:
            token = server.issue_token()
            async with connect(f"{server.url}?token={token}") as ws:
                unsigned = {"action": "ping", "request_id": "p-0"}
                await ws.send(json.dumps(unsigned))
                assert json.loads(await ws.recv())["code"] == "BAD_MESSAGE"
                welcome = await _hello(ws)
                assert welcome["action"] == "session.welcome" and welcome["last_seq"] == 0
                key = server.only_session().key
                ping = {"action": "ping", "request_id": "p-1", "seq": 1, "ts": server.now_ms()}
                forged = {**sign(key, ping), "request_id": "p-2"}  # altered after signing
                for message, code in [
                    (forged, "MAC_INVALID"),
                    (sign(b"k" * 32, ping), "MAC_INVALID"),
                    (sign(key, {**ping, "ts": server.now_ms() - 61_000}), "MESSAGE_EXPIRED"),
                    (sign(key, {**ping, "seq": 1001}), "SEQ_OUT_OF_WINDOW"),
                    (
                        sign(key, {**ping, "action": "agent.set_status", "status": "available"}),
                        "FORBIDDEN_ACTION",
                    ),
                ]:
                    await ws.send(json.dumps(message))
                    reply = json.loads(await ws.recv())
                    assert reply["code"] == code, (message, reply)
                await ws.send(json.dumps(sign(key, ping)))
                assert json.loads(await ws.recv())["action"] == "pong"
                await ws.send(json.dumps(sign(key, ping)))
                assert json.loads(await ws.recv())["code"] == "SEQ_REPLAYED"
            assert [m["seq"] for _, m in server.accepted] == [1]

    asyncio.run(scenario())
