"""Every message of the protocol, as pydantic models.

Client → server: ``ClientMessage``, one union discriminated on ``action``. Each class says which
roles may send it (``ROLES``) and whether it must be signed (``SIGNED``: all but ``session.hello``,
which is how a client obtains its session key). Server → client: ``ServerMessage``.

Field limits are part of the contract (the JSON Schema exports them): a message outside them is
refused with ``BAD_MESSAGE`` naming the field, before anything is read or written.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter


class Role(StrEnum):
    MOBILE = "mobile"  # the dealer's eKYC screen (mobile SDK)
    AGENT = "agent"  # a verification agent in the web client
    SUPERVISOR = "supervisor"  # live monitor of the units it serves
    MEDIA = "media"  # a media node


ALL_ROLES = frozenset(Role)

RequestId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Seq = Annotated[int, Field(ge=1, le=2**53 - 1, description="Strictly increasing per session, from 1.")]
Millis = Annotated[int, Field(ge=0, le=2**53 - 1, description="Milliseconds since the Unix epoch.")]
Mac = Annotated[str, StringConstraints(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_\-]+$")]
ShortText = Annotated[str, StringConstraints(max_length=200)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# -- client → server --------------------------------------------------------------------------------


class _ClientMessage(_Message):
    # Strict: "2", 2.0 or true are not a seq. The canonical form (and so the MAC) depends on exact types.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    ROLES: ClassVar[frozenset[Role]] = ALL_ROLES
    SIGNED: ClassVar[bool] = True

    request_id: RequestId = Field(description="Chosen by the client; echoed in the reply or error.")


class _Signed(_ClientMessage):
    seq: Seq
    ts: Millis = Field(
        description="Client clock when the message was made; must be within 60 s of the server's."
    )
    mac: Mac = Field(description="base64url HMAC-SHA256 of the canonical message under the session key.")


class Hello(_ClientMessage):
    """First message on every connection (new or resumed). Answered by ``session.welcome``."""

    SIGNED: ClassVar[bool] = False
    action: Literal["session.hello"]
    protocol: int = Field(ge=1, le=1000, description="The protocol version the client speaks.")
    client: ShortText = Field(default="", description="Free text: SDK name and version, for logs.")


class Ping(_Signed):
    """Heartbeat: keeps the socket under API Gateway's 10-minute idle limit. Answered by ``pong``."""

    action: Literal["ping"]


class Bye(_Signed):
    """Ends the session now, without waiting for the reconnect grace (logout, app closed). ``ack``."""

    action: Literal["session.bye"]


class AgentSetStatus(_Signed):
    """The agent's own status control. Answered by ``agent.status``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.AGENT})
    action: Literal["agent.set_status"]
    status: Literal["available", "unavailable", "offline"]


class SupervisorSetAgentStatus(_Signed):
    """A supervisor sets an agent of the units they serve available or unavailable, or logs them out
    (issue #16), with a reason, recorded in the agent's log. Answered by ``agent.status``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.SUPERVISOR})
    action: Literal["supervisor.set_agent_status"]
    agent_id: CallId
    status: Literal["available", "unavailable", "offline"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class SupervisorMonitor(_Signed):
    """Silent monitoring (issue #16): a supervisor's WebRTC offer (receive-only) to listen to a live,
    answered call of a unit they serve. The call's media node sends the supervisor the customer's video
    and audio (and the agent's, on a second audio and video pair of the offer); the parties are not
    told and their links are untouched. Audited on the call's events (``monitor_started``, actor the
    supervisor). Answered by ``ack``; then the push ``media.answer`` with this ``request_id``, or an
    ``error`` with it. Offering again replaces the previous link."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.SUPERVISOR})
    action: Literal["supervisor.monitor"]
    call_id: CallId
    sdp: Sdp


class SupervisorMonitorStop(_Signed):
    """The supervisor stops listening: the node closes the monitor's link (audited:
    ``monitor_stopped``). Answered by ``ack``; stopping what is not running is acknowledged too."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.SUPERVISOR})
    action: Literal["supervisor.monitor_stop"]
    call_id: CallId


class MonitorSnapshot(_Signed):
    """The agents of the units this supervisor serves. Answered by ``monitor.agents``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.SUPERVISOR})
    action: Literal["monitor.snapshot"]


class NodeHeartbeat(_Signed):
    """A media node's liveness and load (every few seconds). Answered by ``ack``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MEDIA})
    action: Literal["node.heartbeat"]
    address: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    capacity: int = Field(ge=0, le=10_000)
    load: int = Field(ge=0, le=10_000)


CallId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Reason = Annotated[str, StringConstraints(max_length=500)]


class CallRequest(_Signed):
    """The dealer pressed [Call]: verify the dossier of this session. Answered by ``call.ringing`` when
    an agent rings at once, else ``call.queued``; then pushes ``call.queued`` (positions),
    ``call.ringing``, ``call.connected``, ``call.ended``, ``call.result``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MOBILE})
    action: Literal["call.request"]


class CallCancel(_Signed):
    """The caller gives up before an agent answered (state E). Answered by ``call.ended``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MOBILE})
    action: Literal["call.cancel"]
    call_id: CallId


class CallHangup(_Signed):
    """Either party ends a connected call. Answered by ``call.ended``; the other party gets it pushed."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MOBILE, Role.AGENT})
    action: Literal["call.hangup"]
    call_id: CallId


class OfferAccept(_Signed):
    """The agent answers the ringing popup. Answered by ``call.connected``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.AGENT})
    action: Literal["offer.accept"]
    offer_id: CallId


class OfferReject(_Signed):
    """The agent declines the ringing popup; the call goes to the next agent. Answered by ``ack``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.AGENT})
    action: Literal["offer.reject"]
    offer_id: CallId
    reason: Reason = ""


class CallDecide(_Signed):
    """The agent's decision on the dossier (seed 002 step 15). Answered by ``call.decided``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.AGENT})
    action: Literal["call.decide"]
    call_id: CallId
    decision: Literal["A", "R", "C", "D"]
    reason: Reason = ""
    snapshot_id: CallId | None = None
    after_call_work: bool = Field(
        False,
        description="Stay in WRAP_UP after the decision (after-call work) until the agent sets themselves "
        "available; false: available at once.",
    )


class DeviceRegister(_Signed):
    """The mobile registers its device so agents can call the customer back (``registerDevice``): for
    the subscriber of this session's dossier, in its unit, counted against the unit's licence limit.
    Send it after every fresh session (a call-back still ringing is pushed again). ``device.registered``.
    """

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MOBILE})
    action: Literal["device.register"]
    device_id: CallId = Field(description="Chosen by the app, stable for the device (e.g. an install id).")


class DeviceUnregister(_Signed):
    """The mobile gives its registration up (the app is uninstalled, the customer no longer wants
    call-backs): the subscriber's registration in the dossier's unit is deleted and its licence freed,
    if ``device_id`` is still the registered device. Answered by ``device.unregistered``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MOBILE})
    action: Literal["device.unregister"]
    device_id: CallId


class CallbackStart(_Signed):
    """The agent calls the customer of a dossier back. Answered by ``callback.ringing``; then pushes
    ``call.connected`` or ``call.ended``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.AGENT})
    action: Literal["callback.start"]
    dossier_id: CallId


class CallbackCancel(_Signed):
    """The agent hangs up a call-back before the mobile answered (state E). Answered by ``call.ended``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.AGENT})
    action: Literal["callback.cancel"]
    call_id: CallId


class CallbackAccept(_Signed):
    """The mobile answers a ringing call-back (state A). Answered by ``call.connected``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MOBILE})
    action: Literal["callback.accept"]
    call_id: CallId


class CallbackDecline(_Signed):
    """The mobile declines a ringing call-back (state T). Answered by ``call.ended``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MOBILE})
    action: Literal["callback.decline"]
    call_id: CallId


# -- media (issue #5): a party's WebRTC offer and the agent's snapshot; the media node's side -----------

SDP_MAX_CHARS = 20_000
"""An SDP offer or answer with every ICE candidate is a few kB; the limit keeps a message (and the push
to the media node that carries it) well under API Gateway's 32 KB frame."""
Sdp = Annotated[str, StringConstraints(min_length=1, max_length=SDP_MAX_CHARS)]
Party = Literal["mobile", "agent"]
AttachParty = Literal["mobile", "agent", "monitor"]  # monitor: a supervisor listening (issue #16)
LinkStatus = Literal["none", "new", "connecting", "up", "lost", "closed"]
ObjectKey = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
ErrorCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]


class MediaOffer(_Signed):
    """A party's WebRTC offer (complete SDP: aiortc and browsers gather every ICE candidate first) for
    the call's media node. The mobile sends it once its call is queued or ringing, the agent after
    ``call.connected``; both parties of a call-back after ``call.connected``; either party again after
    a reconnect (a fresh peer connection to the same node). Answered by ``ack``; then the push
    ``media.answer`` with this ``request_id``, or an ``error`` with it."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MOBILE, Role.AGENT})
    action: Literal["media.offer"]
    call_id: CallId
    sdp: Sdp


class MediaSnapshot(_Signed):
    """The agent asks for the decision snapshot of the customer's video (seed 002 step 15). Answered by
    ``ack``; then the push ``media.snapshot_taken`` with this ``request_id``, or an ``error`` with it."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.AGENT})
    action: Literal["media.snapshot"]
    call_id: CallId


class ReplyTo(_Message):
    """Where the media node's answer to a party goes: the party's connection and request id, handed
    to the node in ``media.attach`` / ``media.snapshot_request`` and echoed back unchanged."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    connection_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    request_id: RequestId


class LinkStates(_Message):
    """The node's view of both parties' peer connections (``none``: not attached)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    mobile: LinkStatus
    agent: LinkStatus


class NodeMediaAnswer(_Signed):
    """Media node: its SDP answer to a party's offer (``media.attach``). Answered by ``ack``; the
    party gets ``media.answer``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MEDIA})
    action: Literal["media.answer"]
    call_id: CallId
    party: AttachParty
    sdp: Sdp
    reply_to: ReplyTo


class NodeSnapshotTaken(_Signed):
    """Media node: the snapshot it took for ``media.snapshot_request`` (integers only, as every signed
    message: sharpness in tenths, time in ms). Answered by ``ack``; the agent gets
    ``media.snapshot_taken``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MEDIA})
    action: Literal["media.snapshot_taken"]
    call_id: CallId
    reply_to: ReplyTo
    snapshot_id: CallId
    key: ObjectKey = Field(description="S3 key of the JPEG in the media bucket")
    face_found: bool
    face_box: (
        Annotated[list[Annotated[int, Field(ge=0, le=100_000)]], Field(min_length=4, max_length=4)] | None
    )
    sharpness_tenths: int = Field(ge=0, le=2**53 - 1)
    taken_at_ms: Millis
    width: int = Field(ge=1, le=100_000)
    height: int = Field(ge=1, le=100_000)


class NodeMediaEvent(_Signed):
    """Media node: a party's peer connection went up or was lost; ``links`` is the node's view of
    both parties after it. Answered by ``ack``; both links up connects an answered call."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MEDIA})
    action: Literal["media.event"]
    call_id: CallId
    kind: Literal["link.up", "link.lost"]
    party: Party
    stream: int = Field(ge=1, le=1_000_000, description="the party's peer connection number (+1 per attach)")
    links: LinkStates


class NodeRecording(_Signed):
    """Media node: a call's recording is closed (``media.close``, the node's shutdown) or recovered
    (``media.recover``). ``key`` null when no media ever arrived. Answered by ``ack``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MEDIA})
    action: Literal["media.recording"]
    call_id: CallId
    key: ObjectKey | None
    size: int = Field(ge=0, le=2**53 - 1)
    duration_ms: int = Field(ge=0, le=2**53 - 1)
    sha256: Sha256Hex | None
    incomplete: bool
    end_reason: ShortText | None = None


class NodeMediaError(_Signed):
    """Media node: an order failed (``op``); ``code`` is a catalogue code (``MEDIA_*``, ``RECORDING_*``).
    With ``reply_to``, the party that asked gets the ``error``. Answered by ``ack``."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MEDIA})
    action: Literal["media.error"]
    call_id: CallId
    op: Literal["attach", "snapshot", "close", "recover"]
    code: ErrorCode
    message: Annotated[str, StringConstraints(max_length=500)] = ""
    party: AttachParty | None = None
    reply_to: ReplyTo | None = None


class NodeSync(_Signed):
    """Media node: the calls it carries (after connecting, then every 30 s). Answered by
    ``media.sync_result`` naming those signaling knows to be over, for the node to close."""

    ROLES: ClassVar[frozenset[Role]] = frozenset({Role.MEDIA})
    action: Literal["media.sync"]
    call_ids: Annotated[list[CallId], Field(max_length=1000)]


ClientMessage = Annotated[
    Hello
    | Ping
    | Bye
    | AgentSetStatus
    | SupervisorSetAgentStatus
    | SupervisorMonitor
    | SupervisorMonitorStop
    | MonitorSnapshot
    | NodeHeartbeat
    | CallRequest
    | CallCancel
    | CallHangup
    | OfferAccept
    | OfferReject
    | CallDecide
    | DeviceRegister
    | DeviceUnregister
    | CallbackStart
    | CallbackCancel
    | CallbackAccept
    | CallbackDecline
    | MediaOffer
    | MediaSnapshot
    | NodeMediaAnswer
    | NodeSnapshotTaken
    | NodeMediaEvent
    | NodeRecording
    | NodeMediaError
    | NodeSync,
    Field(discriminator="action"),
]
CLIENT_MESSAGE: TypeAdapter[Any] = TypeAdapter(ClientMessage, config=ConfigDict(defer_build=True))
CLIENT_ACTIONS: dict[str, type[_ClientMessage]] = {
    cls.model_fields["action"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (
        Hello,
        Ping,
        Bye,
        AgentSetStatus,
        SupervisorSetAgentStatus,
        SupervisorMonitor,
        SupervisorMonitorStop,
        MonitorSnapshot,
        NodeHeartbeat,
        CallRequest,
        CallCancel,
        CallHangup,
        OfferAccept,
        OfferReject,
        CallDecide,
        DeviceRegister,
        DeviceUnregister,
        CallbackStart,
        CallbackCancel,
        CallbackAccept,
        CallbackDecline,
        MediaOffer,
        MediaSnapshot,
        NodeMediaAnswer,
        NodeSnapshotTaken,
        NodeMediaEvent,
        NodeRecording,
        NodeMediaError,
        NodeSync,
    )
}


# -- server → client --------------------------------------------------------------------------------


class IceServer(BaseModel):
    """An ICE server for a party's peer connection, as WebRTC's ``RTCIceServer``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    urls: list[Annotated[str, StringConstraints(pattern=r"^(stun|stuns|turn|turns):\S{1,250}$")]] = Field(
        min_length=1, max_length=8
    )
    username: Annotated[str, StringConstraints(max_length=256)] | None = None
    credential: Annotated[str, StringConstraints(max_length=256)] | None = None


class Welcome(_Message):
    """Answer to ``session.hello``: the session's key and how to keep it alive."""

    action: Literal["session.welcome"] = "session.welcome"
    request_id: str
    protocol: int
    session_id: str
    role: Role
    principal_id: str = Field(description="agent id, username, node id, or the mobile's dealer account")
    unit_id: str
    session_key: str = Field(description="base64url; signs every later message of this session")
    resume_token: str = Field(
        description="reconnect with ?resume=<token> within the grace to keep the session"
    )
    resumed: bool = Field(description="true when this connection resumed an existing session")
    last_seq: int = Field(description="the last accepted seq: continue from last_seq + 1")
    server_time_ms: int
    heartbeat_interval_s: int = Field(description="send ping at least this often")
    reconnect_grace_s: int = Field(description="a dropped session is kept this long")
    renew_after_s: int = Field(description="reconnect (with the resume token) before the 2-hour socket cap")
    ice_servers: list[IceServer] = Field(
        default_factory=list,
        description="the ICE servers (STUN/TURN) to give the call's peer connection; empty: none needed",
    )


class Pong(_Message):
    action: Literal["pong"] = "pong"
    request_id: str
    server_time_ms: int


class Ack(_Message):
    action: Literal["ack"] = "ack"
    request_id: str


class Error(_Message):
    """Every failure. ``code`` is stable (see docs/errors.md); ``message`` is for people."""

    action: Literal["error"] = "error"
    code: str
    message: str
    request_id: str | None = None
    call_id: str | None = None


class SessionReplaced(_Message):
    """Sent to a device whose session a login on another device took over; the socket then closes."""

    action: Literal["session.replaced"] = "session.replaced"
    code: Literal["SESSION_REPLACED"] = "SESSION_REPLACED"
    message: str


class SessionEnded(_Message):
    action: Literal["session.ended"] = "session.ended"
    reason: str


class PeerReconnecting(_Message):
    """The other party's socket dropped; it has ``grace_s`` seconds to come back."""

    action: Literal["peer.reconnecting"] = "peer.reconnecting"
    role: Role
    grace_s: int
    call_id: str | None = None


class MediaLinks(_Message):
    """To the agent (issue #16): the media node's view of both parties' links to it, after each change it
    reports (``link.up``, ``link.lost``): what the page's network indicator shows for the customer's
    side beside its own ``getStats``."""

    action: Literal["media.links"] = "media.links"
    call_id: str
    links: LinkStates


class PeerReconnected(_Message):
    action: Literal["peer.reconnected"] = "peer.reconnected"
    role: Role
    call_id: str | None = None


class PeerLeft(_Message):
    """The other party is gone for good (grace expired, or it ended its session)."""

    action: Literal["peer.left"] = "peer.left"
    role: Role
    reason: str
    call_id: str | None = None


class AgentStatus(_Message):
    action: Literal["agent.status"] = "agent.status"
    request_id: str | None = None
    agent_id: str
    status: str = Field(description="OFFLINE, AVAILABLE, UNAVAILABLE, RINGING, IN_CALL or WRAP_UP")
    since_ms: int
    by: str | None = None  # the supervisor who set it (supervisor.set_agent_status), with their reason
    reason: str | None = None


class AgentRow(_Message):
    agent_id: str
    name: str
    unit_id: str
    status: str
    since_ms: int
    call_id: str | None = Field(
        default=None, description="the call the agent is ringing for, in, or wrapping up (null when none)"
    )


class QueueRow(_Message):
    """The queue of one serving unit: the calls waiting for one of its agents (none ringing yet)."""

    unit_id: str = Field(description="the serving unit whose agents the calls wait for")
    waiting: int
    oldest_since_ms: int | None = Field(
        default=None, description="when the longest-waiting call was placed; null if none"
    )


class TilesRow(_Message):
    """Today's figures of one serving unit and the units it serves (docs/reports.md defines each)."""

    unit_id: str = Field(description="the serving unit")
    date: str = Field(description="today, in the serving unit's time zone (YYYY-MM-DD)")
    queued: int
    answered: int
    abandoned: int
    service_level_percent: float | None = Field(
        default=None, description="null before the first call left the queue"
    )
    sla_target_percent: float
    sla_answer_within_s: int
    avg_speed_of_answer_s: float | None = None
    longest_wait_today_s: float | None = None
    waiting: int = Field(description="calls waiting for an agent now")
    oldest_since_ms: int | None = Field(
        default=None, description="when the longest-waiting call was placed; null if none"
    )
    agents: dict[str, int] = Field(description="how many agents are in each status now")


class MonitorAgents(_Message):
    action: Literal["monitor.agents"] = "monitor.agents"
    request_id: str
    agents: list[AgentRow]
    queues: list[QueueRow] = Field(default_factory=list)
    tiles: list[TilesRow] = Field(default_factory=list, description="one per serving unit")


class MonitorAgent(_Message):
    """To supervisors (push): one agent of their units changed (status, current call)."""

    action: Literal["monitor.agent"] = "monitor.agent"
    agent: AgentRow


class MonitorQueue(_Message):
    """To supervisors (push): the queue of one of their serving units changed."""

    action: Literal["monitor.queue"] = "monitor.queue"
    queue: QueueRow


class MonitorTiles(_Message):
    """To supervisors (push): today's figures of one of their serving units changed."""

    action: Literal["monitor.tiles"] = "monitor.tiles"
    tiles: TilesRow


class DossierImagesView(_Message):
    id_front: str | None = None
    id_back: str | None = None
    portrait: str | None = None


class DossierView(_Message):
    """What the agent sees of the dossier next to the live video (and the mobile gets in the result)."""

    dossier_id: str
    unit_id: str
    state: str
    subscriber: str | None = None
    sub_type: str | None = None
    customer_type: str | None = None
    payment_type: str | None = None
    customer_name: str | None = None
    id_number: str | None = None
    dealer_account: str | None = None
    images: DossierImagesView = Field(default_factory=DossierImagesView)


class CallQueued(_Message):
    """The call exists and waits for an agent; ``position`` 1 is next."""

    action: Literal["call.queued"] = "call.queued"
    request_id: str | None = None
    call_id: str
    position: int


class CallRinging(_Message):
    """The call rings at an agent: the reply to ``call.request`` when one rang at once (with its
    ``request_id``), else a push, again for each agent it rings at."""

    action: Literal["call.ringing"] = "call.ringing"
    request_id: str | None = None
    call_id: str


class CallOffer(_Message):
    """The ringing popup at an agent: answer with offer.accept / offer.reject before ``expires_at_ms``."""

    action: Literal["call.offer"] = "call.offer"
    offer_id: str
    call_id: str
    ring_timeout_s: int
    expires_at_ms: int
    dossier: DossierView


class OfferWithdrawn(_Message):
    """The popup is gone: the caller hung up, it rang out, or the call was given up."""

    action: Literal["offer.withdrawn"] = "offer.withdrawn"
    offer_id: str
    call_id: str
    reason: str


class CallConnected(_Message):
    action: Literal["call.connected"] = "call.connected"
    request_id: str | None = None
    call_id: str
    agent_id: str
    agent_name: str


class CallEnded(_Message):
    action: Literal["call.ended"] = "call.ended"
    request_id: str | None = None
    call_id: str
    state: str = Field(
        description="the call's final state: FINISHED, E (caller hung up) or T; for a call-back C, E "
        "(agent cancelled), T (not answered or declined) or F (swept)"
    )
    reason: str
    ended_by: str


class CallDecided(_Message):
    """Reply to call.decide: the dossier's new state; the agent is available again."""

    action: Literal["call.decided"] = "call.decided"
    request_id: str
    call_id: str
    dossier_id: str
    dossier_state: str


class ResultMedia(_Message):
    """What the dealer's app may show with the result, as pre-signed GET URLs (fetch them with a plain
    GET, no credentials, before ``expires_at``): the ID card's front and back and the portrait the
    decision was made on, and the agent's snapshot of the call. ``null`` where there is none."""

    id_front: str | None = None
    id_back: str | None = None
    portrait: str | None = None
    snapshot: str | None = None
    expires_at: str = Field(description="ISO 8601 (UTC): the URLs stop working then.")


class CallResult(_Message):
    """To the mobile (seed 002 step 16): the decision with the references to the evidence."""

    action: Literal["call.result"] = "call.result"
    call_id: str
    decision: str
    reason: str
    dossier: DossierView
    snapshot_id: str | None = None
    media: ResultMedia | None = None
    dossier_href: str | None = Field(
        None,
        description="Where the integrator's backend reads the dossier, its decision and the whole evidence "
        "(`GET` with the unit's API key).",
    )


class DeviceRegistered(_Message):
    """Reply to device.register: the device is where this subscriber's call-backs ring."""

    action: Literal["device.registered"] = "device.registered"
    request_id: str
    device_id: str
    unit_id: str
    new_registration: bool = Field(
        description="true when this registration took one of the unit's licences (the subscriber was "
        "not registered in the unit before)"
    )


class DeviceUnregistered(_Message):
    """Reply to device.unregister. ``released``: the registration was this device's and is gone, its
    licence freed; false when nothing was registered for this device (already released, or another
    device registered since), in which case nothing changed."""

    action: Literal["device.unregistered"] = "device.unregistered"
    request_id: str
    device_id: str
    unit_id: str
    released: bool


class CallbackRinging(_Message):
    """Reply to callback.start: the call-back exists and rings at the mobile until ``expires_at_ms``."""

    action: Literal["callback.ringing"] = "callback.ringing"
    request_id: str
    call_id: str
    dossier_id: str
    ring_timeout_s: int
    expires_at_ms: int
    mobile_online: bool = Field(
        description="whether the registered device's session was connected when it was rung; if not, "
        "it is rung when it registers again before the deadline"
    )


class CallbackIncoming(_Message):
    """To the mobile: an agent calls back. Answer with callback.accept / callback.decline before
    ``expires_at_ms``."""

    action: Literal["callback.incoming"] = "callback.incoming"
    call_id: str
    dossier_id: str
    agent_id: str
    agent_name: str
    ring_timeout_s: int
    expires_at_ms: int


# -- media (issue #5) ------------------------------------------------------------------------------------


class MediaAnswer(_Message):
    """To the party that sent ``media.offer`` (with its ``request_id``): the media node's SDP answer."""

    action: Literal["media.answer"] = "media.answer"
    request_id: str
    call_id: str
    sdp: str


class MediaSnapshotTaken(_Message):
    """To the agent that sent ``media.snapshot`` (with its ``request_id``): the snapshot, stamped with
    the date, time and call id. ``face_found`` false: ask the customer to face the camera and take it
    again. ``snapshot_id`` is what ``call.decide`` carries."""

    action: Literal["media.snapshot_taken"] = "media.snapshot_taken"
    request_id: str
    call_id: str
    snapshot_id: str
    face_found: bool
    face_box: list[int] | None = Field(description="[x, y, width, height] of the face in pixels, or null")
    sharpness: float = Field(description="variance of the Laplacian: under ~50 the picture is blurred")
    taken_at: str = Field(description="when the frame was captured, ISO 8601 in UTC")
    width: int
    height: int


class MediaAttach(_Message):
    """To a media node: open the call if needed (``waiting_media``: an S3 key, or null for the default
    clip; ``answered``: the agent already answered) and answer ``party``'s offer with ``media.answer``
    (or ``media.error``), echoing ``reply_to``. A party already attached is reconnecting."""

    action: Literal["media.attach"] = "media.attach"
    call_id: str
    party: AttachParty
    sdp: str
    answered: bool
    waiting_media: str | None = None
    reply_to: ReplyTo


class MediaDetach(_Message):
    """To a media node: close the ``monitor`` link of the call (the supervisor stopped listening).
    Nothing is answered."""

    action: Literal["media.detach"] = "media.detach"
    call_id: str
    party: Literal["monitor"] = "monitor"


class MediaSnapshotRequest(_Message):
    """To a media node: take the decision snapshot; answer with ``media.snapshot_taken`` or
    ``media.error``, echoing ``reply_to``."""

    action: Literal["media.snapshot_request"] = "media.snapshot_request"
    call_id: str
    reply_to: ReplyTo


class MediaClose(_Message):
    """To a media node: the call ended; hang up its media, finalize the recording, report it with
    ``media.recording``. Closing a call the node does not carry is not an error."""

    action: Literal["media.close"] = "media.close"
    call_id: str
    reason: str


class MediaRecover(_Message):
    """To a media node: the node that carried the call died; assemble its recording from the parts in
    S3 (not if the newest part is younger than ``min_idle_s``) and report it with ``media.recording``."""

    action: Literal["media.recover"] = "media.recover"
    call_id: str
    min_idle_s: int


class MediaSyncResult(_Message):
    """Reply to ``media.sync``: the calls of the list that are over (or unknown, or another node's)."""

    action: Literal["media.sync_result"] = "media.sync_result"
    request_id: str
    ended: list[str]


ServerMessage = Annotated[
    Welcome
    | Pong
    | Ack
    | Error
    | SessionReplaced
    | SessionEnded
    | PeerReconnecting
    | PeerReconnected
    | MediaLinks
    | PeerLeft
    | AgentStatus
    | MonitorAgents
    | MonitorAgent
    | MonitorQueue
    | MonitorTiles
    | CallQueued
    | CallRinging
    | CallOffer
    | OfferWithdrawn
    | CallConnected
    | CallEnded
    | CallDecided
    | CallResult
    | DeviceRegistered
    | DeviceUnregistered
    | CallbackRinging
    | CallbackIncoming
    | MediaAnswer
    | MediaSnapshotTaken
    | MediaAttach
    | MediaDetach
    | MediaSnapshotRequest
    | MediaClose
    | MediaRecover
    | MediaSyncResult,
    Field(discriminator="action"),
]
SERVER_MESSAGE: TypeAdapter[Any] = TypeAdapter(ServerMessage, config=ConfigDict(defer_build=True))
