"""Reading items of several tables in one request (BatchGetItem), for use cases that need a few items
whose keys they already know (an offer, its call and the agent answering it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vkyc.repositories import pynamodb_internals, tables
from vkyc.repositories.errors import RepositoryError
from vkyc.repositories.tables import VkycModel


def get_many(keys: Sequence[VkycModel]) -> list[VkycModel | None]:
    """The stored items for ``keys`` (instances with only their hash key set), in the same order; None
    where no item exists. One strongly consistent BatchGetItem (at most 100 keys, as DynamoDB allows).
    An empty key reads as None without a request."""
    wanted: dict[str, list[dict[str, Any]]] = {}
    for key in keys:
        if key.entity_id() in ("", "None"):
            continue
        name = pynamodb_internals.hash_key_name(type(key))
        wanted.setdefault(type(key).Meta.table_name, []).append({name: {"S": key.entity_id()}})
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request = {table: {"Keys": ks, "ConsistentRead": True} for table, ks in wanted.items()}
    client: Any = tables.connection().client  # PynamoDB types its botocore client narrowly
    for _ in range(5):  # DynamoDB may hand back some keys unprocessed under load: ask again for those
        if not request:
            break
        response = client.batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            for raw in items:
                found[(table, _key_of(table, raw, keys))] = raw
        request = response.get("UnprocessedKeys") or {}
    else:
        raise RepositoryError("BatchGetItem left keys unprocessed after 5 tries")
    result: list[VkycModel | None] = []
    for key in keys:
        raw_item = found.get((type(key).Meta.table_name, key.entity_id()))
        result.append(None if raw_item is None else type(key).from_raw_data(raw_item))
    return result


def _key_of(table: str, raw: dict[str, Any], keys: Sequence[VkycModel]) -> str:
    for key in keys:
        if type(key).Meta.table_name == table:
            return str(raw[pynamodb_internals.hash_key_name(type(key))]["S"])
    raise RepositoryError(f"BatchGetItem answered for {table}, which was not asked")
