"""The admin service's settings, blacklist and media nodes (``vkyc.services.admin`` has the rules).

Settings: the global scope (system-wide admins) and each unit's override; every field of
``CallSettings``, validated as ``vkyc.repositories.settings.put_settings`` does, with the effective value
of every field and where it comes from (``default``, ``global``, ``unit``). A scope's version is its
``_rev`` item, checked and raised in the transaction that writes its fields.

How long a change takes to reach running handlers: each container keeps the settings it read for
``vkyc.repositories.settings_cache.CONFIG_TTL_S`` (30 s); routing's copy of queues, groups and hotlines
likewise (``vkyc.repositories.routing.CONFIG_TTL_S``).

A scope's settings (``settings``, and ``patch``'s answer) come with warnings of effective values that
will not work as meant although they are valid (``vkyc.protocol.errors.WARNINGS``): a URL the agent
page shows in its panel whose origin the pages may not frame (``ANSWER_URL_NOT_FRAMEABLE``,
``vkyc.domain.frame_origins``). Such a value is saved all the same: the frame origins are the
deployment's, which an admin cannot change.

The blacklist is the ``blacklist`` setting of a scope, kept normalized (``84…``): add, remove, import a
CSV with a report per bad, duplicate or already listed line, export.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from vkyc.domain.frame_origins import Unframeable, unframeable
from vkyc.domain.media import NODE_DEAD_AFTER
from vkyc.domain.media_uploads import MIN_BYTES, PURPOSES, UPLOAD_TTL_S, sniff
from vkyc.domain.settings import CallSettings, merge_settings, normalize_msisdn
from vkyc.protocol.admin import ImportLine, MediaNodeView, SettingValue, SettingWarning
from vkyc.protocol.errors import WARNINGS, FieldErrors, ProtocolError
from vkyc.repositories import admin_store, media_nodes, tables
from vkyc.repositories.admin_store import Patch, Put
from vkyc.repositories.settings import REV_NAME, scope_of, stored_settings
from vkyc.services.admin import AdminCaller, AdminCore, _get, check_if_match
from vkyc.services.failures import field_errors

MAX_CSV_LINES = 10_000
MAX_CSV_BYTES = 1_000_000
MAX_AUDITED_NUMBERS = 200


@dataclass(frozen=True)
class ScopeSettings:
    unit: int | None
    rev: int
    stored: dict[str, Any]
    effective: dict[str, SettingValue]
    warnings: list[SettingWarning] = field(default_factory=list)


@dataclass(frozen=True)
class Imported:
    rev: int
    added: int
    total: int
    report: list[ImportLine]


@dataclass
class SettingsAdmin(AdminCore):
    frame_origins: tuple[str, ...] = ()
    """The origins the agent page may frame (``VKYC_FRAME_ORIGINS``, ``vkyc.domain.frame_origins``): a
    panel URL of another origin is saved with the warning ``ANSWER_URL_NOT_FRAMEABLE``."""

    # -- settings ----------------------------------------------------------------------------------------

    def _scope_check(self, caller: AdminCaller, unit: int | None, *, write: bool) -> str | None:
        unit_id = None if unit is None else str(unit)
        if unit_id is None:
            if write:
                caller.check_system()
        else:
            caller.check_unit(unit_id)
            if _get(tables.Unit, unit_id) is None:
                raise ProtocolError("ADMIN_NOT_FOUND", f"No unit {unit}.")
        return unit_id

    def _rev_item(self, unit_id: str | None) -> tables.Setting | None:
        try:
            return tables.Setting.get(scope_of(unit_id), REV_NAME, consistent_read=True)
        except tables.Setting.DoesNotExist:
            return None

    def settings(self, caller: AdminCaller, unit: int | None) -> ScopeSettings:
        unit_id = self._scope_check(caller, unit, write=False)
        global_stored = stored_settings()
        unit_stored = stored_settings(unit_id) if unit_id is not None else {}
        effective_model = merge_settings(merge_settings(CallSettings(), global_stored), unit_stored)
        values = effective_model.model_dump(mode="json")
        effective = {
            name: SettingValue(
                value=value,
                source="unit" if name in unit_stored else "global" if name in global_stored else "default",
            )
            for name, value in values.items()
        }
        stored = unit_stored if unit_id is not None else global_stored
        warnings = [self._not_frameable(found) for found in unframeable(effective_model, self.frame_origins)]
        return ScopeSettings(unit, admin_store.rev(self._rev_item(unit_id)), stored, effective, warnings)

    def _not_frameable(self, found: Unframeable) -> SettingWarning:
        listed = ", ".join(self.frame_origins) if self.frame_origins else "none"
        return SettingWarning(
            code=WARNINGS["ANSWER_URL_NOT_FRAMEABLE"].code,
            setting=found.setting,
            detail=f"{found.setting} is shown in the agent page's panel, but its origin {found.origin} is "
            f"not one the pages may frame (the deployment's frame origins: {listed}).",
        )

    def patch(
        self,
        caller: AdminCaller,
        unit: int | None,
        values: dict[str, Any],
        clear: list[str],
        if_match: str | None,
        *,
        kind: str = "settings",
        action: str = "update",
        audit: tuple[Any, Any] | None = None,
    ) -> ScopeSettings:
        """Set ``values`` and clear ``clear`` in one scope, all or nothing."""
        unit_id = self._scope_check(caller, unit, write=True)
        rev_item = self._rev_item(unit_id)
        rev = admin_store.rev(rev_item)
        check_if_match(if_match, rev)
        unknown = [
            (f"clear.{i}", f"{name!r} is no setting")
            for i, name in enumerate(clear)
            if name not in CallSettings.model_fields
        ]
        both = [(f"clear.{i}", "set and cleared at once") for i, name in enumerate(clear) if name in values]
        if unknown or both:
            raise FieldErrors("BAD_MESSAGE", unknown + both)
        try:
            normalized = merge_settings(CallSettings(), values).model_dump(mode="json", include=set(values))
            before = stored_settings(unit_id)
            after = {k: v for k, v in {**before, **normalized}.items() if k not in clear}
            # The scope as a whole must still give valid settings (with the global scope, for a unit).
            base = (
                merge_settings(CallSettings(), stored_settings()) if unit_id is not None else CallSettings()
            )
            merge_settings(base, after)
        except ValidationError as exc:
            raise FieldErrors("BAD_MESSAGE", [(f"set.{f}", m) for f, m in field_errors(exc)]) from None
        if after == before:
            return self.settings(caller, unit)
        scope = scope_of(unit_id)
        now = self.clock()
        puts = [
            Put(
                tables.Setting(scope, name, value=value, updated_at=now, updated_by=caller.actor),
                0,
                checked=False,
            )
            for name, value in normalized.items()
            if before.get(name, ...) != value
        ]
        puts += [
            Put(tables.Setting(scope, name), 0, delete=True, checked=False)
            for name in clear
            if name in before
        ]
        puts.append(Put(rev_item or tables.Setting(scope, REV_NAME), rev if rev_item is not None else None))
        audited = audit or (before, after)
        self.commit(
            caller,
            puts,
            kind=kind,
            object_id=scope,
            action=action,
            unit_id=unit_id,
            before=audited[0],
            after=audited[1],
        )
        return self.settings(caller, unit)

    # -- blacklist ---------------------------------------------------------------------------------------

    def blacklist(self, caller: AdminCaller, unit: int | None) -> tuple[list[str], int]:
        scope = self.settings(caller, unit)
        return sorted(scope.stored.get("blacklist") or []), scope.rev

    def _set_blacklist(
        self, caller: AdminCaller, unit: int | None, numbers: set[str], if_match: str | None, action: str
    ) -> int:
        before, _ = self.blacklist(caller, unit)
        added = sorted(numbers - set(before))
        removed = sorted(set(before) - numbers)
        audit = (
            {"count": len(before), "removed": removed[:MAX_AUDITED_NUMBERS]},
            {"count": len(numbers), "added": added[:MAX_AUDITED_NUMBERS]},
        )
        return self.patch(
            caller,
            unit,
            {"blacklist": sorted(numbers)},
            [],
            if_match,
            kind="blacklist",
            action=action,
            audit=audit,
        ).rev

    def add_number(self, caller: AdminCaller, unit: int | None, number: str, if_match: str | None) -> int:
        normalized = _number(number, "number")
        current, _ = self.blacklist(caller, unit)
        return self._set_blacklist(caller, unit, {*current, normalized}, if_match, "add")

    def remove_number(self, caller: AdminCaller, unit: int | None, number: str, if_match: str | None) -> int:
        normalized = _number(number, "number")
        current, _ = self.blacklist(caller, unit)
        if normalized not in current:
            raise ProtocolError("ADMIN_NOT_FOUND", f"{normalized} is not on this blacklist.")
        return self._set_blacklist(caller, unit, set(current) - {normalized}, if_match, "remove")

    def import_csv(
        self, caller: AdminCaller, unit: int | None, text: str, replace: bool, if_match: str | None
    ) -> Imported:
        """Add (or with ``replace``, set) the numbers of a CSV; every line that is not added is in the
        report: ``invalid`` (not a number), ``duplicate`` (earlier in the file), ``already_listed``."""
        if len(text.encode()) > MAX_CSV_BYTES:
            raise ProtocolError("CSV_INVALID", f"More than {MAX_CSV_BYTES} bytes.")
        lines = text.splitlines()
        if len(lines) > MAX_CSV_LINES:
            raise ProtocolError("CSV_INVALID", f"{len(lines)} lines; at most {MAX_CSV_LINES}.")
        current, rev = self.blacklist(caller, unit)
        listed = set() if replace else set(current)
        seen: dict[str, int] = {}
        report: list[ImportLine] = []
        for index, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            cell = (row[0] if row else "").strip()
            if not cell or (index == 1 and cell.lower() in ("number", "msisdn", "so_thue_bao", "phone")):
                continue
            try:
                number = normalize_msisdn(cell)
            except ValueError as exc:
                problem = ("invalid", str(exc)[:200])
            else:
                if number in seen:
                    problem = ("duplicate", f"{number} is on line {seen[number]} already")
                else:
                    seen[number] = index
                    if number not in listed:
                        continue
                    problem = ("already_listed", f"{number} is on the blacklist already")
            report.append(ImportLine(line=index, text=cell[:40], problem=problem[0], detail=problem[1]))
        numbers = listed | set(seen)
        if numbers != set(current):
            rev = self._set_blacklist(caller, unit, numbers, if_match, "replace" if replace else "import")
        else:
            check_if_match(if_match, rev)
        return Imported(rev, len(numbers - set(current)), len(numbers), report)

    def export_csv(self, caller: AdminCaller, unit: int | None) -> tuple[str, int]:
        numbers, _ = self.blacklist(caller, unit)
        return "number\n" + "".join(f"{n}\n" for n in numbers), len(numbers)

    # -- media nodes -------------------------------------------------------------------------------------

    def nodes(self, caller: AdminCaller) -> list[MediaNodeView]:
        caller.check_system()
        now = self.clock()
        return [
            MediaNodeView(
                node_id=n.node_id,
                address=n.address,
                capacity=n.capacity,
                load=n.load,
                assigned=len(n.call_ids or ()),
                heartbeat_at=n.heartbeat_at,
                live=bool(n.connection_id) and now - n.heartbeat_at <= NODE_DEAD_AFTER,
                draining=bool(n.draining),
            )
            for n in sorted(media_nodes.all_nodes(), key=lambda n: n.node_id)
        ]

    def drain(self, caller: AdminCaller, node_id: str, draining: bool) -> MediaNodeView:
        """Drain (no new calls; its calls go on) or undrain a node."""
        caller.check_system()
        node = media_nodes.find(node_id)
        if node is None:
            raise ProtocolError("ADMIN_NOT_FOUND", f"No media node {node_id!r}.")
        if bool(node.draining) != draining:
            action = tables.MediaNode.draining.set(True) if draining else tables.MediaNode.draining.remove()
            self.commit(
                caller,
                [],
                kind="media_nodes",
                object_id=node_id,
                action="drain" if draining else "undrain",
                unit_id=None,
                before={"draining": bool(node.draining)},
                after={"draining": draining},
                patches=[Patch(tables.MediaNode(node_id), [action], admin_store.rev(node))],
            )
        return next(n for n in self.nodes(caller) if n.node_id == node_id)


def _number(value: str, field_name: str) -> str:
    try:
        return normalize_msisdn(value)
    except ValueError as exc:
        raise FieldErrors("BAD_MESSAGE", [(field_name, str(exc))]) from None


class MediaUploads(SettingsAdmin):
    """Waiting media and ringtone files: a pre-signed S3 POST form per upload, then a check of what was
    uploaded (present, size within the limit, its bytes of an accepted type) before the scope's setting
    names it. A rejected file is deleted; the setting keeps what it had."""

    def __init__(self, files: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.files = files

    def form(
        self, caller: AdminCaller, purpose: str, content_type: str, unit: int | None
    ) -> tuple[str, dict[str, str], str, int]:
        self._scope_check(caller, unit, write=True)
        spec = PURPOSES[purpose]
        extension = spec.types.get(content_type)
        if extension is None:
            raise FieldErrors("BAD_MESSAGE", [("content_type", f"one of {sorted(spec.types)}")])
        key = f"{spec.prefix}{uuid.uuid4().hex}.{extension}"
        url, fields = self.files.upload_form(key, content_type, MIN_BYTES, spec.max_bytes, UPLOAD_TTL_S)
        return url, fields, key, spec.max_bytes

    def check(
        self, caller: AdminCaller, key: str, unit: int | None, if_match: str | None
    ) -> tuple[int, str, str, int]:
        """Check the uploaded ``key`` and set it; returns size, content type, setting and revision."""
        self._scope_check(caller, unit, write=True)
        spec = next((p for p in PURPOSES.values() if key.startswith(p.prefix)), None)
        if spec is None or "/" in key[len(spec.prefix) :]:
            raise FieldErrors("BAD_MESSAGE", [("key", "not a key of an upload form of this API")])
        head = self.files.head(key)
        if head is None:
            raise ProtocolError("MEDIA_FILE_REJECTED", "Nothing was uploaded under this key.")
        size = int(head.get("ContentLength", 0))
        sniffed = sniff(self.files.first_bytes(key, 16))
        declared = str(head.get("ContentType", ""))
        if size > spec.max_bytes or size < MIN_BYTES or sniffed is None or sniffed != declared:
            self.files.delete(key)
            raise ProtocolError(
                "MEDIA_FILE_REJECTED", f"{size} bytes, declared {declared!r}, found {sniffed!r}."
            )
        scope = self.patch(caller, unit, {spec.setting: key}, [], if_match, kind="media", action=spec.setting)
        return size, sniffed, spec.setting, scope.rev
