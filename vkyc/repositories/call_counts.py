"""Counting a subscriber's successful calls, for the optional daily cap (GSI ``Call.by_subscriber``)."""

from __future__ import annotations

from datetime import datetime

from vkyc.domain.call import CallState, EndReason
from vkyc.repositories.calls import INBOUND
from vkyc.repositories.tables import Call


def successful_inbound_calls(subscriber: str, since: datetime) -> int:
    """How many inbound calls of ``subscriber`` created at or after ``since`` (aware) finished
    ``completed``: the seed's successful call ``C``.

    ``subscriber`` must be spelled as the calls store it (``Call.subscriber``, a copy of the dossier's
    normalized ``84…`` number). Counts by creation time: a call started before ``since`` and completed
    after it belongs to the day it started. GSI ``by_subscriber``, eventually consistent (a call that
    completed a moment ago may be missed: the cap is a business limit, not a lock). One Query
    (``Select=COUNT``) per 1 MB of the subscriber's index entries since ``since``.
    """
    completed = (
        (Call.state == CallState.FINISHED.value)
        & (Call.end_reason == EndReason.COMPLETED.value)
        & (Call.direction == INBOUND)
    )
    return Call.by_subscriber.count(
        subscriber, range_key_condition=Call.created_at >= since, filter_condition=completed
    )
