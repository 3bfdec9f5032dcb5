"""Two corrections to moto 5.2's DynamoDB that vkyc's correctness and speed depend on.

1. **Isolation.** moto serves requests on several threads, and ``transact_write_items`` deep-copies
   every table it touches, then restores that copy when a condition fails: writes that other
   threads committed meanwhile are wiped out. Measured: of 200 two-way races on one item, 2 ended
   with both sides losing and 12 with both passing the item's condition. DynamoDB guarantees
   serializable transactions, so every DynamoDB request of this process runs alone under one lock
   (moto holds the GIL anyway: it costs nothing measurable).
2. **Cost.** The deep copy grows with the tables: a transaction took ~15 ms at 100 dossiers and
   ~230 ms at 1,000 (with their logs). Under the lock a transaction can check every condition
   first and write only when all pass, so nothing needs copying; if a write still fails (an invalid
   update expression), the items it touched and their stream records are put back.

``apply()`` is idempotent and process-wide; ``MotoServer.start()`` calls it.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

STOCK_TRANSACT_WRITE_ITEMS = DynamoDBBackend.transact_write_items  # kept for bench/moto_transactions.py
_LOCK = threading.RLock()
_applied = False
_OPS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


def apply() -> None:
    global _applied
    with _LOCK:
        if _applied:
            return
        original = DynamoHandler.call_action

        @functools.wraps(original)
        def call_action(self: DynamoHandler) -> Any:
            with _LOCK:
                return original(self)

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        _applied = True


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """Same contract and errors as moto's, without copying tables: check all, then write all."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    planned: list[tuple[str, dict[str, Any], Table, dict[str, Any], Item | None]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        original_item: dict[str, Any] | None = None
        try:
            op_type, op = next(iter(entry.items()))
            if op_type not in _OPS:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            key = _key_of(table, op_type, op)
            marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
            if marker in seen:
                raise MultipleTransactionsException()
            seen.add(marker)
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            planned.append((op_type, op, table, key, current))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))  # type: ignore[arg-type]
        except Exception as exc:
            errors.append((type(exc).__name__, str(exc), original_item))  # type: ignore[arg-type]
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    undo = [(table, key, copy.deepcopy(current)) for _, _, table, key, current in planned]
    shards = {id(t.stream_shard): t.stream_shard for _, _, t, _, _ in planned if t.stream_shard is not None}
    stream_marks = [(shard, len(shard.items)) for shard in shards.values()]
    try:
        for op_type, op, _table, key, _current in planned:
            names = op.get("ExpressionAttributeNames") or {}
            values = op.get("ExpressionAttributeValues") or {}
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except Exception:
        for table, key, old in undo:
            _restore(self, table, key, old)
        for shard, length in stream_marks:
            del shard.items[length:]
        raise


def _restore(backend: DynamoDBBackend, table: Table, key: dict[str, Any], old: Item | None) -> None:
    hash_value, range_value = backend.get_keys_value(table, key)
    storage: dict[Any, Any] = table.items
    if range_value is None:
        if old is None:
            storage.pop(hash_value, None)
        else:
            storage[hash_value] = old
        return
    bucket: dict[DynamoType, Item] = storage[hash_value]
    if old is None:
        bucket.pop(range_value, None)
    else:
        bucket[range_value] = old
