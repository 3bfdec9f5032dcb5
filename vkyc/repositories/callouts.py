"""What a call-back reads besides the items it changes: the hotlines a unit may call out from
(configuration, cached per process like routing's) and the call-backs still ringing for a subscriber.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vkyc.domain.direction import OUTBOUND, rules_of
from vkyc.repositories.settings_cache import TtlCache
from vkyc.repositories.tables import Call, Hotline

CONFIG_TTL_S = 60.0
RINGING = "N"  # the call-back machine's NEW: ringing at the mobile
RECENT_CALLS = 20  # a subscriber's newest calls looked at for one still ringing


@dataclass(frozen=True)
class CallOutLine:
    """A hotline as call-out sees it. ``group_ids`` None: every group of the unit may call out on it."""

    hotline_id: str
    unit_id: str
    allow_call_out: bool
    group_ids: frozenset[str] | None


class CallOutRepository:
    """The hotlines, cached ``ttl_s`` seconds (a handful of items: one Scan when cold, none warm).
    Create one per process and keep it; ``clock`` (monotonic seconds) is injectable for tests."""

    def __init__(self, *, ttl_s: float = CONFIG_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._hotlines: TtlCache[str, tuple[CallOutLine, ...]] = TtlCache(ttl_s, clock)

    def invalidate(self) -> None:
        self._hotlines.clear()

    def hotlines_of(self, unit_id: str) -> list[CallOutLine]:
        """The unit's hotlines, by id."""
        return [line for line in self._hotlines.get("", _load_hotlines) if line.unit_id == unit_id]


def ringing_callbacks(subscriber: str) -> list[Call]:
    """Call-backs to ``subscriber`` that were still ringing when the index was written, newest first:
    keys, ``state`` and ``direction`` only (GSI ``by_subscriber``, eventually consistent: re-read the
    item before acting). One Query of the subscriber's newest ``RECENT_CALLS`` calls."""
    newest = Call.by_subscriber.query(subscriber, scan_index_forward=False, limit=RECENT_CALLS)
    return [call for call in newest if rules_of(call.direction) is OUTBOUND and call.state == RINGING]


def _load_hotlines() -> tuple[CallOutLine, ...]:
    lines = (
        CallOutLine(
            h.hotline_id,
            h.unit_id,
            bool(h.allow_call_out),
            frozenset(h.call_out_group_ids) if h.call_out_group_ids else None,
        )
        for h in Hotline.scan()
    )
    return tuple(sorted(lines, key=lambda line: line.hotline_id))
