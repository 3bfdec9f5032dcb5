"""The admin API's request and answer models (``/admin/v1``, ``vkyc.api.admin_endpoints``).

What an admin writes is the switchboard's own schema (``vkyc.domain.switchboard``, ``CallSettings``,
``SubTypePolicy``): the demo loader validates with the same models. Answers wrap each object with its
``etag`` (also sent as the ``ETag`` header of a single object): send it back as ``If-Match`` to change
or delete the object; a stale one answers ``PRECONDITION_FAILED`` and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from vkyc.domain.policy import SubTypePolicy
from vkyc.domain.roles import UserRole
from vkyc.domain.switchboard import (
    Group,
    Hotline,
    HotlineNumber,
    Password,
    Queue,
    Slug,
    Text,
    UnitConfig,
    UnitId,
    Username,
)

T = TypeVar("T", bound=BaseModel)
MAX_PAGE = 200


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Versioned(_Model, Generic[T]):
    """One object with its version: send ``etag`` as ``If-Match`` to change it."""

    etag: str
    item: T


class Page(_Model, Generic[T]):
    """A page of objects matching the search, in id order."""

    items: list[Versioned[T]]
    total: int
    offset: int
    limit: int


# -- paths and queries -----------------------------------------------------------------------------------


class UnitPath(_Model):
    unit_id: Annotated[str, Field(pattern=r"^\d{1,3}$")]


class SlugPath(_Model):
    object_id: Slug


class HotlinePath(_Model):
    number: HotlineNumber


class UserPath(_Model):
    username: Username


class KeyPath(_Model):
    key_id: Annotated[str, Field(pattern=r"^[a-f0-9]{16}$")]


class SubTypePath(_Model):
    sub_type: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,16}$")]


class NodePath(_Model):
    node_id: Annotated[str, Field(min_length=1, max_length=64)]


class ListQuery(_Model):
    """Search and paging: ``q`` matches any field (case-insensitive), ``unit`` keeps one unit's objects."""

    q: Annotated[str, Field(max_length=100)] = ""
    unit: Annotated[int, Field(ge=1, le=999)] | None = None
    offset: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 50


class ScopeQuery(_Model):
    """``unit`` absent: the global scope (system-wide admins); present: that unit's override."""

    unit: Annotated[int, Field(ge=1, le=999)] | None = None


class AuditQuery(_Model):
    """Audit entries of ``from`` .. ``to`` (UTC days, at most 31; default today), filtered."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Annotated[date | None, Field(alias="from")] = None
    to: date | None = None
    kind: Annotated[str, Field(max_length=32)] | None = None
    object_id: Annotated[str, Field(max_length=128)] | None = None
    actor: Annotated[str, Field(max_length=64)] | None = None
    unit: Annotated[int, Field(ge=1, le=999)] | None = None
    offset: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 50


# -- users -------------------------------------------------------------------------------------------------


class UserView(_Model):
    """A login account as the admin sees it (never its password or hash)."""

    username: Username
    name: Text
    role: UserRole
    unit: UnitId | None = None
    groups: tuple[Slug, ...] = ()
    disabled: bool = False
    disable_after_call: bool = False
    """Disabled during a call: the account is disabled once the call is over."""
    must_change_password: bool = False


class UserUpdate(_Model):
    """What changes of an account: its name, role, unit and groups (moving it ends its sessions)."""

    name: Text
    role: UserRole
    unit: UnitId | None = None
    groups: tuple[Slug, ...] = ()


class PasswordReset(_Model):
    """A new password the user must change at the next login; absent: one is generated and shown once."""

    password: Password | None = None


class UserChanged(_Model):
    """The account as it now is, and what the change did."""

    etag: str
    item: UserView
    sessions_ended: int = 0
    deferred: str | None = None
    """``USER_IN_CALL``: the agent is in a call; the change is made when the call is over."""
    password: str | None = None
    """A generated password, shown this once (the user must change it at the next login)."""


# -- integrator API keys -----------------------------------------------------------------------------------


class ApiKeyView(_Model):
    """An integrator key (never its secret): ``id`` is the first 16 hex digits of its digest."""

    id: str
    unit: UnitId
    name: Text
    created_at: datetime
    revoked_at: datetime | None = None
    """In the future: the key was rotated and works until then (the overlap window)."""
    rotated_to: str | None = None


class ApiKeyCreate(_Model):
    unit: UnitId
    name: Text


class ApiKeyRotate(_Model):
    overlap_s: Annotated[int, Field(strict=True, ge=0, le=7 * 24 * 3600)] = 24 * 3600
    """How long the old key keeps working beside the new one (0: revoked at once)."""


class ApiKeySecret(_Model):
    """A new key: ``secret`` is shown this once and never again (only its digest is stored)."""

    etag: str
    item: ApiKeyView
    secret: str


# -- settings ----------------------------------------------------------------------------------------------


class SettingValue(_Model):
    value: Any
    source: str
    """``default``, ``global`` or ``unit`` (where the effective value comes from)."""


class SettingWarning(_Model):
    """Something an effective setting will not do as its admin probably expects; it is saved all the
    same (``vkyc.protocol.errors.WARNINGS``, docs/errors.md "Warnings")."""

    code: str = Field(
        description="A code of the warnings' catalogue (docs/errors.md, Warnings): "
        "`ANSWER_URL_NOT_FRAMEABLE`, the agent page cannot show this URL in its panel."
    )
    setting: str = Field(description="The setting it is about, e.g. `popup_answer_url`.")
    detail: str = Field(
        description="For people, in English: e.g. the URL's origin and the origins the pages may frame."
    )


class SettingsView(_Model):
    """One scope's stored fields, every effective value with its source, and their warnings.

    ``warnings`` is about the effective values (empty: none); a value with a warning is saved."""

    etag: str
    unit: UnitId | None = None
    stored: dict[str, Any]
    effective: dict[str, SettingValue]
    warnings: list[SettingWarning] = Field(default_factory=list)


class SettingsPatch(_Model):
    """Fields to set (``CallSettings`` names and values; null = off for an optional field) and fields to
    clear (they inherit again)."""

    set: dict[str, Any] = Field(default_factory=dict)
    clear: list[str] = Field(default_factory=list)


# -- blacklist ---------------------------------------------------------------------------------------------


class BlacklistView(_Model):
    etag: str
    unit: UnitId | None = None
    numbers: list[str]
    total: int


class BlacklistNumber(_Model):
    number: Annotated[str, Field(min_length=1, max_length=32)]


class BlacklistImport(_Model):
    """CSV text: one number per line (the first column; a header ``number`` is skipped)."""

    csv: Annotated[str, Field(max_length=1_000_000)]
    replace: bool = False
    """True: the list becomes the file's numbers; false: they are added."""


class ImportLine(_Model):
    line: int
    text: str
    problem: str  # "invalid" | "duplicate" | "already_listed"
    detail: str


class BlacklistImported(_Model):
    etag: str
    added: int
    total: int
    report: list[ImportLine]


class BlacklistCsv(_Model):
    """The list as CSV (header ``number``, one normalized number per line)."""

    csv: str
    total: int


# -- media nodes and media files ---------------------------------------------------------------------------


class MediaNodeView(_Model):
    node_id: str
    address: str
    capacity: int
    load: int
    assigned: int
    heartbeat_at: datetime
    live: bool
    draining: bool


class MediaNodes(_Model):
    nodes: list[MediaNodeView]


class MediaUploadRequest(_Model):
    """What file to upload for which setting (the scope is the query's ``unit``, global without)."""

    purpose: Annotated[str, Field(pattern=r"^(ringtone|waiting_media)$")]
    content_type: Annotated[str, Field(max_length=64)]


class MediaUploadForm(_Model):
    """A pre-signed S3 POST: send ``fields`` and the file as ``file`` to ``url`` within 15 minutes, then
    ``POST /admin/v1/media/check`` with ``key``."""

    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int


class MediaCheckRequest(_Model):
    key: Annotated[str, Field(max_length=256)]


class MediaChecked(_Model):
    """The file passed the checks and the setting now names it."""

    key: str
    size: int
    content_type: str
    setting: str
    etag: str


# -- audit -------------------------------------------------------------------------------------------------


class AuditEntry(_Model):
    at: datetime
    actor: str
    unit: str
    kind: str
    object_id: str
    action: str
    before: Any = None
    after: Any = None


class AuditLog(_Model):
    entries: list[AuditEntry]
    total: int
    offset: int
    limit: int


class Deleted(_Model):
    deleted: str


# Named, concrete answer models: OpenAPI and the handlers name them.
UnitItem = Versioned[UnitConfig]
GroupItem = Versioned[Group]
QueueItem = Versioned[Queue]
HotlineItem = Versioned[Hotline]
PolicyItem = Versioned[SubTypePolicy]
UserItem = Versioned[UserView]
ApiKeyItem = Versioned[ApiKeyView]
UnitPage = Page[UnitConfig]
GroupPage = Page[Group]
QueuePage = Page[Queue]
HotlinePage = Page[Hotline]
PolicyPage = Page[SubTypePolicy]
UserPage = Page[UserView]
ApiKeyPage = Page[ApiKeyView]

__all__ = ["HotlineNumber", "Password", "UnitId"]


class AdminMe(_Model):
    """Who the admin is and what it reaches."""

    username: str
    unit: UnitId | None = None
    """Absent: a system-wide admin."""
    reach: list[int]
    """The units it administers (every unit for a system-wide admin)."""
    system: bool


class BlacklistPath(_Model):
    number: Annotated[str, Field(min_length=1, max_length=32)]
