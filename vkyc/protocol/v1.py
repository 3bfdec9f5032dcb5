"""The integrator API (``/v1``): its bodies, parameters and answers as pydantic models, what the server
validates with and what ``docs/openapi.json`` is generated from. The endpoints are declared in
``vkyc.api.integrator_endpoints``; the events of the webhooks are documented in docs/webhooks.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from vkyc.domain.direction import Direction
from vkyc.domain.images import ImageRole
from vkyc.domain.policy import normalize_sub_type
from vkyc.domain.settings import normalize_msisdn
from vkyc.domain.webhooks import EventType
from vkyc.protocol.rest import Id, Iso, TimelineEntry

Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Account = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Channel = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Cursor = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,1024}$")]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time zone (e.g. 2026-01-01T07:00:00+07:00 or ...Z)")
    return value


Instant = Annotated[datetime, AfterValidator(_aware), Field(json_schema_extra={"format": "date-time"})]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- parameters --------------------------------------------------------------------------------------


class WebhookPath(_Body):
    webhook_id: Id


class DeliveryPath(_Body):
    webhook_id: Id
    delivery_id: Id


class CallsQuery(_Body):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    subscriber: str | None = Field(
        None, description="Only this subscriber's calls (any form: 0901…, 84901…, +84 901 …)."
    )
    dossier: Id | None = Field(None, description="Only this dossier's calls.")
    from_: Instant | None = Field(None, alias="from", description="Calls created at or after (ISO 8601).")
    to: Instant | None = Field(None, description="Calls created at or before (ISO 8601).")
    cursor: Cursor | None = Field(None, description="The `next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=100, description="At most this many calls per page.")

    @field_validator("subscriber")
    @classmethod
    def _subscriber(cls, value: str | None) -> str | None:
        return None if value is None else normalize_msisdn(value)


class DeliveriesQuery(_Body):
    cursor: Cursor | None = Field(None, description="The `next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=100)


# -- dossiers ------------------------------------------------------------------------------------------


class Customer(_Body):
    name: Text = Field(description="As on the ID card.")
    id_number: Annotated[str, StringConstraints(pattern=r"^(\d{9}|\d{12})$")] = Field(
        description="CMND (9 digits) or CCCD (12 digits)."
    )


class DossierIntake(_Body):
    """A dossier as the eKYC backend submits it (seed 002 steps 1-10). Sent again unchanged, it changes
    nothing; changed, it replaces these fields while the dossier is N or W and no call of it is live."""

    customer: Customer
    subscriber: str = Field(description="The subscriber number (MSISDN), any form; stored canonical (84…).")
    sub_type: Annotated[str, StringConstraints(min_length=1, max_length=16)] = Field(
        description="The package's SUB_TYPE (e.g. ZP), as in the policy table."
    )
    customer_type: Literal["KHCN", "KHDN"]
    payment_type: Literal["prepaid", "postpaid"]
    dealer_account: Account = Field(description="The dealer (ĐBH/ĐL) account that submits it.")
    dealer_channel: Channel | None = Field(None, description="The dealer's sales channel (DBH, DL).")
    kyc_at_counter: bool = Field(False, description='Flagged "KYC at the counter required": no video call.')
    note: Annotated[str, StringConstraints(max_length=500)] | None = None

    @field_validator("subscriber")
    @classmethod
    def _subscriber(cls, value: str) -> str:
        return normalize_msisdn(value)

    @field_validator("sub_type")
    @classmethod
    def _sub_type(cls, value: str) -> str:
        normalized = normalize_sub_type(value)
        if not normalized.replace("_", "").isalnum():
            raise ValueError("letters, digits and _ only")
        return normalized


class ImageRejection(_Body):
    code: str = Field(description="A catalogue code: IMAGE_TYPE_UNSUPPORTED, IMAGE_SIZE_OUT_OF_RANGE, …")
    message: str
    at: Iso


class ImageState(_Body):
    """One image of the dossier: the accepted upload (what the agent sees), an upload being checked,
    and the last upload that was rejected (it changed nothing)."""

    status: Literal["missing", "valid"]
    url: str | None = Field(description="Pre-signed GET URL of the accepted image (15 min).")
    content_type: str | None
    size: int | None
    width: int | None
    height: int | None
    sha256: str | None
    face_found: bool | None = Field(description="Portrait: a frontal face was found (required).")
    uploaded_at: Iso | None
    checked_at: Iso | None
    checking_since: Iso | None = Field(description="An upload is being checked since then.")
    last_rejection: ImageRejection | None


class Images(_Body):
    id_front: ImageState
    id_back: ImageState
    portrait: ImageState


class Decision(_Body):
    decision: Literal["A", "R", "C", "D"]
    reason: str | None
    decided_by: str = Field(description="The agent (or back-office account) who decided.")
    decided_at: Iso
    call_id: str | None = Field(description="The call the decision was made through.")
    snapshot_id: str | None = Field(description="The snapshot the agent named as the decision's.")


class SnapshotFile(_Body):
    snapshot_id: str
    url: str = Field(description="Pre-signed GET URL (15 min).")
    face_found: bool


class Recording(_Body):
    url: str = Field(description="Pre-signed GET URL (15 min) of the WebM file.")
    size: int | None
    duration_s: float | None
    sha256: str | None
    incomplete: bool = Field(description="Assembled from a dead media node's parts.")


class Evidence(_Body):
    """What the decision rests on (seed 002 step 16). The bundle's manifest lists every file with its
    sha256; ``manifest_sha256`` (kept apart, on the dossier's log) proves the manifest unchanged."""

    call_id: str | None
    snapshots: list[SnapshotFile]
    recording: Recording | None
    manifest_url: str | None = Field(description="Pre-signed GET URL (15 min); null until built.")
    manifest_sha256: str | None = Field(description="The bundle hash; null until built (evidence.ready).")
    expires_at: Iso = Field(description="When the URLs of this answer stop working.")


class CallSummary(_Body):
    call_id: str
    direction: Direction = Field(description="in: the dealer called; out: an agent's call-back.")
    state: str
    dossier_id: str | None
    subscriber: str | None
    agent_id: str | None
    created_at: Iso | None
    answered_at: Iso | None
    ended_at: Iso | None
    end_reason: str | None
    decision: str | None


class DossierV1(_Body):
    """The dossier as the integrator reads it: what was submitted, the images' checks, the state and
    decision, its calls (newest first) and the evidence of the decision."""

    dossier_id: str
    unit_id: str
    state: Literal["N", "W", "A", "R", "C", "D"]
    version: int = Field(description="Grows with every change (the webhooks' resource version).")
    customer: Customer | None
    subscriber: str | None
    sub_type: str | None
    customer_type: str | None
    payment_type: str | None
    dealer_account: str | None
    dealer_channel: str | None
    kyc_at_counter: bool
    note: str | None
    images: Images
    eligible: bool = Field(description="Whether a call may be placed now (see `not_eligible`).")
    not_eligible: str | None = Field(description="The code a call request would get now, if any.")
    decision: Decision | None
    calls: list[CallSummary]
    evidence: Evidence | None
    created_at: Iso | None
    updated_at: Iso | None


class ImageFormRequest(_Body):
    role: ImageRole
    content_type: Literal["image/jpeg", "image/png"]


class ImageFormsRequest(_Body):
    images: Annotated[list[ImageFormRequest], Field(min_length=1, max_length=3)]

    @field_validator("images")
    @classmethod
    def _distinct(cls, value: list[ImageFormRequest]) -> list[ImageFormRequest]:
        roles = [item.role for item in value]
        if len(set(roles)) != len(roles):
            raise ValueError("each role at most once")
        return value


class ImageForm(_Body):
    """An HTML form POST to S3: send ``fields`` then the file (``file``, last) as multipart/form-data to
    ``url``. S3 refuses another key, type or a size outside ``min_bytes``..``max_bytes``."""

    role: ImageRole
    content_type: str
    url: str
    fields: dict[str, str]
    min_bytes: int
    max_bytes: int
    expires_at: Iso


class ImageForms(_Body):
    forms: list[ImageForm]


# -- calls -------------------------------------------------------------------------------------------


class CallV1(_Body):
    """One call of the unit with its history and media (seed 001)."""

    call: CallSummary
    unit_id: str
    serving_unit_id: str | None
    ended_by: str | None
    duration_s: float | None = Field(description="From the answer to the end.")
    waited_s: float | None = Field(description="From the request to the answer (or the end, unanswered).")
    version: int
    timeline: list[TimelineEntry] = Field(description="Every transition of the call, oldest first.")
    snapshots: list[SnapshotFile]
    recording: Recording | None
    urls_expire_at: Iso


class CallsPage(_Body):
    calls: list[CallSummary] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="More may follow: ask again with cursor=next_cursor.")


# -- webhooks ------------------------------------------------------------------------------------------


EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]


def _distinct_events(value: list[EventType]) -> list[EventType]:
    if len(set(value)) != len(value):
        raise ValueError("each event type at most once")
    return value


class WebhookCreate(_Body):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)] = Field(
        description="Where to POST the events: https:// (docs/webhooks.md)."
    )
    events: Annotated[EventTypes, AfterValidator(_distinct_events)]
    description: Annotated[str, StringConstraints(max_length=200)] | None = None


class WebhookUpdate(_Body):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)] | None = None
    events: Annotated[EventTypes, AfterValidator(_distinct_events)] | None = None
    description: Annotated[str, StringConstraints(max_length=200)] | None = None
    status: Literal["active", "paused"] | None = Field(
        None, description="paused: nothing is sent (events are held); active: resume."
    )


class Webhook(_Body):
    webhook_id: str
    url: str
    events: list[EventType]
    description: str | None
    status: Literal["active", "paused"]
    paused_at: Iso | None
    paused_reason: str | None
    failing_since: Iso | None = Field(description="Deliveries have failed since then, none succeeded.")
    created_at: Iso
    updated_at: Iso
    version: int


class WebhookWithSecret(_Body):
    """The subscription and its signing secret: shown this once (store it; it is never shown again)."""

    webhook: Webhook
    secret: str


class Webhooks(_Body):
    webhooks: list[Webhook]


class WebhookDeleted(_Body):
    webhook_id: str
    deleted: Literal[True]


class DeliveryAttempt(_Body):
    number: int
    at: Iso
    status_code: int | None = Field(description="The receiver's HTTP status; null when none came.")
    latency_ms: int
    error: str | None = Field(description="Why it failed: timeout, connection refused, HTTP 500, …")
    response_excerpt: str | None = Field(description="The start of the receiver's answer.")
    redelivery: bool = Field(description="Asked through the API.")


class Delivery(_Body):
    delivery_id: str
    kind: Literal["delivery", "notice"] = Field(description="notice: a line the sender wrote for you.")
    event_id: str | None
    event_type: str | None
    state: str = Field(
        description="pending, retrying, delivered, dead (given up: in the dead-letter queue), held "
        "(the subscription is paused), cancelled; notice for a notice."
    )
    attempt_count: int
    last_status: int | None
    created_at: Iso
    next_attempt_at: Iso | None
    delivered_at: Iso | None
    notice: str | None


class DeliveryDetail(_Body):
    delivery: Delivery
    attempts: list[DeliveryAttempt]
    event: dict[str, Any] | None = Field(description="The body sent (docs/webhooks.md).")


class Deliveries(_Body):
    deliveries: list[Delivery] = Field(description="Newest first.")
    next_cursor: str | None


# -- tickets for missed calls (seed 004; vkyc.domain.tickets) -----------------------------------------

TicketStateName = Literal["open", "in_progress", "done"]


class TicketPath(_Body):
    ticket_id: Id


class TicketsQuery(_Body):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    state: TicketStateName | None = Field(None, description="Only tickets in this state.")
    subscriber: str | None = Field(None, description="Only this subscriber's tickets (any form).")
    dossier: Id | None = Field(None, description="Only tickets whose latest call is of this dossier.")
    from_: Instant | None = Field(None, alias="from", description="Tickets created at or after (ISO 8601).")
    to: Instant | None = Field(None, description="Tickets created at or before (ISO 8601).")
    cursor: Cursor | None = Field(None, description="The `next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=100, description="At most this many tickets per page.")

    @field_validator("subscriber")
    @classmethod
    def _subscriber(cls, value: str | None) -> str | None:
        return None if value is None else normalize_msisdn(value)


class Assignee(_Body):
    """Who follows the ticket up: a group of the serving unit, an agent of it, or both (that agent, of
    that group). Both null: anyone of the serving unit."""

    group_id: Id | None = None
    agent_id: Id | None = None


class TicketPatch(_Body):
    """What to change; absent fields stay as they are. ``done`` is final."""

    state: TicketStateName | None = Field(
        None, description="open, in_progress or done (closes it; a done ticket cannot change any more)."
    )
    assignee: Assignee | None = Field(None, description="The new assignee ({} for anyone of the unit).")


class TicketV1(_Body):
    ticket_id: str
    state: TicketStateName
    unit_id: str = Field(description="The customer's unit (yours).")
    serving_unit_id: str = Field(description="The unit whose agents follow it up.")
    subscriber: str | None
    dossier_id: str | None = Field(description="The dossier of its latest missed call: call back about it.")
    day: str = Field(description="The local day (serving unit's time zone) its calls were missed on.")
    call_ids: list[str] = Field(description="The missed calls it gathers, oldest first (GET /v1/calls/{id}).")
    directions: list[Literal["in", "out"]] = Field(description="in: missed inbound; out: failed call-backs.")
    queue_ids: list[str]
    assignee: Assignee
    created_at: Iso
    updated_at: Iso
    closed_at: Iso | None
    close_reason: str | None = Field(
        description="callback_decided (a call-back was answered and decided the dossier), "
        "closed_by_integrator."
    )
    version: int = Field(description="Grows by one per change (the webhooks' resource.version).")


class TicketsPage(_Body):
    tickets: list[TicketV1] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="More may follow: ask again with cursor=next_cursor.")


class AgentTickets(_Body):
    """The tickets an agent may work on: not done, of the agent's serving unit, assigned to the agent,
    to one of the agent's groups, or to anyone; oldest first, at most 100 (those assigned to the agent
    by name first in the choice, docs/tickets.md)."""

    tickets: list[TicketV1]
