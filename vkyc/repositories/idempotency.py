"""``Idempotency-Key`` records of the integrator API (``idempotency_keys``): the only code that knows the
table's key. The use of them is ``vkyc.services.idempotency``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from vkyc.repositories.tables import IdempotencyRecord

KEEP = timedelta(hours=24)


@dataclass(frozen=True)
class Held:
    """A record found for the key: the request it was first used for, and its answer once done."""

    request_hash: str
    state: str  # running | done
    response: dict[str, Any] | None
    started_at: datetime


def _key(unit_id: str, key: str) -> str:
    return f"{unit_id}#{key}"


def claim(unit_id: str, key: str, request_hash: str, at: datetime, *, stale_before: datetime) -> Held | None:
    """Take the key for this request: None when taken (nobody had it, or its holder began before
    ``stale_before`` and is presumed dead); else what holds it. One PutItem (plus one GetItem when it is
    held)."""
    record = IdempotencyRecord(
        _key(unit_id, key), request_hash=request_hash, state="running", started_at=at, expires_at=at + KEEP
    )
    # Taken over only while still running and stale, for the same request: a finished answer is kept.
    condition = IdempotencyRecord.record_key.does_not_exist() | (
        (IdempotencyRecord.state == "running")
        & (IdempotencyRecord.started_at < stale_before)
        & (IdempotencyRecord.request_hash == request_hash)
    )
    try:
        record.save(condition=condition)
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        try:
            held = IdempotencyRecord.get(_key(unit_id, key), consistent_read=True)
        except IdempotencyRecord.DoesNotExist:
            return claim(unit_id, key, request_hash, at, stale_before=stale_before)  # expired meanwhile
        return Held(held.request_hash, held.state, held.response, held.started_at)
    return None


def complete(unit_id: str, key: str, request_hash: str, response: dict[str, Any]) -> None:
    """Keep the answer of the request that holds the key. One UpdateItem."""
    try:
        IdempotencyRecord(record_key=_key(unit_id, key)).update(
            [IdempotencyRecord.state.set("done"), IdempotencyRecord.response.set(response)],
            condition=IdempotencyRecord.request_hash == request_hash,
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def release(unit_id: str, key: str, request_hash: str) -> None:
    """The request failed: the key is free for a retry. One DeleteItem."""
    try:
        IdempotencyRecord(record_key=_key(unit_id, key)).delete(
            condition=(IdempotencyRecord.request_hash == request_hash)
            & (IdempotencyRecord.state == "running")
        )
    except DeleteError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
