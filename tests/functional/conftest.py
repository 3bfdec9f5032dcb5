"""Functional fixtures: vkyc's tables on the session's moto server, under a prefix unique to the module.

The moto server isolates DynamoDB transactions as DynamoDB does (``local/moto_patches.py``): without
that, concurrent conditional transactions on one item can both lose or both pass.

``tables`` binds every PynamoDB model to the moto server (never port 4566) with a fresh prefix and
creates all tables; they are deleted when the module ends, and the models bound back to what they were
(``tests/binding.py``: a stack started by integration tests earlier in the run is held off meanwhile).
``dynamodb_calls`` records the name of every DynamoDB operation PynamoDB sends, to count the requests
a use case costs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import ModuleType

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
