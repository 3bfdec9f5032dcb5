"""Corrections to moto 5.2's DynamoDB and SQS that vkyc's correctness and speed depend on: the one module
that replaces or reaches into moto's internals.

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

3. **Update expressions.** moto parses an update expression, then walks its syntax tree about ten
   times to validate it: a third of a 10-item transaction's time. vkyc's updates are nearly all
   ``SET #a = :a, ... REMOVE #b, ...`` of whole attributes: those are applied directly (same
   condition check, same stream record, same size limit), and the ``attribute_not_exists(#key)`` of
   every log entry is answered without moto's lexer; anything else goes through moto's own path.

4. **Serialising items.** moto 5.2 writes every response through a serializer driven by the service's
   shapes, which looks each member of each ``AttributeValue`` up under several spellings: a Query
   answering 10 agents of 17 attributes spent ~19 ms there, a GetItem ~1 ms, a third of the moto
   process's time under load. DynamoDB's (and its streams') attribute values are already in their wire
   form, so they are written as they are (blobs in base64, as the serializer does); any other value,
   or one that is not plainly an attribute value, goes through moto's serializer.

5. **Timers on time.** A long poll (``ReceiveMessage`` with ``WaitTimeSeconds``) waits on the queue's
   condition, which moto notifies only when a message is sent: a delayed message (``DelaySeconds``,
   vkyc's timers) or one whose visibility timeout ran out was returned only when the poll's own
   one-second wait ended, up to 1 s after it was due. SQS returns it as soon as it is visible; the
   wait now also ends then (``Queue.wait_for_messages``). Each receive and each wake-up walks the whole
   queue (``Queue.messages``, twice the clock per message) and, per message handed out, builds every
   attribute of the queue to read its retention period (walking the queue again): both read the
   clock once and the retention period directly, so that a queue of hundreds of pending timers costs
   little per receive.

6. **Queries read what they return.** moto answers a Query by walking every item of the table (of the
   base table for an index too), then sorting the matches, so a Query's time grows with the table,
   where DynamoDB's grows with what it reads: the reports' flat cost (``bench/reports.py``) could not
   be measured. A Query now walks only its partition: the base table's items of the hash key, or, for
   an index queried by one hash key, the items holding that value, from a map of the index built at the
   first such Query after any write (every write request of the process counts) and reused until the
   next. An index with one range key keeps each partition sorted as moto sorts it, and a Query with a
   ``Limit`` gets only the run of it that the key condition and the start key select, ``Limit`` + 1
   long (plus the items equal to the start key). moto's own code then sorts, filters, pages and
   projects them as before, so the answer is the one it gave.

7. **Reads leave nothing behind.** moto records every model object it makes in its class's
   ``instances_tracked`` list, for its ``/moto-api/data.json`` dashboard, and never lets go: for
   DynamoDB that is every item ever written or replaced, and the copy of each item a Query returns
   (moto deep-copies its results). The server's memory grew with every read (an 11-Query agents report
   left ~0.35 MB, a 100,000-row CSV export of ``bench/reports.py`` ~1.3 GB), and the full garbage
   collections with it (5-16 s pauses measured in that bench's process). DynamoDB items are no longer
   recorded: the tables hold those that exist; the dashboard, which vkyc does not use, lists none.

``apply()`` is idempotent and process-wide; ``MotoServer.start()`` calls it. ``use_stock_transactions``
puts moto's own transactions back for ``bench/moto_transactions.py``'s side-by-side measure.

What it replaces (``DynamoHandler.call_action``, ``DynamoDBBackend.update_item`` and
``transact_write_items``, ``BaseJSONSerializer._serialize_type_structure``, SQS's
``Queue.wait_for_messages`` and ``messages``, ``SQSBackend.is_message_valid_based_on_retention_period``,
``Table.query`` and the write actions of ``DynamoHandler``, ``Item.__new__``)
and relies on (``Item.attrs`` as a ``LimitedSizeDict``, ``Table.items``, ``stream_shard``,
``get_filter_expression``; a queue's ``_messages``, ``_messages_lock`` and ``message_retention_period``,
a message's ``visible_at``, ``delayed_until`` and ``sent_timestamp``, ``instances_tracked``) are moto
internals of one release, ``WRITTEN_FOR``, which ``pyproject.toml`` pins exactly: importing this module
with any other moto raises ``UnsupportedMoto``.
"""

# ruff: noqa: E402  (moto is imported after its version is checked)
from __future__ import annotations

import base64
import bisect
import copy
import functools
import re
import threading
import time
import weakref
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

WRITTEN_FOR = "5.2.6"


class UnsupportedMoto(RuntimeError):
    """The installed moto is not the release these patches were written for."""


def check_version(installed: str | None = None) -> None:
    """Raise ``UnsupportedMoto`` unless ``installed`` (default: moto's installed version) is
    ``WRITTEN_FOR``."""
    found = installed if installed is not None else version("moto")
    if found != WRITTEN_FOR:
        raise UnsupportedMoto(
            f"local/moto_patches.py replaces moto {WRITTEN_FOR}'s DynamoDB internals, but moto {found} is "
            "installed. Install the locked version (make install), or re-read what the module replaces "
            "in the new release, then update WRITTEN_FOR and the pin in pyproject.toml (make lock)."
        )


# Checked before moto's modules are imported: a release that moved them fails here, naming the versions.
check_version()

from moto.core.serialize import BaseJSONSerializer
from moto.core.utils import unix_time, unix_time_millis
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    ItemSizeToUpdateTooLarge,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.models import Message, Queue, SQSBackend

STOCK_TRANSACT_WRITE_ITEMS = DynamoDBBackend.transact_write_items
STOCK_UPDATE_ITEM = DynamoDBBackend.update_item
STOCK_JSON_STRUCTURE = BaseJSONSerializer._serialize_type_structure
MAX_ITEM_SIZE = 405_000  # moto's own limit (DynamoDB's 400 KB, as measured by moto)
_ASSIGNMENT = r"\s*(#\w+)\s*=\s*(:\w+)\s*"
_REMOVAL = r"\s*#\w+\s*"
# ``SET #a = :a, #b = :b`` and/or ``REMOVE #c, #d``: whole top-level attributes, nothing computed.
_PLAIN_UPDATE = re.compile(
    rf"^\s*(?:SET(?P<set>{_ASSIGNMENT}(?:,{_ASSIGNMENT})*))?\s*(?:REMOVE(?P<remove>{_REMOVAL}(?:,{_REMOVAL})*))?$"
)
_NOT_EXISTS = re.compile(r"^\s*attribute_not_exists\s*\(\s*(#\w+)\s*\)\s*$")
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
        DynamoDBBackend.update_item = _update_item  # type: ignore[method-assign]
        BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
        Queue.wait_for_messages = _wait_for_messages  # type: ignore[method-assign]
        Queue.messages = property(_visible_messages)  # type: ignore[assignment,method-assign]
        SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
        _apply_partition_queries()
        Item.__new__ = _untracked  # type: ignore[assignment,method-assign]
        Item.instances_tracked.clear()  # type: ignore[attr-defined]
        _applied = True


def _untracked(cls: type[Item], *args: Any, **kwargs: Any) -> Item:
    """A DynamoDB item, not recorded in ``Item.instances_tracked`` (see the module docstring, 7)."""
    return object.__new__(cls)


_ITEM_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
_ATTRIBUTE_MEMBERS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})


def _serialize_type_structure(
    self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str
) -> None:
    """moto's JSON structure serializer, with DynamoDB's attribute values written as they are."""
    if key and shape.name == "AttributeValue" and self.service_model.service_name in _ITEM_SERVICES:
        plain = _attribute_value(value)
        if plain is not None:
            serialized[self.get_serialized_name(shape, key)] = plain
            return
    STOCK_JSON_STRUCTURE(self, serialized, value, shape, key)


def _attribute_value(value: Any) -> dict[str, Any] | None:
    """``value`` (``{"S": "x"}``, ``{"M": {...}}``, blobs as bytes) in its JSON form, as moto's serializer
    writes it; None for anything else (moto's serializer then decides)."""
    if not isinstance(value, dict) or not value.keys() <= _ATTRIBUTE_MEMBERS:
        return None
    plain: dict[str, Any] = {}
    for name, member in value.items():
        if member is None:
            continue  # moto leaves out absent members
        if name in ("S", "N"):
            if not isinstance(member, str):
                return None
            plain[name] = member
        elif name == "B":
            if not isinstance(member, bytes | str):
                return None
            plain[name] = _base64(member)
        elif name in ("SS", "NS"):
            if not isinstance(member, list) or not all(isinstance(v, str) for v in member):
                return None
            plain[name] = list(member)
        elif name == "BS":
            if not isinstance(member, list) or not all(isinstance(v, bytes | str) for v in member):
                return None
            plain[name] = [_base64(v) for v in member]
        elif name == "M":
            if not isinstance(member, dict):
                return None
            entries = {k: _attribute_value(v) for k, v in member.items()}
            if any(v is None for v in entries.values()):
                return None
            plain[name] = entries
        elif name == "L":
            if not isinstance(member, list):
                return None
            values = [_attribute_value(v) for v in member]
            if any(v is None for v in values):
                return None
            plain[name] = values
        else:  # NULL, BOOL: JSON booleans, as moto writes them
            if not isinstance(member, bool):
                return None
            plain[name] = member
    return plain


def _base64(value: bytes | str) -> str:
    # As moto's ``ResponseSerializer._base64``.
    data = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(data).strip().decode("utf-8")


def _wait_for_messages(self: Queue, timeout: int) -> None:
    """moto's wait for a visible message (at most ``timeout`` s), ended also when the first delayed or
    in-flight message becomes visible: nobody notifies the queue then."""
    deadline = time.monotonic() + timeout
    with self._messages_lock:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # In ms since the epoch, as moto keeps them; visible once ``now > visible_at`` and not delayed
            # once ``now >= delayed_until``. One pass over the queue and one reading of the clock.
            now_ms = unix_time_millis()
            upcoming = None
            for message in self._messages:
                if now_ms > message.visible_at and now_ms >= message.delayed_until:
                    return
                ready_at = max(message.visible_at + 1, message.delayed_until)
                upcoming = ready_at if upcoming is None else min(upcoming, ready_at)
            if upcoming is not None:
                left = min(left, (upcoming - now_ms) / 1000 + 0.001)
            self._messages_lock.wait(left)


def _visible_messages(self: Queue) -> list[Message]:
    """moto's ``Queue.messages`` (visible and not delayed), reading the clock once instead of twice per
    message: every receive and every wake-up of a long poll walks the whole queue."""
    now_ms = unix_time_millis()
    return [m for m in self._messages if now_ms > m.visible_at and now_ms >= m.delayed_until]


def _retained(self: SQSBackend, queue_name: str, message: Message) -> bool:
    """moto's retention check of a message it is about to hand out, without building every attribute of
    the queue (its message counts walk the whole queue) for each message."""
    retention_s = int(getattr(self.get_queue(queue_name), "message_retention_period"))  # noqa: B009
    return bool(retention_s + (message.sent_timestamp or 0) / 1000 > unix_time())


def use_stock_transactions(stock: bool) -> None:
    """Serve ``TransactWriteItems`` with moto's own implementation (``stock``) or with this module's
    (call ``apply()`` first; the lock around every request stays either way)."""
    DynamoDBBackend.transact_write_items = (  # type: ignore[method-assign]
        STOCK_TRANSACT_WRITE_ITEMS if stock else _transact_write_items
    )


def _update_item(
    self: DynamoDBBackend,
    table_name: str,
    key: dict[str, dict[str, Any]],
    update_expression: str,
    expression_attribute_names: dict[str, Any],
    expression_attribute_values: dict[str, Any],
    attribute_updates: dict[str, Any] | None = None,
    expected: dict[str, Any] | None = None,
    condition_expression: str | None = None,
    return_values_on_condition_check_failure: str | None = None,
) -> Item:
    """moto's ``update_item``, with a plain ``SET #a = :a, ... REMOVE #b, ...`` applied without moto's
    parser."""
    plain = _plain_update(
        self, table_name, update_expression, expression_attribute_names, expression_attribute_values
    )
    if plain is None or attribute_updates or expected:
        return STOCK_UPDATE_ITEM(
            self,
            table_name,
            key,
            update_expression,
            expression_attribute_names,
            expression_attribute_values,
            attribute_updates,
            expected,
            condition_expression,
            return_values_on_condition_check_failure,
        )
    table = self.get_table(table_name)
    hash_value, range_value = self.get_keys_value(table, key)
    item = table.get_item(hash_value, range_value)
    if condition_expression is not None and not _condition_holds(
        condition_expression, expression_attribute_names, expression_attribute_values, item
    ):
        if return_values_on_condition_check_failure == "ALL_OLD" and item is not None:
            raise ConditionalCheckFailed(item=item.to_json()["Attributes"])
        raise ConditionalCheckFailed
    new_values = {name: DynamoType(value) for name, value in plain.assign.items()}
    gone = set(new_values) | set(plain.remove)
    kept = {} if item is None else {k: v for k, v in item.attrs.items() if k not in gone}
    if _size({**kept, **new_values}) > MAX_ITEM_SIZE:
        raise ItemSizeToUpdateTooLarge()
    before = _snapshot(item)
    if item is None:
        data = {table.hash_key_attr: {hash_value.type: hash_value.value}}
        if range_value is not None and table.range_key_attr is not None:
            data[table.range_key_attr] = {range_value.type: range_value.value}
        item = table.put_item(data)
    # dict.update: LimitedSizeDict.__setitem__ would re-measure the whole item once per attribute.
    item.attrs.update(new_values)
    for name in plain.remove:
        item.attrs.pop(name, None)
    if table.stream_shard is not None:
        table.stream_shard.add(before, item)
    return item


def _size(attrs: dict[str, DynamoType]) -> int:
    return sum(bytesize(k) + v.size() for k, v in attrs.items())


def _snapshot(item: Item | None) -> Item | None:
    """The item as it is now, for a change that only replaces whole attributes (a plain SET / REMOVE): a new
    attribute map holding the same values, which such a change never alters in place."""
    if item is None:
        return None
    taken = copy.copy(item)
    taken.attrs = LimitedSizeDict(item.attrs)  # its __init__ uses dict.update: no re-measuring
    return taken


@dataclass(frozen=True)
class _PlainUpdate:
    assign: dict[str, dict[str, Any]]
    remove: tuple[str, ...]


def _plain_update(
    backend: DynamoDBBackend,
    table_name: str,
    expression: str | None,
    names: dict[str, Any] | None,
    values: dict[str, Any] | None,
) -> _PlainUpdate | None:
    """A plain SET / REMOVE of distinct non-key attributes (values well formed); None for anything
    moto must check itself (and report the error of)."""
    match = _PLAIN_UPDATE.match(expression or "")
    if match is None or not names or not (match["set"] or match["remove"]):
        return None
    pairs = re.findall(_ASSIGNMENT, match["set"] or "")
    removed = re.findall(r"#\w+", match["remove"] or "")
    known = values or {}
    if any(n not in names or v not in known for n, v in pairs) or any(n not in names for n in removed):
        return None
    assigned = [str(names[n]) for n, _ in pairs]
    gone = [str(names[n]) for n in removed]
    touched = assigned + gone
    keys = {a["AttributeName"] for a in backend.get_table(table_name).schema}
    if len(set(touched)) != len(touched) or keys & set(touched):
        return None
    chosen = [known[v] for _, v in pairs]
    if not all(isinstance(v, dict) and len(v) == 1 and _well_formed(v) for v in chosen):
        return None
    return _PlainUpdate(dict(zip(assigned, chosen, strict=True)), tuple(gone))


def _well_formed(value: dict[str, Any]) -> bool:
    # Sets are left to moto: it refuses empty ones with DynamoDB's own message.
    return next(iter(value)) in {"S", "N", "B", "BOOL", "NULL", "M", "L"}


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
            if condition is not None and not _condition_holds(
                condition,
                op.get("ExpressionAttributeNames"),
                op.get("ExpressionAttributeValues"),
                current,
            ):
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

    undo = [(table, key, _before_write(op_type, op, current)) for op_type, op, table, key, current in planned]
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


def _condition_holds(
    condition: str, names: dict[str, str] | None, values: dict[str, Any] | None, current: Item | None
) -> bool:
    # Every log entry is put on ``attribute_not_exists(#key)``: answered without moto's lexer.
    fresh = _NOT_EXISTS.match(condition)
    if fresh is not None and names and fresh[1] in names:
        return current is None or names[fresh[1]] not in current.attrs
    return bool(get_filter_expression(condition, names, values).expr(current))


def _before_write(op_type: str, op: dict[str, Any], current: Item | None) -> Item | None:
    """What undoes ``op`` on ``current``. A Put or a Delete replaces the stored item object and a plain
    SET / REMOVE replaces whole attributes: the item as it is (or a snapshot of it) is enough. Other updates
    may change values in place: a deep copy."""
    if op_type != "Update":
        return current
    if _PLAIN_UPDATE.match(op.get("UpdateExpression") or ""):
        return _snapshot(current)
    return copy.deepcopy(current)


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


# -- 6. queries read their partition ------------------------------------------------------------------

STOCK_QUERY = Table.query
STOCK_ALL_ITEMS = Table.all_items
_WRITE_ACTIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
    "execute_statement",
    "batch_execute_statement",
    "execute_transaction",
    "create_table",
    "delete_table",
    "update_table",
)
_writes = [0]  # requests that may have written, in this process
_narrowed: list[tuple[Table, list[Item]]] = []  # the partition the Query in progress walks
# Per table, the maps of its indexes as of a write count. Kept off the table: moto's state is pickled
# (local/moto_state.py) and restored in a process whose write count starts again at zero.
_caches: weakref.WeakKeyDictionary[Table, dict[str, tuple[int, dict[Any, Any]]]] = weakref.WeakKeyDictionary()


def _cache(table: Table, kind: str) -> dict[Any, Any]:
    """The table's ``kind`` cache, emptied when anything was written since it was filled."""
    held = _caches.setdefault(table, {})
    found = held.get(kind)
    if found is None or found[0] != _writes[0]:
        found = held[kind] = (_writes[0], {})
    return found[1]


def _apply_partition_queries() -> None:
    for name in _WRITE_ACTIONS:
        original = getattr(DynamoHandler, name, None)
        if original is None:
            continue

        def counting(self: DynamoHandler, _original: Any = original) -> Any:
            _writes[0] += 1
            try:
                return _original(self)
            finally:
                _writes[0] += 1  # also after: an index map built during the write is stale

        setattr(DynamoHandler, name, functools.wraps(original)(counting))
    Table.query = _partition_query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]


def _all_items(self: Table) -> list[Item]:
    if _narrowed and _narrowed[-1][0] is self:
        return _narrowed[-1][1]
    return STOCK_ALL_ITEMS(self)


def _key(value: DynamoType) -> tuple[str, str]:
    return value.type, repr(value.value)


def _index_partition(table: Table, index_name: str, attribute: str, value: DynamoType) -> list[Item]:
    maps: dict[tuple[str, str], dict[tuple[str, str], list[Item]]] = _cache(table, "partitions")
    found = maps.get((index_name, attribute))
    if found is None:
        found = {}
        for item in STOCK_ALL_ITEMS(table):
            held = item.attrs.get(attribute)
            if held is not None:
                found.setdefault(_key(held), []).append(item)
        maps[(index_name, attribute)] = found
    return found.get(_key(value), [])


def _partition_query(
    self: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """moto's Query over the items of its partition only (see the module docstring, 6)."""
    conditions = kwargs.get("hash_key_conditions") or []
    partition: list[Item] | None = None
    if index_name is None and hash_key is not None:
        stored = self.items.get(hash_key)
        if stored is None:
            partition = []
        elif isinstance(stored, dict):
            partition = list(stored.values())
        else:
            partition = [stored]
    elif index_name is not None and len(conditions) == 1:
        attribute, value = conditions[0]
        partition = _index_partition(self, index_name, attribute, value)
        window = _sorted_window(
            self, index_name, conditions[0], partition, range_comparison, range_objs, limit,
            exclusive_start_key, scan_index_forward,
        )  # fmt: skip
        if window is not None:
            partition = window
    stock = (hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward)
    if partition is None:
        return STOCK_QUERY(self, *stock, projection_expressions, index_name, *args, **kwargs)
    _narrowed.append((self, partition))
    try:
        return STOCK_QUERY(self, *stock, projection_expressions, index_name, *args, **kwargs)
    finally:
        _narrowed.pop()


def _sorted_window(
    table: Table,
    index_name: str,
    condition: tuple[str, DynamoType],
    partition: list[Item],
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int | None,
    exclusive_start_key: dict[str, Any] | None,
    forward: bool,
) -> list[Item] | None:
    """The run of an index partition a Query reads (see the module docstring, 6), or None when the
    index is not one this handles (several keys, no range key): then the whole partition."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if len(hashes) != 1 or len(ranges) != 1:
        return None
    key = ranges[0]
    runs: dict[Any, tuple[list[Item], list[DynamoType]]] = _cache(table, "sorted")
    cache_key = (index_name, condition[0], _key(condition[1]))
    ordered = runs.get(cache_key)
    if ordered is None:
        held = [item for item in partition if item.attrs.get(key)]
        items = table.sorted_items([*hashes, table.hash_key_attr], [*ranges, table.range_key_attr], held)
        ordered = (items, [item.attrs[key] for item in items])
        runs[cache_key] = ordered
    items, keys = ordered
    low, high = 0, len(items)
    if range_comparison == "BETWEEN":
        low, high = bisect.bisect_left(keys, range_objs[0]), bisect.bisect_right(keys, range_objs[1])
    elif range_comparison == "EQ":
        low, high = bisect.bisect_left(keys, range_objs[0]), bisect.bisect_right(keys, range_objs[0])
    elif range_comparison == "LT":
        high = bisect.bisect_left(keys, range_objs[0])
    elif range_comparison == "LE":
        high = bisect.bisect_right(keys, range_objs[0])
    elif range_comparison == "GT":
        low = bisect.bisect_right(keys, range_objs[0])
    elif range_comparison == "GE":
        low = bisect.bisect_left(keys, range_objs[0])
    elif range_comparison is not None:
        return None  # BEGINS_WITH: the whole partition
    ties = 0
    if exclusive_start_key and key in exclusive_start_key:
        start = DynamoType(exclusive_start_key[key])
        ties = bisect.bisect_right(keys, start) - bisect.bisect_left(keys, start)
        if forward:
            low = max(low, bisect.bisect_left(keys, start))
        else:
            high = min(high, bisect.bisect_right(keys, start))
    run = items[low:high] if forward else items[low:high][::-1]
    if limit is not None:
        run = run[: int(limit) + 1 + ties]
    return run
