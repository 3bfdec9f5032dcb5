"""The admin service's accounts and integrator API keys (``vkyc.services.admin`` has the rules).

Accounts: create (an agent gets its state item too), change name / role / unit / groups (moving an
account revokes its tokens and ends its sessions, as ``AccountService`` does), disable (an agent ringing,
in a call or in wrap-up is disabled once that is over: ``deferred``), enable, reset the password (the
user must choose a new one at the next login), delete (refused for an agent in a call).

Integrator keys: created with a random secret shown once (only its digest is stored, the record
``IntegratorAuth`` checks), listed without it, rotated (a new key; the old one keeps working for the
overlap window: its ``revoked_at`` lies in the future), revoked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from vkyc.domain.agent import AGENT, AgentState
from vkyc.domain.roles import UserRole
from vkyc.domain.switchboard import UserConfig
from vkyc.protocol.admin import ApiKeyView, UserUpdate, UserView
from vkyc.protocol.errors import FieldErrors, ProtocolError
from vkyc.repositories import admin_store, tables
from vkyc.repositories.admin_store import Put, Touch
from vkyc.repositories.agents import AgentRepository
from vkyc.security.passwords import api_key_digest, hash_password
from vkyc.services.accounts import ACCOUNT_CHANGED, CREDENTIALS_CHANGED, DISABLED
from vkyc.services.admin import (
    AdminCaller,
    AdminCore,
    Listed,
    _get,
    _page,
    check_if_match,
    dump,
    reference_error,
)

BUSY = frozenset({AgentState.RINGING.value, AgentState.IN_CALL.value, AgentState.WRAP_UP.value})
KEY_PREFIX = "vkyc_"
CutOff = Callable[[tables.User, str, str], int]
"""Ends the live sessions of an account that just changed (``AccountService.cut_off``); the count."""


def _no_sessions(user: tables.User, reason: str, by: str) -> int:
    return 0


def key_id(digest: str) -> str:
    """The public id of a key: 16 hex digits of its digest (``sha256$<hex>``)."""
    return digest.split("$", 1)[-1][:16]


@dataclass
class PeopleService(AdminCore):
    cut_off: CutOff = field(default=_no_sessions)
    agents: AgentRepository = field(default_factory=AgentRepository)

    # -- accounts ----------------------------------------------------------------------------------------

    def view(self, user: tables.User, agent: tables.Agent | None) -> UserView:
        """The admin's view of an account (its groups are on the agent's state item)."""
        return UserView(
            username=user.username,
            name=user.display_name,
            role=UserRole(user.role),
            unit=int(user.unit_id) if user.unit_id else None,
            groups=tuple(sorted(agent.group_ids or ())) if agent is not None else (),
            disabled=bool(user.disabled),
            disable_after_call=bool(user.disable_after_call),
            must_change_password=bool(user.must_change_password),
        )

    def list_users(
        self, caller: AdminCaller, *, q: str = "", unit: int | None = None, offset: int = 0, limit: int = 50
    ) -> Listed[UserView]:
        agents = {a.agent_id: a for a in tables.Agent.scan()}
        rows = [
            (self.view(u, agents.get(u.agent_id or "")), admin_store.rev(u))
            for u in sorted(tables.User.scan(), key=lambda u: u.username)
            if caller.sees(u.unit_id) and (unit is None or u.unit_id == str(unit))
        ]
        return _page(rows, q, offset, limit)

    def get_user(self, caller: AdminCaller, username: str) -> tuple[UserView, int]:
        user = self._user(caller, username)
        return self.view(user, self._agent(user)), admin_store.rev(user)

    def _user(self, caller: AdminCaller, username: str) -> tables.User:
        user = _get(tables.User, username)
        if user is None:
            raise ProtocolError("ADMIN_NOT_FOUND", f"No user {username!r}.")
        caller.check_unit(user.unit_id)
        return user

    def _user_at(self, caller: AdminCaller, username: str, if_match: str | None) -> tuple[tables.User, int]:
        """The account and its revision, if ``if_match`` (when given) still names it."""
        user = self._user(caller, username)
        rev = admin_store.rev(user)
        check_if_match(if_match, rev)
        return user, rev

    def _agent(self, user: tables.User) -> tables.Agent | None:
        return self.agents.find(user.agent_id) if user.agent_id else None

    def _check(self, caller: AdminCaller, role: UserRole, unit: int | None, groups: tuple[str, ...]) -> None:
        caller.check_unit(None if unit is None else str(unit))
        if unit is None:
            return
        item = _get(tables.Unit, str(unit))
        if item is None:
            raise reference_error("unit", f"unit {unit} does not exist")
        if role is not UserRole.ADMIN and not item.has_agents:
            raise reference_error("unit", f"unit {unit} has no agent team")
        for j, group_id in enumerate(groups):
            group = _get(tables.Group, group_id)
            if group is None or group.unit_id != str(unit):
                where = "does not exist" if group is None else f"belongs to unit {group.unit_id}"
                raise reference_error(f"groups.{j}", f"group {group_id!r} {where}")

    def create_user(
        self,
        caller: AdminCaller,
        spec: UserConfig,
        *,
        must_change: bool | None = None,
        keep_hash: str | None = None,
    ) -> tuple[UserView, int, str | None]:
        """Create the account; returns it, its revision and the generated password if none was given
        (the user must change a generated one at the next login). ``keep_hash``: a stored hash to reuse
        (the demo loader's reload)."""
        self._check(caller, spec.role, spec.unit, spec.groups)
        if _get(tables.User, spec.username) is not None:
            raise ProtocolError("ADMIN_ALREADY_EXISTS", f"User {spec.username!r} exists.")
        generated = None if spec.password else secrets.token_urlsafe(12)
        password_hash = keep_hash or hash_password(spec.password or generated or "")
        now = self.clock()
        unit_id = str(spec.unit) if spec.unit is not None else None
        agent_id = spec.username if spec.role is UserRole.AGENT else None
        touches = []
        if agent_id is not None:
            agent = self.agents.find(agent_id)
            if agent is None:
                item = tables.Agent(agent_id, unit_id=unit_id, name=spec.name, group_ids=set(spec.groups))
                self.agents.create(
                    item, AGENT, request_id=f"admin:agent:{agent_id}:create", actor=caller.actor, at=now
                )
            else:  # an account deleted earlier left its (offline) state item: it is reused
                touches.append(
                    Touch(
                        agent,
                        [
                            tables.Agent.unit_id.set(unit_id or ""),
                            tables.Agent.name.set(spec.name),
                            tables.Agent.group_ids.set(set(spec.groups)),
                        ],
                    )
                )
        user = tables.User(
            spec.username,
            role=spec.role.value,
            unit_id=unit_id,
            display_name=spec.name,
            password_hash=password_hash,
            agent_id=agent_id,
            disabled=False,
            created_at=now,
            token_generation=0,
            must_change_password=True if generated else (must_change or None),
        )
        view = self.view(user, None).model_copy(update={"groups": tuple(sorted(spec.groups))})
        self.commit(
            caller,
            [Put(user, None)],
            kind="users",
            object_id=spec.username,
            action="create",
            unit_id=unit_id,
            before=None,
            after=dump(view),
            touches=touches,
        )
        return view, 1, generated

    def update_user(
        self, caller: AdminCaller, username: str, change: UserUpdate, if_match: str | None
    ) -> tuple[UserView, int, int]:
        """Change name, role, unit, groups; returns the view, revision and sessions ended."""
        user, rev = self._user_at(caller, username, if_match)
        agent = self._agent(user)
        before = self.view(user, agent)
        if (change.role is UserRole.AGENT) != (before.role is UserRole.AGENT):
            raise FieldErrors("BAD_MESSAGE", [("role", "an agent stays an agent; create another account")])
        UserConfig(
            username=username, name=change.name, role=change.role, unit=change.unit, groups=change.groups
        )
        self._check(caller, change.role, change.unit, change.groups)
        after = before.model_copy(
            update={
                "name": change.name,
                "role": change.role,
                "unit": change.unit,
                "groups": tuple(sorted(change.groups)),
            }
        )
        if after == before:
            return before, rev, 0
        moved = before.role != after.role or before.unit != after.unit
        if moved and agent is not None and agent.state in BUSY:
            raise ProtocolError("USER_IN_CALL", f"{username} is {agent.state}.")
        user.display_name, user.role = change.name, change.role.value
        user.unit_id = str(change.unit) if change.unit is not None else None
        if moved:
            user.token_generation = int(user.token_generation or 0) + 1
        touches = []
        if agent is not None:
            touches.append(
                Touch(
                    agent,
                    [
                        tables.Agent.unit_id.set(user.unit_id),
                        tables.Agent.name.set(change.name),
                        tables.Agent.group_ids.set(set(change.groups)),
                    ],
                )
            )
        self.commit(
            caller,
            [Put(user, rev)],
            kind="users",
            object_id=username,
            action="update",
            unit_id=user.unit_id,
            before=dump(before),
            after=dump(after),
            touches=touches,
        )
        ended = self.cut_off(user, ACCOUNT_CHANGED, caller.actor) if moved else 0
        return after, rev + 1, ended

    def set_disabled(
        self, caller: AdminCaller, username: str, disabled: bool, if_match: str | None
    ) -> tuple[UserView, int, int, str | None]:
        """Disable or enable; returns view, revision, sessions ended and ``USER_IN_CALL`` when deferred."""
        user, rev = self._user_at(caller, username, if_match)
        agent = self._agent(user)
        before = self.view(user, agent)
        deferred = None
        if disabled and agent is not None and agent.state in BUSY:
            user.disable_after_call = True
            deferred = "USER_IN_CALL"
        elif disabled:
            user.disabled, user.disable_after_call = True, None
            user.token_generation = int(user.token_generation or 0) + 1
        else:
            user.disabled, user.disable_after_call = False, None
        after = self.view(user, agent)
        if after == before:
            return before, rev, 0, deferred
        action = "disable_after_call" if deferred else ("disable" if disabled else "enable")
        self.commit(
            caller,
            [Put(user, rev)],
            kind="users",
            object_id=username,
            action=action,
            unit_id=user.unit_id,
            before=dump(before),
            after=dump(after),
        )
        ended = self.cut_off(user, DISABLED, caller.actor) if disabled and not deferred else 0
        return after, rev + 1, ended, deferred

    def finish_deferred_disables(self, caller: AdminCaller) -> int:
        """Disable the accounts whose agent was busy when an admin disabled them and is no longer;
        returns how many (the admin app's schedule runs this every minute)."""
        done = 0
        for user in tables.User.scan(tables.User.disable_after_call == True):  # noqa: E712
            agent = self._agent(user)
            if agent is None or agent.state not in BUSY:
                self.set_disabled(caller, user.username, True, None)
                done += 1
        return done

    def reset_password(
        self,
        caller: AdminCaller,
        username: str,
        password: str | None,
        if_match: str | None,
        *,
        must_change: bool = True,
    ) -> tuple[UserView, int, int, str | None]:
        """A new password the user must change at the next login; its old tokens and sessions go.
        Returns view, revision, sessions ended and the generated password if none was given."""
        user, rev = self._user_at(caller, username, if_match)
        before = self.view(user, self._agent(user))
        generated = None if password else secrets.token_urlsafe(12)
        user.password_hash = hash_password(password or generated or "")
        user.must_change_password = True if must_change else None
        user.token_generation = int(user.token_generation or 0) + 1
        after = before.model_copy(update={"must_change_password": must_change})
        # The audit says a password was set, never which.
        self.commit(
            caller,
            [Put(user, rev)],
            kind="users",
            object_id=username,
            action="reset_password",
            unit_id=user.unit_id,
            before=dump(before),
            after=dump(after),
        )
        return after, rev + 1, self.cut_off(user, CREDENTIALS_CHANGED, caller.actor), generated

    def delete_user(self, caller: AdminCaller, username: str, if_match: str | None) -> None:
        user, rev = self._user_at(caller, username, if_match)
        agent = self._agent(user)
        if agent is not None and agent.state in BUSY:
            raise ProtocolError("USER_IN_CALL", f"{username} is {agent.state}.")
        before = self.view(user, agent)
        self.commit(
            caller,
            [Put(user, rev, delete=True)],
            kind="users",
            object_id=username,
            action="delete",
            unit_id=user.unit_id,
            before=dump(before),
            after=None,
        )
        self.cut_off(user, DISABLED, caller.actor)

    # -- integrator API keys -----------------------------------------------------------------------------

    def _key_view(self, key: tables.ApiKey) -> ApiKeyView:
        return ApiKeyView(
            id=key_id(key.digest),
            unit=int(key.unit_id),
            name=key.name,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            rotated_to=key.rotated_to,
        )

    def list_keys(
        self, caller: AdminCaller, *, q: str = "", unit: int | None = None, offset: int = 0, limit: int = 50
    ) -> Listed[ApiKeyView]:
        keys = sorted(tables.ApiKey.scan(), key=lambda k: (k.unit_id, k.created_at, k.digest))
        rows = [
            (self._key_view(k), admin_store.rev(k))
            for k in keys
            if caller.sees(k.unit_id) and (unit is None or k.unit_id == str(unit))
        ]
        return _page(rows, q, offset, limit)

    def _key(self, caller: AdminCaller, kid: str) -> tables.ApiKey:
        for key in tables.ApiKey.scan():
            if key_id(key.digest) == kid:
                caller.check_unit(key.unit_id)
                return key
        raise ProtocolError("ADMIN_NOT_FOUND", f"No API key {kid!r}.")

    def _key_at(self, caller: AdminCaller, kid: str, if_match: str | None) -> tuple[tables.ApiKey, int]:
        key = self._key(caller, kid)
        rev = admin_store.rev(key)
        check_if_match(if_match, rev)
        return key, rev

    def create_key(
        self,
        caller: AdminCaller,
        unit: int,
        name: str,
        *,
        secret: str | None = None,
        action: str = "create",
        extra: list[Put] | None = None,
        before: Any = None,
    ) -> tuple[ApiKeyView, int, str]:
        """A new key of ``unit``; the secret is returned once (``secret``: the demo loader's own)."""
        caller.check_unit(str(unit))
        if _get(tables.Unit, str(unit)) is None:
            raise reference_error("unit", f"unit {unit} does not exist")
        plain = secret or KEY_PREFIX + secrets.token_urlsafe(32)
        key = tables.ApiKey(api_key_digest(plain), unit_id=str(unit), name=name, created_at=self.clock())
        view = self._key_view(key)
        self.commit(
            caller,
            [Put(key, None), *(extra or [])],
            kind="api_keys",
            object_id=view.id,
            action=action,
            unit_id=str(unit),
            before=before,
            after=dump(view),
        )
        return view, 1, plain

    def rotate_key(
        self, caller: AdminCaller, kid: str, overlap_s: int, if_match: str | None
    ) -> tuple[ApiKeyView, int, str]:
        """A new key for the same unit and name; the old one works ``overlap_s`` more seconds."""
        old, rev = self._key_at(caller, kid, if_match)
        now = self.clock()
        if old.revoked_at is not None and old.revoked_at <= now:
            raise ProtocolError("ADMIN_NOT_FOUND", f"API key {kid!r} is revoked.")
        before = dump(self._key_view(old))
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        old.revoked_at = now + timedelta(seconds=overlap_s)
        old.rotated_to = key_id(api_key_digest(plain))
        return self.create_key(
            caller,
            int(old.unit_id),
            old.name,
            secret=plain,
            action="rotate",
            extra=[Put(old, rev)],
            before=before,
        )

    def revoke_key(self, caller: AdminCaller, kid: str, if_match: str | None) -> tuple[ApiKeyView, int]:
        key, rev = self._key_at(caller, kid, if_match)
        before = self._key_view(key)
        now = self.clock()
        if key.revoked_at is None or key.revoked_at > now:
            key.revoked_at = now
        after = self._key_view(key)
        if after == before:
            return before, rev
        self.commit(
            caller,
            [Put(key, rev)],
            kind="api_keys",
            object_id=kid,
            action="revoke",
            unit_id=key.unit_id,
            before=dump(before),
            after=dump(after),
        )
        return after, rev + 1

    def import_key(self, caller: AdminCaller, unit: int, name: str, secret: str) -> bool:
        """The demo loader's keys (their secrets are in the demo file): created once, then kept."""
        existing = _get(tables.ApiKey, api_key_digest(secret))
        if (
            existing is not None
            and existing.unit_id == str(unit)
            and existing.name == name
            and existing.revoked_at is None
        ):
            return False
        if existing is not None:
            rev = admin_store.rev(existing)
            before = dump(self._key_view(existing))
            existing.unit_id, existing.name, existing.revoked_at = str(unit), name, None
            self.commit(
                caller,
                [Put(existing, rev)],
                kind="api_keys",
                object_id=key_id(existing.digest),
                action="update",
                unit_id=str(unit),
                before=before,
                after=dump(self._key_view(existing)),
            )
            return True
        self.create_key(caller, unit, name, secret=secret)
        return True
