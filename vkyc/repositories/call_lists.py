"""Pages of calls from the calls' indexes, newest first, for the call list and the errors report: never
a Scan. Each page is one Query of at most ``limit`` index entries (what DynamoDB reads), some of which a
filter may skip; the caller learns where the page stopped, to continue from there.

Indexes: ``by_unit_created`` (a unit's calls) and ``by_agent`` (an agent's), which project the report
columns, so their filters run in DynamoDB; ``by_subscriber`` and ``by_dossier`` project little, so
their pages are read in full with one BatchGetItem and filtered by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from vkyc.repositories import tables
from vkyc.repositories.call_media import calls as calls_by_id
from vkyc.repositories.tables import Call

Index = Literal["by_unit_created", "by_agent", "by_subscriber", "by_dossier"]
HASH_KEYS: dict[Index, str] = {
    "by_unit_created": "unit_id",
    "by_agent": "agent_id",
    "by_subscriber": "subscriber",
    "by_dossier": "dossier_id",
}
PROJECTS_REPORT_COLUMNS: frozenset[Index] = frozenset({"by_unit_created", "by_agent"})


def stamp(when: datetime) -> str:
    """``created_at`` as stored (sortable text)."""
    return str(Call.created_at.serialize(when))


@dataclass(frozen=True)
class Page:
    calls: list[Call]  # newest first, filters applied
    last_examined: str | None  # created_at of the last entry read, when the index holds more


def page(
    index: Index,
    hash_value: str,
    since: datetime,
    until: str,
    *,
    limit: int,
    equals: Mapping[str, str] | None = None,
    one_of: Mapping[str, list[str]] | None = None,
) -> Page:
    """Up to ``limit`` index entries of ``hash_value`` created from ``since`` up to ``until`` (a stored
    ``created_at``, inclusive), newest first; those matching ``equals`` / ``one_of`` (attribute → value)
    are returned. One Query (plus one BatchGetItem on the indexes that project little)."""
    names = {"#h": HASH_KEYS[index], "#t": "created_at"}
    values: dict[str, Any] = {":h": {"S": hash_value}, ":a": {"S": stamp(since)}, ":b": {"S": until}}
    kwargs: dict[str, Any] = {
        "TableName": Call.Meta.table_name,
        "IndexName": index,
        "KeyConditionExpression": "#h = :h AND #t BETWEEN :a AND :b",
        "ScanIndexForward": False,
        "Limit": limit,
    }
    filters: list[str] = []
    if index in PROJECTS_REPORT_COLUMNS:
        for n, (name, value) in enumerate(sorted((equals or {}).items())):
            names[f"#f{n}"] = name
            values[f":f{n}"] = {"S": value}
            filters.append(f"#f{n} = :f{n}")
        for n, (name, choices) in enumerate(sorted((one_of or {}).items())):
            names[f"#o{n}"] = name
            for m, choice in enumerate(choices):
                values[f":o{n}_{m}"] = {"S": choice}
            filters.append(f"#o{n} IN ({', '.join(f':o{n}_{m}' for m in range(len(choices)))})")
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    kwargs["ExpressionAttributeNames"] = names
    kwargs["ExpressionAttributeValues"] = values
    client: Any = tables.connection().client  # PynamoDB types its botocore client narrowly
    answer = client.query(**kwargs)
    found = [Call.from_raw_data(item) for item in answer.get("Items", [])]
    if index not in PROJECTS_REPORT_COLUMNS:
        full = {c.call_id: c for c in calls_by_id([c.call_id for c in found])}
        found = [
            full[c.call_id] for c in found if c.call_id in full and _matches(full[c.call_id], equals, one_of)
        ]
    last = answer.get("LastEvaluatedKey")
    return Page(found, last["created_at"]["S"] if last else None)


def _matches(call: Call, equals: Mapping[str, str] | None, one_of: Mapping[str, list[str]] | None) -> bool:
    for name, value in (equals or {}).items():
        if getattr(call, name, None) != value:
            return False
    return all(getattr(call, name, None) in choices for name, choices in (one_of or {}).items())
