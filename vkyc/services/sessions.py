"""Session use cases: connect (new, resume, take over), hello, drop, resume, grace expiry, bye.

Every state change is one transaction through ``vkyc.repositories.transitions`` (session, and the
agent when its status follows); pushes and timers run only after the commit.

Events emitted (pushes): ``session.replaced`` to a device taken over; ``peer.reconnecting`` /
``peer.reconnected`` / ``peer.left`` to the peer session of a call; ``session.ended`` to a session
ended by the server.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from vkyc import env
from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.audit import AuthEventKind
from vkyc.domain.direction import is_live_call
from vkyc.domain.session import SESSION, SessionEvent, SessionState
from vkyc.domain.settings import CallSettings
from vkyc.protocol import PROTOCOL_VERSION
from vkyc.protocol.errors import CATALOGUE, ProtocolError
from vkyc.protocol.messages import Hello, Role, Welcome
from vkyc.protocol.signing import b64url
from vkyc.repositories import revocations
from vkyc.repositories import sessions as connections
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.auth_events import record_auth_event
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.conflicts import Commit, Settled, retry_on_conflict
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Session, WsConnection
from vkyc.repositories.transitions import Op, commit, plan, plan_create
from vkyc.security import tokens
from vkyc.services.auth import BUSY_AGENT_STATES, AuthService, Principal, refuse_login_elsewhere
from vkyc.services.effects import Done, Effects, SessionDropped, SessionLeft, SessionResumed
from vkyc.services.ice import configured_ice_servers
from vkyc.services.ports import Clock, utc_now
from vkyc.services.timers import SessionGrace

HEARTBEAT_INTERVAL_S = 60  # well under API Gateway's 10-minute idle timeout
RENEW_AFTER_S = 6600  # reconnect before API Gateway's 2-hour cap (7200 s)
CONNECTION_TTL = timedelta(hours=3)  # longer than any socket can live
SESSION_TTL = timedelta(days=2)
TAKEN_OVER = "taken_over"  # ``session.ended`` reason: another device took the account over during a call
GRACE_TIMER = SessionGrace.KIND
RESUME_ATTEMPTS = 4  # a resume races at most the old socket's drop and a grace timer
OPEN_ATTEMPTS = 4  # a login races the end of the agent's other sessions (bye, drop, grace timer)


@dataclass(frozen=True)
class ConnectResult:
    session_id: str
    resumed: bool


class SessionService:
    """The session use cases. Each returns its effects (``vkyc.services.effects``), with the events
    ``SessionDropped``, ``SessionResumed`` and ``SessionLeft`` that the call a session is in follows."""

    def __init__(
        self,
        *,
        auth: AuthService | None = None,
        sessions: SessionRepository | None = None,
        agents: AgentRepository | None = None,
        clock: Clock = utc_now,
        renew_after_s: int = RENEW_AFTER_S,
    ) -> None:
        self.auth = auth or AuthService()
        self.sessions = sessions or SessionRepository()
        self.calls = CallRepository()
        self.agents = agents or AgentRepository()
        self.clock = clock
        self.renew_after_s = renew_after_s

    # -- $connect ---------------------------------------------------------------------------------

    def connect(self, connection_id: str, *, token: str | None, resume: str | None) -> Done[ConnectResult]:
        """Attach ``connection_id`` to a new session (``token``) or an existing one (``resume``).

        Raises ``ProtocolError`` (the emulator and API Gateway answer 403): TOKEN_INVALID,
        TOKEN_EXPIRED, SESSION_ENDED, AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL, AUTH_REQUIRED.
        """
        if resume:
            return self._resume(connection_id, resume)
        if not token:
            raise ProtocolError("AUTH_REQUIRED", "Connect with ?token=<token> or ?resume=<resume token>.")
        return self._open(connection_id, self.auth.principal_of(token))

    def _open(self, connection_id: str, principal: Principal) -> Done[ConnectResult]:
        """A new session on ``connection_id``; for an agent, one transaction that also ends their other
        live sessions (REPLACE) and logs them in when OFFLINE, or else is conditioned on their state
        (they keep it and their socket moves). A lost race reads again: at most ``OPEN_ATTEMPTS``."""
        now = self.clock()
        taken_over = Effects()
        session_key = b64url(secrets.token_bytes(32))
        session = Session(
            session_id=str(uuid.uuid4()),
            principal_id=principal.principal_id,
            role=principal.role.value,
            unit_id=principal.unit_id,
            agent_id=principal.agent_id,
            dossier_id=principal.dossier_id,
            dealer_channel=principal.dealer_channel,
            session_key=session_key,
            resume_digest="",
            connection_id=connection_id,
            key_delivered=False,
            last_seq=0,
            generation=0,
            expires_at=now + SESSION_TTL,
            token_id=principal.token_id or None,
            token_expires_at=principal.token_expires_at,
        )

        def read() -> _Login:
            """The agent and the live sessions the login ends (none for other roles). Under the
            ``take_over`` policy a device's call ends here, before the login's own transaction."""
            nonlocal taken_over
            if principal.role is not Role.AGENT:
                return _Login(None, [])
            assert principal.agent_id is not None
            agent = self.agents.get(principal.agent_id)
            live = self.sessions.live_of_principal(principal.principal_id)
            busy = agent.state in BUSY_AGENT_STATES
            policy = self.auth.settings(principal.unit_id).login_policy
            refuse_login_elsewhere(policy, busy=busy, live=lambda: bool(live))
            if live and busy:  # ``take_over`` during a call: the other device's call ends with it
                taken_over += self.revoke(principal.principal_id, TAKEN_OVER).effects
                agent = self.agents.get(principal.agent_id)
                live = []
            current = (self.sessions.find(stale.session_id) for stale in live)
            return _Login(agent, [c for c in current if c is not None and c.state != SessionState.ENDED])

        def login(seen: _Login) -> Commit[_Opened]:
            changes: list[Op] = [
                plan(
                    replaced,
                    SESSION,
                    SessionEvent.REPLACE,
                    actor=principal.principal_id,
                    reason="logged in on another device",
                    attrs={"ended_reason": "replaced", "connection_id": None},
                )
                for replaced in seen.replaced
            ]
            agent = seen.agent
            if agent is not None and agent.state == AgentState.OFFLINE:
                changes.append(
                    plan(
                        agent,
                        AGENT,
                        AgentEvent.LOGIN,
                        actor=principal.principal_id,
                        attrs={"connection_id": connection_id},
                    )
                )
            elif agent is not None:
                # The agent keeps their state and gets the new socket, only if that state still holds
                # at the commit: a session of theirs that ends meanwhile (a bye, a grace timer) may
                # take them OFFLINE after our read, leaving this login on an agent no status can move.
                changes.append(AgentRepository.guard(agent))
            changes.append(plan_create(session, SESSION, actor=principal.principal_id, reason="connected"))
            # Taken before the commit, which clears them on the items.
            old_connections = [old.connection_id for old in seen.replaced if old.connection_id]
            moved = agent is not None and agent.state != AgentState.OFFLINE
            opened = _Opened(moved, old_connections)
            return Commit.of(*changes, request_id=f"connect:{connection_id}", at=now, result=opened)

        # A lost race (the agent moved, a replaced session ended meanwhile) reads again and decides again.
        opened = retry_on_conflict(read, login, attempts=OPEN_ATTEMPTS)
        if opened.agent_moved and principal.agent_id:
            self.agents.set_connection(principal.agent_id, connection_id)
        connections.put_connection(
            connections.new_connection(
                connection_id, session, connected_at=now, expires_at=now + CONNECTION_TTL
            )
        )
        effects = taken_over
        for old_connection in opened.old_connections:  # after the commit: tell the old device, hang up
            replaced_message = {
                "action": "session.replaced",
                "code": "SESSION_REPLACED",
                "message": CATALOGUE["SESSION_REPLACED"].message,
            }
            effects.to_connection(old_connection, replaced_message).close(old_connection)
        return Done(ConnectResult(session.session_id, resumed=False), effects)

    def _resume(self, connection_id: str, resume_token: str) -> Done[ConnectResult]:
        session_id, _, _ = resume_token.partition(".")
        if not session_id:
            raise ProtocolError("TOKEN_INVALID", "unknown resume token")
        now = self.clock()
        # A resume token opens one socket: consumed here (the new socket's hello hands out the next).
        # The transition is conditioned on the session's version. A conflict is only a refusal when the
        # token is gone: the old socket's $disconnect (DROP) often commits between our read and our
        # write, and refusing then would end a session whose owner did everything right.

        def consume(session: Session | None) -> Commit[tuple[Session, str | None, bool]]:
            if session is None or not _same_digest(session.resume_digest, resume_token):
                raise ProtocolError("TOKEN_INVALID", "unknown resume token")
            if session.state == SessionState.ENDED:
                raise ProtocolError("SESSION_ENDED")
            previous = session.connection_id
            was_detached = session.state == SessionState.DETACHED
            change = plan(
                session,
                SESSION,
                SessionEvent.RESUME,
                actor=session.principal_id,
                attrs={"connection_id": connection_id, "detached_at": None, "resume_digest": None},
            )
            resumed = (session, previous, was_detached)
            return Commit.of(change, request_id=f"resume:{connection_id}", at=now, result=resumed)

        def kept_changing(_: Exception) -> NoReturn:
            raise ProtocolError("TOKEN_INVALID", "the session kept changing; resume again")

        # A conflict: read again: consumed by another socket (refused above) or moved on (retry).
        session, previous, was_detached = retry_on_conflict(
            lambda: self.sessions.find(session_id), consume, attempts=RESUME_ATTEMPTS, lost=kept_changing
        )
        connections.put_connection(
            connections.new_connection(
                connection_id, session, connected_at=now, expires_at=now + CONNECTION_TTL
            )
        )
        if session.role == Role.AGENT.value and session.agent_id:
            self.agents.set_connection(session.agent_id, connection_id)
        effects = Effects()
        if previous and previous != connection_id:
            # A reload reconnected before the old socket's disconnect: that socket is dead weight.
            effects.close(previous)
        if was_detached:
            effects.event(SessionResumed(session))
            effects += self._tell_peer(
                session, {"action": "peer.reconnected", "role": session.role, "call_id": session.call_id}
            )
        return Done(ConnectResult(session.session_id, resumed=True), effects)

    # -- session.hello ----------------------------------------------------------------------------

    def hello(self, connection: WsConnection, message: Hello) -> Welcome:
        """Hand out the session key and a resume token. Raises UNSUPPORTED_PROTOCOL, SESSION_ENDED."""
        if message.protocol != PROTOCOL_VERSION:
            raise ProtocolError("UNSUPPORTED_PROTOCOL", f"This server speaks protocol {PROTOCOL_VERSION}.")
        session = self.sessions.get(connection.session_id)
        if session.state == SessionState.ENDED:
            raise ProtocolError("SESSION_ENDED")
        # A fresh resume token on every hello: the one in a page's storage is then worth one reconnect.
        resume_token = f"{session.session_id}.{tokens.random_token()}"
        resumed = bool(session.key_delivered)  # the key went out before: this socket continues a session
        self.sessions.deliver_key(session.session_id, tokens.digest(resume_token))
        settings = self._settings(session)
        parties = (Role.MOBILE.value, Role.AGENT.value)
        return Welcome(
            request_id=message.request_id,
            protocol=PROTOCOL_VERSION,
            session_id=session.session_id,
            role=Role(session.role),
            principal_id=session.principal_id,
            unit_id=session.unit_id,
            session_key=session.session_key,
            resume_token=resume_token,
            resumed=resumed,
            last_seq=session.last_seq,
            server_time_ms=int(self.clock().timestamp() * 1000),
            heartbeat_interval_s=HEARTBEAT_INTERVAL_S,
            reconnect_grace_s=settings.reconnect_grace_s,
            renew_after_s=self.renew_after_s,
            ice_servers=configured_ice_servers(env.ice_servers_json()) if session.role in parties else [],
        )

    # -- $disconnect, grace, bye ------------------------------------------------------------------

    def disconnect(self, connection_id: str) -> Effects:
        """The socket is gone. If it carried an ACTIVE session, hold the session for the grace."""
        connection = connections.find_connection(connection_id)
        if connection is None:
            return Effects()
        connections.delete_connection(connection_id)
        session = self._detach(connection)
        if session is None:
            return Effects()  # resumed on another socket, replaced, ended or detached already
        generation = session.generation
        grace = self._grace_s(session)
        effects = Effects().timer(
            SessionGrace(session_id=session.session_id, generation=generation).after(grace)
        )
        effects.event(SessionDropped(session))
        effects += self._tell_peer(
            session,
            {
                "action": "peer.reconnecting",
                "role": session.role,
                "grace_s": grace,
                "call_id": session.call_id,
            },
        )
        return effects

    def _detach(self, connection: WsConnection) -> Session | None:
        """DROP the session ``connection`` carries; the session as dropped, or None when the socket no
        longer carries an ACTIVE session. The drop races the page's resume on a new socket: on a
        conflict, read again and decide again."""
        now = self.clock()

        def drop(session: Session | None) -> Commit[Session] | Settled[None]:
            if session is None or session.state != SessionState.ACTIVE:
                return Settled(None)
            if session.connection_id != connection.connection_id:
                return Settled(None)
            change = plan(
                session,
                SESSION,
                SessionEvent.DROP,
                actor="system",
                reason="socket closed",
                attrs={"connection_id": None, "detached_at": now, "generation": session.generation + 1},
            )
            return Commit.of(change, request_id=f"drop:{connection.connection_id}", at=now, result=session)

        return retry_on_conflict(
            lambda: self.sessions.find(connection.session_id), drop, attempts=RESUME_ATTEMPTS
        )

    def grace_expired(self, session_id: str, generation: int) -> Done[bool]:
        """The grace timer of drop ``generation`` fired: end the session if it is still detached from
        that drop. True when it ended the session."""
        session = self.sessions.find(session_id)
        if session is None or session.state != SessionState.DETACHED or session.generation != generation:
            return Done(False)
        effects = self._end(
            session,
            SessionEvent.GRACE_EXPIRED,
            "grace_expired",
            AgentEvent.SESSION_LOST,
            request_id=f"grace:{session_id}:{generation}",
        )
        return Done(True, effects)

    def bye(self, connection: WsConnection) -> Effects:
        """The client ended its session on purpose: no grace; the token it connected with is revoked
        (a logout must not leave a token that opens a new session or reads the REST API)."""
        session = self.sessions.get(connection.session_id)
        if session.state == SessionState.ENDED:
            return Effects()
        effects = self._end(
            session, SessionEvent.END, "bye", AgentEvent.LOGOUT, request_id=f"bye:{connection.connection_id}"
        )
        self._revoke_token(session, "bye")
        return effects

    # -- revocation -------------------------------------------------------------------------------

    def revoke(self, principal_id: str, reason: str, *, token_id: str | None = None) -> Done[int]:
        """Cut off every live session of ``principal_id`` (only those opened with ``token_id``, if
        given): each ends (REVOKE; an agent goes OFFLINE whatever it was doing, and the call it was in
        ends as when a party leaves), is told ``session.ended`` with ``reason``, and its socket closes.
        Returns the sessions ended. Idempotent: an ended session is skipped."""
        ended = 0
        effects = Effects()
        for listed in self.sessions.live_of_principal(principal_id):
            session = self.sessions.find(listed.session_id)
            if session is None or session.state == SessionState.ENDED:
                continue
            if token_id is not None and session.token_id != token_id:
                continue
            connection_id = session.connection_id
            try:
                effects += self._end(
                    session,
                    SessionEvent.REVOKE,
                    reason,
                    AgentEvent.SESSION_LOST,
                    request_id=f"revoke:{session.session_id}",
                )
            except TransitionConflict:
                continue  # it ended or moved at that moment: a later look finds it ended
            ended += 1
            effects.to_connection(connection_id, {"action": "session.ended", "reason": reason})
            effects.close(connection_id)
        return Done(ended, effects)

    def _revoke_token(self, session: Session, reason: str) -> None:
        if not session.token_id or session.token_expires_at is None:
            return  # a session from before tokens were recorded on it
        now = self.clock()
        revocations.revoke_token(
            session.token_id,
            principal_id=session.principal_id,
            reason=reason,
            expires_at=session.token_expires_at,
            at=now,
        )
        record_auth_event(
            AuthEventKind.TOKEN_REVOKED,
            session.principal_id,
            None if session.unit_id == "*" else session.unit_id,
            None,
            reason,
            scope="session",
            at=now,
        )

    def _end(
        self, session: Session, event: SessionEvent, reason: str, agent_event: AgentEvent, *, request_id: str
    ) -> Effects:
        actor = session.principal_id if event is SessionEvent.END else "system"
        changes = [
            plan(
                session,
                SESSION,
                event,
                actor=actor,
                reason=reason,
                attrs={"ended_reason": reason, "connection_id": None},
            )
        ]
        if session.role == Role.AGENT.value and session.agent_id:
            agent = self.agents.find(session.agent_id)
            # An agent who cannot log out (ringing, in a call) keeps their state for the call to settle.
            if agent is not None and AGENT.can(AgentState(agent.state), agent_event):
                changes.append(plan(agent, AGENT, agent_event, actor="system", reason=reason))
        commit(*changes, request_id=request_id, at=self.clock())
        # The peer hears that the party left before the call's end that follows from it (peer.* only
        # between call.connected and call.ended).
        effects = self._tell_peer(
            session,
            {"action": "peer.left", "role": session.role, "reason": reason, "call_id": session.call_id},
        )
        return effects.event(SessionLeft(session, reason))

    # -- helpers -----------------------------------------------------------------------------------

    def _grace_s(self, session: Session) -> int:
        return self._settings(session).reconnect_grace_s

    @staticmethod
    def _settings(session: Session) -> CallSettings:
        # Cached per process (configuration): a welcome and a drop then read no settings table.
        return cached_settings(None if session.unit_id == "*" else session.unit_id)

    def _tell_peer(self, session: Session, message: dict[str, Any]) -> Effects:
        """A ``peer.*`` push to the other party of the session's call, while that call goes on: once it
        ended (hung up, decided), a party's drop or departure is nobody's business."""
        if not session.peer_session_id:
            return Effects()
        if session.call_id:
            call = self.calls.find(session.call_id)
            if call is None or not is_live_call(call.direction, call.state):
                return Effects()
        peer = self.sessions.find(session.peer_session_id)
        if peer is not None and peer.connection_id and peer.state == SessionState.ACTIVE:
            return Effects().to_connection(peer.connection_id, message)
        return Effects()


@dataclass(frozen=True)
class _Login:
    """What a login read: the agent (None for other roles) and the sessions of theirs it replaces."""

    agent: Agent | None
    replaced: list[Session]


@dataclass(frozen=True)
class _Opened:
    """What a login committed: whether the agent kept their state (their socket moves after the
    commit) and the sockets of the sessions it replaced (told, then closed)."""

    agent_moved: bool
    old_connections: list[str]


def _same_digest(stored: str | None, token: str) -> bool:
    return bool(stored) and hmac.compare_digest(stored or "", tokens.digest(token))
