"""The admin API (``/admin/v1``, ``functions/admin``): every endpoint, declared once and part of
``vkyc.api.endpoints.ALL`` (hence of ``docs/openapi.json``).

Every endpoint takes the bearer token of an ``admin`` account (``POST /auth/login``); other accounts get
``ADMIN_REQUIRED``. Objects carry an ``etag``: send it as ``If-Match`` with a change; a stale one answers
``PRECONDITION_FAILED`` (412) and nothing is written. Every change is in the audit log
(``GET /admin/v1/audit``). The rules: ``vkyc.services.admin``.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class KindRoutes:
    """The five endpoints of one configuration kind."""

    kind: str  # vkyc.services.admin.KINDS key
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
        one = f"{PREFIX}/{self.path}/{{{self.param}}}"
        tag = (f"admin: {self.path}",)
        return (
            Endpoint(
                name=f"admin_{self.kind}_list",
                method="GET",
                path=f"{PREFIX}/{self.path}",
                summary=f"The {self.label}s you administer, searched and paged",
                query=a.ListQuery,
                response=self.page,
                roles=ADMINS,
                errors=REFUSALS,
                tags=tag,
            ),
            Endpoint(
                name=f"admin_{self.kind}_get",
                method="GET",
                path=one,
                summary=f"One {self.label}",
                params=self.params,
                response=self.item,
                roles=ADMINS,
                errors=WRITE,
                tags=tag,
                etag=True,
            ),
            Endpoint(
                name=f"admin_{self.kind}_create",
                method="POST",
                path=f"{PREFIX}/{self.path}",
                summary=f"Create a {self.label}",
                description=self.note,
                body=self.body,
                response=self.item,
                roles=ADMINS,
                errors=(*WRITE, "ADMIN_ALREADY_EXISTS", "UNIT_IN_USE"),
                tags=tag,
                etag=True,
            ),
            Endpoint(
                name=f"admin_{self.kind}_update",
                method="PUT",
                path=one,
                summary=f"Change a {self.label} (send its ETag as If-Match)",
                description=self.note,
                params=self.params,
                body=self.body,
                response=self.item,
                roles=ADMINS,
                errors=(*WRITE, "UNIT_IN_USE"),
                tags=tag,
                etag=True,
            ),
            Endpoint(
                name=f"admin_{self.kind}_delete",
                method="DELETE",
                path=one,
                summary=f"Delete a {self.label}, unless it is in use",
                params=self.params,
                response=a.Deleted,
                roles=ADMINS,
                errors=(*WRITE, *self.delete_codes),
                tags=tag,
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

ME = Endpoint(
    name="admin_me",
    method="GET",
    path=f"{PREFIX}/me",
    summary="Who the admin is and its reach",
    response=a.AdminMe,
    roles=ADMINS,
    errors=("ADMIN_REQUIRED",),
    tags=("admin",),
)

_USER = f"{PREFIX}/users/{{username}}"
_USER_TAG = ("admin: users",)
USERS_LIST = Endpoint(
    name="admin_users_list",
    method="GET",
    path=f"{PREFIX}/users",
    summary="Accounts (agents, supervisors, admins), searched and paged",
    query=a.ListQuery,
    response=a.UserPage,
    roles=ADMINS,
    errors=REFUSALS,
    tags=_USER_TAG,
)
USER_CREATE = Endpoint(
    name="admin_users_create",
    method="POST",
    path=f"{PREFIX}/users",
    summary="Create an account",
    description="Without `password`, one is generated, answered once, and must be changed "
    "at the first login. An agent gets its status item (OFFLINE).",
    body=UserConfig,
    response=a.UserChanged,
    roles=ADMINS,
    errors=(*WRITE, "ADMIN_ALREADY_EXISTS"),
    tags=_USER_TAG,
    etag=True,
)
USER_GET = Endpoint(
    name="admin_users_get",
    method="GET",
    path=_USER,
    summary="One account",
    params=a.UserPath,
    response=a.UserItem,
    roles=ADMINS,
    errors=WRITE,
    tags=_USER_TAG,
    etag=True,
)
USER_UPDATE = Endpoint(
    name="admin_users_update",
    method="PUT",
    path=_USER,
    summary="Change name, role, unit or groups",
    description="Another role or unit revokes the account's tokens and ends its sessions; "
    "refused for an agent ringing or in a call (`USER_IN_CALL`).",
    params=a.UserPath,
    body=a.UserUpdate,
    response=a.UserChanged,
    roles=ADMINS,
    errors=(*WRITE, "USER_IN_CALL"),
    tags=_USER_TAG,
    etag=True,
)
USER_DELETE = Endpoint(
    name="admin_users_delete",
    method="DELETE",
    path=_USER,
    summary="Delete an account",
    params=a.UserPath,
    response=a.Deleted,
    roles=ADMINS,
    errors=(*WRITE, "USER_IN_CALL"),
    tags=_USER_TAG,
    etag=True,
)
USER_DISABLE = Endpoint(
    name="admin_users_disable",
    method="POST",
    path=f"{_USER}/disable",
    summary="Disable an account: its tokens and sessions end",
    description="An agent ringing, in a call or in wrap-up is disabled once that is over "
    "(`deferred: USER_IN_CALL`); meanwhile the account shows `disable_after_call`.",
    params=a.UserPath,
    response=a.UserChanged,
    roles=ADMINS,
    errors=WRITE,
    tags=_USER_TAG,
    etag=True,
)
USER_ENABLE = Endpoint(
    name="admin_users_enable",
    method="POST",
    path=f"{_USER}/enable",
    summary="Enable an account again (its old tokens stay revoked)",
    params=a.UserPath,
    response=a.UserChanged,
    roles=ADMINS,
    errors=WRITE,
    tags=_USER_TAG,
    etag=True,
)
USER_PASSWORD = Endpoint(
    name="admin_users_password",
    method="POST",
    path=f"{_USER}/password",
    summary="Reset the password: the user must change it at the next login",
    description="Without `password`, one is generated and answered once. The account's "
    "tokens are revoked and its sessions end.",
    params=a.UserPath,
    body=a.PasswordReset,
    response=a.UserChanged,
    roles=ADMINS,
    errors=WRITE,
    tags=_USER_TAG,
    etag=True,
)

_KEY_TAG = ("admin: api keys",)
KEYS_LIST = Endpoint(
    name="admin_api_keys_list",
    method="GET",
    path=f"{PREFIX}/api-keys",
    summary="Integrator API keys (never their secrets)",
    query=a.ListQuery,
    response=a.ApiKeyPage,
    roles=ADMINS,
    errors=REFUSALS,
    tags=_KEY_TAG,
)
KEY_CREATE = Endpoint(
    name="admin_api_keys_create",
    method="POST",
    path=f"{PREFIX}/api-keys",
    summary="A new key for a unit: the secret is answered this once",
    body=a.ApiKeyCreate,
    response=a.ApiKeySecret,
    roles=ADMINS,
    errors=WRITE,
    tags=_KEY_TAG,
    etag=True,
)
KEY_ROTATE = Endpoint(
    name="admin_api_keys_rotate",
    method="POST",
    path=f"{PREFIX}/api-keys/{{key_id}}/rotate",
    summary="Rotate a key: a new secret; the old one works for the overlap window",
    params=a.KeyPath,
    body=a.ApiKeyRotate,
    response=a.ApiKeySecret,
    roles=ADMINS,
    errors=WRITE,
    tags=_KEY_TAG,
    etag=True,
)
KEY_REVOKE = Endpoint(
    name="admin_api_keys_revoke",
    method="POST",
    path=f"{PREFIX}/api-keys/{{key_id}}/revoke",
    summary="Revoke a key now",
    params=a.KeyPath,
    response=a.ApiKeyItem,
    roles=ADMINS,
    errors=WRITE,
    tags=_KEY_TAG,
    etag=True,
)

_SET_TAG = ("admin: settings",)
SETTINGS_GET = Endpoint(
    name="admin_settings_get",
    method="GET",
    path=f"{PREFIX}/settings",
    summary="A scope's settings: what it stores, every effective value and its source",
    description="A change reaches every running handler within 30 s (each container keeps "
    "what it read for that long).",
    query=a.ScopeQuery,
    response=a.SettingsView,
    roles=ADMINS,
    errors=WRITE,
    tags=_SET_TAG,
    etag=True,
)
SETTINGS_PATCH = Endpoint(
    name="admin_settings_patch",
    method="PATCH",
    path=f"{PREFIX}/settings",
    summary="Set and clear settings of the global scope or a unit's, all or nothing",
    description="Fields and values are `CallSettings`'; a bad one answers `BAD_MESSAGE` "
    "naming it in `fields` (`set.<name>`). The global scope needs a system-wide admin. "
    "Takes effect within 30 s.",
    query=a.ScopeQuery,
    body=a.SettingsPatch,
    response=a.SettingsView,
    roles=ADMINS,
    errors=WRITE,
    tags=_SET_TAG,
    etag=True,
)

_BL_TAG = ("admin: blacklist",)
BLACKLIST_GET = Endpoint(
    name="admin_blacklist_get",
    method="GET",
    path=f"{PREFIX}/blacklist",
    summary="A scope's blacklist (normalized numbers)",
    query=a.ScopeQuery,
    response=a.BlacklistView,
    roles=ADMINS,
    errors=WRITE,
    tags=_BL_TAG,
    etag=True,
)
BLACKLIST_ADD = Endpoint(
    name="admin_blacklist_add",
    method="POST",
    path=f"{PREFIX}/blacklist",
    summary="Add one number",
    query=a.ScopeQuery,
    body=a.BlacklistNumber,
    response=a.BlacklistView,
    roles=ADMINS,
    errors=WRITE,
    tags=_BL_TAG,
    etag=True,
)
BLACKLIST_REMOVE = Endpoint(
    name="admin_blacklist_remove",
    method="DELETE",
    path=f"{PREFIX}/blacklist/{{number}}",
    summary="Remove one number",
    params=a.BlacklistPath,
    query=a.ScopeQuery,
    response=a.BlacklistView,
    roles=ADMINS,
    errors=WRITE,
    tags=_BL_TAG,
    etag=True,
)
BLACKLIST_IMPORT = Endpoint(
    name="admin_blacklist_import",
    method="POST",
    path=f"{PREFIX}/blacklist/import",
    summary="Import a CSV of numbers, with a report of every line not added",
    description="One number per line (first column); a header line is skipped. "
    "Invalid, duplicate and already listed lines are reported by line number; the "
    "valid ones are added (or, with `replace`, become the list).",
    query=a.ScopeQuery,
    body=a.BlacklistImport,
    response=a.BlacklistImported,
    roles=ADMINS,
    errors=(*WRITE, "CSV_INVALID"),
    max_body_bytes=1_100_000,
    tags=_BL_TAG,
    etag=True,
)
BLACKLIST_EXPORT = Endpoint(
    name="admin_blacklist_export",
    method="GET",
    path=f"{PREFIX}/blacklist/export",
    summary="The blacklist as CSV",
    query=a.ScopeQuery,
    response=a.BlacklistCsv,
    roles=ADMINS,
    errors=WRITE,
    tags=_BL_TAG,
)

_NODE_TAG = ("admin: media nodes",)
NODES = Endpoint(
    name="admin_media_nodes",
    method="GET",
    path=f"{PREFIX}/media-nodes",
    summary="Media nodes with load and last heartbeat",
    response=a.MediaNodes,
    roles=ADMINS,
    errors=REFUSALS,
    tags=_NODE_TAG,
)
NODE_DRAIN = Endpoint(
    name="admin_media_node_drain",
    method="POST",
    path=f"{PREFIX}/media-nodes/{{node_id}}/drain",
    summary="Drain a node: no new calls; its calls go on",
    params=a.NodePath,
    response=a.MediaNodeView,
    roles=ADMINS,
    errors=WRITE,
    tags=_NODE_TAG,
)
NODE_UNDRAIN = Endpoint(
    name="admin_media_node_undrain",
    method="POST",
    path=f"{PREFIX}/media-nodes/{{node_id}}/undrain",
    summary="Take new calls again",
    params=a.NodePath,
    response=a.MediaNodeView,
    roles=ADMINS,
    errors=WRITE,
    tags=_NODE_TAG,
)

_MEDIA_TAG = ("admin: media files",)
MEDIA_FORM = Endpoint(
    name="admin_media_form",
    method="POST",
    path=f"{PREFIX}/media/forms",
    summary="A pre-signed S3 POST form for a ringtone or waiting media file",
    description="Ringtones: MP3, WAV or OGG up to 1 MB; waiting media: MP4 or WebM up to 20 MB. Upload "
    "within 15 minutes, then `POST /admin/v1/media/check` with the key: the file is checked (its bytes "
    "must be of the declared type) before the scope's setting names it.",
    query=a.ScopeQuery,
    body=a.MediaUploadRequest,
    response=a.MediaUploadForm,
    roles=ADMINS,
    errors=WRITE,
    tags=_MEDIA_TAG,
)
MEDIA_CHECK = Endpoint(
    name="admin_media_check",
    method="POST",
    path=f"{PREFIX}/media/check",
    summary="Check an uploaded media file and set it (`ringtone` or `waiting_media_key`)",
    description="A missing file, one too large or whose bytes are not of its declared type is deleted "
    "and answers `MEDIA_FILE_REJECTED`; the setting keeps what it had.",
    query=a.ScopeQuery,
    body=a.MediaCheckRequest,
    response=a.MediaChecked,
    roles=ADMINS,
    errors=(*WRITE, "MEDIA_FILE_REJECTED"),
    tags=_MEDIA_TAG,
    etag=True,
)

AUDIT = Endpoint(
    name="admin_audit",
    method="GET",
    path=f"{PREFIX}/audit",
    summary="The audit log: every admin change with who, when, before and after",
    description="`from`/`to` are UTC days (default today; at most 31 days); a unit admin sees "
    "the entries of its units.",
    query=a.AuditQuery,
    response=a.AuditLog,
    roles=ADMINS,
    errors=REFUSALS,
    tags=("admin",),
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
