"""Parametrize ``MachineContract`` subclasses from their own hand-written tables."""

from __future__ import annotations

from enum import Enum

import pytest

from tests.unit.machine_contract import MachineContract


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
