"""The error catalogue: every code a client can receive, with what it means and what to do; and the
warnings' (``WARNINGS``), which a successful answer may carry.

Codes are stable: clients switch on them. ``docs/errors.md`` is generated from this catalogue
(``python -m vkyc.protocol.schema``) and a test fails when it is stale. Seed 003's codes are kept
where they apply (e.g. ``AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Area(StrEnum):
    PROTOCOL = "protocol"
    AUTH = "authentication and sessions"
    SECURITY = "message authentication"
    STATE = "state"
    CALL = "calls"
    MEDIA = "media"
    INTEGRATION = "integrator API and webhooks"
    ADMIN = "administration"
    SERVER = "server"


@dataclass(frozen=True)
class ErrorInfo:
    code: str
    area: Area
    http_status: int  # the status when the same error answers a REST call
    message: str  # shown to the user, in English (the web client translates by code)
    when: str
    what_to_do: str


_CATALOGUE = [
    # -- protocol -------------------------------------------------------------------------------
    ErrorInfo(
        "BAD_JSON",
        Area.PROTOCOL,
        400,
        "The message is not valid JSON.",
        "A WebSocket message or a REST body could not be parsed as JSON, is not UTF-8, or nests arrays "
        "and objects deeper than 32 levels.",
        "Send one JSON object per message, UTF-8 encoded; no message of the protocol nests deeper than a "
        "few levels.",
    ),
    ErrorInfo(
        "BAD_MESSAGE",
        Area.PROTOCOL,
        400,
        "The message does not match the protocol.",
        "A field is missing, has the wrong type or is out of range; the message names the field.",
        "Fix the field named in the message; see docs/protocol.md and the JSON Schema.",
    ),
    ErrorInfo(
        "UNKNOWN_ACTION",
        Area.PROTOCOL,
        400,
        "Unknown action.",
        "The `action` names no message of this protocol version.",
        "Check the action name and the protocol version your client speaks.",
    ),
    ErrorInfo(
        "UNSUPPORTED_PROTOCOL",
        Area.PROTOCOL,
        400,
        "This protocol version is not supported.",
        "`session.hello` asked for a protocol version the server does not speak.",
        "Upgrade the SDK, or ask for a version listed in the error message.",
    ),
    ErrorInfo(
        "HELLO_REQUIRED",
        Area.PROTOCOL,
        400,
        "Send session.hello first.",
        "A signed message (anything but `session.hello`) arrived before the session key was handed out.",
        "Send `session.hello` right after connecting and wait for `session.welcome`.",
    ),
    ErrorInfo(
        "FORBIDDEN_ACTION",
        Area.PROTOCOL,
        403,
        "Your role may not send this action.",
        "A connection sent an action reserved for another role (e.g. a mobile sending an agent action), "
        "or a REST call came with the token of a role the endpoint does not serve (e.g. an agent asking "
        "for a supervisor's call lookup).",
        "Use the action set of your role; see the role column in docs/protocol.md and the roles of each "
        "endpoint in docs/openapi.json.",
    ),
    ErrorInfo(
        "RATE_LIMITED",
        Area.PROTOCOL,
        429,
        "Too many messages: slow down.",
        "A connection sent messages faster than its allowance (docs/security.md: 10 per second after a "
        "burst of 60 for people's connections, 100 per second after 600 for media nodes, and 3 "
        "`session.hello` then one per 10 s). The message was not looked at; nothing changed.",
        "Wait a second and send again; a client that follows the protocol never meets this.",
    ),
    ErrorInfo(
        "PAYLOAD_TOO_LARGE",
        Area.PROTOCOL,
        413,
        "The request body is too large.",
        "A REST body larger than its endpoint accepts (64 KB for the JSON bodies of version 1; API "
        "Gateway refuses anything over 10 MB before it reaches vkyc).",
        "Send the body the endpoint documents; none of version 1 comes near the limit.",
    ),
    ErrorInfo(
        "UNSUPPORTED_MEDIA_TYPE",
        Area.PROTOCOL,
        415,
        "The request body must be JSON.",
        "A REST body came with a `Content-Type` other than `application/json` (for example curl's "
        "default `application/x-www-form-urlencoded` when `-d` is given without a header).",
        "Send `Content-Type: application/json` with a JSON body.",
    ),
    ErrorInfo(
        "METHOD_NOT_ALLOWED",
        Area.PROTOCOL,
        405,
        "This endpoint does not take that HTTP method.",
        "A REST call used a method the path does not have (e.g. `GET /auth/login`).",
        "Use the method docs/openapi.json gives for the path.",
    ),
    # -- authentication and sessions ------------------------------------------------------------
    ErrorInfo(
        "AUTH_REQUIRED",
        Area.AUTH,
        401,
        "Authentication is required.",
        "A REST call came without its API key or token.",
        "Send the `x-api-key` header (integrators) or log in first.",
    ),
    ErrorInfo(
        "API_KEY_INVALID",
        Area.AUTH,
        401,
        "The API key is unknown or revoked.",
        "An integrator called with an API key that is not (or no longer) valid.",
        "Check the key configured for your unit; ask an admin for a new one if it was revoked.",
    ),
    ErrorInfo(
        "INVALID_CREDENTIALS",
        Area.AUTH,
        401,
        "Wrong username or password.",
        "A login with an unknown username or a wrong password (the two are not told apart); or, at "
        "`POST /auth/node`, a `node_key` that is not the key of that `node_id` (a node's key is bound to its "
        "id: the key of another node is refused like a wrong one).",
        "Check the username and password; after repeated failures ask an admin to reset the password. A "
        "media node: use the key printed for its own id (`python -m vkyc.security.node_keys <node-id>`).",
    ),
    ErrorInfo(
        "TOO_MANY_ATTEMPTS",
        Area.AUTH,
        429,
        "Too many failed attempts: wait before trying again.",
        "Logins to this account, or credentials sent from this address, failed too often (docs/security.md: "
        "5 failures of an account, 30 of an address, then a wait that doubles with each further failure, "
        "up to 15 minutes for an account and 5 for an address). While it lasts even the right password is "
        "refused; the `Retry-After` header and the message give the seconds left.",
        "Wait the seconds given, then try again with the right credentials; if you did not cause it, "
        "tell an admin: the login audit shows the attempts.",
    ),
    ErrorInfo(
        "ACCOUNT_DISABLED",
        Area.AUTH,
        403,
        "This account is disabled.",
        "A login to an account an admin disabled.",
        "Ask an admin of your unit.",
    ),
    ErrorInfo(
        "TOKEN_INVALID",
        Area.AUTH,
        401,
        "The session token is not valid.",
        "A token that is malformed, signed by another key, or of the wrong kind.",
        "Obtain a new token (log in again, or ask the integrator backend for a new one).",
    ),
    ErrorInfo(
        "TOKEN_EXPIRED",
        Area.AUTH,
        401,
        "The session token has expired.",
        "A token used after its expiry time.",
        "Obtain a new token; mobile tokens live a few minutes, so fetch one right before calling.",
    ),
    ErrorInfo(
        "TOKEN_REVOKED",
        Area.AUTH,
        401,
        "The session token was revoked.",
        "A token presented after it was revoked: its session said `session.bye` or logged out, or the "
        "account changed since it was issued (disabled, new password, another role or unit).",
        "Log in again (`POST /auth/login`) or, for a mobile, fetch a new token.",
    ),
    ErrorInfo(
        "NOT_FOUND",
        Area.AUTH,
        404,
        "Not found.",
        "A REST call named a dossier, user, path or other item that does not exist, or a dossier of a "
        "unit the caller does not serve (ids are not probed); also `callback.start` naming a dossier its "
        "agent's unit does not serve, and `device.register` from a session whose dossier has no "
        "subscriber number.",
        "Check the id.",
    ),
    ErrorInfo(
        "DOSSIER_OTHER_UNIT",
        Area.AUTH,
        403,
        "The dossier belongs to another unit.",
        "An integrator asked for a session on a dossier of a unit its API key does not belong to.",
        "Use the API key of the dossier's unit.",
    ),
    ErrorInfo(
        "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL",
        Area.AUTH,
        409,
        "This agent account is ringing or in a call on another device.",
        "A second login to an agent account while its session on another device is ringing or in a "
        "call (seed 003: shared accounts, or a reload during a call); also a call-back started by an "
        "agent who is ringing or in a call.",
        "Finish the call on the other device, or wait for it to end; give every person their own account. "
        "Reloading the page does not cause this: a reload resumes the session.",
    ),
    ErrorInfo(
        "SESSION_REPLACED",
        Area.AUTH,
        409,
        "You logged in on another device.",
        "Sent (as `session.replaced`) to a device whose session another login took over.",
        "Use the newest device, or log in here again to take the session back.",
    ),
    ErrorInfo(
        "SESSION_ENDED",
        Area.AUTH,
        410,
        "The session has ended.",
        "A resume token of a session that ended (grace expired, logged out, replaced).",
        "Log in again (agents) or obtain a new token (mobile).",
    ),
    ErrorInfo(
        "UNIT_NOT_SERVED",
        Area.AUTH,
        403,
        "This unit is not among the units you serve.",
        "A report (REST, with the token of `POST /auth/login`) named in its `unit_id` parameter a unit "
        "that the caller's unit does not serve (the serving map: unit 1 serves 1, 4 and 6). A lookup of "
        "one dossier or call of such a unit answers `NOT_FOUND` or `CALL_NOT_FOUND` instead, as if it "
        "did not exist: ids are not probed.",
        "Ask for one of your units; `GET /units` shows who serves whom.",
    ),
    ErrorInfo(
        "REPORT_RANGE_TOO_LONG",
        Area.PROTOCOL,
        400,
        "The report's range is too long for its buckets.",
        "A report (`GET /reports/...`) asked for more days than its buckets allow: 2 days of 15-minute "
        "buckets, 7 days of hours, 92 days of days, 13 months of weeks or months (and of the call list, "
        "the agents and the errors reports); the message says the limit.",
        "Shorten the range (`from`, `to`) or choose larger buckets.",
    ),
    ErrorInfo(
        "REPORT_FILTERS_UNSUPPORTED",
        Area.PROTOCOL,
        400,
        "These report filters cannot be combined.",
        "The summary counts calls by direction together with at most one of SUB_TYPE, customer type and "
        "dealer channel; an agent's or a group's work by direction only, and not per queue or per "
        "caller's unit (docs/reports.md). The message names what to drop.",
        "Drop one of the filters, or ask two reports.",
    ),
    # -- message authentication -----------------------------------------------------------------
    ErrorInfo(
        "MAC_INVALID",
        Area.SECURITY,
        401,
        "The message signature is not valid.",
        "A message whose `mac` does not match its content under the session key (forged or altered).",
        "Sign every message after `session.welcome` with the session key (see docs/protocol.md); "
        "do not change a message after signing it.",
    ),
    ErrorInfo(
        "SEQ_REPLAYED",
        Area.SECURITY,
        409,
        "This message was already received.",
        "A message whose `seq` is not above the last accepted one (a replay, or a duplicate send).",
        "Number messages 1, 2, 3… per session; after a resume continue from `last_seq` of the welcome.",
    ),
    ErrorInfo(
        "SEQ_OUT_OF_WINDOW",
        Area.SECURITY,
        409,
        "The message number is too far ahead.",
        "A message whose `seq` jumps more than the window (1000) past the last accepted one.",
        "Continue numbering from the last accepted `seq`; never skip ahead.",
    ),
    ErrorInfo(
        "MESSAGE_EXPIRED",
        Area.SECURITY,
        408,
        "The message is too old or from the future.",
        "A message whose `ts` is more than 60 s away from the server's clock.",
        "Send messages as they are made, and keep the device clock right (use `server_time_ms` of "
        "`session.welcome` to correct an offset).",
    ),
    # -- state ----------------------------------------------------------------------------------
    ErrorInfo(
        "ILLEGAL_TRANSITION",
        Area.STATE,
        409,
        "That is not possible in the current state.",
        "The request asks for a move the state machine does not allow (e.g. going offline while in a call).",
        "Refresh the state shown and try an action that the current state allows.",
    ),
    ErrorInfo(
        "STATE_CONFLICT",
        Area.STATE,
        409,
        "Someone else changed this at the same moment.",
        "A concurrent change won the race for the same item.",
        "Refresh and retry if the action still makes sense.",
    ),
    # -- calls: eligibility --------------------------------------------------------------------------
    ErrorInfo(
        "DOSSIER_ALREADY_APPROVED",
        Area.CALL,
        409,
        "This dossier is already approved.",
        "A call was requested for a dossier in state A (approved): no video call is needed.",
        "Nothing to do: the subscriber is verified.",
    ),
    ErrorInfo(
        "DOSSIER_REJECTED",
        Area.CALL,
        409,
        "This dossier was rejected.",
        "A call was requested for a dossier in state R, which is final.",
        "Create a new dossier for the subscriber if the reason for the rejection is fixed.",
    ),
    ErrorInfo(
        "DOSSIER_IN_POST_AUDIT",
        Area.CALL,
        409,
        "This dossier is in post-audit.",
        "A call was requested for a dossier in state C: the back office reviews it, no call is placed.",
        "Wait for the back-office review.",
    ),
    ErrorInfo(
        "KYC_AT_COUNTER_REQUIRED",
        Area.CALL,
        409,
        "This subscriber must be verified at the counter.",
        'The dossier is flagged "KYC at the counter required": video verification is not allowed.',
        "Send the customer to a counter of the operator.",
    ),
    ErrorInfo(
        "VIDEO_CALL_NOT_REQUIRED",
        Area.CALL,
        409,
        "No video call is required for this subscription.",
        "The SUB_TYPE policy says this subscription type and customer type need no video call "
        "(or the subscription is postpaid).",
        "Continue the sale without video verification.",
    ),
    ErrorInfo(
        "UNKNOWN_SUB_TYPE",
        Area.CALL,
        422,
        "The dossier's SUB_TYPE is not in the policy table.",
        "The dossier names a subscription type the SUB_TYPE policy table does not list.",
        "Ask an admin to add the SUB_TYPE to the policy table, or correct the dossier.",
    ),
    ErrorInfo(
        "SUBSCRIBER_BLACKLISTED",
        Area.CALL,
        403,
        "This subscriber number is blacklisted.",
        "The dossier's subscriber number is on the blacklist in the settings.",
        "Ask an admin of your unit; the number must be removed from the blacklist first.",
    ),
    ErrorInfo(
        "DOSSIER_IMAGES_REQUIRED",
        Area.CALL,
        409,
        "The dossier's ID card or portrait images are missing.",
        "A call was requested for a dossier created through the integrator API whose ID card front, back "
        "or portrait has no accepted upload yet (none was uploaded, the upload is still being checked, or "
        "it failed its check); the message names the images. The SUB_TYPE policy said a call is needed.",
        "The integrator uploads the images (`POST /v1/dossiers/{id}/images`) and waits until "
        "`GET /v1/dossiers/{id}` shows each `valid`; then call again.",
    ),
    ErrorInfo(
        "DAILY_CALL_LIMIT_REACHED",
        Area.CALL,
        429,
        "Too many successful calls for this subscriber today.",
        "The optional daily cap of successful calls per subscriber is reached.",
        "Try again tomorrow, or ask an admin to raise the cap.",
    ),
    ErrorInfo(
        "CALL_IN_PROGRESS",
        Area.CALL,
        409,
        "A call for this dossier is already in progress.",
        "A call was requested while another call of the same dossier is waiting, ringing or connected.",
        "Continue the existing call, or hang it up first.",
    ),
    # -- calls: routing and the live call -------------------------------------------------------------
    ErrorInfo(
        "NO_AGENT_AVAILABLE",
        Area.CALL,
        503,
        "No agent is available right now.",
        "No agent of the serving unit accepted the call before the queue timeout.",
        "Try again later; agents' hours and queue times are set by the admins of the serving unit.",
    ),
    ErrorInfo(
        "CALL_NOT_FOUND",
        Area.CALL,
        404,
        "No such call.",
        "A message named a call id that does not exist, or that this session is not part of; on REST "
        "(`GET /calls/{call_id}`), a call that does not exist or belongs to a unit the supervisor does "
        "not serve (the two are not told apart).",
        "Use the call id of a call your session placed or answered, or, for a lookup, of your units.",
    ),
    ErrorInfo(
        "OFFER_NOT_FOUND",
        Area.CALL,
        404,
        "This call is no longer ringing for you.",
        "An agent answered an offer that does not exist, is another agent's, or has ended "
        "(rang out, withdrawn because the caller hung up).",
        "Nothing to do; wait for the next call.",
    ),
    ErrorInfo(
        "REASON_REQUIRED",
        Area.CALL,
        400,
        "A reason is required for this decision.",
        "A decision R (rejected), C (post-audit) or D (unreachable) came without a reason.",
        "Write the reason shown to the back office.",
    ),
    ErrorInfo(
        "DECISION_NOT_ALLOWED",
        Area.CALL,
        409,
        "This decision is not allowed through this call.",
        "`call.decide` named a call the agent is not holding now (the agent is in it, or in wrap-up "
        "after it), or the call lacks what the decision needs: A and C need a call that was answered "
        "and whose video reached both sides; R needs an answered call; D needs an answered call or a "
        "call-back nobody answered. A named snapshot must be one of the call's. Nothing was changed.",
        "Decide through the call you are in or wrapping up; if the video never connected, decide R or "
        "D with a reason, or call the customer back.",
    ),
    ErrorInfo(
        "FACE_SNAPSHOT_REQUIRED",
        Area.CALL,
        409,
        "Approval needs a snapshot with the customer's face.",
        "`call.decide` with A, while the setting `approve_requires_face` is on, on a call with no "
        "snapshot in which the media node found a face (or naming a snapshot without one). Nothing was "
        "changed.",
        "Ask the customer to face the camera, take a snapshot (`media.snapshot`) until `face_found` is "
        "true, then approve with that snapshot's id.",
    ),
    # -- calls: call-backs (agent → mobile) and device registration ----------------------------------
    ErrorInfo(
        "AGENT_FROM_NOT_FOUND",
        Area.CALL,
        404,
        "This agent is not known to the switchboard.",
        "An agent started a call-back, but the agent account names no agent of the switchboard (seed 003).",
        "Ask an admin of your unit to set the agent up again.",
    ),
    ErrorInfo(
        "FROM_NUMBER_NOT_FOUND",
        Area.CALL,
        404,
        "Your unit has no hotline to call out from.",
        "An agent started a call-back, but the agent's unit has no hotline (seed 003).",
        "Ask an admin of your unit to configure a hotline that allows call-out.",
    ),
    ErrorInfo(
        "FROM_NUMBER_NOT_ALLOWS_AGENT_CALL_OUT",
        Area.CALL,
        403,
        "You may not call customers back from your unit's hotline.",
        "An agent started a call-back, but no hotline of the agent's unit allows call-out, or none lets "
        "the agent's groups call out (seed 003).",
        "Ask an admin of your unit to allow call-out on the hotline for your group.",
    ),
    ErrorInfo(
        "TO_NUMBER_NOT_ALLOWS_CALLOUT",
        Area.CALL,
        403,
        "This customer's number may not be called.",
        "An agent started a call-back to a subscriber number on the blacklist (seed 003).",
        "Do not call this customer; ask an admin of the dossier's unit if the number should be removed "
        "from the blacklist.",
    ),
    ErrorInfo(
        "DEVICE_NOT_REGISTERED",
        Area.CALL,
        409,
        "The customer's device is not registered: it cannot be called back.",
        "An agent started a call-back, but no mobile device is registered for the dossier's subscriber "
        "(`device.register`). The attempt is recorded as a call-back in state I: `call_id` names it.",
        "Ask the dealer to open the eKYC screen for the dossier, so the app registers the device, then "
        "call back again.",
    ),
    ErrorInfo(
        "DEVICE_LIMIT_REACHED",
        Area.CALL,
        403,
        "Your unit's licence limit of registered devices is reached.",
        "A mobile registered a device for a new subscriber number while its unit already holds as many "
        "registrations as its licence allows (setting `device_licence_limit`).",
        "Registrations of numbers already registered still work. Ask the operator to raise the unit's limit.",
    ),
    # -- media (issue #5): the media node, recordings, snapshots, evidence -------------------------
    ErrorInfo(
        "MEDIA_NODE_UNAVAILABLE",
        Area.MEDIA,
        503,
        "No media node can carry the call right now.",
        "`media.offer` found no live media node (none has sent a heartbeat within 15 s), or the call's node "
        "could not be reached.",
        "Retry the offer after a few seconds; if it persists, the media nodes are down: tell support.",
    ),
    ErrorInfo(
        "MEDIA_NODE_FULL",
        Area.MEDIA,
        503,
        "This media node is at capacity.",
        "Every live media node carries as many calls as its capacity, or the node chosen refused the call "
        "because it filled up meanwhile.",
        "Retry the offer after a few seconds (another node is chosen); add nodes if it persists.",
    ),
    ErrorInfo(
        "MEDIA_NODE_LOST",
        Area.MEDIA,
        503,
        "The media node carrying the call stopped.",
        "Pushed (no `request_id`) to a caller still waiting for an agent when the node playing its waiting "
        "media died. A connected call ends instead (`call.ended`, reason `media_node_lost`).",
        "Close the peer connection and send `media.offer` again: another node takes the call.",
    ),
    ErrorInfo(
        "MEDIA_CALL_EXISTS",
        Area.MEDIA,
        409,
        "This call is already open on the media node.",
        "A media node was asked to open a call it already carries (internal to the node).",
        "Attach the parties to the open call instead of opening it again.",
    ),
    ErrorInfo(
        "MEDIA_BAD_CALL_ID",
        Area.MEDIA,
        400,
        "The call id cannot name media files.",
        "A call id that is empty, longer than 128 characters, or has characters other than letters, "
        "digits, `.`, `_` and `-` (it becomes part of S3 keys).",
        "Use the call id signaling issued.",
    ),
    ErrorInfo(
        "MEDIA_CALL_NOT_FOUND",
        Area.MEDIA,
        404,
        "The media node does not carry this call.",
        "The call's media node no longer carries it (the node restarted, or the call's media was closed).",
        "Send `media.offer` again; if the call has ended, nothing is to be done.",
    ),
    ErrorInfo(
        "MEDIA_CALL_STATE",
        Area.MEDIA,
        409,
        "The call's media cannot do this in its current state.",
        "`media.offer` for a call that has ended (or, for an agent, that is not answered yet), "
        "`media.snapshot` of a call that is not connected, or a media node asked to attach a party to a "
        "call whose media is closing. The message names the state.",
        "Follow the call's state: offer media while it waits or rings (mobile) or once connected (agent); "
        "take the snapshot during the call.",
    ),
    ErrorInfo(
        "MEDIA_BAD_PARTY",
        Area.MEDIA,
        400,
        "Unknown call party.",
        "A media node was given a party other than `mobile` or `agent` (internal to the node).",
        "Use `mobile` or `agent`.",
    ),
    ErrorInfo(
        "MEDIA_BAD_SDP",
        Area.MEDIA,
        400,
        "The WebRTC offer could not be used.",
        "The SDP of `media.offer` is malformed, is not an offer, or carries neither audio nor video.",
        "Send the offer exactly as the WebRTC stack created it (type offer, audio and video, every ICE "
        "candidate gathered).",
    ),
    ErrorInfo(
        "MEDIA_CODEC_UNSUPPORTED",
        Area.MEDIA,
        400,
        "The offer has no codec the media node relays (VP8 video, Opus audio).",
        "The offer of `media.offer` lists neither VP8 (video) nor Opus (audio).",
        "Enable VP8 and Opus in the client's WebRTC stack.",
    ),
    ErrorInfo(
        "MEDIA_NO_CUSTOMER_VIDEO",
        Area.MEDIA,
        409,
        "No video from the customer yet.",
        "`media.snapshot` while the mobile sends no video (not attached, or its media was lost).",
        "Wait until the customer's video shows, then take the snapshot again.",
    ),
    ErrorInfo(
        "MEDIA_SNAPSHOT_TIMEOUT",
        Area.MEDIA,
        504,
        "No full frame of the customer's video arrived in time.",
        "The customer's phone did not send a key frame within the snapshot timeout (3 s by default).",
        "Ask the customer to hold still on a better network, then take the snapshot again.",
    ),
    ErrorInfo(
        "MEDIA_SNAPSHOT_FAILED",
        Area.MEDIA,
        500,
        "The snapshot could not be decoded.",
        "The customer's key frame could not be decoded into a picture.",
        "Take the snapshot again; report the call id if it keeps failing.",
    ),
    ErrorInfo(
        "MEDIA_WAITING_MEDIA_INVALID",
        Area.MEDIA,
        422,
        "The waiting media file cannot be played.",
        "The S3 object configured as a queue's waiting media is missing or has no decodable video (the "
        "caller gets the default clip meanwhile).",
        "Upload a video file (any common container, 2 to 30 s) and configure its key again.",
    ),
    ErrorInfo(
        "MEDIA_STORAGE_ERROR",
        Area.MEDIA,
        500,
        "The media node could not read or write the media bucket.",
        "An S3 request of the media node failed after retries (a snapshot not stored, a recording not "
        "finalized: its parts stay in S3 and are recovered).",
        "Retry; check the bucket and the node's permissions (the message names the key).",
    ),
    ErrorInfo(
        "RECORDING_NOT_FOUND",
        Area.MEDIA,
        404,
        "There is no recording for this call.",
        "Neither a finished recording nor any recorded part exists for the call id.",
        "Check the call id; a call whose media never started has no recording.",
    ),
    ErrorInfo(
        "RECORDING_STILL_ACTIVE",
        Area.MEDIA,
        409,
        "The recording is still being written.",
        "Recovery was asked for a call whose newest recorded part is too recent: a node may still record it.",
        "Wait until the node is known dead (no heartbeat for 15 s) and retry; signaling retries by itself.",
    ),
    ErrorInfo(
        "MEDIA_NODE_NOT_ASSIGNED",
        Area.MEDIA,
        403,
        "This media node does not carry the call.",
        "A media node reported on a call (`media.answer`, `media.snapshot_taken`, `media.event`, "
        "`media.recording`, `media.error`) that signaling gave to another node or to none; for a recording "
        "(and its `media.error`), a node that signaling did not ask to recover it either. Nothing is stored; "
        "the node is also pushed `media.close` (reason `not_assigned`).",
        "Report only on the calls signaling attached to this node, or asked it to recover.",
    ),
    ErrorInfo(
        "MEDIA_KEY_OUTSIDE_CALL",
        Area.MEDIA,
        422,
        "The file is not stored under the call's own prefix.",
        "A media node reported a recording key outside `calls/<call_id>/`, or a snapshot key outside "
        "`calls/<call_id>/snapshots/`. Nothing is stored.",
        "Store a call's files under its own prefix (the media node's key layout) and report those keys.",
    ),
    ErrorInfo(
        "RECORDING_OBJECT_MISSING",
        Area.MEDIA,
        422,
        "The reported recording is not in the media bucket.",
        "`media.recording` named a key the media bucket does not hold. Nothing is stored.",
        "Upload the recording before reporting it; the report can then be sent again.",
    ),
    ErrorInfo(
        "RECORDING_MISMATCH",
        Area.MEDIA,
        422,
        "The reported recording does not match the stored file.",
        "`media.recording` gave a size or sha256 other than what the media bucket reports for the object, "
        "the bucket reports no SHA-256 of the whole object (it must be uploaded in one PutObject with "
        "`ChecksumAlgorithm` SHA256), or the facts contradict themselves (no key but a size; a key without "
        "a sha256). The message says which. Nothing is stored.",
        "Report the facts of the file as uploaded; upload it with its SHA-256 checksum.",
    ),
    ErrorInfo(
        "EVIDENCE_INVALID",
        Area.MEDIA,
        409,
        "The evidence bundle does not verify.",
        "A file listed in an evidence manifest is missing or its sha256 differs, or the manifest's own "
        "sha256 differs from the one stored on the dossier's log entry.",
        "Treat the dossier's evidence as tampered with; the message names the first mismatch.",
    ),
    ErrorInfo(
        "GET_USER_MEDIA_ERROR",
        Area.MEDIA,
        400,
        "The camera or microphone could not be opened.",
        "Raised on the device, never sent by the server: the SDK or the agent page could not open the "
        "camera or microphone (permission refused, no device, or the device in use by another app).",
        "Allow the camera and microphone for the app or page, close other apps using them, and try again.",
    ),
    # -- integrator API and webhooks ---------------------------------------------------------------
    ErrorInfo(
        "IDEMPOTENCY_KEY_REQUIRED",
        Area.INTEGRATION,
        400,
        "Send an Idempotency-Key header with this request.",
        "A `POST` of the integrator API (`/v1`) came without an `Idempotency-Key` header, or with one "
        "that is not 1 to 255 printable ASCII characters.",
        "Send a fresh random key (a UUID) with each new request, and the same key when you retry it.",
    ),
    ErrorInfo(
        "IDEMPOTENCY_KEY_REUSED",
        Area.INTEGRATION,
        409,
        "This Idempotency-Key was used for another request.",
        "A `POST` reused the `Idempotency-Key` of an earlier request of your unit (within 24 h) with a "
        "different path or body. Nothing was done; the earlier request's result stands.",
        "Use a new key for a new request; reuse a key only to retry the very same request.",
    ),
    ErrorInfo(
        "REQUEST_IN_PROGRESS",
        Area.INTEGRATION,
        409,
        "The first request with this Idempotency-Key is still running.",
        "A retry arrived while the request it repeats (same key, same body) had not finished.",
        "Retry after a second: you then get the first request's answer.",
    ),
    ErrorInfo(
        "DOSSIER_DECIDED",
        Area.INTEGRATION,
        409,
        "The dossier is decided: it can no longer change.",
        "`PUT /v1/dossiers/{id}` with a body other than the stored one, or `POST .../images`, for a "
        "dossier in state A, R, C or D. Nothing changed; the same body again answers 200.",
        "Read the decision with `GET /v1/dossiers/{id}`; a new verification needs a new dossier.",
    ),
    ErrorInfo(
        "IMAGE_TYPE_UNSUPPORTED",
        Area.INTEGRATION,
        422,
        "The upload is not a JPEG or PNG image of the declared type.",
        "An uploaded ID card or portrait image is neither JPEG nor PNG, or its content is another type "
        "than the form declared. The upload was discarded; the dossier keeps the image it had.",
        "Upload a JPEG or PNG, with the `Content-Type` the form was asked for.",
    ),
    ErrorInfo(
        "IMAGE_SIZE_OUT_OF_RANGE",
        Area.INTEGRATION,
        422,
        "The upload is too small or too large.",
        "An uploaded image is under 2 KB or over 10 MB (the form's policy states the range; S3 itself "
        "refuses such an upload with `EntityTooSmall` / `EntityTooLarge`). The upload was discarded.",
        "Upload the camera's picture, between 2 KB and 10 MB.",
    ),
    ErrorInfo(
        "IMAGE_NOT_DECODABLE",
        Area.INTEGRATION,
        422,
        "The upload does not decode as a picture.",
        "An uploaded file starts like a JPEG or PNG but is truncated or corrupt. The upload was discarded.",
        "Upload the file again, completely.",
    ),
    ErrorInfo(
        "IMAGE_DIMENSIONS_OUT_OF_RANGE",
        Area.INTEGRATION,
        422,
        "The picture is too small or too large to check.",
        "An uploaded picture's shorter side is under 160 pixels or its longer side over 8000. The upload "
        "was discarded.",
        "Upload the capture at the camera's resolution (not a thumbnail).",
    ),
    ErrorInfo(
        "IMAGE_NO_FACE",
        Area.INTEGRATION,
        422,
        "No face was found on the portrait.",
        "The uploaded portrait shows no frontal face (the media node's face check). The upload was "
        "discarded; the dossier keeps the portrait it had.",
        "Capture the portrait again with the customer facing the camera, in good light.",
    ),
    ErrorInfo(
        "WEBHOOK_NOT_FOUND",
        Area.INTEGRATION,
        404,
        "No such webhook subscription.",
        "A `/v1/webhooks/{id}` request named a subscription that does not exist or belongs to another "
        "unit (the two are not told apart).",
        "List your subscriptions with `GET /v1/webhooks`.",
    ),
    ErrorInfo(
        "DELIVERY_NOT_FOUND",
        Area.INTEGRATION,
        404,
        "No such webhook delivery.",
        "A delivery id that is not one of this subscription's (or expired: the log keeps 30 days).",
        "List the deliveries with `GET /v1/webhooks/{id}/deliveries`.",
    ),
    ErrorInfo(
        "WEBHOOK_URL_REFUSED",
        Area.INTEGRATION,
        422,
        "vkyc does not deliver to this URL.",
        "A subscription's URL is not `https://` (plain `http://` is allowed only where the deployment "
        "allows private addresses, as `make up` does), carries a user name or password, or names a "
        "private, loopback or link-local address.",
        "Give the public HTTPS address of your receiver.",
    ),
    ErrorInfo(
        "WEBHOOK_LIMIT_REACHED",
        Area.INTEGRATION,
        409,
        "Your unit has the most webhook subscriptions allowed.",
        "`POST /v1/webhooks` when the unit already has 10 subscriptions.",
        "Delete one you no longer need, or subscribe one URL to several event types.",
    ),
    # -- tickets for missed calls (seed 004) ------------------------------------------------------
    ErrorInfo(
        "TICKET_NOT_FOUND",
        Area.INTEGRATION,
        404,
        "No such ticket.",
        "A `/v1/tickets/{id}` request named a ticket that does not exist or belongs to another unit "
        "(the two are not told apart).",
        "List your unit's tickets with `GET /v1/tickets`.",
    ),
    ErrorInfo(
        "TICKET_ASSIGNEE_NOT_FOUND",
        Area.INTEGRATION,
        422,
        "The ticket cannot be assigned to this group or agent.",
        "`PATCH /v1/tickets/{id}` named, as the assignee, a group or an agent that does not exist or "
        "is not of the ticket's serving unit (`serving_unit_id`). Nothing was changed.",
        "Assign a group or agent of the serving unit, or `{}` for anyone of it.",
    ),
    # -- the popup answer URL (seed 003, seed 004) -------------------------------------------------
    ErrorInfo(
        "REQUEST_ANSWER_URL_ERROR",
        Area.INTEGRATION,
        502,
        "The customer page opened on answer could not be opened.",
        "The unit's popup answer URL (or iframe URL) setting does not give an http(s) URL once the "
        "call's fields are filled in (`GET /calls/{call_id}/answer-url`), or the agent page could not "
        "open it: the browser blocked the new tab, or the panel did not load within 10 s. The page "
        "shows it with the call id; the call itself goes on.",
        "An administrator checks the `popup_answer_url` setting (placeholders: userId, hotline, "
        "customerNumber, isCallOut, timeAnswer, callId) and that the page may open pop-ups; the agent "
        "uses the link shown instead.",
    ),
    # -- administration (the admin API, /admin/v1) ------------------------------------------------
    ErrorInfo(
        "ADMIN_REQUIRED",
        Area.ADMIN,
        403,
        "Only an administrator may do this.",
        "An `/admin/v1` request with the token of an agent or a supervisor.",
        "Log in with an admin account.",
    ),
    ErrorInfo(
        "ADMIN_OTHER_UNIT",
        Area.ADMIN,
        403,
        "This belongs to a unit you do not administer.",
        "An admin bound to a unit read or changed an object of a unit it does not serve (its own unit and "
        "the units it serves are its reach). Nothing was changed.",
        "Ask a system-wide admin, or an admin of that unit.",
    ),
    ErrorInfo(
        "ADMIN_SYSTEM_ONLY",
        Area.ADMIN,
        403,
        "Only a system-wide administrator may change this.",
        "A unit admin changed something every unit shares: units and the serving map, the global "
        "settings, the SUB_TYPE policy, media nodes. Nothing was changed.",
        "Ask an admin bound to no unit.",
    ),
    ErrorInfo(
        "ADMIN_NOT_FOUND",
        Area.ADMIN,
        404,
        "No such object.",
        "The object named in the path does not exist (or was deleted meanwhile).",
        "List the objects of that kind and pick one that exists.",
    ),
    ErrorInfo(
        "ADMIN_ALREADY_EXISTS",
        Area.ADMIN,
        409,
        "An object with this id already exists.",
        "A `POST` created an object whose id (unit number, group or queue id, hotline number, username) "
        "is taken. Nothing was changed.",
        "Choose another id, or change the existing object with `PUT` and its `ETag`.",
    ),
    ErrorInfo(
        "PRECONDITION_FAILED",
        Area.ADMIN,
        412,
        "Someone changed this object since you read it.",
        "The `If-Match` header named a version (`ETag`) that is no longer the stored one. Nothing was "
        "changed.",
        "Read the object again (`GET`), redo your change on what it is now, and send its new `ETag`.",
    ),
    ErrorInfo(
        "ADMIN_REFERENCE_INVALID",
        Area.ADMIN,
        422,
        "The change names something that does not exist or belongs to another unit.",
        "A field names a unit, group, queue or SUB_TYPE that is not stored, or one of another unit; the "
        "message and `fields` name the field. Nothing was changed.",
        "Create what is named first, or name one of the same unit.",
    ),
    ErrorInfo(
        "UNIT_IN_USE",
        Area.ADMIN,
        409,
        "The unit still has groups, queues, hotlines, users or API keys.",
        "A unit was deleted, or its serving list emptied, while objects of it remain. Nothing was changed.",
        "Delete or move them first.",
    ),
    ErrorInfo(
        "QUEUE_IN_USE",
        Area.ADMIN,
        409,
        "The queue is in use.",
        "A queue was deleted while calls wait in it, or while a hotline sends calls to it. Nothing was "
        "changed.",
        "Wait for the queue to empty, or point the hotline at another queue first.",
    ),
    ErrorInfo(
        "GROUP_ONLY_ROUTE",
        Area.ADMIN,
        409,
        "The group is the only route of a hotline.",
        "A group was deleted (or taken out of a queue) that is the only group answering a queue a hotline "
        "sends calls to without a delay: its calls would reach nobody. Nothing was changed.",
        "Add another group to the queue first.",
    ),
    ErrorInfo(
        "GROUP_IN_USE",
        Area.ADMIN,
        409,
        "The group is still in use.",
        "A group was deleted that a queue still lists, a hotline lets call out, or agents belong to. "
        "Nothing was changed.",
        "Take it out of the queues and hotlines and move its agents first.",
    ),
    ErrorInfo(
        "USER_IN_CALL",
        Area.ADMIN,
        409,
        "The agent is in a call.",
        "An agent was deleted or moved while ringing, in a call or in wrap-up. (Disabling one is not "
        "refused: it takes effect when the call is over.) Nothing was changed.",
        "Retry after the call, or disable the account, which waits for the call to end.",
    ),
    ErrorInfo(
        "LOGGED_IN_ELSEWHERE",
        Area.AUTH,
        409,
        "This agent account is logged in on another device.",
        "A second login of an agent account whose unit's `login_policy` is `refuse` while a session of it "
        "is live on another device (seed 001: one login per account).",
        "Log out on the other device first (or wait for its session to end).",
    ),
    ErrorInfo(
        "PASSWORD_CHANGE_REQUIRED",
        Area.AUTH,
        403,
        "You must choose a new password.",
        "An admin reset the password: the next login must give `new_password` beside the password it "
        "was given.",
        "Log in again with the password you were given and a new one (at least 8 characters).",
    ),
    ErrorInfo(
        "CSV_INVALID",
        Area.ADMIN,
        400,
        "The CSV file cannot be read.",
        "A blacklist import that is not UTF-8 text, is larger than 1 MB or has more than 10,000 lines. "
        "Nothing was changed.",
        "Send one subscriber number per line (a header line `number` is allowed), UTF-8.",
    ),
    ErrorInfo(
        "MEDIA_FILE_REJECTED",
        Area.ADMIN,
        422,
        "The uploaded media file was rejected.",
        "An uploaded waiting-media or ringtone file is missing, too large, or its bytes are not of the "
        "declared type. The setting was not changed.",
        "Upload an MP3/WAV/OGG ringtone (at most 1 MB) or an MP4/WebM waiting video (at most 20 MB).",
    ),
    # -- server ---------------------------------------------------------------------------------
    ErrorInfo(
        "INTERNAL_ERROR",
        Area.SERVER,
        500,
        "Something went wrong on our side.",
        "An unexpected failure; it is logged with the request id.",
        "Retry once; if it persists, report the request id and call id to support.",
    ),
    ErrorInfo(
        "SERVICE_UNAVAILABLE",
        Area.SERVER,
        503,
        "A service vkyc depends on cannot be reached.",
        "The database (DynamoDB) or the media bucket (S3) did not answer, or throttled the request; "
        "`GET /health` names the dependency that failed. Nothing was changed by the refused request.",
        "Retry after a few seconds with backoff; if it persists, tell support what `GET /health` says.",
    ),
    # -- the agent's and supervisor's workspace (issue #16) --------------------------------------
    ErrorInfo(
        "AGENT_NOT_AVAILABLE",
        Area.STATE,
        409,
        "Your status does not allow this: set yourself Available first.",
        "A call-back started by an agent who is Unavailable or Offline (only an Available agent, or one "
        "in wrap-up, may call a customer back).",
        "Set the status to Available, then start the call-back again.",
    ),
    ErrorInfo(
        "AGENT_BUSY",
        Area.STATE,
        409,
        "The agent is ringing or in a call.",
        "A supervisor set the status of, or logged out, an agent who is ringing or in a call (a live "
        "verification is never cut from the console).",
        "Wait until the agent's call ends (the board shows it), then try again.",
    ),
]

CATALOGUE: dict[str, ErrorInfo] = {e.code: e for e in _CATALOGUE}
assert len(CATALOGUE) == len(_CATALOGUE), "duplicate error code"


@dataclass(frozen=True)
class WarningInfo:
    """A warning a successful answer may carry in its ``warnings`` list (``{code, detail, ...}``): what
    was asked is done, but something will not work as the caller probably expects. Never an error:
    no status, nothing refused. Codes are stable, and none is also an error code."""

    code: str
    area: Area
    message: str  # shown to the user, in English (the web client translates by code)
    when: str
    what_to_do: str


_WARNINGS = [
    WarningInfo(
        "ANSWER_URL_NOT_FRAMEABLE",
        Area.ADMIN,
        "The agent page cannot show this URL in its panel.",
        "A settings answer of the admin API (`GET` / `PATCH /admin/v1/settings`): a URL the agent page "
        "shows in its answer panel (`popup_answer_url` with `popup_answer_target` `panel`, "
        "`incoming_iframe_url`, `callout_iframe_url`), in effect for the scope, is of an origin the "
        "pages may not frame: the deployment lists those (`VKYC_FRAME_ORIGINS`, the stack parameter "
        "`FrameOrigins`: docs/security.md), and the browser refuses any other. The detail names the "
        "setting, its origin and the origins listed. The setting is saved: at call time the agent "
        "would meet `REQUEST_ANSWER_URL_ERROR`.",
        "Have the operator add the origin to the deployment's frame origins, or set "
        "`popup_answer_target` to `tab` (a new tab is not under the page's policy), or use a URL of a "
        "listed origin.",
    ),
]
WARNINGS: dict[str, WarningInfo] = {w.code: w for w in _WARNINGS}
assert len(WARNINGS) == len(_WARNINGS), "duplicate warning code"
assert not set(WARNINGS) & set(CATALOGUE), "a code is a warning or an error, never both"


class ProtocolError(Exception):
    """An error answered to the client as ``{action: "error", code, message, request_id, call_id}``."""

    def __init__(self, code: str, detail: str | None = None, *, call_id: str | None = None) -> None:
        if code not in CATALOGUE:
            raise ValueError(f"unknown error code {code!r}: add it to vkyc.protocol.errors")
        self.code = code
        self.info = CATALOGUE[code]
        self.detail = detail
        self.call_id = call_id
        super().__init__(f"{code}: {detail or self.info.message}")

    @property
    def message(self) -> str:
        return f"{self.info.message} {self.detail}" if self.detail else self.info.message


class RetryLater(ProtocolError):
    """A refusal that ends by itself after ``retry_after_s`` seconds (``TOO_MANY_ATTEMPTS``,
    ``RATE_LIMITED``): REST answers it with a ``Retry-After`` header, and the message says it too."""

    def __init__(self, code: str, retry_after_s: float, detail: str | None = None) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        said = f"Retry after {self.retry_after_s} s."
        super().__init__(code, f"{detail} {said}" if detail else said)


class FieldErrors(ProtocolError):
    """A refusal that names the fields at fault: REST answers add ``fields: [{field, message}]`` to the
    body so that a form can show each message beside its field."""

    def __init__(self, code: str, fields: list[tuple[str, str]]) -> None:
        self.fields = [{"field": name, "message": message} for name, message in fields]
        first = fields[0] if fields else ("", "")
        more = f" ({len(fields) - 1} more)" if len(fields) > 1 else ""
        super().__init__(code, f"{first[0]}: {first[1]}{more}" if first[0] else first[1])
