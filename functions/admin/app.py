"""The admin API (``/admin/v1``, issue #13): the switchboard configured by an admin. Thin: the REST layer
(``vkyc.api``) authenticates the bearer token and validates; the handler checks the account is an admin
(``vkyc.services.admin.admin_caller``) and makes one service call.

REST (``vkyc.api.admin_endpoints``, documented in ``docs/openapi.json``): units and the serving map,
groups, queues, hotlines, the SUB_TYPE policy, accounts, integrator API keys, settings (global and per
unit), the blacklist (with CSV import and export), media nodes (drain / undrain) and the audit log.
Objects answer an ``ETag``; changes take ``If-Match``.

Changing an account ends its live sessions through the WebSocket API's ``@connections`` (``VKYC_WS_API_ID``
/ ``VKYC_WS_STAGE``; locally the stack points this app's ``websocket_api`` at the emulator), using the
signaling graph's ``AccountService`` (built on first use).

Schedule: every minute, accounts an admin disabled during a call are disabled once the call is over.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, WebsocketDisconnectedError

from functions.chalice_rest import mount
from vkyc.api.route_table import ROUTES
from vkyc.config import load_config
from vkyc.once import once

if TYPE_CHECKING:
    from vkyc.api.routes import RestApi
    from vkyc.repositories.tables import User
    from vkyc.services.admin import AdminService
    from vkyc.services.admin_people import PeopleService
    from vkyc.services.admin_settings import MediaUploads, ScopeSettings, SettingsAdmin
    from vkyc.services.auth import AuthService
    from vkyc.wiring import SignalingGraph

config = load_config("admin")  # refuses to start without a required setting or secret
app = Chalice(app_name="vkyc-admin")
log = logging.getLogger("vkyc.admin")

# The services, the endpoints' models and the tables are imported at the first request or schedule, not
# at import: a cold start pays for Chalice only.


@once
def auth() -> AuthService:
    from vkyc.services.auth import AuthService

    return AuthService()


@once
def graph() -> SignalingGraph:
    """The signaling graph, for ending an account's sessions: built on the first account change."""
    from vkyc.adapters.media_bucket import MediaBucket
    from vkyc.adapters.notifier import management_api_notifier
    from vkyc.adapters.timers import SqsTimers
    from vkyc.services.eligibility import EligibilityService
    from vkyc.services.routing import DataRouter
    from vkyc.wiring import build_signaling

    bucket = MediaBucket()
    return build_signaling(
        management_api_notifier(app.websocket_api, WebsocketDisconnectedError),
        SqsTimers(),
        eligibility=EligibilityService(),
        router=DataRouter(),
        objects=bucket,
        evidence_store=bucket,
        auth=auth(),
    )


def cut_off(user: User, reason: str, by: str) -> int:
    g = graph()
    return int(g.run(g.accounts.cut_off(user, reason, by)))


@once
def services() -> tuple[AdminService, PeopleService, SettingsAdmin, MediaUploads]:
    """The admin services, built once per container at the first request or schedule."""
    from vkyc.adapters.media_files import MediaFiles
    from vkyc.config import FRAME_ORIGINS
    from vkyc.domain.frame_origins import frame_origins
    from vkyc.services.admin import AdminService
    from vkyc.services.admin_people import PeopleService
    from vkyc.services.admin_settings import MediaUploads, SettingsAdmin

    # As the pages' frame-src lists them; checked before they were given (make up, make deploy), so
    # the loopback's http (a local stack's) is taken here too.
    frames = frame_origins(config[FRAME_ORIGINS], local=True, source=FRAME_ORIGINS.name)
    settings = SettingsAdmin(frame_origins=frames)
    return AdminService(), PeopleService(cut_off=cut_off), settings, MediaUploads(MediaFiles())


@once
def rest_api() -> RestApi:
    """Every admin endpoint bound to its handler, built once per container."""
    from collections.abc import Callable
    from typing import Any

    from pydantic import BaseModel

    from vkyc.api import admin_endpoints as ep
    from vkyc.api.routes import Context, RestApi
    from vkyc.protocol import admin as a
    from vkyc.repositories import tables
    from vkyc.repositories.admin_kinds import KINDS
    from vkyc.services.admin import AdminCaller, Listed, admin_caller, etag

    configuration, people, settings, media = services()
    api = RestApi(authenticate=auth().bearer)

    def caller(call: Context) -> AdminCaller:
        return admin_caller(call.caller.username)

    def if_match(call: Context) -> str | None:
        return call.request.header("if-match")

    def tagged(call: Context, rev: int) -> str:
        call.response_headers["ETag"] = etag(rev)
        return etag(rev)

    def page(answer: type[BaseModel], listed: Listed[Any], query: a.ListQuery) -> Any:
        items = [{"etag": etag(rev), "item": obj} for obj, rev in listed.items]
        return answer.model_validate(
            {"items": items, "total": listed.total, "offset": query.offset, "limit": query.limit}
        )

    @api.route(ep.ME)
    def me(call: Context) -> a.AdminMe:
        who = caller(call)
        reach = (
            sorted(int(u.unit_id) for u in tables.Unit.scan())
            if who.system
            else sorted(int(u) for u in who.reach)
        )
        return a.AdminMe(
            username=who.actor, unit=int(who.unit_id) if who.unit_id else None, reach=reach, system=who.system
        )

    # -- units, groups, queues, hotlines, the SUB_TYPE policy --------------------------------------------

    def _bind_kind(routes: ep.KindRoutes) -> None:
        kind = KINDS[routes.kind]
        listing, get, create, update, delete = routes.endpoints()

        def object_id(call: Context) -> str:
            return str(getattr(call.params, routes.param))

        def versioned(call: Context, obj: Any, rev: int) -> Any:
            return routes.item.model_validate({"etag": tagged(call, rev), "item": obj})

        def do_list(call: Context) -> BaseModel:
            query = call.query_as(a.ListQuery)
            listed = configuration.listing(
                caller(call), kind, q=query.q, unit=query.unit, offset=query.offset, limit=query.limit
            )
            return page(routes.page, listed, query)

        def do_get(call: Context) -> BaseModel:
            return versioned(call, *configuration.get(caller(call), kind, object_id(call)))

        def do_create(call: Context) -> BaseModel:
            return versioned(call, *configuration.create(caller(call), kind, call.body))

        def do_update(call: Context) -> BaseModel:
            obj, rev = configuration.update(caller(call), kind, object_id(call), call.body, if_match(call))
            return versioned(call, obj, rev)

        def do_delete(call: Context) -> BaseModel:
            configuration.delete(caller(call), kind, object_id(call), if_match(call))
            return a.Deleted(deleted=object_id(call))

        handlers: tuple[Callable[[Context], BaseModel], ...] = (
            do_list,
            do_get,
            do_create,
            do_update,
            do_delete,
        )
        for endpoint, handler in zip((listing, get, create, update, delete), handlers, strict=True):
            api.route(endpoint)(handler)

    for _routes in ep.KIND_ROUTES:
        _bind_kind(_routes)

    # -- accounts ----------------------------------------------------------------------------------------

    def _user_changed(
        call: Context,
        view: a.UserView,
        rev: int,
        ended: int = 0,
        deferred: str | None = None,
        password: str | None = None,
    ) -> a.UserChanged:
        return a.UserChanged(
            etag=tagged(call, rev), item=view, sessions_ended=ended, deferred=deferred, password=password
        )

    def _username(call: Context) -> str:
        return call.params_as(a.UserPath).username

    @api.route(ep.USERS_LIST)
    def users_list(call: Context) -> a.UserPage:
        query = call.query_as(a.ListQuery)
        listed = people.list_users(
            caller(call), q=query.q, unit=query.unit, offset=query.offset, limit=query.limit
        )
        return page(a.UserPage, listed, query)

    @api.route(ep.USER_CREATE)
    def user_create(call: Context) -> a.UserChanged:
        view, rev, password = people.create_user(caller(call), call.body)  # type: ignore[arg-type]
        return _user_changed(call, view, rev, password=password)

    @api.route(ep.USER_GET)
    def user_get(call: Context) -> a.UserItem:
        view, rev = people.get_user(caller(call), _username(call))
        return a.UserItem(etag=tagged(call, rev), item=view)

    @api.route(ep.USER_UPDATE)
    def user_update(call: Context) -> a.UserChanged:
        view, rev, ended = people.update_user(
            caller(call), _username(call), call.body_as(a.UserUpdate), if_match(call)
        )
        return _user_changed(call, view, rev, ended)

    @api.route(ep.USER_DELETE)
    def user_delete(call: Context) -> a.Deleted:
        people.delete_user(caller(call), _username(call), if_match(call))
        return a.Deleted(deleted=_username(call))

    @api.route(ep.USER_DISABLE)
    def user_disable(call: Context) -> a.UserChanged:
        view, rev, ended, deferred = people.set_disabled(caller(call), _username(call), True, if_match(call))
        return _user_changed(call, view, rev, ended, deferred)

    @api.route(ep.USER_ENABLE)
    def user_enable(call: Context) -> a.UserChanged:
        view, rev, ended, deferred = people.set_disabled(caller(call), _username(call), False, if_match(call))
        return _user_changed(call, view, rev, ended, deferred)

    @api.route(ep.USER_PASSWORD)
    def user_password(call: Context) -> a.UserChanged:
        body = call.body_as(a.PasswordReset)
        view, rev, ended, password = people.reset_password(
            caller(call), _username(call), body.password, if_match(call)
        )
        return _user_changed(call, view, rev, ended, password=password)

    # -- integrator API keys -----------------------------------------------------------------------------

    @api.route(ep.KEYS_LIST)
    def keys_list(call: Context) -> a.ApiKeyPage:
        query = call.query_as(a.ListQuery)
        listed = people.list_keys(
            caller(call), q=query.q, unit=query.unit, offset=query.offset, limit=query.limit
        )
        return page(a.ApiKeyPage, listed, query)

    @api.route(ep.KEY_CREATE)
    def key_create(call: Context) -> a.ApiKeySecret:
        body = call.body_as(a.ApiKeyCreate)
        view, rev, secret = people.create_key(caller(call), body.unit, body.name)
        return a.ApiKeySecret(etag=tagged(call, rev), item=view, secret=secret)

    @api.route(ep.KEY_ROTATE)
    def key_rotate(call: Context) -> a.ApiKeySecret:
        body = call.body_as(a.ApiKeyRotate)
        view, rev, secret = people.rotate_key(
            caller(call), call.params_as(a.KeyPath).key_id, body.overlap_s, if_match(call)
        )
        return a.ApiKeySecret(etag=tagged(call, rev), item=view, secret=secret)

    @api.route(ep.KEY_REVOKE)
    def key_revoke(call: Context) -> a.ApiKeyItem:
        view, rev = people.revoke_key(caller(call), call.params_as(a.KeyPath).key_id, if_match(call))
        return a.ApiKeyItem(etag=tagged(call, rev), item=view)

    # -- settings and the blacklist ----------------------------------------------------------------------

    def _unit(call: Context) -> int | None:
        return call.query_as(a.ScopeQuery).unit

    def _settings_view(call: Context, scope: ScopeSettings) -> a.SettingsView:
        return a.SettingsView(
            etag=tagged(call, scope.rev),
            unit=scope.unit,
            stored=scope.stored,
            effective=scope.effective,
            warnings=scope.warnings,
        )

    @api.route(ep.SETTINGS_GET)
    def settings_get(call: Context) -> a.SettingsView:
        return _settings_view(call, settings.settings(caller(call), _unit(call)))

    @api.route(ep.SETTINGS_PATCH)
    def settings_patch(call: Context) -> a.SettingsView:
        body = call.body_as(a.SettingsPatch)
        return _settings_view(
            call, settings.patch(caller(call), _unit(call), body.set, body.clear, if_match(call))
        )

    def _blacklist(call: Context) -> a.BlacklistView:
        numbers, rev = settings.blacklist(caller(call), _unit(call))
        return a.BlacklistView(etag=tagged(call, rev), unit=_unit(call), numbers=numbers, total=len(numbers))

    @api.route(ep.BLACKLIST_GET)
    def blacklist_get(call: Context) -> a.BlacklistView:
        return _blacklist(call)

    @api.route(ep.BLACKLIST_ADD)
    def blacklist_add(call: Context) -> a.BlacklistView:
        settings.add_number(caller(call), _unit(call), call.body_as(a.BlacklistNumber).number, if_match(call))
        return _blacklist(call)

    @api.route(ep.BLACKLIST_REMOVE)
    def blacklist_remove(call: Context) -> a.BlacklistView:
        settings.remove_number(
            caller(call), _unit(call), call.params_as(a.BlacklistPath).number, if_match(call)
        )
        return _blacklist(call)

    @api.route(ep.BLACKLIST_IMPORT)
    def blacklist_import(call: Context) -> a.BlacklistImported:
        body = call.body_as(a.BlacklistImport)
        done = settings.import_csv(caller(call), _unit(call), body.csv, body.replace, if_match(call))
        return a.BlacklistImported(
            etag=tagged(call, done.rev), added=done.added, total=done.total, report=done.report
        )

    @api.route(ep.BLACKLIST_EXPORT)
    def blacklist_export(call: Context) -> a.BlacklistCsv:
        text, total = settings.export_csv(caller(call), _unit(call))
        return a.BlacklistCsv(csv=text, total=total)

    # -- media nodes and the audit log -------------------------------------------------------------------

    @api.route(ep.NODES)
    def nodes(call: Context) -> a.MediaNodes:
        return a.MediaNodes(nodes=settings.nodes(caller(call)))

    @api.route(ep.NODE_DRAIN)
    def node_drain(call: Context) -> a.MediaNodeView:
        return settings.drain(caller(call), call.params_as(a.NodePath).node_id, True)

    @api.route(ep.NODE_UNDRAIN)
    def node_undrain(call: Context) -> a.MediaNodeView:
        return settings.drain(caller(call), call.params_as(a.NodePath).node_id, False)

    @api.route(ep.MEDIA_FORM)
    def media_form(call: Context) -> a.MediaUploadForm:
        body = call.body_as(a.MediaUploadRequest)
        url, fields, key, max_bytes = media.form(caller(call), body.purpose, body.content_type, _unit(call))
        return a.MediaUploadForm(url=url, fields=fields, key=key, max_bytes=max_bytes)

    @api.route(ep.MEDIA_CHECK)
    def media_check(call: Context) -> a.MediaChecked:
        key = call.body_as(a.MediaCheckRequest).key
        size, content_type, setting, rev = media.check(caller(call), key, _unit(call), if_match(call))
        return a.MediaChecked(
            key=key, size=size, content_type=content_type, setting=setting, etag=tagged(call, rev)
        )

    @api.route(ep.AUDIT)
    def audit(call: Context) -> a.AuditLog:
        query = call.query_as(a.AuditQuery)
        entries = configuration.audit(
            caller(call),
            since=query.from_,
            until=query.to,
            kind=query.kind,
            object_id=query.object_id,
            actor=query.actor,
            unit=query.unit,
        )
        newest_first = entries[::-1]
        shown = newest_first[query.offset : query.offset + query.limit]
        return a.AuditLog(
            entries=[
                a.AuditEntry(
                    at=e.at,
                    actor=e.actor,
                    unit=e.unit_id,
                    kind=e.kind,
                    object_id=e.object_id,
                    action=e.action,
                    before=e.before,
                    after=e.after,
                )
                for e in shown
            ],
            total=len(entries),
            offset=query.offset,
            limit=query.limit,
        )

    return api


mount(app, tuple(name for name in ROUTES if name.startswith("admin_")), rest_api)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def finish_deferred_disables(event: CloudWatchEvent) -> dict[str, int]:
    from vkyc.services.admin import SYSTEM

    return {"disabled": services()[1].finish_deferred_disables(SYSTEM)}
