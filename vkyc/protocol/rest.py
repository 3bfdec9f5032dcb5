"""The REST API's bodies, parameters and answers, as pydantic models: what the server validates with and
what ``docs/openapi.json`` is generated from (``python -m vkyc.api.openapi``), so the two cannot drift.

Request bodies of the token endpoints are ``vkyc.services.auth``'s ``MobileTokenRequest``,
``LoginRequest`` and ``NodeTokenRequest``; the endpoints themselves are declared in
``vkyc.api.endpoints``. Answers are built as these models: an answer that does not fit its model is a
bug (``INTERNAL_ERROR``), never a silent change of the contract.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from vkyc.domain.agent import AgentState
from vkyc.domain.audit import AuthEventKind
from vkyc.domain.direction import Direction
from vkyc.protocol.messages import DossierView, Role

ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
UNIT_PATTERN = r"^[A-Za-z0-9_\-]{1,32}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
UnitId = Annotated[str, StringConstraints(pattern=UNIT_PATTERN)]


def _calendar_day(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a day of the calendar") from None
    return text


Day = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"),
    AfterValidator(_calendar_day),
    Field(json_schema_extra={"format": "date"}),
]
Iso = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# -- errors ---------------------------------------------------------------------------------------


class Error(_Body):
    """Every refusal: the HTTP status of its code in docs/errors.md, and this body."""

    code: str = Field(description="Stable: switch on it (docs/errors.md).")
    message: str = Field(description="English, for people; may end with a detail (the field at fault).")


# -- parameters -------------------------------------------------------------------------------------


class DossierPath(_Body):
    dossier_id: Id


class CallPath(_Body):
    call_id: Id


class CallsPerHourQuery(_Body):
    unit_id: UnitId | None = Field(
        None, description="A unit among the supervisor's reach; default: all of them."
    )
    date: Day | None = Field(None, description="YYYY-MM-DD in the settings' time zone; default: today.")


class AuthEventsQuery(_Body):
    unit_id: Annotated[str, StringConstraints(pattern=r"^(\*|[A-Za-z0-9_\-]{1,32})$")] | None = Field(
        None,
        description="A unit among the supervisor's reach, or `*` (admins: events of no known unit, such "
        "as unknown usernames and wrong API keys); default: every unit of the reach.",
    )
    date: Day | None = Field(None, description="YYYY-MM-DD in the settings' time zone; default: today.")
    limit: int = Field(100, ge=1, le=1000, description="At most this many events, newest first.")


# -- tokens ---------------------------------------------------------------------------------------------


class Grant(_Body):
    token: str = Field(description="Opaque; present it once, at the WebSocket `$connect` (`?token=`).")
    expires_in_s: int
    role: Role
    unit_id: str = Field(description="`*` for an admin or a media node.")
    agent_id: str | None
    ws_url: str = Field(description="The WebSocket address to connect to.")


class LoggedOut(_Body):
    sessions_ended: int = Field(description="The WebSocket sessions this token had opened, now ended.")


# -- reads ------------------------------------------------------------------------------------------------


class Health(_Body):
    status: Literal["ok"]
    checks: dict[str, Literal["ok"]] = Field(description="Each dependency checked: `dynamodb`, `bucket`.")


class Unit(_Body):
    unit_id: str
    name: str
    served_by: str = Field(description="The unit whose agents answer this unit's calls.")
    has_agents: bool


class Units(_Body):
    units: list[Unit]


class AgentWork(_Body):
    status: AgentState
    since_ms: int
    call_id: str | None
    offer_id: str | None
    dossier_id: str | None = Field(description="The dossier of the current call.")


class PageSettings(_Body):
    """The settings of the caller's unit the pages show."""

    greeting: str
    closing_message: str
    notify_incoming: bool
    ring_timeout_s: int
    reconnect_grace_s: int
    wrap_up_limit_s: int
    sla_target_percent: float
    sla_answer_within_s: int
    approve_requires_face: bool
    """Decision A needs a snapshot of the call with a face found (the page greys A out until then)."""


class Me(_Body):
    role: Literal["agent", "supervisor"]
    principal_id: str
    name: str
    unit_id: str = Field(description="`*` for an admin.")
    units: list[Unit] = Field(description="The units this login reaches.")
    agent: AgentWork | None = Field(description="An agent's status and current work; null for a supervisor.")
    server_time_ms: int
    settings: PageSettings


class ImageUrls(_Body):
    """Pre-signed GET URLs (15 min); null where no object exists."""

    id_front: str | None
    id_back: str | None
    portrait: str | None


class DossierCall(_Body):
    call_id: str
    direction: Direction
    state: str
    agent_id: str | None


class DossierDetail(_Body):
    dossier: DossierView = Field(description="As in call.offer (docs/protocol.md).")
    image_urls: ImageUrls
    calls: list[DossierCall] = Field(description="The dossier's calls, newest first.")


class CallFields(_Body):
    call_id: str
    direction: str
    state: str
    unit_id: str
    serving_unit_id: str | None
    dossier_id: str | None
    agent_id: str | None
    subscriber: str | None
    created_at: Iso | None
    answered_at: Iso | None
    ended_at: Iso | None
    end_reason: str | None
    ended_by: str | None
    decision: str | None


class TimelineEntry(_Body):
    version: int
    at: Iso | None
    from_state: str | None
    to_state: str
    event: str
    actor: str
    reason: str | None


class OfferEntry(_Body):
    offer_id: str
    agent_id: str
    state: str
    at: Iso | None


class SnapshotFile(_Body):
    snapshot_id: str
    key: str
    url: str = Field(description="Pre-signed, 15 min.")
    size: int
    stored_at: Iso | None


class RecordingFile(_Body):
    key: str
    url: str = Field(description="Pre-signed, 15 min.")
    size: int
    info: dict[str, Any] | None = Field(description="recording.json of the media node.")


class CallDetail(_Body):
    call: CallFields
    timeline: list[TimelineEntry] = Field(description="Every transition of the call, oldest first.")
    offers: list[OfferEntry]
    snapshots: list[SnapshotFile]
    recording: RecordingFile | None


class HourRow(_Body):
    hour: int = Field(ge=0, le=23)
    answered: int
    missed: int = Field(description="Ended without an answer.")
    answered_within_sla: int


class Totals(_Body):
    answered: int
    missed: int
    answered_within_sla: int


class CallsPerHour(_Body):
    date: Day
    time_zone: str
    units: list[str]
    hours: list[HourRow] = Field(min_length=24, max_length=24)
    totals: Totals
    service_level_percent: float | None = Field(
        description="Answered within sla_answer_within_s over answered + missed; null without calls."
    )
    sla_target_percent: float
    sla_answer_within_s: int


class AuthEventEntry(_Body):
    at: Iso
    unit_id: str = Field(description="The unit of the account or key concerned; `*` when none is known.")
    kind: AuthEventKind
    scope: str = Field(description="The credential path: login, mobile, node, connect, session.")
    principal: str | None = Field(description="The username, dealer account or node id given.")
    source: str | None = Field(description="The client's address as API Gateway saw it.")
    detail: str | None


class AuthEvents(_Body):
    date: Day
    time_zone: str
    units: list[str]
    events: list[AuthEventEntry] = Field(description="Newest first.")
    truncated: bool = Field(description="More events matched than `limit`: narrow the unit or the day.")
