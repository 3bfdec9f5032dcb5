"""A finite state machine described by an explicit transition table.

Every state space of vkyc (dossier, inbound call, call-back, offer, agent) is one ``StateMachine``:
a table ``(state, event) -> next state``. ``transition()`` is the only way to move; any pair missing
from the table raises ``IllegalTransition`` naming the machine, the state and the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


class DomainError(Exception):
    """Base of every error raised by the pure domain. ``code`` is stable and shown to clients."""

    code = "DOMAIN_ERROR"


class IllegalTransition(DomainError):
    """The event is not allowed in the current state."""

    code = "ILLEGAL_TRANSITION"

    def __init__(self, machine: str, state: Enum, event: Enum) -> None:
        self.machine = machine
        self.state = state
        self.event = event
        super().__init__(f"{machine}: event {event.value!r} is not allowed in state {state.value!r}")


@dataclass(frozen=True)
class StateMachine(Generic[S, E]):
    """An immutable transition table.

    ``finals`` are the states no event leaves; the constructor checks the table agrees with them,
    so a typo in a table fails at import time rather than in production.
    """

    name: str
    initial: S
    table: Mapping[tuple[S, E], S]
    finals: frozenset[S] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for state, _event in self.table:
            if state in self.finals:
                raise ValueError(f"{self.name}: final state {state.value!r} has an outgoing transition")

    def transition(self, state: S, event: E) -> S:
        """Return the state after ``event``; raise ``IllegalTransition`` if the table has no such move."""
        try:
            return self.table[(state, event)]
        except KeyError:
            raise IllegalTransition(self.name, state, event) from None

    def can(self, state: S, event: E) -> bool:
        return (state, event) in self.table

    def events_from(self, state: S) -> frozenset[E]:
        """The events allowed in ``state``."""
        return frozenset(event for (s, event) in self.table if s == state)

    def is_final(self, state: S) -> bool:
        return state in self.finals
