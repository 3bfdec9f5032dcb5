"""Every error the media node raises on purpose, each with a stable ``code``.

The codes are meant for the protocol's error catalogue (``vkyc.protocol.errors``): the signaling
wiring turns a ``MediaError`` into an ``error`` reply with the same code. ``CODES`` lists them with
the message shown to users, when they happen and what to do, in the catalogue's shape.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeInfo:
    code: str
    message: str
    when: str
    what_to_do: str


CODES: dict[str, CodeInfo] = {
    info.code: info
    for info in (
        CodeInfo(
            "MEDIA_NODE_FULL",
            "This media node is at capacity.",
            "A call was opened on a node that already carries as many calls as its capacity.",
            "Route the call to another node (the least-loaded live one); add nodes if it persists.",
        ),
        CodeInfo(
            "MEDIA_CALL_EXISTS",
            "This call is already open on the media node.",
            "`open_call` for a call id the node already carries.",
            "Attach the parties to the open call instead of opening it again.",
        ),
        CodeInfo(
            "MEDIA_BAD_CALL_ID",
            "The call id cannot name media files.",
            "A call id that is empty, longer than 128 characters, or has characters other than letters, "
            "digits, `.`, `_` and `-` (it becomes part of S3 keys).",
            "Use the call id signaling issued.",
        ),
        CodeInfo(
            "MEDIA_CALL_NOT_FOUND",
            "The media node does not carry this call.",
            "An operation named a call id that was never opened on this node, or is already closed.",
            "Open the call first; after a node restart, open it again on a live node.",
        ),
        CodeInfo(
            "MEDIA_CALL_STATE",
            "The call's media cannot do this in its current state.",
            "An operation not allowed in the call's media state (e.g. attach while closing).",
            "Check the call's state; the message names the state and the operation.",
        ),
        CodeInfo(
            "MEDIA_BAD_PARTY",
            "Unknown call party.",
            "A party other than `mobile` or `agent`.",
            "Use `mobile` or `agent`.",
        ),
        CodeInfo(
            "MEDIA_BAD_SDP",
            "The WebRTC offer could not be used.",
            "The SDP offer is malformed, is not an offer, or carries neither audio nor video.",
            "Send the offer exactly as the WebRTC stack created it (type offer, audio and video).",
        ),
        CodeInfo(
            "MEDIA_CODEC_UNSUPPORTED",
            "The offer has no codec the media node relays (VP8 video, Opus audio).",
            "The client's offer lists neither VP8 (video) nor Opus (audio).",
            "Enable VP8 and Opus in the client's WebRTC stack.",
        ),
        CodeInfo(
            "MEDIA_NO_CUSTOMER_VIDEO",
            "No video from the customer yet.",
            "A snapshot was asked while the mobile sends no video (not attached, or media lost).",
            "Wait until the customer's video shows, then take the snapshot again.",
        ),
        CodeInfo(
            "MEDIA_SNAPSHOT_TIMEOUT",
            "No full frame of the customer's video arrived in time.",
            "The customer's phone did not send a key frame within the snapshot timeout.",
            "Ask the customer to hold still on a better network, then take the snapshot again.",
        ),
        CodeInfo(
            "MEDIA_SNAPSHOT_FAILED",
            "The snapshot could not be decoded.",
            "The customer's key frame could not be decoded into a picture.",
            "Take the snapshot again; report the call id if it keeps failing.",
        ),
        CodeInfo(
            "MEDIA_WAITING_MEDIA_INVALID",
            "The waiting media file cannot be played.",
            "The S3 object configured as a queue's waiting media is missing or has no decodable video.",
            "Upload a video file (any common container, 2 to 30 s) and configure its key again.",
        ),
        CodeInfo(
            "MEDIA_STORAGE_ERROR",
            "The media node could not read or write the media bucket.",
            "An S3 request failed after retries.",
            "Check the bucket and the node's permissions; the message names the key.",
        ),
        CodeInfo(
            "RECORDING_NOT_FOUND",
            "There is no recording for this call.",
            "Recovery found neither a finished recording nor any recorded part for the call id.",
            "Check the call id; a call whose media never started has no recording.",
        ),
        CodeInfo(
            "RECORDING_STILL_ACTIVE",
            "The recording is still being written.",
            "Recovery was asked for a call whose newest part is too recent: a node may still record it.",
            "Wait until the node is known dead (no heartbeat for 15 s) and retry.",
        ),
        CodeInfo(
            "EVIDENCE_INVALID",
            "The evidence bundle does not verify.",
            "A file listed in an evidence manifest is missing or its sha256 differs, or the manifest's "
            "own sha256 differs from the one stored on the dossier.",
            "Treat the dossier's evidence as tampered with; the message names the first mismatch.",
        ),
    )
}


class MediaError(Exception):
    """Base of every deliberate media-node error. ``code`` is one of ``CODES``; ``detail`` says more."""

    code = "MEDIA_ERROR"

    def __init__(self, detail: str, *, call_id: str | None = None) -> None:
        self.detail = detail
        self.call_id = call_id
        super().__init__(f"{self.code}: {detail}")

    @property
    def message(self) -> str:
        """The catalogue message followed by the detail, as a user would read it."""
        info = CODES.get(self.code)
        return f"{info.message} {self.detail}" if info else self.detail


class NodeFull(MediaError):
    code = "MEDIA_NODE_FULL"


class CallExists(MediaError):
    code = "MEDIA_CALL_EXISTS"


class BadCallId(MediaError):
    code = "MEDIA_BAD_CALL_ID"


class CallNotFound(MediaError):
    code = "MEDIA_CALL_NOT_FOUND"


class CallStateError(MediaError):
    code = "MEDIA_CALL_STATE"


class BadParty(MediaError):
    code = "MEDIA_BAD_PARTY"


class BadSdp(MediaError):
    code = "MEDIA_BAD_SDP"


class CodecUnsupported(MediaError):
    code = "MEDIA_CODEC_UNSUPPORTED"


class NoCustomerVideo(MediaError):
    code = "MEDIA_NO_CUSTOMER_VIDEO"


class SnapshotTimeout(MediaError):
    code = "MEDIA_SNAPSHOT_TIMEOUT"


class SnapshotFailed(MediaError):
    code = "MEDIA_SNAPSHOT_FAILED"


class WaitingMediaInvalid(MediaError):
    code = "MEDIA_WAITING_MEDIA_INVALID"


class StorageError(MediaError):
    code = "MEDIA_STORAGE_ERROR"


class RecordingNotFound(MediaError):
    code = "RECORDING_NOT_FOUND"


class RecordingStillActive(MediaError):
    code = "RECORDING_STILL_ACTIVE"


class EvidenceInvalid(MediaError):
    code = "EVIDENCE_INVALID"


# Every subclass's code is in the table, and the other way round (checked at import, as the
# catalogue is: a typo fails here, not in a reply).
_SUBCLASS_CODES = {cls.code for cls in MediaError.__subclasses__()}
assert set(CODES) == _SUBCLASS_CODES, sorted(_SUBCLASS_CODES ^ set(CODES))
