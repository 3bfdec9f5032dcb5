"""``VkycClient``: one signaling session over the WebSocket API, for every role.

The mobile SDK, the agent page, supervisors and media nodes speak the same protocol with different
actions; this client is the reference implementation of its session layer (docs/protocol.md and
``vkyc.protocol`` are the contract; this module imports nothing else of vkyc). In order:

1. **Connect** to ``ws_url?token=<token>`` (a fresh session) or ``?resume=<resume_token>`` (the same
   session again). A refused credential is an HTTP 403 at the upgrade → ``ConnectError``.
2. **Hello**: the first message on every socket is ``session.hello`` (unsigned); the server answers
   ``session.welcome`` with the session key, the resume token, ``last_seq`` and the timers.
3. **Signed messages**: every later message is ``{action, request_id, seq, ts, **fields, mac}`` where
   ``seq`` counts up by one per message actually sent (continuing after ``welcome.last_seq``), ``ts``
   is the client clock in ms corrected by the welcome's ``server_time_ms``, and ``mac`` is
   ``vkyc.protocol.signing.mac(session_key, message)``. The reply carries the same ``request_id``;
   ``error`` replies raise ``ServerError``. Messages without a ``request_id`` are **pushes**, queued
   for ``next_push()``.
4. **Keeping the session**: a ``ping`` every ``heartbeat_interval_s``. After ``renew_after_s`` (before
   API Gateway's 2-hour socket cap) the socket is renewed: sending pauses, replies still owed on the
   old socket are awaited, then a new socket resumes the session (the server hangs up on the old
   one) and queued requests go out on it. When the socket drops, it is re-opened with the resume
   token, with a short backoff, until ``reconnect_grace_s`` has passed (then the session is lost).
   Every welcome carries a fresh resume token: the client always keeps the latest.
5. **Media** (issue #5): ``media_offer`` and ``media_snapshot`` send ``media.offer`` /
   ``media.snapshot``, which the server acknowledges at once and answers later with a push carrying
   the same ``request_id`` (``media.answer`` / ``media.snapshot_taken``, or an ``error``):
   ``request_then`` waits for that. ``sdk.media.connect_media`` connects a ``MediaPeer`` with them.
6. **Ending**: ``close()`` sends ``session.bye``. A ``session.replaced`` or ``session.ended`` push ends
   the client too. Once ended, every call raises ``SessionLost``.

Typical use::

    grant = await login(rest_url, "tdv1.kv1", "demo-tdv1-kv1")
    async with VkycClient.open(grant.ws_url, token=grant.token) as client:
        status = await client.request("agent.set_status", status="available")
        push = await client.next_push("agent.status", timeout=30)

Not thread-safe: use a client from the event loop that opened it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Collection, Generator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from sdk.errors import (
    ConnectError,
    ConnectionInterrupted,
    NotConnected,
    RequestTimeout,
    SdkError,
    ServerError,
    SessionLost,
)
from vkyc.protocol import PROTOCOL_VERSION
from vkyc.protocol.messages import (
    SERVER_MESSAGE,
    Error,
    MediaAnswer,
    MediaSnapshotTaken,
    Pong,
    ServerMessage,
    SessionEnded,
    SessionReplaced,
    Welcome,
)
from vkyc.protocol.signing import b64url_decode, sign

log = logging.getLogger("vkyc.sdk")

DEFAULT_CLIENT_NAME = "vkyc-sdk-py/0.1"
ENVELOPE_FIELDS = frozenset({"action", "request_id", "seq", "ts", "mac"})
"""Set by the client on every signed message; ``request(**fields)`` may not set them."""
MAX_QUEUED_PUSHES = 1000
"""Pushes nobody reads are kept up to this many; older ones are dropped with a warning."""
RESUME_BACKOFF_S = (0.05, 0.1, 0.2, 0.5, 1.0)
"""Delays between resume attempts after a drop (the last one repeats until the grace is over)."""
BYE_TIMEOUT_S = 2.0
RENEW_RETRY_S = 30.0


@dataclass(frozen=True)
class UnknownMessage:
    """A server message that ``vkyc.protocol.messages`` does not describe (a newer server, an API
    Gateway ``Internal server error`` frame). Delivered like any other message so nothing is lost;
    ``data`` is the JSON object as received, ``action`` its ``action`` (``""`` when it has none).
    """

    action: str
    data: dict[str, Any]

    @property
    def request_id(self) -> str | None:
        value = self.data.get("request_id")
        return value if isinstance(value, str) else None


Incoming: TypeAlias = ServerMessage | UnknownMessage
"""What the client hands out: a parsed ``vkyc.protocol.messages`` model, or ``UnknownMessage``."""
ReplyT = TypeVar("ReplyT")


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set, at most ``timeout`` seconds; whether it was set. Through
    ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11 ``wait_for`` swallows a cancellation
    that comes as the event is set (a push arriving as the user presses Ctrl-C), and the task then goes
    on waiting as if never cancelled."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()


def action_of(message: Incoming) -> str:
    """The ``action`` of a received message."""
    return message.action if isinstance(message, UnknownMessage) else str(message.action)


def parse_server_message(text: str) -> Incoming | None:
    """Parse one frame with ``SERVER_MESSAGE``; ``None`` when it is not a JSON object at all."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        parsed: Incoming = SERVER_MESSAGE.validate_python(data)
    except ValidationError:
        action = data.get("action")
        return UnknownMessage(action if isinstance(action, str) else "", data)
    return parsed


def _server_error(message: Incoming) -> ServerError | None:
    if isinstance(message, Error):
        return ServerError(message.code, message.message, message.request_id, message.call_id)
    if isinstance(message, UnknownMessage) and message.action == "error":
        data = message.data
        call_id = data.get("call_id")
        return ServerError(
            str(data.get("code") or "INTERNAL_ERROR"),
            str(data.get("message") or ""),
            message.request_id,
            call_id if isinstance(call_id, str) else None,
        )
    return None


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"token", "resume"}]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass(eq=False)
class _Link:
    """One socket of the session. A session outlives its sockets (renewal, resume)."""

    ws: ClientConnection
    number: int
    reader: asyncio.Task[None] | None = None
    resume_on_loss: bool = True  # False: closed on purpose (close, renewal, drop(resume=False))
    closed: bool = False


@dataclass(eq=False)
class _Pending:
    action: str
    future: asyncio.Future[Incoming]
    link: _Link


@dataclass(eq=False)
class _Followup:
    """The later answer ``request_then`` waits for (after the ``ack`` of its request)."""

    actions: frozenset[str]
    future: asyncio.Future[Incoming]


@dataclass
class _Settings:
    client_name: str
    heartbeat: bool
    auto_resume: bool
    heartbeat_interval_s: float | None
    renew_after_s: float | None
    request_timeout_s: float
    connect_timeout_s: float
    on_message: Callable[[Incoming], None] | None = field(default=None, repr=False)


class VkycClient:
    """One signaling session. Create it with ``await VkycClient.open(...)`` (or ``async with``).

    After ``open`` returns: ``welcome`` is the last ``session.welcome`` (renewed on every resume),
    ``session_key`` the key as bytes, ``resume_token`` the token for ``?resume=``, ``last_seq`` the
    ``seq`` of the last message sent (or the welcome's, if higher). ``state`` is ``connected``,
    ``reconnecting`` (auto-resume under way: requests wait for it), ``disconnected`` (no socket and no
    auto-resume: requests raise ``NotConnected``) or ``ended`` (everything raises ``SessionLost``).
    """

    welcome: Welcome

    def __init__(self, ws_url: str, settings: _Settings) -> None:
        """Internal: use ``VkycClient.open``."""
        self.ws_url = ws_url
        self.settings = settings
        self.session_key = b""
        self.resume_token = ""
        self.last_seq = 0
        self.clock_offset_ms = 0
        """``welcome.server_time_ms`` minus the local clock when the welcome arrived; added to ``ts``."""
        self.reconnects = 0
        """How many times the session was re-attached to a new socket (drops resumed, renewals)."""
        self._link: _Link | None = None
        self._links: set[_Link] = set()
        self._link_numbers = itertools.count(1)
        self._request_numbers = itertools.count(1)
        self._request_prefix = secrets.token_hex(4)
        self._pending: dict[str, _Pending] = {}
        self._followups: dict[str, _Followup] = {}
        self._pushes: deque[Incoming] = deque()
        self._raw: asyncio.Queue[str] = asyncio.Queue()
        self._capture_raw = False
        self._switching = False
        self._changed = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._ended: SessionLost | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._resume_task: asyncio.Task[None] | None = None
        self._closing_links: asyncio.Task[None] | None = None

    # -- opening ------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        ws_url: str,
        *,
        token: str | None = None,
        resume_token: str | None = None,
        client_name: str = DEFAULT_CLIENT_NAME,
        heartbeat: bool = True,
        auto_resume: bool = True,
        heartbeat_interval_s: float | None = None,
        renew_after_s: float | None = None,
        request_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        on_message: Callable[[Incoming], None] | None = None,
    ) -> _Opening:
        """Connect, say hello and wait for the welcome. Await it, or use it with ``async with``.

        Give exactly one of ``token`` (from ``sdk.auth``: a fresh session) and ``resume_token`` (take
        over an existing session, as a reloaded page does). ``heartbeat``: send ``ping`` every
        ``heartbeat_interval_s`` (default: the welcome's). ``auto_resume``: re-open a dropped socket
        with the resume token until the reconnect grace is over. ``renew_after_s`` overrides the
        welcome's renewal delay (tests). ``on_message`` is called with every message received
        (replies and pushes, in arrival order; it must not block). Raises ``ConnectError`` (refused
        or unreachable) or ``ServerError`` (hello refused, e.g. ``UNSUPPORTED_PROTOCOL``).
        """
        if (token is None) == (resume_token is None):
            raise ValueError("give exactly one of token= and resume_token=")
        settings = _Settings(
            client_name=client_name,
            heartbeat=heartbeat,
            auto_resume=auto_resume,
            heartbeat_interval_s=heartbeat_interval_s,
            renew_after_s=renew_after_s,
            request_timeout_s=request_timeout_s,
            connect_timeout_s=connect_timeout_s,
            on_message=on_message,
        )
        query = {"token": token} if token is not None else {"resume": str(resume_token)}
        return _Opening(cls(ws_url, settings), query)

    async def _start(self, query: dict[str, str]) -> VkycClient:
        link, welcome = await self._connect(query)
        self._attach(link, welcome)
        if self.settings.heartbeat:
            self._heartbeat_task = asyncio.create_task(self._heartbeat_loop(), name="vkyc-sdk-heartbeat")
        return self

    async def __aenter__(self) -> VkycClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- what the session is ------------------------------------------------------------------------

    @property
    def session_id(self) -> str:
        return self.welcome.session_id

    @property
    def role(self) -> str:
        return str(self.welcome.role)

    @property
    def state(self) -> str:
        """``connected``, ``reconnecting``, ``disconnected`` or ``ended`` (see the class docstring)."""
        if self._ended is not None:
            return "ended"
        if self._link is not None:
            return "connected"
        if self._reconnecting():
            return "reconnecting"
        return "disconnected"

    @property
    def ended(self) -> SessionLost | None:
        """Why the session ended, or None while it lives."""
        return self._ended

    # -- requests -----------------------------------------------------------------------------------

    def signed(
        self,
        action: str,
        /,
        *,
        seq: int | None = None,
        ts: int | None = None,
        request_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """The message ``request`` would send: ``{action, request_id, seq, ts, **fields, mac}``.

        Sends nothing and consumes no ``seq`` (the default is ``last_seq + 1``). ``request`` uses it;
        tests use it with ``send_raw`` to replay, alter or back-date a correctly signed message.
        """
        reserved = ENVELOPE_FIELDS & fields.keys()
        if reserved:
            raise TypeError(f"{sorted(reserved)} are set by the client, not passed as fields")
        if not self.session_key:
            raise NotConnected()
        message: dict[str, Any] = {
            "action": action,
            "request_id": request_id if request_id is not None else self.new_request_id(),
            "seq": seq if seq is not None else self.last_seq + 1,
            "ts": ts if ts is not None else self.now_ms(),
            **fields,
        }
        return sign(self.session_key, message)

    def new_request_id(self) -> str:
        """A request id unique to this client: ``<8 random hex>-<counter>`` (the contract allows
        ``[A-Za-z0-9_.:-]``, 1..64 characters)."""
        return f"{self._request_prefix}-{next(self._request_numbers)}"

    def now_ms(self) -> int:
        """The ``ts`` to put in a message: the local clock corrected by the welcome's server time."""
        return _wall_ms() + self.clock_offset_ms

    async def request(self, action: str, /, **fields: Any) -> Incoming:
        """Send one signed message and return its reply (the server message with its request_id).

        ``seq`` is taken under a lock, so concurrent requests go out numbered in order, and only
        advances once the frame is written. While the session is reconnecting the request waits for
        it. Raises ``ServerError`` for an ``error`` reply (the connection stays usable),
        ``RequestTimeout`` after ``request_timeout_s``, ``ConnectionInterrupted`` when the socket dropped
        after sending (the server may have acted), ``NotConnected`` or ``SessionLost``.
        """
        return await self._request(action, fields, self.settings.request_timeout_s)

    async def _request(
        self, action: str, fields: dict[str, Any], timeout_s: float, request_id: str | None = None
    ) -> Incoming:
        reserved = ENVELOPE_FIELDS & fields.keys()
        if reserved:
            raise TypeError(f"{sorted(reserved)} are set by the client, not passed as fields")
        future: asyncio.Future[Incoming] = asyncio.get_running_loop().create_future()
        request_id = request_id or self.new_request_id()
        while True:
            link = await self._wait_for_link()
            async with self._send_lock:
                if link is not self._link:
                    continue  # swapped while we waited for the lock
                seq = self.last_seq + 1
                message = self.signed(action, seq=seq, request_id=request_id, **fields)
                self._pending[request_id] = _Pending(action, future, link)
                try:
                    await link.ws.send(json.dumps(message, ensure_ascii=False))
                except ConnectionClosed:
                    # Not sent: let the reader notice the drop, then retry on the next socket.
                    self._pending.pop(request_id, None)
                    if link.reader is not None:
                        await asyncio.wait([link.reader])
                    continue
                self.last_seq = seq
            break
        try:
            async with asyncio.timeout(timeout_s):
                reply = await future
        except TimeoutError:
            raise RequestTimeout(action, request_id, timeout_s) from None
        finally:
            self._pending.pop(request_id, None)
        error = _server_error(reply)
        if error is not None:
            raise error
        return reply

    async def request_as(self, reply_type: type[ReplyT], action: str, /, **fields: Any) -> ReplyT:
        """``request``, checking the reply's type: ``await client.request_as(Pong, "ping")``.

        Raises ``SdkError("BAD_RESPONSE")`` when the server answered with another message.
        """
        reply = await self.request(action, **fields)
        if not isinstance(reply, reply_type):
            raise SdkError(
                "BAD_RESPONSE", f"{action} answered by {action_of(reply)!r}, not {reply_type.__name__}"
            )
        return reply

    async def request_then(
        self, action: str, final: Collection[str], /, timeout_s: float | None = None, **fields: Any
    ) -> Incoming:
        """Send a message the server answers with ``ack`` at once and with one of ``final`` later
        (``media.offer`` → ``media.answer``): returns that later message, which carries the same
        ``request_id``. An ``error`` with it, before or after the ``ack``, raises ``ServerError``.
        ``timeout_s`` (default: the request timeout) bounds the wait for the later message. Either may
        arrive first: replies and pushes are separate messages."""
        request_id = self.new_request_id()
        future: asyncio.Future[Incoming] = asyncio.get_running_loop().create_future()
        self._followups[request_id] = _Followup(frozenset(final), future)
        try:
            await self._request(action, fields, self.settings.request_timeout_s, request_id)
            try:
                async with asyncio.timeout(timeout_s or self.settings.request_timeout_s):
                    reply = await future
            except TimeoutError:
                raise RequestTimeout(
                    action, request_id, timeout_s or self.settings.request_timeout_s
                ) from None
        finally:
            self._followups.pop(request_id, None)
        error = _server_error(reply)
        if error is not None:
            raise error
        return reply

    async def media_offer(self, call_id: str, sdp: str, *, timeout_s: float = 20.0) -> MediaAnswer:
        """``media.offer``: the party's complete WebRTC offer for the call's media node; returns the
        node's ``media.answer`` (its ``sdp`` is the answer to apply). Raises ``ServerError``
        (``MEDIA_*`` codes, ``CALL_NOT_FOUND``...) or ``RequestTimeout``."""
        reply = await self.request_then("media.offer", {"media.answer"}, timeout_s, call_id=call_id, sdp=sdp)
        if not isinstance(reply, MediaAnswer):
            raise SdkError("BAD_RESPONSE", f"media.offer answered by {action_of(reply)!r}")
        return reply

    async def media_snapshot(self, call_id: str, *, timeout_s: float = 15.0) -> MediaSnapshotTaken:
        """``media.snapshot`` (agents): the decision snapshot of the customer's video; returns
        ``media.snapshot_taken`` (``face_found`` false: ask the customer to face the camera and take it
        again). Its ``snapshot_id`` goes into ``call.decide``. Raises ``ServerError`` or
        ``RequestTimeout``."""
        reply = await self.request_then(
            "media.snapshot", {"media.snapshot_taken"}, timeout_s, call_id=call_id
        )
        if not isinstance(reply, MediaSnapshotTaken):
            raise SdkError("BAD_RESPONSE", f"media.snapshot answered by {action_of(reply)!r}")
        return reply

    async def ping(self) -> float:
        """One signed ``ping``; returns the round trip in milliseconds."""
        started = time.perf_counter()
        await self.request_as(Pong, "ping")
        return (time.perf_counter() - started) * 1000

    # -- pushes -------------------------------------------------------------------------------------

    async def next_push(self, action: str | None = None, timeout: float = 5.0) -> Incoming:
        """The oldest queued push (of ``action``, if given; others stay queued), waiting ≤ ``timeout`` s.

        Pushes queued before the session ended are still handed out (the ``session.replaced`` or
        ``session.ended`` that ended it among them); after that ``SessionLost`` is raised. Raises
        ``TimeoutError`` when nothing matching arrives in time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            for index, message in enumerate(self._pushes):
                if action is None or action_of(message) == action:
                    del self._pushes[index]
                    return message
            if self._ended is not None:
                raise self._lost()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {action or 'push'} within {timeout:g} s")
            await wait_event(changed, remaining)

    def drain_pushes(self) -> list[Incoming]:
        """Every queued push, oldest first, removing them from the queue."""
        pushes = list(self._pushes)
        self._pushes.clear()
        return pushes

    # -- test hooks ---------------------------------------------------------------------------------

    async def drop(self, *, resume: bool = True) -> None:
        """Test hook: cut the TCP connection now, with no close frame and no ``session.bye``, as when
        the network goes away. With ``resume=True`` the client then behaves as after a real loss
        (auto-resume, if enabled); with ``resume=False`` it stays ``disconnected`` until ``resume()``.
        Returns once the client has noticed the loss.
        """
        link = self._link
        if link is None:
            raise self._lost() if self._ended is not None else NotConnected()
        link.resume_on_loss = resume
        link.ws.transport.abort()
        if link.reader is not None:
            await asyncio.wait([link.reader])

    async def resume(self) -> Welcome:
        """Test hook (and what a reloaded page does): re-attach the session with ``?resume=`` now.

        From ``disconnected``/``reconnecting``: one attempt. From ``connected``: as a renewal (replies
        owed on the old socket are awaited, then a new socket resumes; the server hangs up on the
        old one). A 403 means the session had ended: the client ends (``SessionLost``) and the
        ``ConnectError`` (``status == 403``) is raised. Returns the new welcome.
        """
        if self._ended is not None:
            raise self._lost()
        self._cancel(self._resume_task)
        self._resume_task = None
        if self._link is not None:
            await self._switch_link()
            return self.welcome
        try:
            link, welcome = await self._connect({"resume": self.resume_token})
        except ConnectError as exc:
            if exc.status == 403:
                self._end(SessionLost("resume_refused", exc.message))
            raise
        if self._ended is not None:  # closed while connecting
            await self._close_link(link)
            raise self._lost()
        self._attach(link, welcome)
        return self.welcome

    async def send_raw(self, data: str | bytes) -> None:
        """Test hook: send one frame as is (no seq, no MAC), for fuzz and security tests. Turns raw
        capture on; the reply is seen by ``recv_raw`` only (its request_id is not one of ours)."""
        link = self._link
        if link is None:
            raise self._lost() if self._ended is not None else NotConnected()
        self._capture_raw = True
        try:
            await link.ws.send(data)
        except ConnectionClosed:
            raise NotConnected() from None

    async def recv_raw(self, timeout: float = 5.0) -> str:
        """Test hook: the next frame received (text; binary frames are decoded as UTF-8), as is.

        Raw capture starts with the first ``send_raw`` or ``recv_raw`` call; frames are still
        dispatched as usual (so heartbeat pongs show up here too: open with ``heartbeat=False``).
        Raises ``TimeoutError``.
        """
        self._capture_raw = True
        async with asyncio.timeout(timeout):
            return await self._raw.get()

    # -- closing ------------------------------------------------------------------------------------

    async def close(self) -> None:
        """End the session: ``session.bye`` (best effort, ≤ 2 s for its ``ack``), then close the
        socket. Idempotent; after it every call raises ``SessionLost`` (reason ``closed``)."""
        for task in (self._heartbeat_task, self._renew_task, self._resume_task):
            self._cancel(task)
        link = self._link
        if link is not None and self._ended is None:
            link.resume_on_loss = False
            with contextlib.suppress(SdkError):
                await self._request("session.bye", {}, BYE_TIMEOUT_S)
        self._end(SessionLost("closed", "the client closed the session"))
        if self._closing_links is not None:
            await asyncio.wait([self._closing_links])
        for task in (self._heartbeat_task, self._renew_task, self._resume_task):
            if task is not None and task is not asyncio.current_task():
                await asyncio.wait([task])

    # -- internals: sockets -------------------------------------------------------------------------

    async def _connect(self, query: dict[str, str]) -> tuple[_Link, Welcome]:
        """Open a socket and do the hello; the link is not attached (no reader) yet."""
        url = _with_query(self.ws_url, query)
        timeout_s = self.settings.connect_timeout_s
        try:
            ws = await connect(url, open_timeout=timeout_s, close_timeout=2, compression=None)
        except InvalidStatus as exc:
            status = exc.response.status_code
            why = " (token missing, malformed or expired, or the session ended)" if status == 403 else ""
            raise ConnectError(
                "HANDSHAKE_REFUSED", f"WebSocket upgrade refused with HTTP {status}{why}", status
            ) from None
        except InvalidURI as exc:
            raise ConnectError("BAD_URL", str(exc)) from None
        except InvalidHandshake as exc:
            raise ConnectError("BAD_RESPONSE", f"WebSocket handshake failed: {exc}") from None
        except (OSError, TimeoutError) as exc:
            raise ConnectError("UNREACHABLE", f"{self.ws_url}: {exc or type(exc).__name__}") from None
        link = _Link(ws, next(self._link_numbers))
        self._links.add(link)
        try:
            welcome = await self._hello(link, timeout_s)
        except BaseException:
            link.resume_on_loss = False
            ws.transport.abort()
            self._links.discard(link)
            raise
        return link, welcome

    async def _hello(self, link: _Link, timeout_s: float) -> Welcome:
        request_id = self.new_request_id()
        hello = {
            "action": "session.hello",
            "request_id": request_id,
            "protocol": PROTOCOL_VERSION,
            "client": self.settings.client_name,
        }
        try:
            async with asyncio.timeout(timeout_s):
                await link.ws.send(json.dumps(hello))
                while True:
                    message = self._receive(link, await link.ws.recv())
                    if message is None:
                        continue
                    reply_to = message.request_id if hasattr(message, "request_id") else None
                    if reply_to != request_id:
                        self._push(message)
                        continue
                    error = _server_error(message)
                    if error is not None:
                        raise error
                    if not isinstance(message, Welcome):
                        raise ConnectError(
                            "BAD_RESPONSE", f"session.hello answered by {action_of(message)!r}"
                        )
                    return message
        except TimeoutError:
            raise ConnectError("TIMEOUT", f"no session.welcome within {timeout_s:g} s") from None
        except ConnectionClosed as exc:
            raise ConnectError("UNREACHABLE", f"the socket closed before session.welcome ({exc})") from None

    def _attach(self, link: _Link, welcome: Welcome) -> None:
        """Make ``link`` the session's socket (first connect, resume, renewal) and start reading it."""
        first = self._link is None and not self.session_key
        self.welcome = welcome
        self.session_key = b64url_decode(welcome.session_key)
        self.resume_token = welcome.resume_token
        # Continue after the server's last accepted seq; never reuse a number of ours that may still be
        # in flight (the contract only needs seq > last accepted, within 1000).
        self.last_seq = max(self.last_seq, welcome.last_seq)
        self.clock_offset_ms = welcome.server_time_ms - _wall_ms()
        if not first:
            self.reconnects += 1
        self._link = link
        link.reader = asyncio.create_task(self._read(link), name=f"vkyc-sdk-reader-{link.number}")
        self._restart_renewal()
        self._notify()

    async def _read(self, link: _Link) -> None:
        try:
            async for frame in link.ws:
                message = self._receive(link, frame)
                if message is not None:
                    self._dispatch(link, message)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("vkyc-sdk: reader of socket %d failed; dropping it", link.number)
            link.ws.transport.abort()
        finally:
            self._on_link_lost(link)

    def _receive(self, link: _Link, frame: str | bytes) -> Incoming | None:
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        if self._capture_raw:
            self._raw.put_nowait(text)
        message = parse_server_message(text)
        if message is None:
            log.warning("vkyc-sdk: ignored a frame that is not a JSON object: %.200s", text)
            return None
        if isinstance(message, UnknownMessage):
            log.info("vkyc-sdk: a message this SDK does not know: %.200s", text)
        if self.settings.on_message is not None:
            try:
                self.settings.on_message(message)
            except Exception:
                log.exception("vkyc-sdk: on_message failed")
        return message

    def _dispatch(self, link: _Link, message: Incoming) -> None:
        request_id = message.request_id if hasattr(message, "request_id") else None
        followup = self._followups.get(request_id) if request_id is not None else None
        if followup is not None and not followup.future.done():
            # The later answer of ``request_then``; an error too once the ack came (before it, the
            # error refuses the request itself: it goes to the pending request below).
            action = action_of(message)
            if action in followup.actions or (action == "error" and request_id not in self._pending):
                followup.future.set_result(message)
                self._notify()
                return
        if request_id is not None:
            pending = self._pending.pop(request_id, None)
            if pending is not None and not pending.future.done():
                pending.future.set_result(message)
                self._notify()
            elif pending is None:
                log.debug("vkyc-sdk: reply to no pending request (%s): dropped", request_id)
            return
        if isinstance(message, SessionReplaced | SessionEnded):
            if link is not self._link:
                log.info("vkyc-sdk: %s on a replaced socket: ignored", message.action)
                return
            self._push(message)
            if isinstance(message, SessionReplaced):
                self._end(SessionLost("replaced", message.message, push=message))
            else:
                self._end(
                    SessionLost(f"ended:{message.reason}", "the server ended the session", push=message)
                )
            return
        self._push(message)

    def _push(self, message: Incoming) -> None:
        if len(self._pushes) >= MAX_QUEUED_PUSHES:
            dropped = self._pushes.popleft()
            log.warning("vkyc-sdk: push queue full; dropped the oldest (%s)", action_of(dropped))
        self._pushes.append(message)
        self._notify()

    def _on_link_lost(self, link: _Link) -> None:
        link.closed = True
        self._links.discard(link)
        # A reply comes on the socket its request was sent on: those still waiting will not get one.
        for request_id, pending in list(self._pending.items()):
            if pending.link is link:
                del self._pending[request_id]
                if not pending.future.done():
                    error = self._lost() if self._ended else ConnectionInterrupted(pending.action, request_id)
                    pending.future.set_exception(error)
        if link is self._link:
            self._link = None
            if not self._switching:  # a switch restarts the renewal timer itself
                self._cancel(self._renew_task)
            if self._ended is None and link.resume_on_loss and self.settings.auto_resume:
                self._start_resume()
        self._notify()

    def _start_resume(self) -> None:
        loop = asyncio.get_running_loop()
        self._resume_task = asyncio.create_task(self._resume_loop(loop.time()), name="vkyc-sdk-resume")

    async def _resume_loop(self, lost_at: float) -> None:
        """Re-open the socket with the resume token until the reconnect grace is over."""
        loop = asyncio.get_running_loop()
        grace_s = self.welcome.reconnect_grace_s
        deadline = lost_at + grace_s
        delays = itertools.chain(RESUME_BACKOFF_S, itertools.repeat(RESUME_BACKOFF_S[-1]))
        while self._ended is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                self._end(SessionLost("grace_expired", f"could not reconnect within {grace_s} s"))
                return
            try:
                async with asyncio.timeout(remaining):
                    link, welcome = await self._connect({"resume": self.resume_token})
            except ConnectError as exc:
                if exc.status == 403:
                    self._end(SessionLost("resume_refused", exc.message))
                    return
                log.info("vkyc-sdk: resume failed (%s); retrying", exc)
            except ServerError as exc:
                self._end(SessionLost("resume_refused", f"{exc.code}: {exc.message}"))
                return
            except TimeoutError:
                continue  # the deadline: the next turn ends the session
            else:
                if self._ended is not None or self._link is not None:  # closed, or resumed explicitly
                    await self._close_link(link)
                    return
                self._attach(link, welcome)
                return
            await asyncio.sleep(min(next(delays), max(0.0, deadline - loop.time())))

    async def _switch_link(self) -> None:
        """Move the session to a new socket (renewal, explicit resume while connected).

        Sending pauses (the send lock) and requests already sent on the old socket get their replies
        (up to the request timeout), because the server closes the old socket as soon as the new one
        presents the resume token. Then the new socket is opened and attached, and the old one closed.
        Requests made meanwhile wait and go out on the new socket.
        """
        async with self._send_lock:
            self._switching = True
            old = self._link
            try:
                if old is not None:
                    await self._drain(old)
                    old.resume_on_loss = False
                try:
                    link, welcome = await self._connect({"resume": self.resume_token})
                except BaseException as exc:
                    if old is not None:
                        old.resume_on_loss = True
                        lost = old.closed and self._link is None and self._ended is None
                        if lost and self.settings.auto_resume and not isinstance(exc, asyncio.CancelledError):
                            self._start_resume()  # the old socket died meanwhile: recover as after a drop
                    raise
                if self._ended is not None:
                    await self._close_link(link)
                    raise self._lost()
                self._cancel(self._resume_task)
                self._attach(link, welcome)
            finally:
                self._switching = False
                self._notify()
        if old is not None and not old.closed:
            await self._close_link(old)

    async def _drain(self, link: _Link) -> None:
        """Wait (≤ the request timeout) until no request sent on ``link`` awaits its reply."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.request_timeout_s
        while not link.closed and any(p.link is link for p in self._pending.values()):
            changed = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await wait_event(changed, remaining)

    async def _close_link(self, link: _Link) -> None:
        link.resume_on_loss = False
        with contextlib.suppress(Exception):
            await link.ws.close()
        if link.reader is not None:
            await asyncio.wait([link.reader])
        else:
            self._links.discard(link)

    async def _close_all_links(self) -> None:
        for link in list(self._links):
            await self._close_link(link)

    # -- internals: timers and ending -----------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while self._ended is None:
            await asyncio.sleep(self.settings.heartbeat_interval_s or self.welcome.heartbeat_interval_s)
            if self._link is None:
                continue  # reconnecting: the resume is the liveness check
            try:
                await self.request("ping")
            except SessionLost:
                return
            except SdkError as exc:
                log.info("vkyc-sdk: heartbeat ping failed: %s", exc)

    def _restart_renewal(self) -> None:
        self._cancel(self._renew_task)
        delay = self.settings.renew_after_s or self.welcome.renew_after_s
        self._renew_task = asyncio.create_task(self._renew_after(delay), name="vkyc-sdk-renew")

    async def _renew_after(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        while self._ended is None:
            try:
                await self._switch_link()  # attaching restarts the renewal timer
                return
            except SessionLost:
                return
            except SdkError as exc:
                log.warning("vkyc-sdk: socket renewal failed (%s); the current socket is kept", exc)
                await asyncio.sleep(min(RENEW_RETRY_S, delay_s))

    def _end(self, lost: SessionLost) -> None:
        if self._ended is not None:
            return
        self._ended = lost
        for task in (self._heartbeat_task, self._renew_task, self._resume_task):
            self._cancel(task)
        for request_id, pending in list(self._pending.items()):
            del self._pending[request_id]
            if not pending.future.done():
                pending.future.set_exception(self._lost())
        for followup in self._followups.values():
            if not followup.future.done():
                followup.future.set_exception(self._lost())
        if self._links:
            self._closing_links = asyncio.create_task(self._close_all_links(), name="vkyc-sdk-close")
        self._notify()

    def _lost(self) -> SessionLost:
        assert self._ended is not None
        return SessionLost(self._ended.reason, self._ended.detail, self._ended.push)

    @staticmethod
    def _cancel(task: asyncio.Task[None] | None) -> None:
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _notify(self) -> None:
        """Wake everything waiting on a state change (pushes, connection, end)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _reconnecting(self) -> bool:
        return self._switching or (self._resume_task is not None and not self._resume_task.done())

    async def _wait_for_link(self) -> _Link:
        while True:
            if self._ended is not None:
                raise self._lost()
            if self._link is not None:
                return self._link
            if not self._reconnecting():
                raise NotConnected()
            await self._changed.wait()


class _Opening:
    """What ``VkycClient.open`` returns: await it for the client, or ``async with`` it."""

    def __init__(self, client: VkycClient, query: dict[str, str]) -> None:
        self._client = client
        self._query = query

    def __await__(self) -> Generator[Any, None, VkycClient]:
        return self._client._start(self._query).__await__()

    async def __aenter__(self) -> VkycClient:
        return await self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.close()
