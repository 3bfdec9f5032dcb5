"""The reports' counters (``report_counters``) and the marks that make each effect count once
(``report_marks``). The only code that knows their keys.

A cell (``vkyc.domain.metrics.Cell``) is one item: ``counter_key = "<family>#<owner><dims>"`` (``dims``:
the slice of the calls it counts, ``|st=ZP``, or nothing for every call), ``bucket`` = the 15-minute or
day key; its counters are numeric attributes named by the domain (``answered``, ``t:IN_CALL``). Each
slice being a partition of its own, a report Queries exactly the slice it shows.

``apply(contributions)`` — exactly once, in any order:

1. the maxima first, each raised only if greater (``max_wait_ms``): one BatchGetItem of the cells
   (up to 100), then one conditional UpdateItem per cell where something must rise. Idempotent and
   order-free, so doing it before the counters means a crash in between is repaired by the redelivery;
2. then every ``ADD`` in a transaction with a Put of each contribution's mark conditioned on
   ``attribute_not_exists``: a mark already there (a record delivered again) cancels the
   transaction; the contributions whose marks failed are dropped and the rest is sent again. Several
   contributions share one transaction (up to 100 items, the cells merged), so a stream batch costs a
   few requests, not one per record.

Reading: ``read`` Queries one owner's cells of one slice between two buckets (one request per 1 MB
page).
Rebuilding: ``replace`` overwrites an owner's cells of a range with recomputed ones (and deletes
those that should not exist), ``put_marks`` records milestones as applied.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from vkyc.domain.metrics import Cell, Contribution, Family
from vkyc.repositories import tables
from vkyc.repositories.errors import RepositoryError

MARK_TTL = timedelta(days=3)
"""Marks outlive the 24 h a DynamoDB stream keeps a record, with room for retries."""
MAX_TRANSACTION_ITEMS = 100
MAX_ATTRIBUTES_PER_UPDATE = 64
MAX_BATCH_WRITE = 25
MAX_BATCH_GET = 100
CONFLICT_RETRIES = 5


def counter_key(family: Family, owner: str, dims: str = "") -> str:
    """The partition of ``owner``'s cells of ``family`` in slice ``dims``. Unambiguous: owners are ids
    (and ``unit|queue``) without ``=``, and every part of a slice holds one."""
    return f"{family.value}#{owner}{dims}"


def _client() -> Any:
    return tables.connection().client


def _counters_table() -> str:
    return str(tables.ReportCounter.Meta.table_name)


def _marks_table() -> str:
    return str(tables.ReportMark.Meta.table_name)


def _key(cell: Cell) -> dict[str, Any]:
    key = counter_key(cell.family, cell.owner, cell.dims)
    return {"counter_key": {"S": key}, "bucket": {"S": cell.bucket}}


def _numbers(item: Mapping[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if "N" in value}


@dataclass(frozen=True)
class Applied:
    counted: int  # contributions applied now
    repeated: int  # contributions whose mark was already there (applied before)


# -- applying -------------------------------------------------------------------------------------------


def apply(contributions: Sequence[Contribution], *, now: datetime | None = None) -> Applied:
    """Apply each contribution once (see the module docstring). Raises ``RepositoryError`` when
    DynamoDB refuses for another reason than a mark already present."""
    when = now or datetime.now(UTC)
    expires = int((when + MARK_TTL).timestamp())
    # A record delivered twice within one batch makes the same milestone twice: one transaction may
    # hold a mark once, and the copy would be refused anyway.
    unique: dict[str, Contribution] = {}
    for contribution in contributions:
        if contribution.adds or contribution.maxima:
            unique.setdefault(contribution.mark, contribution)
    pending = list(unique.values())
    maxima: dict[Cell, dict[str, int]] = {}
    for contribution in pending:
        for cell, row in contribution.maxima.items():
            target = maxima.setdefault(cell, {})
            for name, value in row.items():
                target[name] = max(target.get(name, value), value)
    raise_all(maxima)
    counted, repeated = 0, len(contributions) - len(pending)
    for group in _groups([c for c in pending if c.adds]):
        done, again = _apply_group(group, expires)
        counted += done
        repeated += again
    return Applied(counted, repeated)


def _groups(contributions: Sequence[Contribution]) -> Iterator[list[Contribution]]:
    """Pack contributions into transactions of at most 100 items (marks + distinct cells), each cell's
    update naming at most ``MAX_ATTRIBUTES_PER_UPDATE`` counters (an expression is limited to 4 KB)."""
    group: list[Contribution] = []
    names: dict[Cell, set[str]] = {}
    for contribution in contributions:
        grown = {cell: names.get(cell, set()) | set(row) for cell, row in contribution.adds.items()}
        too_many_items = len(group) + 1 + len(names.keys() | grown.keys()) > MAX_TRANSACTION_ITEMS
        too_long = any(len(found) > MAX_ATTRIBUTES_PER_UPDATE for found in grown.values())
        if group and (too_many_items or too_long):
            yield group
            group, names = [], {}
            grown = {cell: set(row) for cell, row in contribution.adds.items()}
        group.append(contribution)
        names.update(grown)
    if group:
        yield group


def _apply_group(group: list[Contribution], expires: int) -> tuple[int, int]:
    repeated = 0
    attempt = 0
    while group:
        merged: dict[Cell, dict[str, int]] = {}
        for contribution in group:
            for cell, row in contribution.adds.items():
                target = merged.setdefault(cell, {})
                for name, amount in row.items():
                    target[name] = target.get(name, 0) + amount
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": _marks_table(),
                    "Item": {"mark": {"S": c.mark}, "expires_at": {"N": str(expires)}},
                    "ConditionExpression": "attribute_not_exists(#mark)",
                    "ExpressionAttributeNames": {"#mark": "mark"},
                }
            }
            for c in group
        ]
        for cell, row in sorted(merged.items()):
            names = {f"#n{i}": name for i, name in enumerate(sorted(row))}
            values = {f":v{i}": {"N": str(row[name])} for i, name in enumerate(sorted(row))}
            items.append(
                {
                    "Update": {
                        "TableName": _counters_table(),
                        "Key": _key(cell),
                        "UpdateExpression": "ADD " + ", ".join(f"#n{i} :v{i}" for i in range(len(row))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        try:
            _client().transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise RepositoryError(f"applying report counters: {exc}") from exc
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            failed = {i for i, code in enumerate(reasons[: len(group)]) if code == "ConditionalCheckFailed"}
            if failed:
                repeated += len(failed)
                group = [c for i, c in enumerate(group) if i not in failed]
                continue
            if any(code == "TransactionConflict" for code in reasons) and attempt < CONFLICT_RETRIES:
                attempt += 1
                time.sleep(random.uniform(0.005, 0.02) * 2**attempt)
                continue
            raise RepositoryError(f"applying report counters: cancelled ({', '.join(reasons)})") from exc
        return len(group), repeated
    return 0, repeated


def raise_all(maxima: Mapping[Cell, Mapping[str, int]]) -> None:
    """``raise_maxima`` of every cell, reading them together: one consistent BatchGetItem per 100 cells
    (a milestone's maxima go to each slice of its two grains), then an update of the cells where
    something must rise."""
    cells = sorted(maxima)
    for start in range(0, len(cells), MAX_BATCH_GET):
        chunk = cells[start : start + MAX_BATCH_GET]
        stored = _batch_get(chunk, sorted({name for cell in chunk for name in maxima[cell]}))
        for cell in chunk:
            row = maxima[cell]
            current = _numbers(stored.get(_identity(_key(cell)), {}))
            rising = {n: v for n, v in row.items() if n not in current or current[n] < v}
            if rising and not _raise(cell, rising):
                raise_maxima(cell, row)  # someone raised one meanwhile: read it again


def _identity(key: Mapping[str, Any]) -> tuple[str, str]:
    return key["counter_key"]["S"], key["bucket"]["S"]


def _batch_get(cells: Sequence[Cell], names: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The ``names`` (and keys) of the stored ``cells``, read consistently, by key."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] = {
        _counters_table(): {
            "Keys": [_key(cell) for cell in cells],
            "ConsistentRead": True,
            "ProjectionExpression": ", ".join(["#k", "#b", *(f"#m{i}" for i in range(len(names)))]),
            "ExpressionAttributeNames": {
                "#k": "counter_key",
                "#b": "bucket",
                **{f"#m{i}": name for i, name in enumerate(names)},
            },
        }
    }
    for attempt in range(8):
        answer = _client().batch_get_item(RequestItems=request)
        for item in answer.get("Responses", {}).get(_counters_table(), []):
            found[_identity(item)] = item
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            return found
        time.sleep(0.05 * 2**attempt)
    raise RepositoryError("report counters: batch read left keys unprocessed")


def raise_maxima(cell: Cell, row: Mapping[str, int]) -> None:
    """Raise each attribute of ``row`` on ``cell`` to its value if that is greater (or it is absent)."""
    for _ in range(CONFLICT_RETRIES):
        stored = (
            _client()
            .get_item(
                TableName=_counters_table(),
                Key=_key(cell),
                ProjectionExpression=", ".join(f"#m{i}" for i in range(len(row))),
                ExpressionAttributeNames={f"#m{i}": name for i, name in enumerate(row)},
                ConsistentRead=True,
            )
            .get("Item", {})
        )
        current = _numbers(stored)
        rising = {name: value for name, value in row.items() if name not in current or current[name] < value}
        if not rising or _raise(cell, rising):
            return
        # Someone raised one meanwhile: read again and raise what is still lower.
    raise RepositoryError(f"raising report maxima of {cell}: kept losing races")


def _raise(cell: Cell, rising: Mapping[str, int]) -> bool:
    """Set ``rising`` on ``cell`` on condition that each is absent or lower; False when one no longer
    is (another writer raised it)."""
    names = {f"#m{i}": name for i, name in enumerate(rising)}
    values = {f":m{i}": {"N": str(value)} for i, value in enumerate(rising.values())}
    condition = " AND ".join(f"(attribute_not_exists(#m{i}) OR #m{i} < :m{i})" for i in range(len(rising)))
    try:
        _client().update_item(
            TableName=_counters_table(),
            Key=_key(cell),
            UpdateExpression="SET " + ", ".join(f"#m{i} = :m{i}" for i in range(len(rising))),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise RepositoryError(f"raising report maxima: {exc}") from exc
        return False


# -- reading --------------------------------------------------------------------------------------------


def read(family: Family, owner: str, first: str, last: str, dims: str = "") -> dict[str, dict[str, int]]:
    """The cells of ``owner`` in ``family`` and slice ``dims`` whose bucket is between ``first`` and
    ``last`` (inclusive), by bucket. One Query per 1 MB."""
    found: dict[str, dict[str, int]] = {}
    for item in _query(counter_key(family, owner, dims), first, last):
        bucket = item.pop("bucket")["S"]
        item.pop("counter_key", None)
        found[bucket] = _numbers(item)
    return found


def _query(key: str, first: str, last: str, keys_only: bool = False) -> Iterator[dict[str, Any]]:
    start: dict[str, Any] | None = None
    while True:
        # BUCKET is one of DynamoDB's reserved words: every expression names the keys by placeholder.
        kwargs: dict[str, Any] = {
            "TableName": _counters_table(),
            "KeyConditionExpression": "#k = :k AND #b BETWEEN :a AND :b",
            "ExpressionAttributeNames": {"#k": "counter_key", "#b": "bucket"},
            "ExpressionAttributeValues": {":k": {"S": key}, ":a": {"S": first}, ":b": {"S": last}},
        }
        if keys_only:
            kwargs["ProjectionExpression"] = "#k, #b"
        if start is not None:
            kwargs["ExclusiveStartKey"] = start
        page = _client().query(**kwargs)
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


# -- rebuilding -----------------------------------------------------------------------------------------


def replace(
    family: Family,
    owner: str,
    first: str,
    last: str,
    rows: Mapping[str, Mapping[str, int]],
    dims: str = "",
) -> int:
    """Make ``owner``'s cells of slice ``dims`` between ``first`` and ``last`` exactly ``rows`` (bucket →
    counters): put them whole and delete the others of the range. Returns the number of items written
    or deleted."""
    key = counter_key(family, owner, dims)
    stale = [item["bucket"]["S"] for item in _query(key, first, last, keys_only=True)]
    requests: list[dict[str, Any]] = []
    for bucket in stale:
        if bucket not in rows:
            requests.append({"DeleteRequest": {"Key": {"counter_key": {"S": key}, "bucket": {"S": bucket}}}})
    for bucket, row in rows.items():
        if not first <= bucket <= last:
            raise ValueError(f"{bucket} is outside {first}..{last}")
        item = {"counter_key": {"S": key}, "bucket": {"S": bucket}}
        item.update({name: {"N": str(value)} for name, value in row.items() if value})
        requests.append({"PutRequest": {"Item": item}})
    _batch_write(_counters_table(), requests)
    return len(requests)


def put_marks(marks: Iterable[str], *, now: datetime | None = None) -> int:
    """Record milestones as applied (a rebuild counted them: a late delivery must not count them again)."""
    expires = str(int(((now or datetime.now(UTC)) + MARK_TTL).timestamp()))
    requests = [
        {"PutRequest": {"Item": {"mark": {"S": mark}, "expires_at": {"N": expires}}}}
        for mark in dict.fromkeys(marks)
    ]
    _batch_write(_marks_table(), requests)
    return len(requests)


def has_mark(mark: str) -> bool:
    found = _client().get_item(TableName=_marks_table(), Key={"mark": {"S": mark}}, ConsistentRead=True)
    return "Item" in found


def _batch_write(table: str, requests: list[dict[str, Any]]) -> None:
    for start in range(0, len(requests), MAX_BATCH_WRITE):
        pending: dict[str, Any] = {table: requests[start : start + MAX_BATCH_WRITE]}
        for attempt in range(8):
            answer = _client().batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise RepositoryError(f"{table}: batch write left items unprocessed")
