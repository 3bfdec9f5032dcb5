"""The emulator: one asyncio server for WebSocket clients and the ``@connections`` API.

Per connection, handler invocations run one at a time in arrival order on a thread pool (handlers
are synchronous and call back into ``@connections`` on this same server, so they must never run
on the event loop). ``$disconnect`` runs after the messages already received.

What matches API Gateway (and is tested): event shapes; route selection on
``$request.body.action`` falling back to ``$default``; a ``$connect`` handler that raises or
answers non-2xx refuses the upgrade with 403; a message handler that raises sends
``{"message": "Internal server error", ...}`` and keeps the socket; a message with no route and
no ``$default`` gets ``{"message": "Forbidden", ...}``; frames over 32 KB and messages over
128 KB close the socket with 1009; idle timeout (10 min) and maximum connection time (2 h) close
with 1001 (both configurable); ``@connections`` POST/GET/DELETE with 410 for unknown ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalice import Chalice

from local.apigw import events, http
from local.apigw.frames import (
    CloseCode,
    Opcode,
    ProtocolViolation,
    accept_key,
    encode_close,
    encode_frame,
    parse_close,
    read_frame,
)
from local.apigw.management import ManagementApi, is_management_path
from local.apigw.registry import Connection, ConnectionRegistry, new_connection_id
from local.invocations import GATE
from local.lambda_context import LambdaContext

log = logging.getLogger("local.apigw")

SPECIAL_ROUTES = frozenset({"$connect", "$disconnect", "$default"})
ABNORMAL_CLOSURE = 1006


@dataclass(frozen=True)
class Limits:
    """API Gateway's WebSocket quotas; tests shrink the timeouts."""

    max_message_bytes: int = 128 * 1024
    max_frame_bytes: int = 32 * 1024
    idle_timeout_s: float = 600.0
    max_connection_s: float = 7200.0
    handler_workers: int = 32
    close_handshake_s: float = 2.0


class _ConnectionClosed(Exception):
    pass


class WebSocketEmulator:
    """Serves ``app``'s websocket handlers at ``ws://{host}:{port}`` and ``@connections`` beside it.

    ``start()`` points ``app.websocket_api`` at this server, so the app's own ``send`` works.
    Port 0 picks a free port (read ``port`` after ``start()``).
    """

    def __init__(
        self,
        app: Chalice,
        host: str = "127.0.0.1",
        port: int = 3001,
        stage: str = "local",
        api_id: str | None = None,
        region: str = "ap-southeast-1",
        limits: Limits | None = None,
        aws_endpoint: str | None = None,
        route_responses: bool = False,
    ) -> None:
        self.app = app
        # API Gateway sends a handler's returned body back only on routes with a route response
        # (two-way routes). Chalice configures none, hence off by default.
        self.route_responses = route_responses
        self.host = host
        self.port = port
        self.stage = stage
        self.limits = limits or Limits()
        self.api_id = api_id or secrets.token_hex(5)
        self.region = region
        self.aws_endpoint = aws_endpoint
        self.registry = ConnectionRegistry()
        self.management = ManagementApi(
            self.registry, self._send, self._server_close, self.limits.max_message_bytes
        )
        self._pool = ThreadPoolExecutor(max_workers=self.limits.handler_workers, thread_name_prefix="lambda")
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def management_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api(self) -> events.ApiInfo:
        return events.ApiInfo(self.api_id, self.stage, f"{self.host}:{self.port}", self.region)

    async def start(self) -> None:
        from local.chalice_app import point_websocket_api_at

        self._server = await asyncio.start_server(
            self._on_client, self.host, self.port, limit=self.limits.max_frame_bytes + 64
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        point_websocket_api_at(self.app, self.management_url, self.aws_endpoint)
        log.info("websocket API on %s (stage %s)", self.url, self.stage)

    async def stop(self) -> None:
        """Close every socket, let the handlers still running finish (their ``@connections`` posts
        included: the listening socket closes last), then stop."""
        self._stopping = True
        sockets = {connection.writer for connection in self.registry}
        for connection in self.registry:
            await self._server_close(connection, CloseCode.GOING_AWAY, "Going away")
        # Idle keep-alive clients of @connections (boto3's pool) would wait forever: hang up on them.
        for writer in self._writers - sockets:
            writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.limits.close_handshake_s + 1)
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()

    # -- one TCP client: HTTP requests or one WebSocket ---------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve_http(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # the emulator must outlive any one client
            log.exception("unexpected error serving a client")
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await http.read_request(reader, self.limits.max_message_bytes)
            except http.PayloadTooLarge:
                writer.write(
                    http.json_response(
                        413,
                        {"message": "Message too long"},
                        {"x-amzn-ErrorType": "PayloadTooLargeException"},
                        keep_alive=False,
                    )
                )
                return
            except http.BadRequest as exc:
                writer.write(http.json_response(400, {"message": str(exc)}, keep_alive=False))
                return
            if request is None:
                return
            if request.header("upgrade").lower() == "websocket":
                await self._serve_websocket(request, reader, writer)
                return
            if is_management_path(request.path):
                writer.write(await self.management.handle(request))
            else:
                writer.write(
                    http.json_response(426, {"message": "Upgrade Required"}, keep_alive=request.keep_alive)
                )
            await writer.drain()
            if not request.keep_alive:
                return

    # -- handshake and $connect ------------------------------------------------------------------

    async def _serve_websocket(
        self, request: http.Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        key = request.header("sec-websocket-key")
        if request.method != "GET" or not key or request.header("sec-websocket-version") != "13":
            writer.write(http.json_response(400, {"message": "Bad WebSocket handshake"}, keep_alive=False))
            return
        if self._stopping:  # the handlers' pool is closing: nothing new is let in
            writer.write(http.json_response(503, {"message": "Service Unavailable"}, keep_alive=False))
            return
        peer = writer.get_extra_info("peername")
        source_ip = str(peer[0]) if peer else "127.0.0.1"
        connection = Connection(
            id=new_connection_id(),
            writer=writer,
            source_ip=source_ip,
            user_agent=request.header("user-agent"),
        )
        extra_headers: dict[str, str] = {}
        if "$connect" in self.app.websocket_handlers:
            event = events.connect_event(
                self.api, connection.id, connection.connected_at_ms, request.headers, request.query, source_ip
            )
            try:
                result = await self._invoke("$connect", event)
            except Exception:
                log.exception("$connect handler raised; refusing %s", connection.id)
                result = {"statusCode": 500}
            status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
            if not 200 <= status < 300:
                writer.write(http.json_response(403, {"message": "Forbidden"}, keep_alive=False))
                await writer.drain()
                return
            if isinstance(result, dict):
                extra_headers = {
                    k: str(v)
                    for k, v in (result.get("headers") or {}).items()
                    if k.lower() == "sec-websocket-protocol"
                }
        head = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept_key(key)}
        head.update(extra_headers)
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode("latin-1")
            + b"\r\n"
        )
        await writer.drain()
        self.registry.add(connection)
        await self._run_connection(connection, reader)

    # -- an open connection ----------------------------------------------------------------------

    async def _run_connection(self, connection: Connection, reader: asyncio.StreamReader) -> None:
        inbox: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()
        dispatcher = asyncio.create_task(self._dispatch(connection, inbox))
        watchdog = asyncio.create_task(self._watch(connection))
        status, reason = ABNORMAL_CLOSURE, "Connection closed abnormally"
        try:
            status, reason = await self._read_messages(connection, reader, inbox)
        except ProtocolViolation as exc:
            status, reason = int(exc.code), exc.reason
            await self._server_close(connection, exc.code, exc.reason)
        except (ConnectionError, asyncio.IncompleteReadError, _ConnectionClosed):
            pass
        except Exception:
            # A fault of the emulator itself must not cut the socket without a close code.
            log.exception("connection %s failed; closing it with 1011", connection.id)
            status, reason = int(CloseCode.INTERNAL_ERROR), "Internal server error"
            await self._server_close(connection, CloseCode.INTERNAL_ERROR, reason)
        finally:
            watchdog.cancel()
            if connection.close_code is not None:  # we started the close: that code is the story
                status, reason = connection.close_code, connection.close_reason
            connection.closing = True
            self.registry.remove(connection.id)
            if "$disconnect" in self.app.websocket_handlers:
                inbox.put_nowait(
                    (
                        "$disconnect",
                        events.disconnect_event(
                            self.api,
                            connection.id,
                            connection.connected_at_ms,
                            status,
                            reason,
                            connection.source_ip,
                            connection.user_agent,
                        ),
                    )
                )
            inbox.put_nowait(None)
            await dispatcher

    async def _read_messages(
        self,
        connection: Connection,
        reader: asyncio.StreamReader,
        inbox: asyncio.Queue[tuple[str, dict[str, Any]] | None],
    ) -> tuple[int, str]:
        """Read frames until a close; returns the close code and reason the client gave."""
        parts: list[bytes] = []
        size = 0
        message_opcode: Opcode | None = None
        while True:
            frame = await read_frame(reader, self.limits.max_frame_bytes)
            connection.last_active_at = time.time()
            if frame.opcode == Opcode.CLOSE:
                code, reason = parse_close(frame.payload)
                if not connection.closing:
                    await self._write(connection, encode_close(code if code != 1005 else 1000, reason))
                return code, reason
            if frame.opcode == Opcode.PING:
                await self._write(connection, encode_frame(Opcode.PONG, frame.payload))
                continue
            if frame.opcode == Opcode.PONG:
                continue
            if frame.opcode == Opcode.CONTINUATION:
                if message_opcode is None:
                    raise ProtocolViolation(CloseCode.PROTOCOL_ERROR, "continuation without a message")
            else:
                if message_opcode is not None:
                    raise ProtocolViolation(CloseCode.PROTOCOL_ERROR, "new message before the last ended")
                message_opcode = frame.opcode
            size += len(frame.payload)
            if size > self.limits.max_message_bytes:
                raise ProtocolViolation(
                    CloseCode.MESSAGE_TOO_BIG, f"message exceeds {self.limits.max_message_bytes} bytes"
                )
            parts.append(frame.payload)
            if not frame.fin:
                continue
            body = b"".join(parts)
            is_binary = message_opcode == Opcode.BINARY
            parts, size, message_opcode = [], 0, None
            if not is_binary:
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError:
                    raise ProtocolViolation(CloseCode.INVALID_DATA, "text message is not UTF-8") from None
            self._route(connection, body, is_binary, inbox)

    def _route(
        self,
        connection: Connection,
        body: bytes,
        is_binary: bool,
        inbox: asyncio.Queue[tuple[str, dict[str, Any]] | None],
    ) -> None:
        route_key = self.select_route(body, is_binary)
        event = events.message_event(
            self.api,
            connection.id,
            connection.connected_at_ms,
            route_key or "$default",
            body,
            is_binary,
            connection.source_ip,
            connection.user_agent,
        )
        if route_key is None:
            inbox.put_nowait(("!forbidden", event))
        else:
            inbox.put_nowait((route_key, event))

    def select_route(self, body: bytes, is_binary: bool) -> str | None:
        """``$request.body.action`` when it names a route, else ``$default``, else None (no route)."""
        handlers = self.app.websocket_handlers
        if not is_binary:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):  # API Gateway routes a body it cannot read to $default
                data = None
            if isinstance(data, dict):
                action = data.get("action")
                if isinstance(action, str) and action not in SPECIAL_ROUTES and action in handlers:
                    return action
        return "$default" if "$default" in handlers else None

    async def _dispatch(
        self, connection: Connection, inbox: asyncio.Queue[tuple[str, dict[str, Any]] | None]
    ) -> None:
        while (item := await inbox.get()) is not None:
            route_key, event = item
            context = event["requestContext"]
            if route_key == "!forbidden":
                await self._send_error(connection, "Forbidden", context["requestId"])
                continue
            try:
                result = await self._invoke(route_key, event)
                if self.route_responses and route_key != "$disconnect" and isinstance(result, dict):
                    body = result.get("body")
                    if body is not None and not connection.closing:
                        await self._send(connection, body.encode() if isinstance(body, str) else body)
            except Exception:
                log.exception("%s handler raised on connection %s", route_key, connection.id)
                if route_key != "$disconnect":
                    await self._send_error(connection, "Internal server error", context["requestId"])

    async def _send_error(self, connection: Connection, message: str, request_id: str) -> None:
        if connection.closing:
            return
        payload = {"message": message, "connectionId": connection.id, "requestId": request_id}
        with contextlib.suppress(ConnectionError, _ConnectionClosed):
            await self._send(connection, json.dumps(payload).encode())

    async def _watch(self, connection: Connection) -> None:
        """Close an idle or too-old connection the way API Gateway does (1001 Going away)."""
        limits = self.limits
        while True:
            now = time.time()
            idle_deadline = connection.last_active_at + limits.idle_timeout_s
            age_deadline = connection.connected_at + limits.max_connection_s
            if now >= idle_deadline or now >= age_deadline:
                await self._server_close(connection, CloseCode.GOING_AWAY, "Going away")
                return
            await asyncio.sleep(min(idle_deadline, age_deadline) - now)

    # -- writing ---------------------------------------------------------------------------------

    async def _write(self, connection: Connection, data: bytes) -> None:
        async with connection.write_lock:
            if connection.writer.is_closing():
                raise _ConnectionClosed(connection.id)
            connection.writer.write(data)
            await connection.writer.drain()

    async def _send(self, connection: Connection, data: bytes) -> None:
        try:
            data.decode("utf-8")
            opcode = Opcode.TEXT
        except UnicodeDecodeError:
            opcode = Opcode.BINARY
        await self._write(connection, encode_frame(opcode, data))

    async def _server_close(
        self, connection: Connection, code: int = CloseCode.NORMAL, reason: str = ""
    ) -> None:
        """Start the close handshake; the transport is cut if the client does not answer in time."""
        if connection.closing:
            return
        connection.closing = True
        connection.close_code, connection.close_reason = int(code), reason
        with contextlib.suppress(ConnectionError, _ConnectionClosed):
            await self._write(connection, encode_close(code, reason))
        loop = asyncio.get_running_loop()
        loop.call_later(self.limits.close_handshake_s, connection.writer.close)

    # -- invoking the app --------------------------------------------------------------------

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        config = self.app.websocket_handlers[route_key]
        handler = self.app.handler_map[config.name]
        context = LambdaContext(config.name)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            return await loop.run_in_executor(self._pool, _gated, handler, event, context)
        finally:
            log.debug(
                "%s %s %.1f ms",
                route_key,
                event["requestContext"]["connectionId"],
                (time.perf_counter() - started) * 1000,
            )


def _gated(handler: Any, event: dict[str, Any], context: LambdaContext) -> Any:
    with GATE.invocation():
        return handler(event, context)


class EmulatorThread:
    """Runs a ``WebSocketEmulator`` on its own event loop in a daemon thread (for sync callers)."""

    def __init__(self, emulator: WebSocketEmulator) -> None:
        self.emulator = emulator
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ws-emulator", daemon=True)

    def start(self) -> WebSocketEmulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self.loop).result(timeout=10)
        return self.emulator

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.emulator.stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


@contextlib.contextmanager
def running(emulator: WebSocketEmulator) -> Iterator[WebSocketEmulator]:
    thread = EmulatorThread(emulator)
    thread.start()
    try:
        yield emulator
    finally:
        thread.stop()
