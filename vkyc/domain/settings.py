"""Call settings: every knob of the switchboard that is data rather than code (seeds 001, 003, 004).

``CallSettings`` is one immutable, validated value. The system has one global ``CallSettings``; a unit may
override any subset of fields (``merge_settings``). Invalid values raise ``pydantic.ValidationError`` whose
message names the offending field (pydantic puts the field path first in every error line).

Units are in the field names: ``_s`` seconds, ``_percent`` 0-100. Times of day are local to
``timezone`` (Vietnam, UTC+7, no daylight saving).

Pure: imports nothing of vkyc's outside the domain.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import time, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
# Vietnam has had no daylight saving since 1975: a fixed offset is exact, and lets the domain work
# on a runtime image without the tz database.
_VIETNAM_FIXED = timezone(timedelta(hours=7), "ICT")


class LoginPolicy(StrEnum):
    """What a second login of the same agent account on another device does (seed 001 §1.3)."""

    REFUSE_IN_CALL_ELSE_TAKE_OVER = "refuse_in_call_else_take_over"
    """Refuse while the first device is in a call (do not break a live verification); else take over."""
    REFUSE = "refuse"
    """Always refuse the second login."""
    TAKE_OVER = "take_over"
    """Always take over: the first device is told why and disconnected."""


class MissedTicketMerge(StrEnum):
    """How missed-call tickets of the same customer are merged within one day (seed 004).

    The merge resets at midnight (``timezone``): the next day always opens new tickets.
    """

    ALL_IN_ONE = "all_in_one"
    """Every missed call of the customer that day (inbound and outbound) goes into one ticket."""
    ONE_PER_CALL = "one_per_call"
    """Each missed call gets its own ticket."""
    INBOUND_AND_OUTBOUND = "inbound_and_outbound"
    """One ticket for missed inbound calls and one for missed outbound calls."""
    PER_QUEUE_AND_OUTBOUND = "per_queue_and_outbound"
    """One ticket per queue for missed inbound calls, plus one for missed outbound calls."""


URL_TEMPLATE_FIELDS: frozenset[str] = frozenset(
    {"userId", "hotline", "customerNumber", "isCallOut", "timeAnswer", "callId"}
)
"""Placeholders a URL template may use, e.g. ``https://crm.example/answer?callId={callId}``.

These are the parameters the replaced system sent to the popup answer URL (seed 004). A template without
placeholders gets them appended as query parameters by whoever renders it.
"""

_MSISDN_RE = re.compile(r"^\d{9,15}$")
_S3_KEY_RE = re.compile(r"^[A-Za-z0-9!_.*'()\-/]+$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def normalize_msisdn(number: str) -> str:
    """Canonical form of a subscriber number: digits only, Vietnamese country code ``84`` first.

    Accepts ``0901234567``, ``84901234567``, ``+84 901 234 567`` (spaces, dots and dashes are ignored)
    and returns ``84901234567`` for all three, so the blacklist matches however a number was typed.
    Raises ``ValueError`` for anything that is not 9-15 digits after cleaning.
    """
    cleaned = re.sub(r"[\s.\-]", "", number)
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    elif cleaned.startswith("0"):
        cleaned = "84" + cleaned[1:]
    if not _MSISDN_RE.fullmatch(cleaned):
        raise ValueError(f"not a subscriber number: {number!r} (expected 9-15 digits, e.g. 0901234567)")
    return cleaned


def validate_url_template(value: str) -> str:
    """Check an http(s) URL template whose ``{placeholders}`` are all in ``URL_TEMPLATE_FIELDS``.

    Returns the value unchanged; raises ``ValueError`` naming what is wrong.
    """
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {value!r}")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:  # unbalanced braces
        raise ValueError(f"bad URL template {value!r}: {exc}") from None
    unknown = sorted({name for name in fields if name not in URL_TEMPLATE_FIELDS})
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {unknown} in {value!r}; allowed: {sorted(URL_TEMPLATE_FIELDS)}"
        )
    return value


def _validate_s3_key(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/") or not _S3_KEY_RE.fullmatch(value):
        raise ValueError(f"not a safe S3 object key: {value!r}")
    return value


# Strict numbers: TOML and JSON give real numbers; refusing "60" and True catches typos early.
Seconds = Annotated[int, Field(strict=True, gt=0)]


class CallSettings(BaseModel):
    """Every call setting, with its default. Immutable; build a changed copy with ``merge_settings``.

    Bounds are deliberately generous but finite: a timeout of a week is a typo, not a policy.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    # --- timers (seconds) ---
    ring_timeout_s: Annotated[Seconds, Field(le=600)] = 60
    """Seconds an offer rings at an agent before it counts as missed (call state ``M``)."""
    reconnect_grace_s: Annotated[Seconds, Field(le=300)] = 15
    """Seconds a call waits for a disconnected party (mobile or agent) before it is ended."""
    queue_timeout_s: Annotated[Seconds, Field(le=3600)] = 180
    """Seconds a caller may wait in total for some agent to accept before the call fails (no agent)."""
    no_call_arrived_s: Annotated[Seconds, Field(le=600)] = 20
    """Seconds from the agent's accept until the media node must report both parties' media up, else
    the call ends ``T`` ("the mobile got an agent but no call arrived")."""
    wrap_up_limit_s: Annotated[Seconds, Field(le=3600)] = 120
    """Seconds an agent may stay in ``WRAP_UP`` (decision not submitted) after a call ends."""
    callback_timeout_s: Annotated[Seconds, Field(le=600)] = 60
    """Seconds an outbound call-back rings at the mobile before it times out (``T``)."""

    # --- day and limits ---
    end_of_day: time = time(22, 0)
    """Local time (``timezone``) at which every agent is set ``OFFLINE``. Written ``"HH:MM"``."""
    timezone: str = DEFAULT_TIMEZONE
    """IANA zone of ``end_of_day`` and of the midnight reset of daily counters and ticket merges."""
    daily_success_cap_per_subscriber: Annotated[int, Field(strict=True, ge=1, le=1000)] | None = None
    """At most this many successful calls per subscriber number per local day; ``None`` = no cap."""
    device_licence_limit: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None
    """Most mobile devices that may be registered (``registerDevice``) per unit; ``None`` = unlimited."""
    login_policy: LoginPolicy = LoginPolicy.REFUSE_IN_CALL_ELSE_TAKE_OVER
    """Second login of one agent account on another device: see ``LoginPolicy``."""

    # --- routing ---
    missed_offer_sets_unavailable: bool = True
    """An agent who lets an offer ring out is set ``UNAVAILABLE`` so calls stop going to an absent desk."""
    max_offers_per_call: Annotated[int, Field(strict=True, ge=1, le=100)] = 10
    """Most agents one inbound call is offered to (after rejects / misses) before it fails."""
    overflow_enabled: bool = True
    """Whether overflow groups (a queue group with a delay) join the routing once their delay passes."""

    # --- decisions ---
    approve_requires_face: bool = True
    """Decision ``A`` needs a snapshot with ``face_found`` true taken in the same call (the normal evidence
    for an approval); off: a call whose media reached both sides is enough. The agent page greys A out
    and says why until then; the server refuses it either way (``FACE_SNAPSHOT_REQUIRED``,
    ``vkyc.domain.decision``)."""

    # --- SLA ---
    sla_target_percent: Annotated[float, Field(strict=True, ge=0, le=100)] = 80.0
    """Share of answered calls (percent, 0-100) that should be answered within ``sla_answer_within_s``."""
    sla_answer_within_s: Annotated[Seconds, Field(le=600)] = 20
    """Seconds from ringing to answer within which a call counts towards the SLA target."""

    # --- what the customer and the agent see and hear ---
    greeting: Annotated[str, Field(max_length=2000)] = (
        "Xin chào quý khách, tôi là giao dịch viên xác thực video call của MobiFone. "
        "Quý khách vui lòng đưa mặt vào giữa khung hình."
    )
    """Script shown to the agent (and spoken) at the start of the call."""
    closing_message: Annotated[str, Field(max_length=2000)] = (
        "Cảm ơn quý khách đã sử dụng dịch vụ của MobiFone. Chúc quý khách một ngày tốt lành."
    )
    """Script shown to the agent at the end of the call."""
    waiting_media_key: str | None = "media/waiting/default.mp4"
    """S3 key (media bucket) of the video/audio played to the caller while connecting; ``None`` = silence."""
    ringtone: str | None = "media/ringtones/default.mp3"
    """S3 key of the ringtone the agent's browser plays for an incoming offer; ``None`` = browser default."""
    notify_incoming: bool = True
    """Raise a desktop notification at the agent for an incoming offer."""

    # --- integrations (URL templates, see ``URL_TEMPLATE_FIELDS``) ---
    popup_answer_url: str | None = None
    """Opened in a new tab when a call is answered (inbound or call-back), with the call's parameters."""
    incoming_iframe_url: str | None = None
    """Embedded in the ticket when an inbound call is answered."""
    callout_iframe_url: str | None = None
    """Embedded in the ticket when a call-back is answered."""
    webphone_embed_url: str | None = None
    """Embedded in the web phone popup."""

    # --- blacklist and tickets ---
    blacklist: frozenset[str] = frozenset()
    """Subscriber numbers that must not be called (``TO_NUMBER_NOT_ALLOWS_CALLOUT``), normalized."""
    auto_ticket: bool = False
    """Create a ticket for every call. Off here means off even where a queue asks for tickets (seed 004)."""
    missed_ticket_merge: MissedTicketMerge = MissedTicketMerge.ONE_PER_CALL
    """How missed-call tickets of one customer are merged within the day, see ``MissedTicketMerge``."""

    @field_validator("end_of_day", mode="before")
    @classmethod
    def _parse_hhmm(cls, value: Any) -> Any:
        # Only "HH:MM" (or a time from TOML / Python): pydantic's own parser would also take
        # "22:00:00.5+07:00", which is not a time of day an admin means.
        if isinstance(value, time):
            if value.tzinfo is not None or value.second or value.microsecond:
                raise ValueError("end_of_day must be a whole minute without a zone, e.g. 22:00")
            return value
        if isinstance(value, str):
            match = _HHMM_RE.fullmatch(value.strip())
            if not match:
                raise ValueError(f"end_of_day must be 'HH:MM' (24 h), got {value!r}")
            return time(int(match[1]), int(match[2]))
        raise ValueError(f"end_of_day must be 'HH:MM', got {type(value).__name__}")

    @field_serializer("end_of_day")
    def _dump_hhmm(self, value: time) -> str:
        return value.strftime("%H:%M")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            if value != DEFAULT_TIMEZONE:  # the default works without a tz database, see zone()
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("waiting_media_key", "ringtone")
    @classmethod
    def _s3_key(cls, value: str | None) -> str | None:
        return None if value is None else _validate_s3_key(value)

    @field_validator("popup_answer_url", "incoming_iframe_url", "callout_iframe_url", "webphone_embed_url")
    @classmethod
    def _url_template(cls, value: str | None) -> str | None:
        return None if value is None else validate_url_template(value)

    @field_validator("blacklist", mode="before")
    @classmethod
    def _normalize_blacklist(cls, value: Any) -> Any:
        if isinstance(value, str):  # a lone string would otherwise become a set of characters
            raise ValueError("blacklist must be a list of subscriber numbers")
        if isinstance(value, list | tuple | set | frozenset):
            return frozenset(normalize_msisdn(str(number)) for number in value)
        return value

    @field_serializer("blacklist")
    def _dump_blacklist(self, value: frozenset[str]) -> list[str]:
        return sorted(value)  # stable output for diffs and for storing as a list

    def zone(self) -> tzinfo:
        """The zone of ``end_of_day``; a fixed UTC+7 if the tz database is missing (Vietnam only)."""
        try:
            return ZoneInfo(self.timezone)
        except ZoneInfoNotFoundError:
            return _VIETNAM_FIXED

    def is_blacklisted(self, number: str) -> bool:
        """Whether ``number`` (any accepted spelling) is on the blacklist. Unparseable numbers are not."""
        try:
            return normalize_msisdn(number) in self.blacklist
        except ValueError:
            return False


def merge_settings(base: CallSettings, override: Mapping[str, Any] | None) -> CallSettings:
    """The settings of one unit: ``base`` (global) with the fields in ``override`` replaced.

    Field-wise replacement, including ``blacklist`` (a unit's list replaces the global one, so say
    both if both apply). An explicit ``None`` in ``override`` sets an optional field to ``None`` (e.g.
    turns the daily cap off); an absent key keeps the global value. The result is validated as a
    whole: an unknown key or a bad value raises ``ValidationError`` naming the field.
    """
    if not override:
        return base
    # Validate the override's values as given (python mode), not a round trip through JSON.
    merged = {name: getattr(base, name) for name in CallSettings.model_fields}
    merged.update(override)
    return CallSettings.model_validate(merged)
