"""Who may connect: tokens for integrators' mobiles, agents and supervisors, and media nodes.

REST use cases (``/auth/mobile``, ``/auth/login``, ``/auth/node``) return a ``Grant``; every
failure is a ``ProtocolError`` with a catalogue code. Tokens are presented once, at ``$connect``.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from vkyc.domain.agent import AgentState
from vkyc.domain.roles import UserRole
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import Role
from vkyc.repositories import revocations
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.api_keys import find_api_key
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.tables import User
from vkyc.repositories.users import find_user
from vkyc.security import node_keys, tokens
from vkyc.security.passwords import api_key_digest, hash_password, verify

log = logging.getLogger("vkyc.auth")

MOBILE_TOKEN_TTL_S = 600  # long enough to connect; the session then lives on its own
LOGIN_TOKEN_TTL_S = 12 * 3600  # one working day
NODE_TOKEN_TTL_S = 24 * 3600
BUSY_AGENT_STATES = frozenset({AgentState.RINGING.value, AgentState.IN_CALL.value})

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


Channel = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class MobileTokenRequest(_Body):
    dealer_account: Ident
    dossier_id: Ident
    # The dealer's sales channel (seed 002 step 6: point of sale "DBH" or agent "DL"); groups may take
    # only some channels' calls. Absent: a call any group may take.
    dealer_channel: Channel | None = None


class LoginRequest(_Body):
    username: Ident
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class NodeTokenRequest(_Body):
    node_id: Ident
    node_key: Annotated[str, StringConstraints(min_length=1, max_length=256)]


@dataclass(frozen=True)
class Grant:
    token: str
    expires_in_s: int
    role: Role
    unit_id: str
    agent_id: str | None = None

    def as_dict(self, ws_url: str) -> dict[str, Any]:
        return {
            "token": self.token,
            "expires_in_s": self.expires_in_s,
            "role": self.role.value,
            "unit_id": self.unit_id,
            "agent_id": self.agent_id,
            "ws_url": ws_url,
        }


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    role: Role
    principal_id: str
    unit_id: str
    agent_id: str | None = None
    dossier_id: str | None = None
    dealer_channel: str | None = None
    username: str | None = None  # a login's account (agents, supervisors, admins)
    token_id: str = ""  # the token's ``jti``: what a bye or logout revokes
    token_expires_at: datetime | None = None


class AuthService:
    def __init__(
        self,
        agents: AgentRepository | None = None,
        sessions: SessionRepository | None = None,
        dossiers: DossierRepository | None = None,
        standing: Callable[[str, str | None], tuple[bool, User | None]] = revocations.token_standing,
    ) -> None:
        self.agents = agents or AgentRepository()
        self.sessions = sessions or SessionRepository()
        self.dossiers = dossiers or DossierRepository()
        # Whether a token was revoked, and the account it speaks for (one BatchGetItem).
        self.standing = standing

    def mobile_token(self, api_key: str | None, request: MobileTokenRequest) -> Grant:
        if not api_key:
            raise ProtocolError("AUTH_REQUIRED", "Send the unit's API key in the x-api-key header.")
        key = find_api_key(api_key_digest(api_key))
        if key is None or key.revoked_at is not None:
            raise ProtocolError("API_KEY_INVALID")
        dossier = self.dossiers.find(request.dossier_id)
        if dossier is None:
            raise ProtocolError("NOT_FOUND", f"No dossier {request.dossier_id!r}.")
        if dossier.unit_id != key.unit_id:
            raise ProtocolError("DOSSIER_OTHER_UNIT")
        claims = {
            "role": Role.MOBILE.value,
            "sub": request.dealer_account,
            "unit": key.unit_id,
            "dossier": request.dossier_id,
        }
        if request.dealer_channel:
            claims["channel"] = request.dealer_channel
        return Grant(tokens.issue(claims, MOBILE_TOKEN_TTL_S), MOBILE_TOKEN_TTL_S, Role.MOBILE, key.unit_id)

    def login(self, request: LoginRequest) -> Grant:
        user = find_user(request.username)
        # Verify against a dummy hash for unknown users too, so timing does not reveal usernames.
        encoded = user.password_hash if user is not None else _dummy_hash()
        if not verify(request.password, encoded) or user is None:
            raise ProtocolError("INVALID_CREDENTIALS")
        if user.disabled:
            raise ProtocolError("ACCOUNT_DISABLED")
        if user.role == UserRole.AGENT.value:
            assert user.agent_id is not None
            self.refuse_if_busy_elsewhere(user.agent_id)
            role, principal = Role.AGENT, user.agent_id
        elif user.role in (UserRole.SUPERVISOR.value, UserRole.ADMIN.value):
            role, principal = Role.SUPERVISOR, user.username
        else:
            raise ProtocolError("ACCOUNT_DISABLED", f"Role {user.role!r} cannot log in here.")
        claims = {
            "role": role.value,
            "sub": principal,
            "unit": user.unit_id or "*",
            "agent": user.agent_id,
            "user": user.username,
            # What the account was when the token was issued: any change since revokes it.
            "gen": int(user.token_generation or 0),
        }
        token = tokens.issue(claims, LOGIN_TOKEN_TTL_S)
        return Grant(token, LOGIN_TOKEN_TTL_S, role, user.unit_id or "*", user.agent_id)

    def node_token(self, request: NodeTokenRequest) -> Grant:
        """A media node's token, for the node id its own key is bound to (``vkyc.security.node_keys``):
        a key of another id is INVALID_CREDENTIALS, so a node can never speak as another one. The
        token's principal is the node id, which the registration, heartbeat and media use cases key on.
        """
        try:
            valid = node_keys.is_key_of(request.node_id, request.node_key)
        except tokens.SecretMissing:
            log.error("POST /auth/node refused: %s is not set", node_keys.MASTER_VARIABLE)
            raise ProtocolError("INTERNAL_ERROR", "Media node keys are not configured.") from None
        if not valid:
            raise ProtocolError("INVALID_CREDENTIALS")
        claims = {"role": Role.MEDIA.value, "sub": request.node_id, "unit": "*"}
        return Grant(tokens.issue(claims, NODE_TOKEN_TTL_S), NODE_TOKEN_TTL_S, Role.MEDIA, "*")

    def principal_of(self, token: str) -> Principal:
        """The principal of a token presented at ``$connect`` or as a REST bearer. Raises ProtocolError:
        TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED (revoked by a bye or logout, or issued before the
        account last changed), ACCOUNT_DISABLED. Costs one BatchGetItem (the revocation list, and the
        account for a login's token)."""
        try:
            claims = tokens.verify(token)
        except tokens.TokenError as exc:
            raise ProtocolError(exc.code, str(exc)) from None
        try:
            role = Role(claims["role"])
            principal = Principal(
                role=role,
                principal_id=str(claims["sub"]),
                unit_id=str(claims["unit"]),
                agent_id=claims.get("agent"),
                dossier_id=claims.get("dossier"),
                dealer_channel=claims.get("channel"),
                username=claims.get("user"),
                token_id=str(claims["jti"]),
                token_expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (KeyError, ValueError, TypeError):
            raise ProtocolError("TOKEN_INVALID", "incomplete claims") from None
        self._refuse_if_revoked(principal, int(claims.get("gen", 0)))
        return principal

    def bearer(self, authorization: str | None, roles: frozenset[Role]) -> Principal:
        """The principal of an ``Authorization: Bearer <token>`` header, if its role is one of
        ``roles``. Raises AUTH_REQUIRED, FORBIDDEN_ACTION and ``principal_of``'s codes."""
        principal = self.principal_of(bearer_token(authorization))
        if principal.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise ProtocolError("FORBIDDEN_ACTION", f"Only {allowed} may ask this.")
        return principal

    def _refuse_if_revoked(self, principal: Principal, generation: int) -> None:
        revoked, user = self.standing(principal.token_id, principal.username)
        if revoked:
            raise ProtocolError("TOKEN_REVOKED", "It was revoked (logged out).")
        if principal.username is None:
            return
        if user is None:
            raise ProtocolError("TOKEN_REVOKED", "The account no longer exists.")
        if user.disabled:
            raise ProtocolError("ACCOUNT_DISABLED")
        if (
            int(user.token_generation or 0) != generation
            or (user.unit_id or "*") != principal.unit_id
            or user.agent_id != principal.agent_id
        ):
            raise ProtocolError("TOKEN_REVOKED", "The account changed since it was issued.")

    def refuse_if_busy_elsewhere(self, agent_id: str) -> None:
        """One login per agent: refuse while a live session of the account is ringing or in a call."""
        agent = self.agents.find(agent_id)
        if agent is None:
            raise ProtocolError("ACCOUNT_DISABLED", "This user has no agent profile.")
        if agent.state in BUSY_AGENT_STATES and self.sessions.live_of_principal(agent_id):
            raise ProtocolError("AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; ``AUTH_REQUIRED`` without one."""
    if not authorization:
        raise ProtocolError("AUTH_REQUIRED", "Send Authorization: Bearer <token> (from POST /auth/login).")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProtocolError("AUTH_REQUIRED", "The Authorization header must be 'Bearer <token>'.")
    return token.strip()


@functools.cache
def _dummy_hash() -> str:
    """A real hash of a random password: checking an unknown user costs what a real check costs."""
    return hash_password(secrets.token_hex(16))
