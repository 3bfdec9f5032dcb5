"""One WebSocket message in, one reply out: the signaling channel's single entry point.

Checks, in this order, each refusing with its own code and writing nothing: JSON (BAD_JSON) → a
known action (UNKNOWN_ACTION) → fields (BAD_MESSAGE, naming the field) → the connection's role
(FORBIDDEN_ACTION) → for signed messages: MAC (MAC_INVALID, or HELLO_REQUIRED before the key went
out) → ``ts`` within 60 s (MESSAGE_EXPIRED) → ``seq`` (SEQ_REPLAYED, SEQ_OUT_OF_WINDOW). Only then
does the action run. Errors become replies here and nowhere else.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.eligibility import NotEligible
from vkyc.domain.machine import IllegalTransition
from vkyc.domain.session import SessionState
from vkyc.protocol import signing
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import (
    CLIENT_ACTIONS,
    AgentRow,
    AgentSetStatus,
    AgentStatus,
    Bye,
    CallCancel,
    CallDecide,
    CallHangup,
    CallRequest,
    Hello,
    MonitorAgents,
    MonitorSnapshot,
    NodeHeartbeat,
    OfferAccept,
    OfferReject,
    Ping,
    Role,
)
from vkyc.repositories import sessions as connections
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.media_nodes import record_heartbeat
from vkyc.repositories.tables import WsConnection
from vkyc.repositories.transitions import transition
from vkyc.repositories.units import list_units
from vkyc.services.calls import CallService
from vkyc.services.ports import Clock, utc_now
from vkyc.services.sessions import SessionService

log = logging.getLogger("vkyc.signaling")

TS_WINDOW_MS = 60_000
CONNECTION_CACHE_SIZE = 10_000
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
STATUS_EVENTS = {"available": AgentEvent.READY, "unavailable": AgentEvent.BREAK, "offline": AgentEvent.LOGOUT}
STATUS_TARGETS = {
    "available": AgentState.AVAILABLE,
    "unavailable": AgentState.UNAVAILABLE,
    "offline": AgentState.OFFLINE,
}


@dataclass(frozen=True)
class Outcome:
    reply: dict[str, Any]
    close_after: bool = False  # hang up once the reply is sent (session.bye)


def error_reply(error: ProtocolError, request_id: str | None) -> dict[str, Any]:
    return {
        "action": "error",
        "code": error.code,
        "message": error.message,
        "request_id": request_id,
        "call_id": error.call_id,
    }


class SignalingService:
    def __init__(
        self,
        sessions: SessionService,
        calls: CallService,
        *,
        agents: AgentRepository | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.sessions = sessions
        self.calls = calls
        self.agents = agents or AgentRepository()
        self.clock = clock
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
        """The socket is gone ($disconnect): drop its cached item."""
        self._connections.pop(connection_id, None)

    def on_message(self, connection_id: str, body: str) -> Outcome:
        request_id: str | None = None
        try:
            raw = _parse(body)
            candidate = raw.get("request_id")
            request_id = candidate if isinstance(candidate, str) and _REQUEST_ID.match(candidate) else None
            return self._handle(connection_id, raw)
        except ProtocolError as exc:
            return Outcome(error_reply(exc, request_id))
        except NotEligible as exc:
            return Outcome(error_reply(ProtocolError(exc.code, str(exc)), request_id))
        except IllegalTransition as exc:
            return Outcome(error_reply(ProtocolError("ILLEGAL_TRANSITION", str(exc)), request_id))
        except TransitionConflict as exc:
            return Outcome(error_reply(ProtocolError("STATE_CONFLICT", str(exc)), request_id))
        except Exception:
            log.exception("message on %s failed (request %s)", connection_id, request_id)
            return Outcome(error_reply(ProtocolError("INTERNAL_ERROR", f"request {request_id}"), request_id))

    def _handle(self, connection_id: str, raw: dict[str, Any]) -> Outcome:
        action = raw.get("action")
        cls = CLIENT_ACTIONS.get(action) if isinstance(action, str) else None
        if cls is None:
            raise ProtocolError("UNKNOWN_ACTION", f"{str(action)[:64]!r} is not an action.")
        try:
            message = cls.model_validate(raw)
        except ValidationError as exc:
            raise ProtocolError("BAD_MESSAGE", _describe(exc)) from None
        connection = self._connection(connection_id)
        if connection is None:
            raise ProtocolError("SESSION_ENDED", "This connection carries no session; reconnect.")
        if Role(connection.role) not in cls.ROLES:
            raise ProtocolError("FORBIDDEN_ACTION", f"{action} is not an action of a {connection.role}.")
        if isinstance(message, Hello):
            return Outcome(self.sessions.hello(connection, message).model_dump(mode="json"))
        self._authenticate(connection, raw)
        return self._dispatch(connection, message)

    def _authenticate(self, connection: WsConnection, raw: dict[str, Any]) -> None:
        key = signing.b64url_decode(connection.session_key)
        if not signing.verify(key, raw):
            session = self.sessions.sessions.find(connection.session_id)
            if session is not None and not session.key_delivered:
                raise ProtocolError("HELLO_REQUIRED")
            raise ProtocolError("MAC_INVALID")
        now_ms = int(self.clock().timestamp() * 1000)
        if abs(now_ms - int(raw["ts"])) > TS_WINDOW_MS:
            raise ProtocolError("MESSAGE_EXPIRED", f"Server time is {now_ms} ms.")
        seq = int(raw["seq"])
        if not self.sessions.sessions.accept_seq(connection.session_id, seq):
            session = self.sessions.sessions.get(connection.session_id)
            if not session.key_delivered:
                raise ProtocolError("HELLO_REQUIRED")
            if session.state != SessionState.ACTIVE:
                raise ProtocolError("SESSION_ENDED")
            if seq <= session.last_seq:
                raise ProtocolError("SEQ_REPLAYED", f"Last accepted seq is {session.last_seq}.")
            raise ProtocolError("SEQ_OUT_OF_WINDOW", f"Last accepted seq is {session.last_seq}.")

    def _dispatch(self, connection: WsConnection, message: Any) -> Outcome:
        now_ms = int(self.clock().timestamp() * 1000)
        if isinstance(message, Ping):
            return Outcome({"action": "pong", "request_id": message.request_id, "server_time_ms": now_ms})
        if isinstance(message, Bye):
            self.sessions.bye(connection)
            return Outcome({"action": "ack", "request_id": message.request_id}, close_after=True)
        if isinstance(message, AgentSetStatus):
            return Outcome(self._set_status(connection, message).model_dump(mode="json"))
        if isinstance(message, MonitorSnapshot):
            return Outcome(self._snapshot(connection, message).model_dump(mode="json"))
        if isinstance(message, NodeHeartbeat):
            record_heartbeat(
                connection.principal_id, message.address, message.capacity, message.load, at=self.clock()
            )
            return Outcome({"action": "ack", "request_id": message.request_id})
        return Outcome(self._call_action(connection, message))

    def _call_action(self, connection: WsConnection, message: Any) -> dict[str, Any]:
        calls, rid = self.calls, message.request_id
        if isinstance(message, CallRequest):
            return calls.request(connection, rid).model_dump(mode="json")
        if isinstance(message, CallCancel):
            return calls.cancel(connection, message.call_id, rid).model_dump(mode="json")
        if isinstance(message, CallHangup):
            return calls.hangup(connection, message.call_id, rid).model_dump(mode="json")
        if isinstance(message, OfferAccept):
            return calls.accept(connection, message.offer_id, rid).model_dump(mode="json")
        if isinstance(message, OfferReject):
            calls.reject(connection, message.offer_id, rid)
            return {"action": "ack", "request_id": rid}
        if isinstance(message, CallDecide):
            return calls.decide(
                connection, message.call_id, message.decision, message.reason, message.snapshot_id, rid
            ).model_dump(mode="json")
        raise ProtocolError("UNKNOWN_ACTION", f"{message.action} has no handler.")

    def _set_status(self, connection: WsConnection, message: AgentSetStatus) -> AgentStatus:
        agent = self.agents.get(connection.principal_id)
        target = STATUS_TARGETS[message.status]
        if agent.state != target:  # asking for the current status again is a no-op, not an error
            attrs = {"available_since": self.clock()} if target is AgentState.AVAILABLE else None
            agent = transition(
                agent,
                AGENT,
                STATUS_EVENTS[message.status],
                request_id=message.request_id,
                actor=connection.principal_id,
                reason="status control",
                attrs=attrs,
            )
            if target is AgentState.AVAILABLE:
                self.calls.dispatch(agent.unit_id)
        return AgentStatus(
            request_id=message.request_id,
            agent_id=agent.agent_id,
            status=agent.state,
            since_ms=_ms(agent.updated_at),
        )

    def _snapshot(self, connection: WsConnection, message: MonitorSnapshot) -> MonitorAgents:
        """The agents of every unit whose calls the supervisor's unit answers (the serving map)."""
        units = list_units()
        scope = {u.unit_id for u in units if connection.unit_id in ("*", u.served_by)}
        rows = [
            AgentRow(
                agent_id=a.agent_id,
                name=a.name or a.agent_id,
                unit_id=a.unit_id,
                status=a.state,
                since_ms=_ms(a.updated_at),
            )
            for unit_id in sorted(scope)
            for a in self.agents.of_unit(unit_id)
        ]
        return MonitorAgents(request_id=message.request_id, agents=rows)


def _parse(body: str) -> dict[str, Any]:
    try:
        raw = json.loads(body)
    except ValueError:
        raise ProtocolError("BAD_JSON") from None
    if not isinstance(raw, dict):
        raise ProtocolError("BAD_MESSAGE", "A message is a JSON object.")
    return raw


def _describe(exc: ValidationError) -> str:
    """The first problem, naming its field (e.g. ``seq: Input should be greater than or equal to 1``)."""
    errors = exc.errors()
    where = ".".join(str(part) for part in errors[0]["loc"]) or "message"
    more = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {errors[0]['msg']}{more}"


def _ms(when: datetime | None) -> int:
    return int((when or datetime.now(UTC)).timestamp() * 1000)
