"""Offers of a call to one agent (the ringing popup) and their log. The machine (``vkyc.domain.offer``)
is passed by the caller."""

from __future__ import annotations

from vkyc.repositories.stateful import StatefulRepository
from vkyc.repositories.tables import Offer


class OfferRepository(StatefulRepository[Offer]):
    """``StatefulRepository`` for offers, plus the per-call listing."""

    def __init__(self) -> None:
        super().__init__(Offer)

    def of_call(self, call_id: str) -> list[Offer]:
        """The call's offers, oldest first, with ``agent_id`` and ``state`` (GSI ``by_call``). One Query."""
        return list(Offer.by_call.query(call_id))
