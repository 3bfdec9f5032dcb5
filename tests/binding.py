"""Binding the models to tables for a while, and back: what makes the test tiers run in any order.

``tables.bind()`` changes state of the process. The session's stack (``tests/conftest.py``), once
started, keeps the models bound to its tables: its handlers (timers, stream consumers, node
heartbeats) run on its threads at any time, through the models. A fixture that binds the models
elsewhere therefore holds the stack's handlers off while it does (``local.invocations.GATE``) and
binds back to what it found before letting them go on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from local.invocations import GATE
from local.stack import Stack
from vkyc import env
from vkyc.repositories import tables


@contextmanager
def models_bound_to(endpoint_url: str, prefix: str) -> Iterator[None]:
    """Inside, the models use the tables of ``prefix`` at ``endpoint_url`` and no stack handler runs;
    on leaving, the binding found is restored. Nests."""
    found = tables.binding()
    with GATE.paused():
        tables.bind(endpoint_url, env.region(), prefix)
        try:
            yield
        finally:
            tables.bind(*found)


def assert_bound_to(stack: Stack) -> None:
    """The models point at ``stack``'s tables, as its handlers need (a test reads them as they do)."""
    expected = tables.Binding(stack.aws_endpoint, env.region(), os.environ["VKYC_TABLE_PREFIX"])
    assert tables.binding() == expected, "a fixture bound the models elsewhere and did not bind them back"
