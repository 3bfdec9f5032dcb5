"""Errors raised by the repositories. Each has a stable ``code`` that the reply layer shows to clients."""

from __future__ import annotations


class RepositoryError(Exception):
    """Base of every repository error."""

    code = "REPOSITORY_ERROR"


class NotFound(RepositoryError):
    """The item does not exist."""

    code = "NOT_FOUND"

    def __init__(self, kind: str, entity_id: str) -> None:
        self.kind = kind
        self.entity_id = entity_id
        super().__init__(f"{kind} {entity_id!r} not found")


class TransitionConflict(RepositoryError):
    """The stored item was not in the state (or version) the transition was computed from.

    Somebody else moved it first (a concurrent request, a timer, the sweeper): re-read and decide again.
    ``expected_state`` is None when the item was expected not to exist (a creation); ``actual_*`` are
    what DynamoDB returned with the failed condition, None when unknown or when the item is missing.
    """

    code = "STATE_CONFLICT"

    def __init__(
        self,
        kind: str,
        entity_id: str,
        expected_state: str | None,
        expected_version: int,
        actual_state: str | None = None,
        actual_version: int | None = None,
    ) -> None:
        self.kind = kind
        self.entity_id = entity_id
        self.expected_state = expected_state
        self.expected_version = expected_version
        self.actual_state = actual_state
        self.actual_version = actual_version
        expected = (
            "to be absent"
            if expected_state is None
            else f"in state {expected_state!r} at version {expected_version}"
        )
        if actual_version is not None:
            found = f"found state {actual_state!r} at version {actual_version}"
        elif actual_state is not None:
            found = f"found state {actual_state!r}"
        else:
            found = "found it changed or missing"
        super().__init__(f"{kind} {entity_id!r}: expected {expected}, {found}")


class AlreadyExists(TransitionConflict):
    """A creation found an item with the same key, written by another request."""

    code = "ALREADY_EXISTS"
