"""The error catalogue: every code a client can receive, with what it means and what to do.

Codes are stable: clients switch on them. ``docs/errors.md`` is generated from this catalogue
(``python -m vkyc.protocol.schema``) and a test fails when it is stale. Seed 003's codes are kept
where they apply (e.g. ``AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Area(StrEnum):
    PROTOCOL = "protocol"
    AUTH = "authentication and sessions"
    SECURITY = "message authentication"
    STATE = "state"
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
        "A WebSocket message or a REST body could not be parsed as JSON.",
        "Send one JSON object per message, UTF-8 encoded.",
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
        "A connection sent an action reserved for another role (e.g. a mobile sending an agent action).",
        "Use the action set of your role; see the role column in docs/protocol.md.",
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
        "A login with an unknown username or a wrong password (the two are not told apart).",
        "Check the username and password; after repeated failures ask an admin to reset the password.",
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
        "NOT_FOUND",
        Area.AUTH,
        404,
        "Not found.",
        "A REST call named a dossier, user or other item that does not exist.",
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
        "call (seed 003: shared accounts, or a reload during a call).",
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
    # -- server ---------------------------------------------------------------------------------
    ErrorInfo(
        "INTERNAL_ERROR",
        Area.SERVER,
        500,
        "Something went wrong on our side.",
        "An unexpected failure; it is logged with the request id.",
        "Retry once; if it persists, report the request id and call id to support.",
    ),
]

CATALOGUE: dict[str, ErrorInfo] = {e.code: e for e in _CATALOGUE}
assert len(CATALOGUE) == len(_CATALOGUE), "duplicate error code"


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
