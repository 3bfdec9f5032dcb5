"""The admin API (``/admin/v1``, ``functions/admin``): every endpoint, declared once and part of
``vkyc.api.endpoints.ALL`` (hence of ``docs/openapi.json``).

Every endpoint takes the bearer token of an ``admin`` account (``POST /auth/login``); other accounts get
``ADMIN_REQUIRED``. Objects carry an ``etag``: send it as ``If-Match`` with a change; a stale one answers
``PRECONDITION_FAILED`` (412) and nothing is written. Every change is in the audit log
(``GET /admin/v1/audit``). The rules: ``vkyc.services.admin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from vkyc.api.routes import Endpoint
from vkyc.domain.policy import SubTypePolicy
from vkyc.domain.switchboard import Group, Hotline, Queue, UnitConfig, UserConfig
from vkyc.protocol import admin as a
from vkyc.protocol.messages import Role

ADMINS = frozenset({Role.SUPERVISOR})  # admins log in as supervisors do; the service checks the account
REFUSALS = ("ADMIN_REQUIRED", "ADMIN_OTHER_UNIT", "ADMIN_SYSTEM_ONLY")
WRITE = (*REFUSALS, "ADMIN_NOT_FOUND", "ADMIN_REFERENCE_INVALID")
PREFIX = "/admin/v1"


def admin(
    name: str, method: str, path: str, summary: str, *, tags: tuple[str, ...], **fields: Any
) -> Endpoint:
    """An endpoint of the admin API: ``admin_<name>`` under ``/admin/v1``, for admins' bearer tokens,
    answering ``WRITE``'s codes unless ``errors`` says otherwise."""
    fields.setdefault("errors", WRITE)
    return Endpoint(
        name=f"admin_{name}",
        method=method,
        path=PREFIX + path,
        summary=summary,
        roles=ADMINS,
        tags=tags,
        **fields,
    )


@dataclass(frozen=True)
class KindRoutes:
    """The five endpoints of one configuration kind."""

    kind: str  # vkyc.repositories.admin_kinds.KINDS key
    path: str
    param: str
    label: str
    params: type[BaseModel]
    body: type[BaseModel]
    item: type[BaseModel]
    page: type[BaseModel]
    delete_codes: tuple[str, ...]
    note: str = ""

    def endpoints(self) -> tuple[Endpoint, ...]:
        many, one = f"/{self.path}", f"/{self.path}/{{{self.param}}}"
        tags, kind, label = (f"admin: {self.path}",), self.kind, self.label
        return (
            admin(
                f"{kind}_list",
                "GET",
                many,
                f"The {label}s you administer, searched and paged",
                tags=tags,
                query=a.ListQuery,
                response=self.page,
                errors=REFUSALS,
            ),
            admin(
                f"{kind}_get",
                "GET",
                one,
                f"One {label}",
                tags=tags,
                params=self.params,
                response=self.item,
                etag=True,
            ),
            admin(
                f"{kind}_create",
                "POST",
                many,
                f"Create a {label}",
                tags=tags,
                description=self.note,
                body=self.body,
                response=self.item,
                errors=(*WRITE, "ADMIN_ALREADY_EXISTS", "UNIT_IN_USE"),
                etag=True,
            ),
            admin(
                f"{kind}_update",
                "PUT",
                one,
                f"Change a {label} (send its ETag as If-Match)",
                tags=tags,
                description=self.note,
                params=self.params,
                body=self.body,
                response=self.item,
                errors=(*WRITE, "UNIT_IN_USE"),
                etag=True,
            ),
            admin(
                f"{kind}_delete",
                "DELETE",
                one,
                f"Delete a {label}, unless it is in use",
                tags=tags,
                params=self.params,
                response=a.Deleted,
                errors=(*WRITE, *self.delete_codes),
                etag=True,
            ),
        )


KIND_ROUTES = (
    KindRoutes(
        "units",
        "units",
        "unit_id",
        "unit",
        a.UnitPath,
        UnitConfig,
        a.UnitItem,
        a.UnitPage,
        ("UNIT_IN_USE",),
        "System-wide admins only. `serves` is the serving map: the units this "
        "unit's agents answer (itself first); a served unit has no agent team of its own.",
    ),
    KindRoutes(
        "groups",
        "groups",
        "object_id",
        "group",
        a.SlugPath,
        Group,
        a.GroupItem,
        a.GroupPage,
        ("GROUP_ONLY_ROUTE", "GROUP_IN_USE"),
        "Conditions (customer types, SUB_TYPEs, dealer "
        "channels) restrict the calls the group takes; members are the agents listing it.",
    ),
    KindRoutes(
        "queues",
        "queues",
        "object_id",
        "queue",
        a.SlugPath,
        Queue,
        a.QueueItem,
        a.QueuePage,
        ("QUEUE_IN_USE",),
        "Groups by priority; an overflow group joins after its delay, which "
        "must be below the queue's timeout.",
    ),
    KindRoutes(
        "hotlines", "hotlines", "number", "hotline", a.HotlinePath, Hotline, a.HotlineItem, a.HotlinePage, ()
    ),
    KindRoutes(
        "sub_type_policy",
        "sub-type-policy",
        "sub_type",
        "SUB_TYPE policy row",
        a.SubTypePath,
        SubTypePolicy,
        a.PolicyItem,
        a.PolicyPage,
        (),
        "System-wide admins only.",
    ),
)

ME = admin(
    "me",
    "GET",
    "/me",
    "Who the admin is and its reach",
    tags=("admin",),
    response=a.AdminMe,
    errors=("ADMIN_REQUIRED",),
)

_USER = "/users/{username}"
_USERS = ("admin: users",)
USERS_LIST = admin(
    "users_list",
    "GET",
    "/users",
    "Accounts (agents, supervisors, admins), searched and paged",
    tags=_USERS,
    query=a.ListQuery,
    response=a.UserPage,
    errors=REFUSALS,
)
USER_CREATE = admin(
    "users_create",
    "POST",
    "/users",
    "Create an account",
    tags=_USERS,
    description="Without `password`, one is generated, answered once, and must be changed at "
    "the first login. An agent gets its status item (OFFLINE).",
    body=UserConfig,
    response=a.UserChanged,
    errors=(*WRITE, "ADMIN_ALREADY_EXISTS"),
    etag=True,
)
USER_GET = admin(
    "users_get", "GET", _USER, "One account", tags=_USERS, params=a.UserPath, response=a.UserItem, etag=True
)
USER_UPDATE = admin(
    "users_update",
    "PUT",
    _USER,
    "Change name, role, unit or groups",
    tags=_USERS,
    description="Another role or unit revokes the account's tokens and ends its sessions; "
    "refused for an agent ringing or in a call (`USER_IN_CALL`).",
    params=a.UserPath,
    body=a.UserUpdate,
    response=a.UserChanged,
    errors=(*WRITE, "USER_IN_CALL"),
    etag=True,
)
USER_DELETE = admin(
    "users_delete",
    "DELETE",
    _USER,
    "Delete an account",
    tags=_USERS,
    params=a.UserPath,
    response=a.Deleted,
    errors=(*WRITE, "USER_IN_CALL"),
    etag=True,
)
USER_DISABLE = admin(
    "users_disable",
    "POST",
    f"{_USER}/disable",
    "Disable an account: its tokens and sessions end",
    tags=_USERS,
    description="An agent ringing, in a call or in wrap-up is disabled once that is "
    "over (`deferred: USER_IN_CALL`); meanwhile the account shows `disable_after_call`.",
    params=a.UserPath,
    response=a.UserChanged,
    etag=True,
)
USER_ENABLE = admin(
    "users_enable",
    "POST",
    f"{_USER}/enable",
    "Enable an account again (its old tokens stay revoked)",
    tags=_USERS,
    params=a.UserPath,
    response=a.UserChanged,
    etag=True,
)
USER_PASSWORD = admin(
    "users_password",
    "POST",
    f"{_USER}/password",
    "Reset the password: the user must change it at the next login",
    tags=_USERS,
    description="Without `password`, one is generated and answered once. The account's tokens "
    "are revoked and its sessions end.",
    params=a.UserPath,
    body=a.PasswordReset,
    response=a.UserChanged,
    etag=True,
)

_KEYS = ("admin: api keys",)
KEYS_LIST = admin(
    "api_keys_list",
    "GET",
    "/api-keys",
    "Integrator API keys (never their secrets)",
    tags=_KEYS,
    query=a.ListQuery,
    response=a.ApiKeyPage,
    errors=REFUSALS,
)
KEY_CREATE = admin(
    "api_keys_create",
    "POST",
    "/api-keys",
    "A new key for a unit: the secret is answered this once",
    tags=_KEYS,
    body=a.ApiKeyCreate,
    response=a.ApiKeySecret,
    etag=True,
)
KEY_ROTATE = admin(
    "api_keys_rotate",
    "POST",
    "/api-keys/{key_id}/rotate",
    "Rotate a key: a new secret; the old one works for the overlap window",
    tags=_KEYS,
    params=a.KeyPath,
    body=a.ApiKeyRotate,
    response=a.ApiKeySecret,
    etag=True,
)
KEY_REVOKE = admin(
    "api_keys_revoke",
    "POST",
    "/api-keys/{key_id}/revoke",
    "Revoke a key now",
    tags=_KEYS,
    params=a.KeyPath,
    response=a.ApiKeyItem,
    etag=True,
)

_SETTINGS = ("admin: settings",)
SETTINGS_GET = admin(
    "settings_get",
    "GET",
    "/settings",
    "A scope's settings: what it stores, every effective value and its source",
    tags=_SETTINGS,
    description="A change reaches every running handler within 30 s (each container keeps what "
    "it read for that long). `warnings`: effective values that will not work as meant, e.g. "
    "`ANSWER_URL_NOT_FRAMEABLE` (a panel URL of an origin the pages may not frame).",
    query=a.ScopeQuery,
    response=a.SettingsView,
    etag=True,
)
SETTINGS_PATCH = admin(
    "settings_patch",
    "PATCH",
    "/settings",
    "Set and clear settings of the global scope or a unit's, all or nothing",
    tags=_SETTINGS,
    description="Fields and values are `CallSettings`'; a bad one answers `BAD_MESSAGE` naming it "
    "in `fields` (`set.<name>`). The global scope needs a system-wide admin. Takes effect "
    "within 30 s. A valid value that will not work as meant is saved all the same, and the answer "
    "warns of it in `warnings`: `ANSWER_URL_NOT_FRAMEABLE` for a URL the agent page shows in its "
    "panel from an origin the deployment does not let the pages frame (`VKYC_FRAME_ORIGINS`, "
    "`FrameOrigins`).",
    query=a.ScopeQuery,
    body=a.SettingsPatch,
    response=a.SettingsView,
    etag=True,
)

_BLACKLIST = ("admin: blacklist",)
BLACKLIST_GET = admin(
    "blacklist_get",
    "GET",
    "/blacklist",
    "A scope's blacklist (normalized numbers)",
    tags=_BLACKLIST,
    query=a.ScopeQuery,
    response=a.BlacklistView,
    etag=True,
)
BLACKLIST_ADD = admin(
    "blacklist_add",
    "POST",
    "/blacklist",
    "Add one number",
    tags=_BLACKLIST,
    query=a.ScopeQuery,
    body=a.BlacklistNumber,
    response=a.BlacklistView,
    etag=True,
)
BLACKLIST_REMOVE = admin(
    "blacklist_remove",
    "DELETE",
    "/blacklist/{number}",
    "Remove one number",
    tags=_BLACKLIST,
    params=a.BlacklistPath,
    query=a.ScopeQuery,
    response=a.BlacklistView,
    etag=True,
)
BLACKLIST_IMPORT = admin(
    "blacklist_import",
    "POST",
    "/blacklist/import",
    "Import a CSV of numbers, with a report of every line not added",
    tags=_BLACKLIST,
    description="One number per line (first column); a header line is skipped. Invalid, "
    "duplicate and already listed lines are reported by line number; the valid ones are "
    "added (or, with `replace`, become the list).",
    query=a.ScopeQuery,
    body=a.BlacklistImport,
    response=a.BlacklistImported,
    errors=(*WRITE, "CSV_INVALID"),
    max_body_bytes=1_100_000,
    etag=True,
)
BLACKLIST_EXPORT = admin(
    "blacklist_export",
    "GET",
    "/blacklist/export",
    "The blacklist as CSV",
    tags=_BLACKLIST,
    query=a.ScopeQuery,
    response=a.BlacklistCsv,
)

_NODES = ("admin: media nodes",)
NODES = admin(
    "media_nodes",
    "GET",
    "/media-nodes",
    "Media nodes with load and last heartbeat",
    tags=_NODES,
    response=a.MediaNodes,
    errors=REFUSALS,
)
NODE_DRAIN = admin(
    "media_node_drain",
    "POST",
    "/media-nodes/{node_id}/drain",
    "Drain a node: no new calls; its calls go on",
    tags=_NODES,
    params=a.NodePath,
    response=a.MediaNodeView,
)
NODE_UNDRAIN = admin(
    "media_node_undrain",
    "POST",
    "/media-nodes/{node_id}/undrain",
    "Take new calls again",
    tags=_NODES,
    params=a.NodePath,
    response=a.MediaNodeView,
)

_MEDIA = ("admin: media files",)
MEDIA_FORM = admin(
    "media_form",
    "POST",
    "/media/forms",
    "A pre-signed S3 POST form for a ringtone or waiting media file",
    tags=_MEDIA,
    description="Ringtones: MP3, WAV or OGG up to 1 MB; waiting media: MP4 or WebM up to "
    "20 MB. Upload within 15 minutes, then `POST /admin/v1/media/check` with the key: the file is "
    "checked (its bytes must be of the declared type) before the scope's setting names it.",
    query=a.ScopeQuery,
    body=a.MediaUploadRequest,
    response=a.MediaUploadForm,
)
MEDIA_CHECK = admin(
    "media_check",
    "POST",
    "/media/check",
    "Check an uploaded media file and set it (`ringtone` or `waiting_media_key`)",
    tags=_MEDIA,
    description="A missing file, one too large or whose bytes are not of its declared type is "
    "deleted and answers `MEDIA_FILE_REJECTED`; the setting keeps what it had.",
    query=a.ScopeQuery,
    body=a.MediaCheckRequest,
    response=a.MediaChecked,
    errors=(*WRITE, "MEDIA_FILE_REJECTED"),
    etag=True,
)

AUDIT = admin(
    "audit",
    "GET",
    "/audit",
    "The audit log: every admin change with who, when, before and after",
    tags=("admin",),
    description="`from`/`to` are UTC days (default today; at most 31 days); a unit "
    "admin sees the entries of its units. Each start and stop of a supervisor's silent monitoring is "
    "an entry too: `kind` `call_monitoring`, `object_id` the call id, `action` `start` or `stop`, "
    "`actor` the supervisor, `unit` the call's unit, `after` the serving unit, the agent and the "
    "call's state.",
    query=a.AuditQuery,
    response=a.AuditLog,
    errors=REFUSALS,
)

ADMIN = (
    ME,
    *(e for routes in KIND_ROUTES for e in routes.endpoints()),
    USERS_LIST,
    USER_CREATE,
    USER_GET,
    USER_UPDATE,
    USER_DELETE,
    USER_DISABLE,
    USER_ENABLE,
    USER_PASSWORD,
    KEYS_LIST,
    KEY_CREATE,
    KEY_ROTATE,
    KEY_REVOKE,
    SETTINGS_GET,
    SETTINGS_PATCH,
    BLACKLIST_GET,
    BLACKLIST_ADD,
    BLACKLIST_REMOVE,
    BLACKLIST_IMPORT,
    BLACKLIST_EXPORT,
    NODES,
    NODE_DRAIN,
    NODE_UNDRAIN,
    MEDIA_FORM,
    MEDIA_CHECK,
    AUDIT,
)
