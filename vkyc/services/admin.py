"""The admin service: the switchboard's configuration changed safely (issue #13).

Who: an ``AdminCaller``, an account of role ``admin`` bound to no unit (system-wide) or to one unit, whose
reach is that unit and the units it serves. A unit admin touching an object of another unit is refused
``ADMIN_OTHER_UNIT``; something every unit shares (units and the serving map, the global settings, the
SUB_TYPE policy, media nodes) needs a system-wide admin (``ADMIN_SYSTEM_ONLY``). Refusals write nothing.

Every write:

* is validated by the switchboard's schema (``vkyc.domain.switchboard``; the demo loader uses the same
  models and writes through this service) and against what is stored (``ADMIN_REFERENCE_INVALID``
  naming the field: a group of another unit, a queue that does not exist, ...);
* is conditioned on the version the caller read (``If-Match`` = the ``etag``; a stale one is
  ``PRECONDITION_FAILED``), and also on every other item it rewrites;
* is refused when it would break what is in use (``QUEUE_IN_USE``, ``GROUP_ONLY_ROUTE``, ``GROUP_IN_USE``,
  ``UNIT_IN_USE``, ``USER_IN_CALL``);
* writes its audit entry (who, when, what, before, after) in the same transaction
  (``vkyc.repositories.admin_store``).

This module holds the caller, the generic machinery and the rules of the configuration kinds (units,
groups, queues, hotlines, the SUB_TYPE policy; how each is stored is ``vkyc.repositories.admin_kinds``);
accounts and API keys are ``admin_people``, settings, the blacklist, media nodes and files
``admin_settings``, all sharing ``AdminCore``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from vkyc.domain.policy import SubTypePolicy, normalize_sub_type
from vkyc.domain.roles import UserRole
from vkyc.domain.switchboard import Group, Hotline, Queue, UnitConfig
from vkyc.protocol.errors import FieldErrors, ProtocolError
from vkyc.repositories import admin_store, tables
from vkyc.repositories.admin_kinds import POLICY, UNITS, Kind
from vkyc.repositories.admin_store import AuditRecord, Patch, Put, StaleWrite, Touch
from vkyc.repositories.policy import POLICY_CACHE
from vkyc.repositories.settings import effective_settings
from vkyc.repositories.settings_cache import SETTINGS_CACHE
from vkyc.repositories.tables import VkycModel
from vkyc.repositories.users import find_user
from vkyc.services.ports import Clock, utc_now

T = TypeVar("T", bound=BaseModel)
SYSTEM_ACTOR = "system"


# -- who ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminCaller:
    """An admin: ``unit_id`` None is system-wide; else ``reach`` is its unit and the units it serves."""

    actor: str
    unit_id: str | None = None
    reach: frozenset[str] = frozenset()

    @property
    def system(self) -> bool:
        return self.unit_id is None

    def sees(self, unit_id: str | None) -> bool:
        return self.system or (unit_id is not None and unit_id in self.reach)

    def check_unit(self, unit_id: str | None) -> None:
        """Refuse an object of ``unit_id`` (None: a system-wide object) outside the caller's reach."""
        if unit_id is None:
            self.check_system()
        elif not self.sees(unit_id):
            raise ProtocolError("ADMIN_OTHER_UNIT", f"Unit {unit_id} is not one you administer.")

    def check_system(self) -> None:
        if not self.system:
            raise ProtocolError("ADMIN_SYSTEM_ONLY")


SYSTEM = AdminCaller(SYSTEM_ACTOR)


def admin_caller(username: str | None) -> AdminCaller:
    """The caller of a verified login token's account; ``ADMIN_REQUIRED`` unless it is an admin."""
    user = find_user(username) if username else None
    if user is None or user.role != UserRole.ADMIN.value or user.disabled:
        raise ProtocolError("ADMIN_REQUIRED")
    if not user.unit_id:
        return AdminCaller(user.username)
    reach = {user.unit_id} | {unit.unit_id for unit in tables.Unit.scan() if unit.served_by == user.unit_id}
    return AdminCaller(user.username, user.unit_id, frozenset(reach))


# -- versions ----------------------------------------------------------------------------------------------


def etag(rev: int) -> str:
    return f'"r{rev}"'


def expected_rev(if_match: str | None) -> int | None:
    """The revision an ``If-Match`` header names; None when absent or ``*`` (no check)."""
    if if_match is None or if_match.strip() in ("", "*"):
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if value.startswith("r") and value[1:].isdigit():
        return int(value[1:])
    raise ProtocolError("PRECONDITION_FAILED", f"If-Match {if_match[:40]!r} is no ETag of this API.")


def check_if_match(if_match: str | None, stored_rev: int) -> None:
    wanted = expected_rev(if_match)
    if wanted is not None and wanted != stored_rev:
        raise ProtocolError("PRECONDITION_FAILED", f"Stored is {etag(stored_rev)}, you sent {if_match}.")


def reference_error(field_name: str, message: str) -> FieldErrors:
    return FieldErrors("ADMIN_REFERENCE_INVALID", [(field_name, message)])


def dump(model: BaseModel | None) -> Any:
    return None if model is None else model.model_dump(mode="json")


def forget_cached_configuration() -> None:
    """This process's configuration caches (the others' expire within ``CONFIG_TTL_S``)."""
    SETTINGS_CACHE.clear()
    POLICY_CACHE.clear()


# -- the service -----------------------------------------------------------------------------------------


@dataclass
class Listed(Generic[T]):
    items: list[tuple[T, int]]
    total: int


@dataclass
class AdminCore:
    """What every part of the admin service shares: the clock and the transactional write."""

    clock: Clock = utc_now
    on_change: Callable[[], None] = field(default=forget_cached_configuration)

    def commit(
        self,
        caller: AdminCaller,
        puts: Sequence[Put],
        *,
        kind: str,
        object_id: str,
        action: str,
        unit_id: str | None,
        before: Any,
        after: Any,
        touches: Sequence[Touch] = (),
        patches: Sequence[Patch] = (),
    ) -> None:
        record = AuditRecord(caller.actor, unit_id, kind, object_id, action, before, after, self.clock())
        try:
            admin_store.commit(puts, record, touches, patches)
        except StaleWrite:
            raise ProtocolError(
                "PRECONDITION_FAILED", "It changed while your change was being written."
            ) from None
        self.on_change()


def _get(table: type[VkycModel], key: str) -> Any:
    try:
        return table.get(key, consistent_read=True)
    except table.DoesNotExist:
        return None


def _page(rows: list[tuple[T, int]], q: str, offset: int, limit: int) -> Listed[T]:
    needle = q.strip().lower()
    if needle:
        rows = [r for r in rows if needle in r[0].model_dump_json().lower()]
    return Listed(rows[offset : offset + limit], len(rows))


class AdminService(AdminCore):
    """Units, groups, queues, hotlines and the SUB_TYPE policy: list, read, create, change, delete."""

    # -- reads --

    def listing(
        self,
        caller: AdminCaller,
        kind: Kind[T],
        *,
        q: str = "",
        unit: int | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Listed[T]:
        rows = self._all(kind)
        rows = [r for r in rows if self._visible(caller, kind, r[0])]
        if unit is not None:
            rows = [
                r
                for r in rows
                if kind.unit_of(r[0]) in (str(unit), None)
                and (kind is not UNITS or kind.id_of(r[0]) == str(unit))
            ]
        return _page(rows, q, offset, limit)

    def get(self, caller: AdminCaller, kind: Kind[T], object_id: str) -> tuple[T, int]:
        object_id = _canonical_id(kind, object_id)
        found = self._find(kind, object_id)
        if found is None:
            raise ProtocolError("ADMIN_NOT_FOUND", f"No {kind.name} {object_id!r}.")
        if not self._visible(caller, kind, found[0]):
            raise ProtocolError("ADMIN_OTHER_UNIT")
        return found

    def _visible(self, caller: AdminCaller, kind: Kind[T], obj: T) -> bool:
        if kind is UNITS:
            return caller.sees(kind.id_of(obj))
        unit = kind.unit_of(obj)
        return unit is None or caller.sees(unit)

    def _all(self, kind: Kind[T]) -> list[tuple[T, int]]:
        items = list(admin_store.scan_all(kind.table))
        if kind is UNITS:
            return [
                (self._unit_with_serves(item, items), admin_store.rev(item)) for item in _by_unit_id(items)
            ]
        rows = [(kind.from_item(item), admin_store.rev(item)) for item in items]
        return sorted(rows, key=lambda r: kind.id_of(r[0]))

    def _find(self, kind: Kind[T], object_id: str) -> tuple[T, int] | None:
        if kind is UNITS:
            items = list(tables.Unit.scan(consistent_read=True))
            item = next((i for i in items if i.unit_id == object_id), None)
            return None if item is None else (self._unit_with_serves(item, items), admin_store.rev(item))
        item = _get(kind.table, object_id)
        return None if item is None else (kind.from_item(item), admin_store.rev(item))

    @staticmethod
    def _unit_with_serves(item: Any, items: list[Any]) -> Any:
        served = sorted(
            int(i.unit_id) for i in items if i.served_by == item.unit_id and i.unit_id != item.unit_id
        )
        serves = (int(item.unit_id), *served) if item.has_agents else tuple(served)
        return UnitConfig(id=int(item.unit_id), name=item.name, serves=serves)

    # -- writes --

    def create(self, caller: AdminCaller, kind: Kind[T], obj: T) -> tuple[T, int]:
        object_id = kind.id_of(obj)
        self._check_reach(caller, kind, obj)
        if _get(kind.table, object_id) is not None:
            raise ProtocolError("ADMIN_ALREADY_EXISTS", f"{kind.name} {object_id!r} exists.")
        return self._write(caller, kind, obj, None, None, "create")

    def update(
        self, caller: AdminCaller, kind: Kind[T], object_id: str, obj: T, if_match: str | None
    ) -> tuple[T, int]:
        object_id = _canonical_id(kind, object_id)
        if kind.id_of(obj) != object_id:
            raise FieldErrors(
                "BAD_MESSAGE",
                [
                    (
                        _id_field(kind),
                        f"is {kind.id_of(obj)!r}, the path says {object_id!r}: an id cannot change",
                    )
                ],
            )
        before, rev = self.get(caller, kind, object_id)
        check_if_match(if_match, rev)
        self._check_reach(caller, kind, obj)
        if kind.unit_of(before) != kind.unit_of(obj):
            raise reference_error("unit", "cannot change: create the object in the other unit instead")
        if before == obj:
            return before, rev
        return self._write(caller, kind, obj, before, rev, "update")

    def upsert(self, caller: AdminCaller, kind: Kind[T], obj: T) -> bool:
        """Create or change ``obj`` (the demo loader); False when it is stored as it is already."""
        return self.upsert_all(caller, kind, [obj], {kind.id_of(obj): self._find(kind, kind.id_of(obj))}) == 1

    def upsert_all(
        self,
        caller: AdminCaller,
        kind: Kind[T],
        objs: Sequence[T],
        stored: dict[str, tuple[T, int] | None] | None = None,
    ) -> int:
        """Create or change each of ``objs`` in order; returns how many were written. What is stored
        already as it is costs no write and no audit entry; ``stored`` (by id; default: one Scan of the
        kind) is what is compared with."""
        known: dict[str, tuple[T, int] | None] = (
            stored if stored is not None else {kind.id_of(obj): (obj, rev) for obj, rev in self._all(kind)}
        )
        written = 0
        for obj in objs:
            found = known.get(kind.id_of(obj))
            if found is not None and found[0] == obj:
                continue
            if found is None:
                self._write(caller, kind, obj, None, None, "create")
            else:
                self._write(caller, kind, obj, found[0], found[1], "update")
            written += 1
        return written

    def delete(self, caller: AdminCaller, kind: Kind[T], object_id: str, if_match: str | None) -> None:
        object_id = _canonical_id(kind, object_id)
        before, rev = self.get(caller, kind, object_id)
        check_if_match(if_match, rev)
        self._check_reach(caller, kind, before)
        guard = getattr(self, f"_in_use_{kind.name}", None)
        if guard is not None:
            guard(before)
        item = _get(kind.table, object_id)
        self.commit(
            caller,
            [Put(item, rev, delete=True)],
            kind=kind.name,
            object_id=object_id,
            action="delete",
            unit_id=kind.unit_of(before),
            before=dump(before),
            after=None,
        )

    def _check_reach(self, caller: AdminCaller, kind: Kind[T], obj: T) -> None:
        if kind is UNITS or kind is POLICY:
            caller.check_system()
        else:
            caller.check_unit(kind.unit_of(obj))

    def _write(
        self, caller: AdminCaller, kind: Kind[T], obj: T, before: T | None, rev: int | None, action: str
    ) -> tuple[T, int]:
        check = getattr(self, f"_check_{kind.name}", None)
        if check is not None:
            check(obj)
        item = kind.to_item(obj, _get(kind.table, kind.id_of(obj)) if rev is not None else None)
        puts = [Put(item, rev)]
        if isinstance(obj, UnitConfig):
            puts += self._serving_map_puts(obj)
        self.commit(
            caller,
            puts,
            kind=kind.name,
            object_id=kind.id_of(obj),
            action=action,
            unit_id=kind.unit_of(obj),
            before=dump(before),
            after=dump(obj),
        )
        return obj, (rev or 0) + 1

    # -- cross-object checks (against what is stored) --

    def _serving_unit(self, field_name: str, unit: int) -> None:
        item = _get(tables.Unit, str(unit))
        if item is None:
            raise reference_error(field_name, f"unit {unit} does not exist")
        if not item.has_agents:
            raise reference_error(field_name, f"unit {unit} has no agent team (its 'serves' list is empty)")

    def _group_of(self, field_name: str, group_id: str, unit: int) -> Any:
        group = _get(tables.Group, group_id)
        if group is None:
            raise reference_error(field_name, f"group {group_id!r} does not exist")
        if group.unit_id != str(unit):
            raise reference_error(
                field_name, f"group {group_id!r} belongs to unit {group.unit_id}, not {unit}"
            )
        return group

    def _check_groups(self, g: Group) -> None:
        self._serving_unit("unit", g.unit)
        known = {row.sub_type for row in tables.SubTypePolicy.scan()}
        for j, sub_type in enumerate(g.sub_types):
            if sub_type not in known:
                raise reference_error(
                    f"sub_types.{j}", f"SUB_TYPE {sub_type!r} is not in the SUB_TYPE policy"
                )

    def _check_queues(self, q: Queue) -> None:
        self._serving_unit("unit", q.unit)
        for j, entry in enumerate(q.groups):
            self._group_of(f"groups.{j}.group", entry.group, q.unit)
        timeout = q.timeout_s or effective_settings(str(q.unit)).queue_timeout_s
        for j, entry in enumerate(q.groups):
            if entry.overflow_after_s is not None and entry.overflow_after_s >= timeout:
                raise reference_error(
                    f"groups.{j}.overflow_after_s",
                    f"{entry.overflow_after_s} s is not below the queue timeout ({timeout} s)",
                )

    def _check_hotlines(self, h: Hotline) -> None:
        self._serving_unit("unit", h.unit)
        queue = _get(tables.Queue, h.queue)
        if queue is None:
            raise reference_error("queue", f"queue {h.queue!r} does not exist")
        if queue.unit_id != str(h.unit):
            raise reference_error("queue", f"queue {h.queue!r} belongs to unit {queue.unit_id}")
        for j, group_id in enumerate(h.call_out_groups or ()):
            self._group_of(f"call_out_groups.{j}", group_id, h.unit)

    def _check_units(self, u: UnitConfig) -> None:
        for j, served in enumerate(u.serves):
            if served == u.id:
                continue
            item = _get(tables.Unit, str(served))
            if item is None:
                raise reference_error(f"serves.{j}", f"unit {served} does not exist")
            if item.served_by not in (None, str(u.id)):
                raise reference_error(
                    f"serves.{j}", f"unit {served} is already served by unit {item.served_by}"
                )
            if item.has_agents:
                raise reference_error(f"serves.{j}", f"unit {served} has an agent team of its own")
        if not u.serves and self._unit_objects(str(u.id), staff_only=True):
            raise ProtocolError(
                "UNIT_IN_USE", f"Unit {u.id} still has {self._unit_objects(str(u.id), True)[0]}."
            )

    def _serving_map_puts(self, u: UnitConfig) -> list[Put]:
        """The served units whose ``served_by`` this unit's ``serves`` changes."""
        puts = []
        wanted = {str(s) for s in u.serves if s != u.id}
        for item in tables.Unit.scan(consistent_read=True):
            if item.unit_id == str(u.id):
                continue
            now_served = item.served_by == str(u.id)
            if (item.unit_id in wanted) != now_served:
                rev = admin_store.rev(item)
                item.served_by = str(u.id) if item.unit_id in wanted else None
                puts.append(Put(item, rev))
        return puts

    # -- in-use guards of deletes --

    def _unit_objects(self, unit_id: str, staff_only: bool = False) -> list[str]:
        found = []
        tables_to_check: list[tuple[str, type[VkycModel]]] = [
            ("groups", tables.Group),
            ("queues", tables.Queue),
            ("hotlines", tables.Hotline),
        ]
        if not staff_only:
            tables_to_check.append(("API keys", tables.ApiKey))
        for what, table in tables_to_check:
            if any(getattr(i, "unit_id", None) == unit_id for i in table.scan()):
                found.append(what)
        if any(u.unit_id == unit_id for u in tables.User.scan()):
            found.append("users")
        return found

    def _in_use_units(self, u: UnitConfig) -> None:
        used = self._unit_objects(str(u.id))
        if used or len(u.serves) > 1:
            what = ", ".join(used) or "units it serves"
            raise ProtocolError("UNIT_IN_USE", f"Unit {u.id} still has {what}.")

    def _in_use_queues(self, q: Queue) -> None:
        hotlines = sorted(h.hotline_id for h in tables.Hotline.scan() if h.queue_id == q.id)
        if hotlines:
            raise ProtocolError("QUEUE_IN_USE", f"Hotline {hotlines[0]} sends its calls to it.")
        serving = _get(tables.Unit, str(q.unit))
        waiting_in = serving.served_by if serving and serving.served_by else str(q.unit)
        keys = [c.call_id for c in tables.Call.waiting.query(waiting_in)]
        if keys and any(c.queue_id == q.id for c in tables.Call.batch_get(keys)):
            raise ProtocolError("QUEUE_IN_USE", "Calls are waiting in it.")

    def _in_use_groups(self, g: Group) -> None:
        hotline_queues = {h.queue_id: h.hotline_id for h in tables.Hotline.scan() if h.queue_id}
        for queue in tables.Queue.scan():
            entries = list(queue.groups or ())
            if not any(e.group_id == g.id for e in entries):
                continue
            direct = [e for e in entries if e.overflow_after_s is None]
            if queue.queue_id in hotline_queues and [e.group_id for e in direct] == [g.id]:
                raise ProtocolError(
                    "GROUP_ONLY_ROUTE",
                    f"Hotline {hotline_queues[queue.queue_id]} reaches "
                    f"agents only through it (queue {queue.queue_id}).",
                )
            raise ProtocolError("GROUP_IN_USE", f"Queue {queue.queue_id} lists it.")
        for hotline in tables.Hotline.scan():
            if g.id in (hotline.call_out_group_ids or ()):
                raise ProtocolError("GROUP_IN_USE", f"Hotline {hotline.hotline_id} lets it call out.")
        members = [a.agent_id for a in tables.Agent.scan() if g.id in (a.group_ids or ())]
        if members:
            raise ProtocolError("GROUP_IN_USE", f"{len(members)} agent(s) belong to it, e.g. {members[0]}.")

    def _in_use_sub_type_policy(self, p: SubTypePolicy) -> None:
        for group in tables.Group.scan():
            if p.sub_type in (group.sub_types or ()):
                raise reference_error("sub_type", f"group {group.group_id!r} routes on it")

    # -- the audit log --

    def audit(
        self,
        caller: AdminCaller,
        *,
        since: date | None,
        until: date | None,
        kind: str | None,
        object_id: str | None,
        actor: str | None,
        unit: int | None,
    ) -> list[admin_store.AdminAudit]:
        today = self.clock().astimezone(UTC).date()
        until = until or today
        since = since or until
        if since > until or (until - since) > timedelta(days=admin_store.MAX_AUDIT_DAYS - 1):
            raise FieldErrors(
                "BAD_MESSAGE", [("from", f"from..to must be 1 to {admin_store.MAX_AUDIT_DAYS} days")]
            )
        entries = admin_store.audit_entries(since, until)
        return [
            e
            for e in entries
            if (caller.system or e.unit_id in caller.reach)
            and (kind is None or e.kind == kind)
            and (object_id is None or e.object_id == object_id)
            and (actor is None or e.actor == actor)
            and (unit is None or e.unit_id == str(unit))
        ]


def _canonical_id(kind: Kind[Any], object_id: str) -> str:
    """The stored form of an id from a path (SUB_TYPEs are kept upper-case)."""
    return normalize_sub_type(object_id) if kind is POLICY else object_id


def _by_unit_id(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda i: (len(i.unit_id), i.unit_id))


def _id_field(kind: Kind[Any]) -> str:
    return {"hotlines": "number", "sub_type_policy": "sub_type"}.get(kind.name, "id")


def now_utc() -> datetime:
    return datetime.now(UTC)
