"""A report's figures from summed counters (``docs/reports.md`` defines each one). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vkyc.domain.metrics import AGENT_STATES, CALL_COUNTERS, DECISIONS, END_PREFIX, STATE_PREFIX, WRAP_UPS


@dataclass
class Sums:
    """Counters summed over cells (of one slice: ``Cell.dims``)."""

    counts: dict[str, int] = field(default_factory=dict)
    max_wait_ms: int | None = None
    state_ms: dict[str, int] = field(default_factory=dict)
    wrapups: int = 0
    ends: dict[str, int] = field(default_factory=dict)

    def add_item(self, item: Mapping[str, int], *, calls: bool = True, states: bool = True) -> None:
        """Add one stored cell's call counters (``calls``) and agent state times (``states``)."""
        if calls:
            for name in CALL_COUNTERS:
                value = item.get(name)
                if value:
                    self.counts[name] = self.counts.get(name, 0) + int(value)
            longest = item.get("max_wait_ms")
            if longest is not None:
                self.max_wait_ms = max(self.max_wait_ms or 0, int(longest))
            for key, value in item.items():
                if key.startswith(END_PREFIX):
                    end = key[len(END_PREFIX) :]
                    self.ends[end] = self.ends.get(end, 0) + int(value)
        if states:
            for state in AGENT_STATES:
                value = item.get(STATE_PREFIX + state)
                if value:
                    self.state_ms[state] = self.state_ms.get(state, 0) + int(value)
            self.wrapups += int(item.get(WRAP_UPS, 0))

    def add(self, other: Sums) -> None:
        for name, value in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + value
        if other.max_wait_ms is not None:
            self.max_wait_ms = max(self.max_wait_ms or 0, other.max_wait_ms)
        for state, value in other.state_ms.items():
            self.state_ms[state] = self.state_ms.get(state, 0) + value
        self.wrapups += other.wrapups
        for end, value in other.ends.items():
            self.ends[end] = self.ends.get(end, 0) + value

    def __getitem__(self, name: str) -> int:
        return self.counts.get(name, 0)


def _ratio(part: float, whole: float, scale: float = 100.0) -> float | None:
    return round(scale * part / whole, 1) if whole else None


def _average_s(total_ms: float, count: int) -> float | None:
    return round(total_ms / count / 1000, 1) if count else None


def figures(sums: Sums, *, span_ms: int | None = None, agents: int = 0) -> dict[str, Any]:
    """The report's figures from summed counters (definitions: ``docs/reports.md``). ``span_ms`` and
    ``agents``: the range's length and how many agents it covers, for the OFFLINE time (left None
    without them)."""
    s = sums
    left_queue = s["answered"] + s["unanswered"]
    abandoned = s["abandoned_queue"] + s["abandoned_ringing"]
    online_ms = sum(s.state_ms.values())
    busy_ms = sum(s.state_ms.get(state, 0) for state in ("RINGING", "IN_CALL", "WRAP_UP"))
    avg_talk = _average_s(s["talk_ms"], s["talked"])
    avg_wrap = _average_s(s.state_ms.get("WRAP_UP", 0), s.wrapups)
    states = {state: round(s.state_ms.get(state, 0) / 1000, 1) for state in AGENT_STATES}
    offline = None
    if span_ms is not None:
        offline = round(max(0, span_ms * agents - online_ms) / 1000, 1)
    return {
        "queued": s["queued"],
        "answered": s["answered"],
        "answered_within_sla": s["in_sla"],
        "unanswered": s["unanswered"],
        "abandoned": abandoned,
        "abandoned_in_queue": s["abandoned_queue"],
        "abandoned_ringing": s["abandoned_ringing"],
        "no_agent": s["no_agent"],
        "missed_offers": s["missed"],
        "rejected_offers": s["rejected"],
        "service_level_percent": _ratio(s["in_sla"], left_queue),
        "abandon_rate_percent": _ratio(abandoned, s["queued"]),
        "answer_rate_percent": _ratio(s["answered"], s["answered"] + s["missed"] + s["rejected"]),
        "avg_speed_of_answer_s": _average_s(s["wait_ms"], s["answered"]),
        "avg_abandon_time_s": _average_s(s["abandon_ms"], abandoned),
        "longest_wait_s": None if s.max_wait_ms is None else round(s.max_wait_ms / 1000, 1),
        "talked": s["talked"],
        "avg_talk_s": avg_talk,
        "avg_wrap_up_s": avg_wrap,
        "avg_handle_s": None if avg_talk is None else round(avg_talk + (avg_wrap or 0.0), 1),
        "callbacks_placed": s["cb_placed"],
        "callbacks_answered": s["cb_answered"],
        "decided": s["decided"],
        "decisions": {d: s[f"dec_{d}"] for d in DECISIONS},
        "decision_rates_percent": {d: _ratio(s[f"dec_{d}"], s["decided"]) for d in DECISIONS},
        "evidence": {
            "recording": s["ev_recording"],
            "face_snapshot": s["ev_face"],
            "bundle": s["ev_bundle"],
            "complete": s["ev_complete"],
            "complete_percent": _ratio(s["ev_complete"], s["decided"]),
        },
        "agent_time_s": {**states, "OFFLINE": offline},
        "occupancy_percent": _ratio(busy_ms, online_ms),
        "wrap_ups": s.wrapups,
    }
