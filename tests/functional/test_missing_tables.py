"""``missing_tables`` (``GET /health``'s DynamoDB check) with read access to the deployment's own tables
only: one BatchGetItem when every table is there, and each missing one named otherwise."""

from __future__ import annotations

from typing import Any

from vkyc.repositories.tables import ALL_MODELS, Throttle, connection, missing_tables


def test_every_table_present_costs_one_batch_get_and_nothing_is_missing(tables):
    operations: list[str] = []

    def record(model: Any, **_: Any) -> None:
        operations.append(model.name)

    events = connection().client.meta.events
    events.register("before-call.dynamodb", record)
    try:
        assert missing_tables() == []
    finally:
        events.unregister("before-call.dynamodb", record)
    assert operations == ["BatchGetItem"] * ((len(ALL_MODELS) + 99) // 100)


def test_a_missing_table_is_named(tables):
    Throttle.delete_table()
    try:
        assert missing_tables() == [Throttle.Meta.table_name]
    finally:
        Throttle.create_table(wait=True)
    assert missing_tables() == []
