"""The reports' REST parameters and answers (``GET /reports/summary``, ``/reports/agents``,
``/reports/calls``, ``/reports/errors``): what the server validates with and what ``docs/openapi.json``
documents. Every figure is defined in ``docs/reports.md``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vkyc.protocol.rest import Day, Id, Iso, UnitId

Bucket = Literal["15min", "hour", "day", "week", "month"]
Direction = Literal["in", "out"]
CustomerType = Literal["KHCN", "KHDN"]
Decision = Literal["A", "R", "C", "D"]
CallStateName = Literal[
    "N", "W", "A", "R", "M", "E", "T", "CONNECTED", "RECONNECTING", "FINISHED", "C", "F", "I"
]
EndReasonName = Literal[
    "completed",
    "caller_hung_up",
    "no_agent",
    "grace_expired",
    "mobile_left",
    "agent_left",
    "media_failed",
    "media_node_lost",
    "swept",
    "no_call_arrived",
    "agent_cancelled",
    "no_answer",
    "declined",
    "device_not_registered",
]
SubType = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,10}$")]
Channel = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]
Msisdn = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 .\-]{9,20}$")]
Cursor = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,200}$")]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Day = Field(alias="from", description="First local day (YYYY-MM-DD, the units' time zone).")
    to: Day = Field(description="Last local day, included.")
    unit_id: UnitId | None = Field(None, description="One unit of your reach; default: all of them.")


class SummaryQuery(_Params):
    bucket: Bucket = Field(
        "day",
        description="15min and hour: ranges of at most 2 and 7 days; day: 92 days; week and month: "
        "13 months.",
    )
    queue_id: Id | None = None
    group_id: Id | None = Field(None, description="The work of this group's agents (agent figures only).")
    agent_id: Id | None = Field(None, description="The work of this agent (agent figures only).")
    direction: Direction | None = Field(None, description="in: calls from mobiles; out: call-backs.")
    sub_type: SubType | None = Field(None, description="A SUB_TYPE of the policy table.")
    customer_type: CustomerType | None = None
    dealer_channel: Channel | None = None


class AgentsQuery(_Params):
    group_id: Id | None = None
    agent_id: Id | None = None


class CallsQuery(_Params):
    queue_id: Id | None = None
    agent_id: Id | None = Field(None, description="Calls answered by this agent (or ringing at it now).")
    direction: Direction | None = None
    state: CallStateName | None = None
    end_reason: EndReasonName | None = None
    decision: Decision | None = None
    subscriber: Msisdn | None = Field(
        None, description="Any spelling of the number (0901…, 84901…, +84 901…)."
    )
    dossier_id: Id | None = None
    dealer_channel: Channel | None = None
    limit: int = Field(50, ge=1, le=500, description="Rows per page (JSON); CSV returns every row.")
    cursor: Cursor | None = Field(None, description="`next_cursor` of the previous page.")


class ErrorsQuery(_Params):
    direction: Direction | None = None


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Decisions(_Answer):
    A: int
    R: int
    C: int
    D: int


class DecisionRates(_Answer):
    A: float | None
    R: float | None
    C: float | None
    D: float | None


class Evidence(_Answer):
    recording: int = Field(description="Decided calls whose recording is stored.")
    face_snapshot: int = Field(description="Decided calls with a snapshot in which a face was found.")
    bundle: int = Field(description="Decided calls whose evidence bundle is stored.")
    complete: int = Field(description="Decided calls with all three.")
    complete_percent: float | None = Field(description="complete / decided.")


class AgentTime(_Answer):
    """Seconds in each state; OFFLINE is the rest of the range (up to now) for the agents covered."""

    AVAILABLE: float
    UNAVAILABLE: float
    RINGING: float
    IN_CALL: float
    WRAP_UP: float
    OFFLINE: float | None


class Figures(_Answer):
    """Every figure of a summary (definitions: docs/reports.md). Averages and rates are null without
    calls to average over."""

    queued: int
    answered: int
    answered_within_sla: int
    unanswered: int
    abandoned: int
    abandoned_in_queue: int
    abandoned_ringing: int
    no_agent: int
    missed_offers: int
    rejected_offers: int
    service_level_percent: float | None
    abandon_rate_percent: float | None
    answer_rate_percent: float | None
    avg_speed_of_answer_s: float | None
    avg_abandon_time_s: float | None
    longest_wait_s: float | None
    talked: int
    avg_talk_s: float | None
    avg_wrap_up_s: float | None
    avg_handle_s: float | None
    callbacks_placed: int
    callbacks_answered: int
    decided: int
    decisions: Decisions
    decision_rates_percent: DecisionRates
    evidence: Evidence
    agent_time_s: AgentTime
    occupancy_percent: float | None
    wrap_ups: int


class SummaryBucket(_Answer):
    start: Iso = Field(description="The bucket's first instant, with the report's UTC offset.")
    label: str = Field(
        description="2025-03-10T08:00 (15min, hour), 2025-03-10 (day, week: its Monday), 2025-03."
    )
    figures: Figures


class Summary(_Answer):
    """Figures of a range, in total and per bucket."""

    from_: Day = Field(alias="from")
    to: Day
    bucket: Bucket
    time_zone: str
    units: list[str] = Field(description="The units covered.")
    agents: list[str] = Field(description="The agents whose state time is counted.")
    scope: Literal["units", "agents"] = Field(
        description="units: every call of the units; agents: the work of the agents asked "
        "(group_id, agent_id)."
    )
    sla_answer_within_s: int
    sla_target_percent: float
    totals: Figures
    series: list[SummaryBucket]


class AgentRow(_Answer):
    agent_id: str
    name: str
    unit_id: str
    groups: list[str] = Field(description="Names of the agent's groups.")
    status: str = Field(description="Now: OFFLINE, AVAILABLE, UNAVAILABLE, RINGING, IN_CALL, WRAP_UP.")
    answered: int
    missed_offers: int
    rejected_offers: int
    answer_rate_percent: float | None
    answered_within_sla: int
    avg_speed_of_answer_s: float | None
    talked: int
    avg_talk_s: float | None
    wrap_ups: int
    avg_wrap_up_s: float | None
    avg_handle_s: float | None
    callbacks_placed: int
    callbacks_answered: int
    decided: int
    decisions: Decisions
    evidence_complete_percent: float | None
    time_s: AgentTime
    occupancy_percent: float | None


class AgentsReport(_Answer):
    """Each agent's work and time per state over a range (up to now)."""

    from_: Day = Field(alias="from")
    to: Day
    time_zone: str
    units: list[str]
    agents: list[AgentRow]


class CallEvidence(_Answer):
    recording: bool
    face_snapshot: bool
    bundle: bool


class CallRow(_Answer):
    call_id: str
    created_at: Iso
    direction: str
    state: str
    unit_id: str
    unit_name: str | None
    queue_id: str | None
    queue_name: str | None
    agent_id: str | None
    agent_name: str | None
    subscriber: str | None
    dossier_id: str | None
    sub_type: str | None
    customer_type: str | None
    dealer_channel: str | None
    answered_at: Iso | None
    ended_at: Iso | None
    end_reason: str | None
    ended_by: str | None
    decision: str | None
    wait_s: float | None = Field(description="Creation to answer, or to the end of an unanswered call.")
    talk_s: float | None = Field(description="Answer to end.")
    evidence: CallEvidence


class CallList(_Answer):
    """One page of calls, newest first."""

    from_: Day = Field(alias="from")
    to: Day
    time_zone: str
    units: list[str]
    calls: list[CallRow]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next page; null at the end. A page may hold fewer rows "
        "than `limit` when filters skipped many calls: follow the cursor."
    )


class ErrorGroup(_Answer):
    state: str
    end_reason: str
    code: str | None = Field(description="The error code the parties were told, when there is one.")
    count: int
    call_ids: list[str] = Field(description="The newest of these calls (at most 20).")


class ErrorsReport(_Answer):
    """Calls that ended by an error, grouped by how they ended."""

    from_: Day = Field(alias="from")
    to: Day
    time_zone: str
    units: list[str]
    total: int
    groups: list[ErrorGroup]
