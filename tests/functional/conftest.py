"""Functional fixtures: vkyc's tables on the session's moto server, under a prefix unique to the module.

The moto server isolates DynamoDB transactions as DynamoDB does (``local/moto_patches.py``): without
that, concurrent conditional transactions on one item can both lose or both pass.

``tables`` binds every PynamoDB model to the moto server (never port 4566) with a fresh prefix and
creates all tables; they are deleted when the module ends, and the models bound back to what they were
(``tests/binding.py``: a stack started by integration tests earlier in the run is held off meanwhile).
``dynamodb_calls`` records the name of every DynamoDB operation PynamoDB sends, to count the requests
a use case costs; ``dynamodb_reads`` records (operation, items its answer carried) for each request of
the shared client, to count the items a use case reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from local.moto_server import MotoServer
from tests.binding import models_bound_to
from vkyc.repositories import pynamodb_internals
from vkyc.repositories import tables as tables_module


@pytest.fixture(scope="module")
def tables(moto_server: MotoServer) -> Iterator[ModuleType]:
    with models_bound_to(moto_server.url, f"t{uuid.uuid4().hex[:8]}-"):
        tables_module.create_all()
        yield tables_module
        tables_module.delete_all()


@pytest.fixture
def dynamodb_calls() -> Iterator[list[str]]:
    calls: list[str] = []
    with pynamodb_internals.observed_requests(calls.append):
        yield calls


@pytest.fixture
def dynamodb_reads(tables: ModuleType) -> Iterator[list[tuple[str, int]]]:
    reads: list[tuple[str, int]] = []

    def answered(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        reads.append((model.name, _items_in(parsed)))

    # botocore's own hook on the shared client: it sees what PynamoDB sends and what vkyc sends through
    # the client itself (``vkyc.repositories.batch``).
    events = tables.connection().client.meta.events
    events.register("after-call.dynamodb", answered, unique_id="dynamodb_reads")
    try:
        yield reads
    finally:
        events.unregister("after-call.dynamodb", unique_id="dynamodb_reads")


def _items_in(parsed: dict[str, Any]) -> int:
    """Items a DynamoDB answer carried: of a Query or Scan, a BatchGetItem, a GetItem (0: a write)."""
    if "Items" in parsed:
        return len(parsed["Items"])
    if isinstance(parsed.get("Responses"), dict):  # BatchGetItem (TransactGetItems answers a list)
        return sum(len(items) for items in parsed["Responses"].values())
    return 1 if parsed.get("Item") else 0
