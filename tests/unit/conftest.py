"""Parametrize ``MachineContract`` subclasses from their own hand-written tables; every unit test sees
the environment the session began with."""

from __future__ import annotations

import os
from collections.abc import Iterator
from enum import Enum

import pytest

from tests.conftest import SESSION_START_ENVIRONMENT
from tests.unit.machine_contract import MachineContract


@pytest.fixture(autouse=True)
def environment_of_the_session_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A unit test passes whichever tier ran before it in the process: the session's moto server and
    stack keep their variables (``AWS_ENDPOINT_URL``, ``VKYC_FRAME_ORIGINS``, the stack's secrets...)
    until the session ends, so here they are as they were before any fixture set them. pytest's own
    (``PYTEST_CURRENT_TEST``) are left alone."""
    for name in set(os.environ) - set(SESSION_START_ENVIRONMENT):
        if not name.startswith("PYTEST_"):
            monkeypatch.delenv(name)
    for name, value in SESSION_START_ENVIRONMENT.items():
        if os.environ.get(name) != value and not name.startswith("PYTEST_"):
            monkeypatch.setenv(name, value)
    yield


def _id(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    cls = metafunc.cls
    if cls is None or not issubclass(cls, MachineContract):
        return
    if "allowed" in metafunc.fixturenames:
        moves = cls.allowed_moves()
        metafunc.parametrize("allowed", moves, ids=["-".join(map(_id, m)) for m in moves])
    if "forbidden" in metafunc.fixturenames:
        pairs = cls.forbidden_moves()
        metafunc.parametrize("forbidden", pairs, ids=["-".join(map(_id, p)) for p in pairs])
    if "state" in metafunc.fixturenames:
        states = list(cls.state_type())
        metafunc.parametrize("state", states, ids=[_id(s) for s in states])
