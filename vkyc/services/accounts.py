"""Changes to a login account that must cut it off at once: disabled, a new password, another role or
unit. Each is one write of the account that also raises its ``token_generation`` (every token issued
before is refused from then on: ``AuthService.principal_of``, at ``$connect`` and on every REST
call), then every live session of the account ends (``SessionService.revoke``: ``session.ended`` with
the reason, the socket closed, an agent OFFLINE, its call ended as when a party leaves), and the
audit trail says so. Enabling an account again revokes nothing.

Revocation reasons sent with ``session.ended``: ``account_disabled``, ``credentials_changed``,
``account_changed``, ``logged_out``.

The admin API (issue #13) calls these; until then, tests and operators' scripts do.
"""

from __future__ import annotations

from vkyc.domain.audit import AuthEventKind
from vkyc.domain.roles import UserRole
from vkyc.repositories import revocations, users
from vkyc.repositories.auth_events import record_auth_event
from vkyc.repositories.tables import User
from vkyc.services.auth import Principal
from vkyc.services.effects import Done, Effects
from vkyc.services.ports import Clock, utc_now
from vkyc.services.sessions import SessionService

DISABLED = "account_disabled"
CREDENTIALS_CHANGED = "credentials_changed"
ACCOUNT_CHANGED = "account_changed"
LOGGED_OUT = "logged_out"


class AccountService:
    def __init__(self, sessions: SessionService, *, clock: Clock = utc_now) -> None:
        self.sessions = sessions
        self.clock = clock

    def disable(self, username: str, *, by: str) -> Done[int]:
        """Refuse the account's logins and cut off its tokens and sessions. Returns the sessions
        ended. Raises ``NotFound``."""
        return self._cut_off(users.change_account(username, revoke=True, disabled=True), DISABLED, by)

    def enable(self, username: str, *, by: str) -> Done[None]:
        """Let the account log in again (its old tokens stay revoked). Raises ``NotFound``."""
        user = users.change_account(username, revoke=False, disabled=False)
        self._audit(user, f"enabled by {by}", AuthEventKind.ACCOUNT_ENABLED)
        return Done(None)

    def set_password_hash(self, username: str, password_hash: str, *, by: str) -> Done[int]:
        """A new password (``vkyc.security.passwords.hash_password``): the old tokens and sessions go.
        Raises ``NotFound``, ``ValueError`` for an empty hash."""
        if not password_hash:
            raise ValueError("empty password hash")
        user = users.change_account(username, revoke=True, password_hash=password_hash)
        return self._cut_off(user, CREDENTIALS_CHANGED, by)

    def move(self, username: str, *, role: UserRole, unit_id: str | None, by: str) -> Done[int]:
        """Another role or unit: the tokens that spoke for the old ones go. Raises ``NotFound``."""
        user = users.change_account(
            username, revoke=True, role=role, unit_id=unit_id, clear_unit=unit_id is None
        )
        return self._cut_off(user, ACCOUNT_CHANGED, by)

    def logout(self, principal: Principal) -> Done[int]:
        """The holder of a token logs out: that token is revoked, and the sessions it opened end.
        Returns the sessions ended."""
        now = self.clock()
        if principal.token_expires_at is not None:
            revocations.revoke_token(
                principal.token_id,
                principal_id=principal.principal_id,
                reason=LOGGED_OUT,
                expires_at=principal.token_expires_at,
                at=now,
            )
        done = self.sessions.revoke(principal.principal_id, LOGGED_OUT, token_id=principal.token_id)
        record_auth_event(
            AuthEventKind.TOKEN_REVOKED,
            principal.username or principal.principal_id,
            None if principal.unit_id == "*" else principal.unit_id,
            None,
            LOGGED_OUT,
            scope="session",
            at=now,
        )
        return done

    def _cut_off(self, user: User, reason: str, by: str) -> Done[int]:
        # An agent's sessions are the agent's; a supervisor's or admin's the username's. Both are looked
        # at: a role just changed must not leave the sessions of the old one live.
        principals = {user.username, *([user.agent_id] if user.agent_id else [])}
        ended, effects = 0, Effects()
        for principal_id in sorted(principals):
            done = self.sessions.revoke(principal_id, reason)
            ended += done.value
            effects += done.effects
        self._audit(user, f"{reason} by {by}; {ended} session(s) ended", AuthEventKind.TOKEN_REVOKED)
        return Done(ended, effects)

    def _audit(self, user: User, detail: str, kind: AuthEventKind) -> None:
        record_auth_event(kind, user.username, user.unit_id, None, detail, scope="account", at=self.clock())
