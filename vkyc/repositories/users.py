"""Login accounts (``users``): agents, supervisors and admins, with their password hashes.

This module stores and returns hashes; hashing and checking a password is ``vkyc.security.passwords``.
An agent's state lives in ``agents`` (``vkyc.repositories.agents``); ``User.agent_id`` names it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from vkyc.domain.roles import UserRole
from vkyc.repositories.errors import NotFound
from vkyc.repositories.tables import User

KIND = "user"


def find_user(username: str) -> User | None:
    """The account, or None. Strongly consistent (a login must see a password change). One GetItem."""
    try:
        return User.get(username, consistent_read=True)
    except User.DoesNotExist:
        return None


def get_user(username: str) -> User:
    """The account; raises ``NotFound``. One GetItem."""
    user = find_user(username)
    if user is None:
        raise NotFound(KIND, username)
    return user


def put_user(
    username: str,
    *,
    role: UserRole,
    unit_id: str | None,
    display_name: str,
    password_hash: str,
    agent_id: str | None = None,
    disabled: bool = False,
    at: datetime | None = None,
) -> User:
    """Create the account, or overwrite every field of an existing one but ``created_at``; return it.

    Idempotent: the same call twice leaves the same item (``created_at`` is set once, to ``at`` or
    now). Raises ``ValueError`` (nothing written) unless: an agent has ``unit_id`` and ``agent_id``; a
    supervisor has ``unit_id`` and no ``agent_id``; an admin has no ``agent_id``; ``password_hash`` is
    not empty. One UpdateItem.
    """
    if not password_hash:
        raise ValueError(f"user {username!r}: empty password hash")
    if role is not UserRole.ADMIN and not unit_id:
        raise ValueError(f"user {username!r}: a {role.value} belongs to a unit")
    if (role is UserRole.AGENT) != bool(agent_id):
        raise ValueError(f"user {username!r}: agent_id is set for agents, and only for agents")
    when = at or datetime.now(UTC)
    actions: list[Any] = [
        User.role.set(role.value),
        User.display_name.set(display_name),
        User.password_hash.set(password_hash),
        User.disabled.set(disabled),
        # An upsert must not move the creation time of an existing account.
        User.created_at.set(User.created_at | when),
        User.unit_id.set(unit_id) if unit_id else User.unit_id.remove(),
        User.agent_id.set(agent_id) if agent_id else User.agent_id.remove(),
    ]
    user = User(username)
    user.update(actions)  # UpdateItem creates a missing item; ALL_NEW fills ``user``
    return user


def set_password_hash(username: str, password_hash: str, *, expected_hash: str) -> bool:
    """Replace the hash only if the stored one is still ``expected_hash``; True if replaced.

    For re-hashing at login (``passwords.needs_rehash``): a password changed meanwhile is never
    overwritten with a hash of the old one. False also when the account does not exist. One UpdateItem.
    """
    if not password_hash:
        raise ValueError(f"user {username!r}: empty password hash")
    try:
        User(username).update(
            [User.password_hash.set(password_hash)], condition=User.password_hash == expected_hash
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def users_of_unit(unit_id: str, role: UserRole | None = None) -> list[User]:
    """The unit's accounts (only ``role`` if given), from GSI ``by_unit``: keys, ``role``,
    ``display_name``, ``agent_id``, ``disabled``; never ``password_hash``. Eventually consistent;
    one Query."""
    condition = User.role == role.value if role is not None else None
    return list(User.by_unit.query(unit_id, range_key_condition=condition))


def change_account(
    username: str,
    *,
    revoke: bool,
    disabled: bool | None = None,
    password_hash: str | None = None,
    role: UserRole | None = None,
    unit_id: str | None = None,
    clear_unit: bool = False,
) -> User:
    """Change the given fields of an existing account; with ``revoke``, in the same write, raise its
    ``token_generation`` so that every token issued before is refused. Raises ``NotFound``. One
    UpdateItem; returns the account as it now is."""
    actions: list[Any] = [User.token_generation.add(1)] if revoke else []
    if disabled is not None:
        actions.append(User.disabled.set(disabled))
    if password_hash is not None:
        actions.append(User.password_hash.set(password_hash))
    if role is not None:
        actions.append(User.role.set(role.value))
    if unit_id is not None:
        actions.append(User.unit_id.set(unit_id))
    elif clear_unit:
        actions.append(User.unit_id.remove())
    user = User(username)
    try:
        user.update(actions=actions, condition=User.username.exists())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(KIND, username) from None
        raise
    return user


def password_changed(username: str, password_hash: str) -> User:
    """The user chose a new password after an admin's reset: store it, clear ``must_change_password``
    and raise the admin API's ``rev`` (the account changed). One UpdateItem; returns the account."""
    user = User(username)
    user.update(
        actions=[
            User.password_hash.set(password_hash),
            User.must_change_password.remove(),
            User.rev.set((User.rev | 0) + 1),
        ],
        condition=User.username.exists(),
    )
    return user
