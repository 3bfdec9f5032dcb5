"""Integrator webhooks, the pure part: which table changes are events, each event's one id, and when a
failed delivery is tried again.

**Events** are derived from the tables' change streams (``events_of``), never from the code paths that
made the change, so no path can forget one:

| event | table | change |
|---|---|---|
| ``dossier.decided`` | ``dossiers`` | the state moves to A, R, C or D (a decision, or a review of C) |
| ``call.ended`` | ``calls`` | an inbound call that was answered reaches a final state |
| ``call.missed`` | ``calls`` | an inbound call that was never answered reaches a final state |
| ``callback.ended`` | ``calls`` | a call-back reaches a final state |
| ``evidence.ready`` | ``dossier_log`` | a decision's log entry gets its evidence bundle's hash |
| ``ticket.created`` | ``tickets`` | a ticket for a missed call is created |
| ``ticket.updated`` | ``tickets`` | another missed call, a state (not done) or an assignee |
| ``ticket.closed`` | ``tickets`` | a ticket becomes ``done`` |

**One id per logical event.** ``event_id`` hashes the event type, the resource and the version the
change produced: a stream record delivered twice (streams are at-least-once) yields the same id, and so
does a fan-out that failed half-way and ran again. Receivers dedupe on it.

**Retries** (``RetryPolicy``): after the n-th failed attempt the next one waits ``d/2 + jitter·d/2``
where ``d = min(max_delay_s, first_delay_s · 2^(n-1))`` (exponential backoff with "equal jitter": never
sooner than half the step, so retries spread out without bunching). A delivery keeps being retried until
an attempt fails ``retry_for_s`` (24 h) or more after the event; then it is dead (the dead-letter queue).
A subscription whose deliveries have failed without a success for ``pause_after_s`` (24 h) is paused.

Pure: imports nothing of vkyc's outside the domain. Images are plain mappings (a stream image already
turned into Python values: strings, numbers, sets, maps), times ISO 8601 strings as the tables store them.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from vkyc.domain.direction import Direction


class EventType(StrEnum):
    DOSSIER_DECIDED = "dossier.decided"
    CALL_ENDED = "call.ended"
    CALL_MISSED = "call.missed"
    CALLBACK_ENDED = "callback.ended"
    EVIDENCE_READY = "evidence.ready"
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_CLOSED = "ticket.closed"


DECIDED_STATES = frozenset({"A", "R", "C", "D"})
FINAL_INBOUND = frozenset({"E", "T", "FINISHED"})
FINAL_CALLBACK = frozenset({"C", "F", "E", "T", "I"})
# What the protocol says a final call without a stored reason ended for (docs/protocol.md, call.ended).
DEFAULT_REASONS = {"E": "caller_hung_up", "T": "no_call_arrived"}


@dataclass(frozen=True)
class Event:
    """One event, before it is addressed to subscriptions. ``unit_id`` is the integrator's unit (whose
    subscriptions receive it): None when the changed item does not carry it (an evidence log entry),
    for the caller to fill from the dossier."""

    event_id: str
    type: EventType
    resource_type: str
    resource_id: str
    version: int
    occurred_at: str
    unit_id: str | None
    data: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The delivered JSON (docs/webhooks.md): the envelope and the resource with its version."""
        return {
            "id": self.event_id,
            "type": self.type.value,
            "created_at": self.occurred_at,
            "unit_id": self.unit_id,
            "resource": {
                "type": self.resource_type,
                "id": self.resource_id,
                "version": self.version,
                "href": href(self.resource_type, self.resource_id),
            },
            "data": self.data,
        }


def href(resource_type: str, resource_id: str) -> str:
    """Where the integrator API reads the resource as it is now."""
    collection = {"call": "calls", "ticket": "tickets"}.get(resource_type, "dossiers")
    return f"/v1/{collection}/{resource_id}"


def event_id(event_type: EventType, resource_type: str, resource_id: str, version: int) -> str:
    """The one id of the event ``event_type`` of the resource's ``version`` (stable across repeats)."""
    text = f"{event_type.value}|{resource_type}|{resource_id}|{version}"
    return "evt_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def events_of(table: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[Event]:
    """The events one change of ``table`` (its base name: ``dossiers``, ``calls``, ``dossier_log``)
    is, from the item's images before and after (None: absent, as on an INSERT or a REMOVE)."""
    if new is None:
        return []
    if table == "dossiers":
        return _dossier_events(old, new)
    if table == "calls":
        return _call_events(old, new)
    if table == "dossier_log":
        return _evidence_events(old, new)
    if table == "tickets":
        return _ticket_events(old, new)
    return []


TICKET_FIELDS = (
    "ticket_id",
    "state",
    "subscriber",
    "dossier_id",
    "serving_unit_id",
    "day",
    "assignee_group_id",
    "assignee_agent_id",
    "close_reason",
)


def _ticket_events(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Event]:
    if old is not None and old.get("version") == new.get("version"):
        return []  # an unversioned write (the ``open_for`` backfill): nothing an integrator sees changed
    state = str(new.get("state"))
    if old is None:
        kind = EventType.TICKET_CREATED
    elif state == "done" and old.get("state") != "done":
        kind = EventType.TICKET_CLOSED
    else:
        kind = EventType.TICKET_UPDATED
    data: dict[str, Any] = {name: new.get(name) for name in TICKET_FIELDS}
    data["call_ids"] = list(new.get("call_ids") or [])
    data["previous_state"] = None if old is None else old.get("state")
    data["created_at"] = iso_text(new.get("created_at"))
    data["closed_at"] = iso_text(new.get("closed_at"))
    return [_event(kind, "ticket", str(new["ticket_id"]), int(new["version"]), new, data)]


def _dossier_events(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Event]:
    state = str(new.get("state"))
    if state not in DECIDED_STATES or (old is not None and old.get("state") == state):
        return []
    dossier_id, version = str(new["dossier_id"]), int(new["version"])
    data = {
        "dossier_id": dossier_id,
        "state": state,
        "decision": state,
        "previous_state": None if old is None else old.get("state"),
        "decided_by": new.get("decided_by"),
        "decided_at": iso_text(new.get("updated_at")),
        "reason": None,  # on the log entry of this version: the fan-out adds it
        "call_id": new.get("last_call_id"),
        "snapshot_id": new.get("snapshot_key"),
    }
    return [_event(EventType.DOSSIER_DECIDED, "dossier", dossier_id, version, new, data)]


def _call_events(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Event]:
    state = str(new.get("state"))
    direction = Direction.OUTBOUND if new.get("direction") == Direction.OUTBOUND else Direction.INBOUND
    outbound = direction is Direction.OUTBOUND
    finals = FINAL_CALLBACK if outbound else FINAL_INBOUND
    if state not in finals or (old is not None and old.get("state") in finals):
        return []
    call_id, version = str(new["call_id"]), int(new["version"])
    answered_at, ended_at = new.get("answered_at"), new.get("ended_at") or new.get("updated_at")
    created_at = new.get("created_at")
    data: dict[str, Any] = {
        "call_id": call_id,
        "dossier_id": new.get("dossier_id"),
        "direction": direction.value,
        "state": state,
        "reason": new.get("end_reason") or DEFAULT_REASONS.get(state),
        "ended_by": new.get("ended_by"),
        "agent_id": new.get("agent_id"),
        "subscriber": new.get("subscriber"),
        "created_at": iso_text(created_at),
        "answered_at": iso_text(answered_at),
        "ended_at": iso_text(ended_at),
    }
    if outbound:
        data["answered"] = answered_at is not None
        data["duration_s"] = seconds_between(answered_at, ended_at)
        kind = EventType.CALLBACK_ENDED
    elif answered_at is not None:
        data["duration_s"] = seconds_between(answered_at, ended_at)
        data["waited_s"] = seconds_between(created_at, answered_at)
        kind = EventType.CALL_ENDED
    else:
        data["waited_s"] = seconds_between(created_at, ended_at)
        kind = EventType.CALL_MISSED
    return [_event(kind, "call", call_id, version, new, data)]


def _evidence_events(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Event]:
    digest = new.get("evidence_sha256")
    if not digest or (old is not None and old.get("evidence_sha256")):
        return []
    dossier_id, version = str(new["dossier_id"]), int(new["version"])
    key = str(new.get("evidence_key") or "")
    data = {
        "dossier_id": dossier_id,
        "decision": new.get("to_state"),
        "decision_version": version,
        "call_id": manifest_call_id(key),
        "manifest_sha256": digest,
    }
    event_type = EventType.EVIDENCE_READY
    eid = event_id(event_type, "dossier", dossier_id, version)
    # A log entry carries no unit and no time of its own change: the fan-out fills the unit; the
    # bundle's time is the claim's (set just before the hash).
    occurred = iso_text(new.get("evidence_claimed_at") or new.get("at")) or ""
    return [Event(eid, event_type, "dossier", dossier_id, version, occurred, None, data)]


def manifest_call_id(key: str) -> str | None:
    """The call id in an evidence manifest's key (``evidence/<dossier>/<stamp>-<call_id>/manifest.json``)."""
    parts = key.split("/")
    if len(parts) < 4 or "-" not in parts[-2]:
        return None
    return parts[-2].split("-", 1)[1]


def _event(
    kind: EventType,
    resource_type: str,
    resource_id: str,
    version: int,
    new: Mapping[str, Any],
    data: dict[str, Any],
) -> Event:
    occurred = iso_text(new.get("updated_at") or new.get("created_at")) or ""
    unit = new.get("unit_id")
    return Event(
        event_id(kind, resource_type, resource_id, version),
        kind,
        resource_type,
        resource_id,
        version,
        occurred,
        None if unit is None else str(unit),
        data,
    )


def parse_time(text: Any) -> datetime | None:
    """A table's time (``2026-01-01T00:00:00.000000+0000``) or ISO 8601 with ``Z``; None if absent."""
    if not text:
        return None
    value = str(text).replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value)


def iso_text(value: Any) -> str | None:
    """A table's time as ISO 8601 in UTC with ``Z`` (what the webhooks' bodies carry); None if absent."""
    moment = parse_time(value)
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def seconds_between(start: Any, end: Any) -> float | None:
    begin, finish = parse_time(start), parse_time(end)
    if begin is None or finish is None:
        return None
    return round((finish - begin).total_seconds(), 3)


# -- retries ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again, when it is given up, when its subscription is paused."""

    first_delay_s: float = 10.0
    max_delay_s: float = 3600.0
    retry_for_s: float = 86400.0
    pause_after_s: float = 86400.0

    def delay_s(self, failures: int, jitter: float) -> float:
        """The wait after the ``failures``-th failed attempt (1 = the first); ``jitter`` in [0, 1]."""
        if failures < 1:
            raise ValueError("failures starts at 1")
        step = min(self.max_delay_s, self.first_delay_s * 2 ** min(failures - 1, 60))
        return step / 2 + max(0.0, min(1.0, jitter)) * step / 2

    def next_attempt(
        self, event_at: datetime, failures: int, now: datetime, jitter: float
    ) -> datetime | None:
        """When to try again after the ``failures``-th failure at ``now``; None when the delivery is
        given up (the failure came ``retry_for_s`` or more after the event)."""
        if now - event_at >= timedelta(seconds=self.retry_for_s):
            return None
        return now + timedelta(seconds=self.delay_s(failures, jitter))

    def should_pause(self, failing_since: datetime | None, now: datetime) -> bool:
        """Whether a subscription failing since ``failing_since`` (no success since) is paused now."""
        return failing_since is not None and now - failing_since >= timedelta(seconds=self.pause_after_s)

    @classmethod
    def parse(cls, text: str) -> RetryPolicy:
        """``first,max,retry_for,pause_after`` in seconds (the environment's form). ``ValueError`` when
        it does not parse or is not positive and ordered."""
        parts = [float(p) for p in text.split(",")]
        if len(parts) != 4 or min(parts) <= 0 or parts[0] > parts[1]:
            raise ValueError(f"webhook retry policy {text!r}: four positive numbers, first <= max")
        return cls(*parts)


def schedule(policy: RetryPolicy, jitter: Callable[[], float]) -> list[float]:
    """The waits between attempts of a delivery that always fails (documentation and tests):
    cumulative offsets, from the event, of every attempt after the first."""
    offsets: list[float] = []
    at, failures = 0.0, 0
    while True:
        failures += 1
        if at >= policy.retry_for_s:
            return offsets
        at += policy.delay_s(failures, jitter())
        offsets.append(at)


# -- where deliveries may go --------------------------------------------------------------------------


class UrlRefused(ValueError):
    """vkyc does not deliver to this URL; the message says why."""


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ``UrlRefused`` unless ``url`` is an absolute ``https://`` URL without credentials whose host
    is a name or a public address (``allow_private``: ``http://`` and any address, for a local stack).
    A name is checked again when it is resolved, at each delivery (``vkyc.adapters.webhook_http``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a URL: {exc}") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise UrlRefused(f"the scheme must be {' or '.join(schemes)}, not {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise UrlRefused("no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("no user name or password in the URL: authenticate deliveries by their signature")
    if parts.fragment:
        raise UrlRefused("no #fragment")
    if port is not None and not 0 < port < 65536:
        raise UrlRefused(f"port {port}")
    if not allow_private:
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            if parts.hostname.lower() in ("localhost",) or parts.hostname.lower().endswith(".localhost"):
                raise UrlRefused("a loopback name") from None
            return
        if not is_public(address):
            raise UrlRefused(f"{address} is not a public address")


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether deliveries may go to ``address``: not private, loopback, link-local (cloud metadata),
    multicast, reserved or unspecified."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return address.is_global and not (address.is_multicast or address.is_reserved)
