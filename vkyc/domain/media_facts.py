"""What signaling believes of a media node's reports (issue #10): who may report on a call, and
which recording facts may be stored.

Pure: no I/O. ``vkyc.services.party_media`` reads the call and asks the bucket, then asks these functions;
each refusal is a catalogue code (a string here: the domain imports nothing of ours) with a detail.

- **Who** (``may_report``): the node that carries the call (``Call.media_node_id``); for the
  recording of a call whose node died, also a node signaling asked to recover it (``media.recover``).
- **Where** (``call_media_prefix``): a call's files lie under ``calls/<call_id>/`` (the media node's
  ``KeyLayout``): the recording and its parts, and ``snapshots/``. A key of another call, or of
  anything else in the bucket, is refused before the bucket is asked anything.
- **What** (``recording_refusal``): the recording's object exists, and its size and SHA-256, as the
  bucket reports them, are those the node reported. The SHA-256 is S3's own full-object checksum
  (the node uploads with ``ChecksumAlgorithm=SHA256`` in one PutObject, and S3 checks the body against
  it): the bucket vouches for it, signaling never reads the object.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

CALL_MEDIA_PREFIX = "calls/"

NOT_ASSIGNED = "MEDIA_NODE_NOT_ASSIGNED"
KEY_OUTSIDE_CALL = "MEDIA_KEY_OUTSIDE_CALL"
OBJECT_MISSING = "RECORDING_OBJECT_MISSING"
MISMATCH = "RECORDING_MISMATCH"


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str


@dataclass(frozen=True)
class StoredObject:
    """What the bucket reports of an object: its size, and the SHA-256 of the whole object (hex), or
    None when it reports none (uploaded without a SHA-256 checksum, or in parts: a composite one)."""

    size: int
    sha256: str | None


@dataclass(frozen=True)
class ReportedRecording:
    """The facts of ``media.recording``: ``key`` None when no media ever arrived."""

    key: str | None
    size: int
    sha256: str | None


def call_media_prefix(call_id: str) -> str:
    return f"{CALL_MEDIA_PREFIX}{call_id}/"


def snapshot_prefix(call_id: str) -> str:
    return f"{call_media_prefix(call_id)}snapshots/"


def may_report(node_id: str, carrier: str | None, recoverers: Collection[str], *, recovery: bool) -> bool:
    """Whether ``node_id`` may report on a call carried by ``carrier``: the carrier always; with
    ``recovery`` (a recording and its errors), also a node asked to recover it."""
    return node_id == carrier or (recovery and node_id in recoverers)


def snapshot_refusal(call_id: str, key: str) -> Refusal | None:
    if not key.startswith(snapshot_prefix(call_id)):
        return Refusal(
            KEY_OUTSIDE_CALL, f"A snapshot of this call is stored under {snapshot_prefix(call_id)}."
        )
    return None


def recording_key_refusal(call_id: str, reported: ReportedRecording) -> Refusal | None:
    """What can be refused before asking the bucket: the key's place, and facts that contradict
    themselves (no key but a size or a hash; a key without a hash)."""
    if reported.key is None:
        if reported.size or reported.sha256 is not None:
            return Refusal(MISMATCH, "A call with no recording has size 0 and no sha256.")
        return None
    prefix = call_media_prefix(call_id)
    if not reported.key.startswith(prefix):
        return Refusal(KEY_OUTSIDE_CALL, f"The recording of this call is stored under {prefix}.")
    if reported.sha256 is None:
        return Refusal(MISMATCH, "A recording is reported with its sha256.")
    return None


def recording_refusal(reported: ReportedRecording, stored: StoredObject | None) -> Refusal | None:
    """The reported facts against what the bucket reports of ``reported.key`` (``stored``, None: no
    such object). Call only with a key that ``recording_key_refusal`` let through."""
    if stored is None:
        return Refusal(OBJECT_MISSING, f"No object {reported.key} in the media bucket.")
    if stored.size != reported.size:
        return Refusal(MISMATCH, f"The bucket holds {stored.size} bytes, not {reported.size}.")
    if stored.sha256 is None:
        return Refusal(
            MISMATCH,
            "The bucket reports no SHA-256 of the whole object: upload it in one PutObject with "
            "ChecksumAlgorithm SHA256.",
        )
    if stored.sha256.lower() != (reported.sha256 or "").lower():
        return Refusal(MISMATCH, f"The bucket's sha256 of the object is {stored.sha256}.")
    return None
