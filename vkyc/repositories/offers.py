"""Offers of a call to one agent (the ringing popup) and their log. The machine (``vkyc.domain.offer``)
is passed by the caller."""

from __future__ import annotations

import uuid

from vkyc.repositories.stateful import StatefulRepository
from vkyc.repositories.tables import Offer


class OfferRepository(StatefulRepository[Offer]):
    """``StatefulRepository`` for offers, plus the per-call listing."""

    def __init__(self) -> None:
        super().__init__(Offer)

    def of_call(self, call_id: str) -> list[Offer]:
        """The call's offers, oldest first, with ``agent_id`` and ``state`` (GSI ``by_call``). One Query."""
        return list(Offer.by_call.query(call_id))


def new_offer_id(call_id: str) -> str:
    """An offer's id names its call (``<call_id>.<8 hex>``): answering it reads offer and call at once."""
    return f"{call_id}.{uuid.uuid4().hex[:8]}"


def call_of_offer(offer_id: str) -> str | None:
    """The call an offer id names, or None for an id not made by ``new_offer_id``."""
    call_id, dot, suffix = offer_id.rpartition(".")
    return call_id if dot and call_id and len(suffix) == 8 else None
