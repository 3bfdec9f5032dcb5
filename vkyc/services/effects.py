"""What a use case wants done once its transaction committed, and the one dispatcher that does it.

Use cases do not push, schedule or call each other: each returns ``Effects`` (house rule: side effects
after the commit), and ``Dispatcher.run`` carries them out, in this order:

1. **pushes**, each to a connection, a session (wherever its socket is now), or a party of a call (at
   the connection the call last saw it on, else wherever its session is now); then the sockets to
   **close** (after what they were told);
2. **timers**, batched (SQS ``SendMessageBatch``, ten per request);
3. **events**, facts other use cases react to (a call ended: its media node closes it; an agent became
   available: the unit's waiting calls are offered; a session dropped, came back or left: the call it
   is in follows). Each event type has one handler, registered by the composition root
   (``vkyc.wiring``); a handler returns effects of its own, run the same way.

The pushes go first because they are what people wait for (the ringing popup, the end of a call);
a timer lost to a crash between the two is what the sweeper repairs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.tables import Call, Session
from vkyc.services.ports import Notifier, Timer, Timers

log = logging.getLogger("vkyc.effects")

MAX_DEPTH = 8  # events causing events: a loop would be a bug; stop it rather than recurse forever
TIMER_BATCH = 10


@dataclass(frozen=True)
class ToConnection:
    connection_id: str


@dataclass(frozen=True)
class ToSession:
    """Wherever the session's socket is now (one read of the session)."""

    session_id: str


@dataclass(frozen=True)
class ToParty:
    """A party of a call: first the connection the call last saw it on (no read); if that socket is
    gone (the party resumed on another, or left), wherever its session is now."""

    hint: str | None
    session_id: str | None


Target = ToConnection | ToSession | ToParty


@dataclass(frozen=True)
class CallEnded:
    """A call reached a final state (any path): its media node hangs up and closes the recording."""

    call: Call
    reason: str


@dataclass(frozen=True)
class AgentFreed:
    """An agent of ``unit_id`` became AVAILABLE: the unit's waiting inbound calls may be offered."""

    unit_id: str


@dataclass(frozen=True)
class SessionDropped:
    session: Session


@dataclass(frozen=True)
class SessionResumed:
    session: Session


@dataclass(frozen=True)
class SessionLeft:
    """A session ended (grace expired, bye, revoked, replaced): the call it was in follows."""

    session: Session
    reason: str


Event = CallEnded | AgentFreed | SessionDropped | SessionResumed | SessionLeft
E = TypeVar("E")


@dataclass
class Effects:
    """What to do after a commit. Build with the methods; combine with ``+=``."""

    pushes: list[tuple[Target, dict[str, Any]]] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def to_connection(self, connection_id: str | None, message: dict[str, Any]) -> Effects:
        if connection_id:
            self.pushes.append((ToConnection(connection_id), message))
        return self

    def to_session(self, session_id: str | None, message: dict[str, Any]) -> Effects:
        if session_id:
            self.pushes.append((ToSession(session_id), message))
        return self

    def to_mobile(self, call: Call, message: dict[str, Any]) -> Effects:
        return self.to_party(call.mobile_connection_id, call.mobile_session_id, message)

    def to_agent(self, call: Call, message: dict[str, Any]) -> Effects:
        return self.to_party(call.agent_connection_id, call.agent_session_id, message)

    def to_parties(self, call: Call, message: dict[str, Any], *, but: str | None = None) -> Effects:
        """To both parties of ``call``, except the session ``but`` (it gets the message as its reply)."""
        if call.mobile_session_id and call.mobile_session_id != but:
            self.to_mobile(call, message)
        if call.agent_session_id and call.agent_session_id != but:
            self.to_agent(call, message)
        return self

    def to_party(self, hint: str | None, session_id: str | None, message: dict[str, Any]) -> Effects:
        """To a party: at ``hint`` (no read) if that socket is still there, else at its session's."""
        if hint or session_id:
            self.pushes.append((ToParty(hint, session_id), message))
        return self

    def close(self, connection_id: str | None) -> Effects:
        """Hang up this socket, after the pushes (a gone one is not an error)."""
        if connection_id:
            self.closes.append(connection_id)
        return self

    def timer(self, *timers: Timer) -> Effects:
        self.timers.extend(timers)
        return self

    def event(self, *events: Event) -> Effects:
        self.events.extend(events)
        return self

    def __iadd__(self, other: Effects) -> Effects:
        self.pushes += other.pushes
        self.closes += other.closes
        self.timers += other.timers
        self.events += other.events
        return self

    def __bool__(self) -> bool:
        return bool(self.pushes or self.closes or self.timers or self.events)


T = TypeVar("T")


@dataclass(frozen=True)
class Done(Generic[T]):
    """What a use case answers: its ``value`` (the reply, or a fact for its caller) and the
    ``effects`` its commit calls for."""

    value: T
    effects: Effects = field(default_factory=Effects)


class Refused(Exception):
    """A refusal that still has effects to run (e.g. a retry timer, a ``media.close`` to a node): the
    entry point runs ``effects``, then answers ``error``."""

    def __init__(self, error: Exception, effects: Effects) -> None:
        super().__init__(str(error))
        self.error = error
        self.effects = effects


class Dispatcher:
    """Carries out ``Effects`` (see the module docstring). ``on(EventType, handler)`` registers the one
    handler of an event type; an event nobody handles is a wiring bug and is logged."""

    def __init__(self, notifier: Notifier, timers: Timers, sessions: SessionRepository | None = None) -> None:
        self.notifier = notifier
        self.timers = timers
        self.sessions = sessions or SessionRepository()
        self._handlers: dict[type[Any], Callable[[Any], Effects | None]] = {}

    def on(self, event_type: type[E], handler: Callable[[E], Effects | None]) -> None:
        if event_type in self._handlers:
            raise ValueError(f"{event_type.__name__} already has a handler")
        self._handlers[event_type] = handler

    def run(self, effects: Effects | None, *, depth: int = 0) -> None:
        """Do everything ``effects`` asks. A push to a gone connection is not an error; a failing event
        handler is logged and the others still run (the commit they follow stands)."""
        if not effects:
            return
        for target, message in effects.pushes:
            self._push(target, message)
        for connection_id in effects.closes:
            self.notifier.close(connection_id)
        self._schedule(effects.timers)
        for event in effects.events:
            handler = self._handlers.get(type(event))
            if handler is None:
                log.error("no handler for %s", type(event).__name__)
                continue
            if depth >= MAX_DEPTH:
                log.error("events nested %d deep: %s dropped", depth, type(event).__name__)
                continue
            try:
                more = handler(event)
            except Exception:
                log.exception("handling %s failed", type(event).__name__)
                continue
            self.run(more, depth=depth + 1)

    def _push(self, target: Target, message: dict[str, Any]) -> None:
        if isinstance(target, ToConnection):
            self.notifier.send(target.connection_id, message)
            return
        hint = target.hint if isinstance(target, ToParty) else None
        if hint and self.notifier.send(hint, message):
            return
        session = self.sessions.find(target.session_id or "")
        if session is not None and session.connection_id and session.connection_id != hint:
            self.notifier.send(session.connection_id, message)

    def _schedule(self, timers: Iterable[Timer]) -> None:
        batch = list(timers)
        if not batch:
            return
        if len(batch) == 1:
            self.timers.schedule(batch[0].kind, batch[0].payload, batch[0].delay_s)
            return
        for start in range(0, len(batch), TIMER_BATCH):
            self.timers.schedule_many(batch[start : start + TIMER_BATCH])
