"""Signaling sessions and the connections that carry them (table keys live here only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from vkyc.domain.session import SessionState
from vkyc.repositories.errors import RepositoryError
from vkyc.repositories.stateful import StatefulRepository
from vkyc.repositories.tables import Session, WsConnection
from vkyc.repositories.transitions import Touch

SEQ_WINDOW = 1000  # how far past the last accepted seq a message may jump


class SessionRepository(StatefulRepository[Session]):
    def __init__(self) -> None:
        super().__init__(Session)

    def live_of_principal(self, principal_id: str) -> list[Session]:
        """The principal's sessions that are ACTIVE or DETACHED (GSI, eventually consistent: callers
        re-read the ones they act on)."""
        hits = Session.by_principal.query(principal_id)
        return [s for s in hits if s.state != SessionState.ENDED]

    def accept_seq(self, session_id: str, seq: int) -> bool:
        """Record ``seq`` as the last accepted one if it is in the window and the session is ACTIVE
        with its key handed out. One conditional UpdateItem; False (nothing written) otherwise."""
        try:
            Session(session_id=session_id).update(
                actions=[Session.last_seq.set(seq)], condition=_seq_condition(seq)
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise RepositoryError(f"session {session_id}: {exc}") from exc
        return True

    def deliver_key(self, session_id: str, resume_digest: str) -> None:
        """The key went out in a welcome, with a new resume token (only its digest is kept)."""
        Session(session_id=session_id).update(
            actions=[Session.key_delivered.set(True), Session.resume_digest.set(resume_digest)]
        )


def _seq_condition(seq: int) -> Any:
    return (
        (Session.state == SessionState.ACTIVE.value)
        & (Session.key_delivered == True)  # noqa: E712 (a PynamoDB condition, not a comparison)
        & (Session.last_seq < seq)
        & (Session.last_seq >= seq - SEQ_WINDOW)
    )


def seq_refusal(session: Session | None, seq: int) -> str | None:
    """Why ``seq`` would not be accepted on ``session`` (an error code), or None: ``accept_seq``'s
    condition, in the order the client is told."""
    if session is None:
        return "SESSION_ENDED"
    if not session.key_delivered:
        return "HELLO_REQUIRED"
    if session.state != SessionState.ACTIVE:
        return "SESSION_ENDED"
    if seq <= session.last_seq:
        return "SEQ_REPLAYED"
    if seq - SEQ_WINDOW > session.last_seq:
        return "SEQ_OUT_OF_WINDOW"
    return None


@dataclass
class SeqTicket:
    """The ``seq`` of a signed message, accepted in the transaction of the action the message asks for
    rather than by a request of its own. ``accepted`` once such a transaction committed; a transaction
    carrying the ticket fails with ``TouchRejected("seq")`` when the seq would be refused."""

    session_id: str
    seq: int
    accepted: bool = False

    def touch(self, **attrs: Any) -> Touch:
        """The session's update (``last_seq``, plus ``attrs`` of the session) for the transaction."""
        return Touch(
            Session(session_id=self.session_id),
            {"last_seq": self.seq, **attrs},
            name="seq",
            condition=_seq_condition(self.seq),
            on_commit=self._accepted,
        )

    def _accepted(self) -> None:
        self.accepted = True


def session_touch(session_id: str, seq: SeqTicket | None = None, **attrs: Any) -> list[Touch]:
    """The update of session ``session_id`` for a transaction: through ``seq`` when it is that
    session's ticket, else a plain update of ``attrs`` (none when there is nothing to write)."""
    if seq is not None and seq.session_id == session_id:
        return [seq.touch(**attrs)]
    return [Touch(Session(session_id=session_id), attrs, name="session")] if attrs else []


def find_connection(connection_id: str) -> WsConnection | None:
    try:
        return WsConnection.get(connection_id, consistent_read=True)
    except DoesNotExist:
        return None


def put_connection(connection: WsConnection) -> None:
    connection.save()


def delete_connection(connection_id: str) -> None:
    try:
        WsConnection(connection_id=connection_id).delete()
    except DeleteError as exc:
        raise RepositoryError(f"connection {connection_id}: {exc}") from exc


def new_connection(
    connection_id: str, session: Session, *, connected_at: datetime, expires_at: datetime
) -> WsConnection:
    return WsConnection(
        connection_id=connection_id,
        session_id=session.session_id,
        principal_id=session.principal_id,
        role=session.role,
        unit_id=session.unit_id,
        dossier_id=session.dossier_id,
        dealer_channel=session.dealer_channel,
        session_key=session.session_key,
        connected_at=connected_at,
        expires_at=expires_at,
    )


def link_call(session_id: str, call_id: str | None, *, peer_session_id: str | None) -> None:
    """Record the call a session is in and its other party (told of drops and resumes)."""
    actions: list[Action] = [
        Session.call_id.set(call_id) if call_id else Session.call_id.remove(),
        Session.peer_session_id.set(peer_session_id) if peer_session_id else Session.peer_session_id.remove(),
    ]
    Session(session_id=session_id).update(actions=actions)
