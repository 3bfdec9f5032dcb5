"""The one module that touches PynamoDB's private internals (and what a model's shape is).

PynamoDB builds one botocore client per model and caches it on the class; vkyc binds every model to
one shared connection instead (``tables.bind``), and derives the CloudFormation tables (``infra``)
from the same schema PynamoDB creates tables with. What that reaches (PynamoDB 6.1.0):

* ``Model._connection`` (cleared) and ``Model._get_connection()`` (the ``TableConnection`` for the
  model's current ``Meta``), whose ``connection`` is swapped for the shared ``Connection``;
* ``Model._get_schema()`` (attribute definitions, key schema, indexes) and ``Model._indexes``;
* ``Connection._make_api_call``, wrapped while a test counts requests.

Written against one PynamoDB release, ``WRITTEN_FOR``, which ``pyproject.toml`` pins exactly: importing
this module with any other version installed raises ``UnsupportedPynamoDB`` (re-read the above in the
new release's source, then move both). Key names and the TTL attribute come from PynamoDB's public
``get_attributes()``.
"""

# ruff: noqa: E402  (pynamodb is imported after its version is checked)
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import version
from typing import Any

WRITTEN_FOR = "6.1.0"


class UnsupportedPynamoDB(RuntimeError):
    """The installed PynamoDB is not the release this module was written for."""


def check_version(installed: str | None = None) -> None:
    """Raise ``UnsupportedPynamoDB`` unless ``installed`` (default: PynamoDB's installed version) is
    ``WRITTEN_FOR``."""
    found = installed if installed is not None else version("pynamodb")
    if found != WRITTEN_FOR:
        raise UnsupportedPynamoDB(
            f"vkyc/repositories/pynamodb_internals.py reaches into PynamoDB {WRITTEN_FOR}'s private "
            f"internals, but PynamoDB {found} is installed. Install the locked version (make install), or "
            "re-read what the module touches in the new release, then update WRITTEN_FOR and the pin in "
            "pyproject.toml (make lock)."
        )


# Checked before PynamoDB's modules are imported: a release that moved them fails here, naming the versions.
check_version()

from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import Index
from pynamodb.models import Model


def share_connection(model: type[Model], shared: Connection) -> None:
    """Make ``model`` send its requests through ``shared``, for the ``Meta`` (host, region, table name)
    it has now. Drops the connection PynamoDB cached on the class, builds the model's table connection
    (its schema; no network, no botocore client yet), registers that schema with ``shared`` and swaps
    the table connection's own ``Connection`` for it."""
    model._connection = None
    table_connection = model._get_connection()
    shared.add_meta_table(table_connection.get_meta_table())
    table_connection.connection = shared


@functools.cache
def hash_key_name(model: type[Model]) -> str:
    """The name of ``model``'s hash key attribute."""
    return next(name for name, attribute in model.get_attributes().items() if attribute.is_hash_key)


def range_key_name(model: type[Model]) -> str | None:
    """The name of ``model``'s range key attribute, if it has one."""
    return next((name for name, attribute in model.get_attributes().items() if attribute.is_range_key), None)


def ttl_attribute(model: type[Model]) -> Attribute[Any] | None:
    """``model``'s ``TTLAttribute``, if it has one."""
    return next((a for a in model.get_attributes().values() if isinstance(a, TTLAttribute)), None)


def indexes(model: type[Model]) -> Mapping[str, Index[Any]]:
    """``model``'s secondary indexes by index name."""
    found: dict[str, Index[Any]] = model._indexes
    return found


def table_schema(model: type[Model]) -> dict[str, Any]:
    """What PynamoDB creates ``model``'s table with: ``attribute_definitions``, ``key_schema``,
    ``global_secondary_indexes``, ``local_secondary_indexes`` (lists of DynamoDB-shaped dicts)."""
    return dict(model._get_schema())


@contextmanager
def observed_requests(observer: Callable[[str], None]) -> Iterator[None]:
    """While inside, call ``observer(operation name)`` for each DynamoDB request any PynamoDB connection
    sends (``GetItem``, ``TransactWriteItems``...). Not thread-safe to enter twice at once."""
    original = Connection._make_api_call

    def observing(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        observer(operation_name)
        return original(self, operation_name, operation_kwargs)

    Connection._make_api_call = observing  # type: ignore[method-assign]
    try:
        yield
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]
