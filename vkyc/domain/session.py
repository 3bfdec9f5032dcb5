"""A signaling session: one logged-in client (mobile, agent, supervisor, media node) across sockets.

States: ACTIVE (a socket is attached), DETACHED (the socket dropped; the session waits for a resume
within the reconnect grace), ENDED (final; ``ended_reason`` says why).

Events:
- DROP: the attached socket closed without ``session.bye`` (ACTIVE → DETACHED).
- RESUME: a socket presented the resume token (DETACHED → ACTIVE; also ACTIVE → ACTIVE, when a reload
  reconnects before the old socket's disconnect arrived).
- END: the client said ``session.bye`` (ACTIVE, DETACHED → ENDED).
- GRACE_EXPIRED: no resume within the grace (DETACHED → ENDED).
- REPLACE: the same account logged in on another device and took over (ACTIVE, DETACHED → ENDED).
- REVOKE: the server cut the session off: its account was disabled or changed, or its token was
  revoked (logout) (ACTIVE, DETACHED → ENDED).
"""

from __future__ import annotations

from enum import StrEnum

from vkyc.domain.machine import StateMachine


class SessionState(StrEnum):
    ACTIVE = "ACTIVE"
    DETACHED = "DETACHED"
    ENDED = "ENDED"


class SessionEvent(StrEnum):
    DROP = "drop"
    RESUME = "resume"
    END = "end"
    GRACE_EXPIRED = "grace_expired"
    REPLACE = "replace"
    REVOKE = "revoke"


S, E = SessionState, SessionEvent

SESSION = StateMachine[SessionState, SessionEvent](
    name="session",
    initial=S.ACTIVE,
    finals=frozenset({S.ENDED}),
    table={
        (S.ACTIVE, E.DROP): S.DETACHED,
        (S.ACTIVE, E.RESUME): S.ACTIVE,
        (S.ACTIVE, E.END): S.ENDED,
        (S.ACTIVE, E.REPLACE): S.ENDED,
        (S.DETACHED, E.RESUME): S.ACTIVE,
        (S.DETACHED, E.END): S.ENDED,
        (S.DETACHED, E.GRACE_EXPIRED): S.ENDED,
        (S.DETACHED, E.REPLACE): S.ENDED,
        (S.ACTIVE, E.REVOKE): S.ENDED,
        (S.DETACHED, E.REVOKE): S.ENDED,
    },
)


def transition(state: SessionState, event: SessionEvent) -> SessionState:
    """The session's one transition function. Raises ``IllegalTransition``."""
    return SESSION.transition(state, event)
