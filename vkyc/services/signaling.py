"""One WebSocket message in, one reply out: the signaling channel's single entry point.

Checks, in this order, each refusing with its own code and writing nothing: the connection's
message allowance (RATE_LIMITED, ``vkyc.services.limits``) → JSON (BAD_JSON) → a
known action (UNKNOWN_ACTION) → fields (BAD_MESSAGE, naming the field) → the connection's role
(FORBIDDEN_ACTION) → for signed messages: MAC (MAC_INVALID, or HELLO_REQUIRED before the key went
out) → ``ts`` within 60 s (MESSAGE_EXPIRED) → ``seq`` (SEQ_REPLAYED, SEQ_OUT_OF_WINDOW). Only then
does the action run. Errors become replies here and nowhere else.

Call-back actions, and call actions that name a call-back, go to ``CallbackService``
(``vkyc.services.callbacks``) with their seq accepted by a request of its own.
Media actions (a party's ``media.offer`` / ``media.snapshot`` and the media node's reports), whatever
call they name, go to ``MediaService`` (``vkyc.services.media``), their seq accepted the same way.

The call actions (``TICKETED``) accept their ``seq`` inside the transaction of the action itself (a
``SeqTicket``), one request less per message: their reads may run before the seq is checked, but
nothing is written unless it is accepted, and a refused seq is still the error the client is told.
"""

from __future__ import annotations

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
from vkyc.protocol import signing
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.jsontext import parse_object
from vkyc.protocol.messages import (
    CLIENT_ACTIONS,
    AgentSetStatus,
    AgentStatus,
    Bye,
    CallbackAccept,
    CallbackCancel,
    CallbackDecline,
    CallbackStart,
    CallCancel,
    CallDecide,
    CallHangup,
    CallRequest,
    DeviceRegister,
    DeviceUnregister,
    Hello,
    MediaOffer,
    MediaSnapshot,
    MonitorAgents,
    MonitorSnapshot,
    NodeHeartbeat,
    NodeMediaAnswer,
    NodeMediaError,
    NodeMediaEvent,
    NodeRecording,
    NodeSnapshotTaken,
    NodeSync,
    OfferAccept,
    OfferReject,
    Ping,
    Role,
)
from vkyc.repositories import sessions as connections
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.media_nodes import record_heartbeat
from vkyc.repositories.sessions import SeqTicket, seq_refusal
from vkyc.repositories.tables import Session, WsConnection
from vkyc.repositories.transitions import TouchRejected, transition
from vkyc.services.callbacks import CallbackService, is_callback
from vkyc.services.calls import CallService
from vkyc.services.failures import describe_validation
from vkyc.services.limits import ConnectionLimits
from vkyc.services.media import MediaService
from vkyc.services.ports import Clock, utc_now
from vkyc.services.reports_monitor import board
from vkyc.services.sessions import SessionService

log = logging.getLogger("vkyc.signaling")

TS_WINDOW_MS = 60_000
CONNECTION_CACHE_SIZE = 10_000
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
STATUS_EVENTS = {"available": AgentEvent.READY, "unavailable": AgentEvent.BREAK, "offline": AgentEvent.LOGOUT}
# Actions whose use case writes one transaction that can carry the message's seq.
TICKETED = (CallRequest, CallCancel, CallHangup, OfferAccept, OfferReject, CallDecide)
# The call-back's own actions; call.cancel / call.hangup / call.decide go there too when they name a
# call-back (its id says so), since the inbound call's use cases must never move a call-back.
CALLBACK_ACTIONS = (
    DeviceRegister,
    DeviceUnregister,
    CallbackStart,
    CallbackCancel,
    CallbackAccept,
    CallbackDecline,
)
# Media: a party's offer and snapshot, and the media node's reports (``vkyc.services.media``); signed,
# their seq accepted by a request of its own (none of them is a call transition).
MEDIA_ACTIONS = (
    MediaOffer,
    MediaSnapshot,
    NodeMediaAnswer,
    NodeSnapshotTaken,
    NodeMediaEvent,
    NodeRecording,
    NodeMediaError,
    NodeSync,
)
STATUS_TARGETS = {
    "available": AgentState.AVAILABLE,
    "unavailable": AgentState.UNAVAILABLE,
    "offline": AgentState.OFFLINE,
}


@dataclass(frozen=True)
class Outcome:
    reply: dict[str, Any]
    close_after: bool = False  # hang up once the reply is sent (session.bye)
    after: tuple[dict[str, Any], ...] = ()  # pushes to this connection, sent after the reply


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
        callbacks: CallbackService | None = None,
        media: MediaService,
        clock: Clock = utc_now,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.sessions = sessions
        self.calls = calls
        self.callbacks = callbacks or CallbackService(
            sessions.notifier, sessions.timers, on_agent_freed=calls.dispatch, clock=clock
        )
        self.agents = agents or AgentRepository()
        self.media = media  # wired by the function, which gives it the media bucket (S3)
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
        request_id: str | None = None
        try:
            # Counted before anything is read: a flood of garbage spends the allowance too.
            cached = self._connections.get(connection_id)
            self.limits.message(connection_id, cached.role if cached is not None else None)
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
            raise ProtocolError("BAD_MESSAGE", describe_validation(exc)) from None
        connection = self._connection(connection_id)
        if connection is None:
            raise ProtocolError("SESSION_ENDED", "This connection carries no session; reconnect.")
        if Role(connection.role) not in cls.ROLES:
            raise ProtocolError("FORBIDDEN_ACTION", f"{action} is not an action of a {connection.role}.")
        if isinstance(message, Hello):
            self.limits.hello(connection_id)  # each hello writes: a flood of them must not
            welcome = self.sessions.hello(connection, message)
            if connection.role == Role.MOBILE.value and connection.dossier_id:
                self.calls.read_ahead(connection.dossier_id)
            return Outcome(welcome.model_dump(mode="json"))
        callback = not isinstance(message, MEDIA_ACTIONS) and (
            isinstance(message, CALLBACK_ACTIONS) or is_callback(getattr(message, "call_id", None))
        )
        self._authenticate(connection, raw, ticketed=isinstance(message, TICKETED) and not callback)
        if callback:
            return self._callback_action(connection, message)
        if isinstance(message, TICKETED):
            return Outcome(
                self._ticketed(connection, message, SeqTicket(connection.session_id, int(raw["seq"])))
            )
        return self._dispatch(connection, message)

    def _callback_action(self, connection: WsConnection, message: Any) -> Outcome:
        """A call-back action (``vkyc.services.callbacks``); its seq was accepted by ``_authenticate``."""
        callbacks, rid = self.callbacks, message.request_id
        if isinstance(message, DeviceRegister):
            registered = callbacks.register(connection, message.device_id, rid)
            after = tuple(incoming.model_dump(mode="json") for incoming in registered.incoming)
            return Outcome(registered.reply.model_dump(mode="json"), after=after)
        reply: Any
        if isinstance(message, DeviceUnregister):
            reply = callbacks.unregister(connection, message.device_id, rid)
        elif isinstance(message, CallbackStart):
            reply = callbacks.start(connection, message.dossier_id, rid)
        elif isinstance(message, CallbackCancel):
            reply = callbacks.cancel(connection, message.call_id, rid)
        elif isinstance(message, CallbackAccept):
            reply = callbacks.accept(connection, message.call_id, rid)
        elif isinstance(message, CallbackDecline):
            reply = callbacks.decline(connection, message.call_id, rid)
        elif isinstance(message, CallHangup):
            reply = callbacks.hangup(connection, message.call_id, rid)
        elif isinstance(message, CallDecide):
            reply = callbacks.decide(
                connection, message.call_id, message.decision, message.reason, message.snapshot_id, rid
            )
        else:  # call.cancel is the caller's: a call-back is declined or cancelled with its own action
            raise ProtocolError(
                "ILLEGAL_TRANSITION",
                "A call-back ends with callback.decline, callback.cancel or call.hangup.",
                call_id=getattr(message, "call_id", None),
            )
        return Outcome(reply.model_dump(mode="json"))

    def _ticketed(self, connection: WsConnection, message: Any, ticket: SeqTicket) -> dict[str, Any]:
        """Run a call action with its seq accepted in the action's transaction."""
        try:
            reply = self._call_action(connection, message, ticket)
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
        return reply

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
                connection.principal_id,
                message.address,
                message.capacity,
                message.load,
                at=self.clock(),
                connection_id=connection.connection_id,
                session_id=connection.session_id,
            )
            return Outcome({"action": "ack", "request_id": message.request_id})
        if isinstance(message, MEDIA_ACTIONS):
            return Outcome(self._media_action(connection, message).model_dump(mode="json"))
        raise ProtocolError("UNKNOWN_ACTION", f"{message.action} has no handler.")

    def _media_action(self, connection: WsConnection, message: Any) -> Any:
        """A media message (``vkyc.services.media``): a party's offer or snapshot, or a node's report."""
        media = self.media
        if isinstance(message, MediaOffer):
            return media.offer(connection, message)
        if isinstance(message, MediaSnapshot):
            return media.snapshot(connection, message)
        if isinstance(message, NodeMediaAnswer):
            return media.node_answer(connection, message)
        if isinstance(message, NodeSnapshotTaken):
            return media.node_snapshot(connection, message)
        if isinstance(message, NodeMediaEvent):
            return media.node_event(connection, message)
        if isinstance(message, NodeRecording):
            return media.node_recording(connection, message)
        if isinstance(message, NodeMediaError):
            return media.node_error(connection, message)
        return media.node_sync(connection, message)

    def _call_action(self, connection: WsConnection, message: Any, seq: SeqTicket) -> dict[str, Any]:
        calls, rid = self.calls, message.request_id
        if isinstance(message, CallRequest):
            return calls.request(connection, rid, seq).model_dump(mode="json")
        if isinstance(message, CallCancel):
            return calls.cancel(connection, message.call_id, rid, seq).model_dump(mode="json")
        if isinstance(message, CallHangup):
            return calls.hangup(connection, message.call_id, rid, seq).model_dump(mode="json")
        if isinstance(message, OfferAccept):
            return calls.accept(connection, message.offer_id, rid, seq).model_dump(mode="json")
        if isinstance(message, OfferReject):
            calls.reject(connection, message.offer_id, rid, seq)
            return {"action": "ack", "request_id": rid}
        if isinstance(message, CallDecide):
            return calls.decide(
                connection, message.call_id, message.decision, message.reason, message.snapshot_id, rid, seq
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
        """The board of every unit whose calls the supervisor's unit answers (the serving map): agents
        with their current call, and the queues (``vkyc.services.reports_monitor``)."""
        return board(connection.unit_id, message.request_id, agents=self.agents)


def _parse(body: str) -> dict[str, Any]:
    return parse_object(body)


def _ms(when: datetime | None) -> int:
    return int((when or datetime.now(UTC)).timestamp() * 1000)
