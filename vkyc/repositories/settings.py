"""Call settings as stored: one global scope, and per-unit overrides (``vkyc.domain.settings``).

Three cases for a field in a unit's scope, which is why a stored value may be null:

* no item: the unit inherits the global value;
* an item with a value: the unit's own value;
* an item with an explicit null: the optional setting is off for that unit (e.g. no daily cap, no
  waiting media) even where the global scope sets it.

The global scope works the same way against ``CallSettings``' defaults: an absent field takes the
default, an explicit null turns an optional one off.

Writes validate against ``CallSettings`` and store the normalized JSON form of each value (a blacklist
as a sorted list of ``84…`` numbers, ``end_of_day`` as ``"HH:MM"``), so what is stored always reads back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from vkyc.domain.settings import CallSettings, merge_settings
from vkyc.repositories.tables import Setting

GLOBAL_SCOPE = "global"
REV_NAME = "_rev"  # the item holding a scope's revision (``vkyc.services.admin_settings``)


def scope_of(unit_id: str | None) -> str:
    """The ``scope`` key of the global scope (None) or of a unit's."""
    return _scope(unit_id)


def _scope(unit_id: str | None) -> str:
    return GLOBAL_SCOPE if unit_id is None else f"unit#{unit_id}"


def stored_settings(unit_id: str | None = None) -> dict[str, Any]:
    """The fields stored in one scope (global when ``unit_id`` is None), as JSON values; an explicit
    null is ``None``, an absent field is absent. Strongly consistent; one Query."""
    # Names starting with ``_`` are the scope's bookkeeping (``_rev``, the admin API's ETag), no field.
    return {
        item.name: item.value
        for item in Setting.query(_scope(unit_id), consistent_read=True)
        if not item.name.startswith("_")
    }


def effective_settings(unit_id: str | None = None) -> CallSettings:
    """The settings in force: defaults, then the global scope, then the unit's scope if ``unit_id``.

    One Query per scope (two for a unit). Raises ``pydantic.ValidationError`` if a stored value no
    longer validates (a field renamed or a bound tightened since it was written).
    """
    merged = merge_settings(CallSettings(), stored_settings())
    if unit_id is None:
        return merged
    return merge_settings(merged, stored_settings(unit_id))


def put_settings(
    values: Mapping[str, Any],
    *,
    unit_id: str | None = None,
    by: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Upsert ``values`` (field name → value, ``None`` = explicit null) into one scope; return what was
    stored (normalized JSON values).

    Fields not named are left as they are. Raises ``pydantic.ValidationError`` naming the field for an
    unknown name or a bad value, before anything is written. Idempotent; batches of 25 per request.
    """
    if not values:
        return {}
    # Validate the fields on their own (against defaults): a scope holds a subset of the fields.
    normalized = merge_settings(CallSettings(), values).model_dump(mode="json", include=set(values))
    when = at or datetime.now(UTC)
    scope = _scope(unit_id)
    with Setting.batch_write() as batch:
        for name, value in normalized.items():
            batch.save(Setting(scope, name, value=value, updated_at=when, updated_by=by))
    return normalized


def clear_settings(names: Iterable[str], *, unit_id: str | None = None) -> None:
    """Delete the named fields from one scope, so they inherit again (from the global scope, or from
    the defaults for the global scope). Names not stored are ignored. Batches of 25 per request."""
    scope = _scope(unit_id)
    with Setting.batch_write() as batch:
        for name in names:
            batch.delete(Setting(scope, name))
