"""Calls (inbound and call-backs) and their event log. The machine depends on ``Call.direction`` and is
passed by the caller (``vkyc.domain.call``); this module does not import it."""

from __future__ import annotations

from datetime import datetime

from vkyc.domain.direction import Direction
from vkyc.repositories.stateful import StatefulRepository
from vkyc.repositories.tables import Call

INBOUND = Direction.INBOUND.value  # the stored values of ``Call.direction``
OUTBOUND = Direction.OUTBOUND.value


class CallRepository(StatefulRepository[Call]):
    """``StatefulRepository`` for calls, plus the dossier lookup."""

    def __init__(self) -> None:
        super().__init__(Call)

    def of_dossier(self, dossier_id: str) -> list[Call]:
        """The dossier's calls, oldest first, with only ``direction``, ``state`` and ``agent_id`` besides
        the keys (GSI ``by_dossier``, eventually consistent). One Query."""
        return list(Call.by_dossier.query(dossier_id))

    def of_unit(self, unit_id: str, since: datetime, until: datetime) -> list[Call]:
        """The unit's calls created in ``[since, until]`` (both inclusive: a key condition allows one
        range), oldest first, with the report columns only (GSI ``by_unit_created``, eventually
        consistent). One Query per 1 MB of index entries."""
        condition = Call.created_at.between(since, until)
        return list(Call.by_unit_created.query(unit_id, range_key_condition=condition))

    def open_in(self, unit_id: str) -> list[Call]:
        """The unit's calls not yet final (either direction), oldest first (sparse GSI ``open``;
        projected items carry direction and state only). One Query per 1 MB of index entries."""
        return list(Call.open_calls.query(unit_id, scan_index_forward=True))

    def waiting(self, serving_unit_id: str) -> list[Call]:
        """The calls waiting for an agent of ``serving_unit_id``, oldest first (sparse GSI; projected
        items carry state and version only)."""
        return list(Call.waiting.query(serving_unit_id, scan_index_forward=True))
