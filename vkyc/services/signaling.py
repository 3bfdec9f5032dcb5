"""One WebSocket message in, one reply out: the signaling channel's single entry point and its router.

Checks, in this order, each refusing with its own code and writing nothing: the connection's message
allowance (RATE_LIMITED, ``vkyc.services.limits``) → JSON (BAD_JSON) → a known action
(UNKNOWN_ACTION) → fields (BAD_MESSAGE, naming the field) → the connection's role (FORBIDDEN_ACTION,
from the message class's ``ROLES``) → for signed messages: MAC (MAC_INVALID, or HELLO_REQUIRED before
the key went out) → ``ts`` within 60 s (MESSAGE_EXPIRED) → ``seq`` (SEQ_REPLAYED, SEQ_OUT_OF_WINDOW).
Only then does the action run.

Each message class has one handler (``Route``), registered by the composition root (``vkyc.wiring``):
a function of the connection, the message and the seq ticket that returns ``Done`` (the reply and the
effects of its commit, which the dispatcher runs before the reply goes out). A ``ticketed`` route's use
case accepts the message's ``seq`` inside the transaction of the action itself (a ``SeqTicket``), one
request less per message: its reads may run before the seq is checked, but nothing is written unless it
is accepted, and a refused seq is still the error the client is told. Every other route has its seq
accepted first, by a request of its own.

Errors become replies in one place, through ``vkyc.services.failures`` (the same mapping as REST's).
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from vkyc.protocol import signing
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.jsontext import parse_object
from vkyc.protocol.messages import CLIENT_ACTIONS, Hello, Role
from vkyc.repositories import sessions as connections
from vkyc.repositories.sessions import SeqTicket, seq_refusal
from vkyc.repositories.tables import Session, WsConnection
from vkyc.repositories.transitions import TouchRejected
from vkyc.services.effects import Dispatcher, Done, Refused
from vkyc.services.failures import as_protocol_error, describe_validation, error_message
from vkyc.services.limits import ConnectionLimits
from vkyc.services.ports import Clock, utc_now
from vkyc.services.sessions import SessionService

log = logging.getLogger("vkyc.signaling")

TS_WINDOW_MS = 60_000
CONNECTION_CACHE_SIZE = 10_000
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


@dataclass(frozen=True)
class Outcome:
    """What the socket is sent: the reply, pushes after it, and whether to hang up then."""

    reply: dict[str, Any]
    close_after: bool = False  # hang up once the reply is sent (session.bye)
    after: tuple[dict[str, Any], ...] = ()  # pushes to this connection, sent after the reply


Handler = Callable[[WsConnection, Any, SeqTicket | None], Done[Any]]


@dataclass(frozen=True)
class Route:
    """The handler of one message class. ``ticketed``: its use case accepts the seq in its own
    transaction (it receives a ``SeqTicket``); otherwise it receives None, the seq accepted first."""

    handler: Handler
    ticketed: bool = False


def reply_of(value: Any) -> Outcome:
    """A handler's value as what the socket is sent: a message model is the reply; an ``Outcome`` is
    taken as is."""
    if isinstance(value, Outcome):
        return value
    if isinstance(value, BaseModel):
        return Outcome(value.model_dump(mode="json"))
    raise TypeError(f"a handler answered {type(value).__name__}, not a message")


class SignalingService:
    def __init__(
        self,
        sessions: SessionService,
        routes: Mapping[type[BaseModel], Route],
        dispatcher: Dispatcher,
        *,
        on_hello: Callable[[WsConnection], None] | None = None,
        clock: Clock = utc_now,
        limits: ConnectionLimits | None = None,
    ) -> None:
        missing = sorted(
            cls.__name__ for cls in CLIENT_ACTIONS.values() if cls is not Hello and cls not in routes
        )
        if missing:
            raise ValueError(f"no route for {', '.join(missing)}")
        self.sessions = sessions
        self.routes = dict(routes)
        self.dispatcher = dispatcher
        # After a welcome: what to read ahead for the session (a mobile's dossier, off the path to the
        # ring: ``InboundCalls.read_ahead``).
        self.on_hello = on_hello
        self.clock = clock
        self.limits = limits or ConnectionLimits()
        # A connection item never changes while its socket lives, so a warm container keeps it: a
        # signed message then costs one DynamoDB request (the conditional seq update), not two.
        self._connections: OrderedDict[str, WsConnection] = OrderedDict()

    def _connection(self, connection_id: str) -> WsConnection | None:
        cached = self._connections.get(connection_id)
        if cached is not None:
            return cached
        found = connections.find_connection(connection_id)
        if found is not None:
            self._connections[connection_id] = found
            if len(self._connections) > CONNECTION_CACHE_SIZE:
                self._connections.popitem(last=False)
        return found

    def forget(self, connection_id: str) -> None:
        """The socket is gone ($disconnect): drop its cached item and its message allowance."""
        self._connections.pop(connection_id, None)
        self.limits.forget(connection_id)

    def on_message(self, connection_id: str, body: str) -> Outcome:
        """The reply to one message (never raises): what its handler answered, or its error."""
        request_id: str | None = None
        try:
            # Counted before anything is read: a flood of garbage spends the allowance too.
            cached = self._connections.get(connection_id)
            self.limits.message(connection_id, cached.role if cached is not None else None)
            raw = parse_object(body)
            candidate = raw.get("request_id")
            request_id = candidate if isinstance(candidate, str) and _REQUEST_ID.match(candidate) else None
            return self._handle(connection_id, raw)
        except Refused as refused:
            self.dispatcher.run(refused.effects)
            return Outcome(error_message(self._error(refused.error, connection_id, request_id), request_id))
        except Exception as exc:
            return Outcome(error_message(self._error(exc, connection_id, request_id), request_id))

    @staticmethod
    def _error(exc: Exception, connection_id: str, request_id: str | None) -> ProtocolError:
        error = as_protocol_error(exc)
        if error.code == "INTERNAL_ERROR" and not isinstance(exc, ProtocolError):
            log.error("message on %s failed (request %s)", connection_id, request_id, exc_info=exc)
            return ProtocolError("INTERNAL_ERROR", f"request {request_id}")
        return error

    def _handle(self, connection_id: str, raw: dict[str, Any]) -> Outcome:
        action = raw.get("action")
        cls = CLIENT_ACTIONS.get(action) if isinstance(action, str) else None
        if cls is None:
            raise ProtocolError("UNKNOWN_ACTION", f"{str(action)[:64]!r} is not an action.")
        try:
            message = cls.model_validate(raw)
        except ValidationError as exc:
            raise ProtocolError("BAD_MESSAGE", describe_validation(exc)) from None
        connection = self._connection(connection_id)
        if connection is None:
            raise ProtocolError("SESSION_ENDED", "This connection carries no session; reconnect.")
        if Role(connection.role) not in cls.ROLES:
            raise ProtocolError("FORBIDDEN_ACTION", f"{action} is not an action of a {connection.role}.")
        if isinstance(message, Hello):
            self.limits.hello(connection_id)  # each hello writes: a flood of them must not
            welcome = self.sessions.hello(connection, message)
            if self.on_hello is not None:
                self.on_hello(connection)
            return Outcome(welcome.model_dump(mode="json"))
        route = self.routes[cls]
        self._authenticate(connection, raw, ticketed=route.ticketed)
        if route.ticketed:
            done = self._ticketed(
                connection, message, route, SeqTicket(connection.session_id, int(raw["seq"]))
            )
        else:
            done = route.handler(connection, message, None)
        self.dispatcher.run(done.effects)
        return reply_of(done.value)

    def _ticketed(self, connection: WsConnection, message: Any, route: Route, ticket: SeqTicket) -> Done[Any]:
        """Run a call action with its seq accepted in the action's transaction."""
        try:
            done = route.handler(connection, message, ticket)
        except TouchRejected as exc:
            if exc.name != "seq":
                raise
            stored = exc.stored if isinstance(exc.stored, Session) else None
            session = stored or self.sessions.sessions.find(connection.session_id)
            raise ProtocolError(seq_refusal(session, ticket.seq) or "STATE_CONFLICT") from None
        except Exception:
            if not ticket.accepted:
                # The client hears about its seq first: a replayed message is told so, not why the
                # action it repeats failed. (One read, on failures only.)
                refusal = seq_refusal(self.sessions.sessions.find(connection.session_id), ticket.seq)
                if refusal is not None:
                    raise ProtocolError(refusal) from None
            raise
        if not ticket.accepted:
            # The action wrote nothing (e.g. a no-op): the seq is still spent, as for any message.
            self._accept_seq(connection, ticket.seq)
        return done

    def _authenticate(self, connection: WsConnection, raw: dict[str, Any], *, ticketed: bool = False) -> None:
        key = signing.b64url_decode(connection.session_key)
        if not signing.verify(key, raw):
            session = self.sessions.sessions.find(connection.session_id)
            if session is not None and not session.key_delivered:
                raise ProtocolError("HELLO_REQUIRED")
            raise ProtocolError("MAC_INVALID")
        now_ms = int(self.clock().timestamp() * 1000)
        if abs(now_ms - int(raw["ts"])) > TS_WINDOW_MS:
            raise ProtocolError("MESSAGE_EXPIRED", f"Server time is {now_ms} ms.")
        if not ticketed:
            self._accept_seq(connection, int(raw["seq"]))

    def _accept_seq(self, connection: WsConnection, seq: int) -> None:
        if not self.sessions.sessions.accept_seq(connection.session_id, seq):
            session = self.sessions.sessions.find(connection.session_id)
            code = seq_refusal(session, seq) or "STATE_CONFLICT"
            last = f"Last accepted seq is {session.last_seq}." if session is not None else None
            raise ProtocolError(code, last if code.startswith("SEQ_") else None)
