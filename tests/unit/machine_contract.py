"""What every state machine of the domain must satisfy, checked against the subclass's OWN
hand-written table (never read from the machine under test, so the checks can fail).

A test module subclasses ``MachineContract`` and sets ``MACHINE``, ``TRANSITION`` (its module's
``transition`` function, wrapped in ``staticmethod``), ``EXPECTED`` (state → {event → target}, every
state listed), ``FINALS``, ``NAME`` and ``INITIAL``. ``tests/unit/conftest.py`` parametrizes
``allowed``, ``forbidden`` and ``state`` from those attributes, so each move is its own test case.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, ClassVar

import pytest

from vkyc.domain.machine import IllegalTransition, StateMachine


class MachineContract:
    MACHINE: ClassVar[StateMachine[Any, Any]]
    TRANSITION: ClassVar[Callable[[Any, Any], Any]]
    EXPECTED: ClassVar[Mapping[Any, Mapping[Any, Any]]]
    FINALS: ClassVar[set[Any]]
    NAME: ClassVar[str]
    INITIAL: ClassVar[Any]

    @classmethod
    def state_type(cls) -> type[Enum]:
        return type(next(iter(cls.EXPECTED)))

    @classmethod
    def event_type(cls) -> type[Enum]:
        return type(next(iter(cls.MACHINE.table))[1])

    @classmethod
    def allowed_moves(cls) -> list[tuple[Any, Any, Any]]:
        return [(s, e, t) for s, moves in cls.EXPECTED.items() for e, t in moves.items()]

    @classmethod
    def forbidden_moves(cls) -> list[tuple[Any, Any]]:
        pairs = itertools.product(cls.state_type(), cls.event_type())
        return [(s, e) for s, e in pairs if e not in cls.EXPECTED[s]]

    def test_machine_has_its_name_and_initial_state(self) -> None:
        assert (self.MACHINE.name, self.MACHINE.initial) == (self.NAME, self.INITIAL)

    def test_expected_table_lists_every_state(self) -> None:
        assert set(self.EXPECTED) == set(self.state_type())

    def test_allowed_move_returns_expected_target(self, allowed: tuple[Any, Any, Any]) -> None:
        state, event, target = allowed
        assert self.TRANSITION(state, event) is target
        assert self.MACHINE.can(state, event)

    def test_other_move_raises_illegal_transition_naming_machine_state_and_event(
        self, forbidden: tuple[Any, Any]
    ) -> None:
        state, event = forbidden
        assert not self.MACHINE.can(state, event)
        with pytest.raises(IllegalTransition) as info:
            self.TRANSITION(state, event)
        message = str(info.value)
        assert self.MACHINE.name in message and repr(state.value) in message and repr(event.value) in message
        assert (info.value.machine, info.value.state, info.value.event) == (self.MACHINE.name, state, event)

    def test_events_from_lists_the_expected_events(self, state: Any) -> None:
        assert self.MACHINE.events_from(state) == frozenset(self.EXPECTED[state])

    def test_is_final_exactly_for_the_expected_finals(self, state: Any) -> None:
        assert self.MACHINE.is_final(state) is (state in self.FINALS)

    def test_every_state_is_reachable_from_the_initial_one(self) -> None:
        seen, frontier = {self.MACHINE.initial}, [self.MACHINE.initial]
        while frontier:
            state = frontier.pop()
            for target in self.EXPECTED[state].values():
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen == set(self.state_type())

    def test_constructor_rejects_a_final_state_with_an_outgoing_move(self) -> None:
        state = next(s for s, moves in self.EXPECTED.items() if moves)
        with pytest.raises(ValueError, match=f"final state {state.value!r} has an outgoing transition"):
            StateMachine(
                name=self.MACHINE.name,
                initial=self.MACHINE.initial,
                table=self.MACHINE.table,
                finals=frozenset({state}),
            )
