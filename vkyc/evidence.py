"""Evidence bundles: proof, kept in S3, of what a dossier's decision was based on.

When a dossier is decided, ``build_bundle`` writes a manifest listing every file the decision rests
on (ID card images, portrait, snapshot(s), the call recording) with its key, size and sha256, plus
the decision itself, the agent and the timestamps. It returns the manifest's own sha256: stored on
the dossier's log entry (DynamoDB), it makes the bundle tamper-evident, since changing any file changes
its hash (caught by the manifest) and changing the manifest changes the manifest's hash (caught by the
log entry). ``verify_bundle`` (and ``python -m media_node verify <manifest-key> [--sha256 HEX]``)
re-reads everything and names the first mismatch.

Pure S3 and hashing, so that the decision's use case (``vkyc.services.evidence``, in a Lambda) and
the media node (``media_node.evidence`` re-exports this module) share one implementation without the
node's heavy dependencies. Inputs are plain facts (``DecisionFacts``); the functions block on S3 (run
them in a thread from async code). A file whose sha256 the caller already knows from writing it (the
recording: its report carries it) may pass it to avoid re-reading a large object; verification always
re-reads.

Manifest JSON is canonical, so its hash is reproducible: RFC 8785 (``vkyc.protocol.canonical``, the
form message MACs use too). Version 1 manifests were written by ``json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``, which gives the same bytes for everything a manifest holds
(ASCII member names, strings, integers, null), so the version did not change; verification hashes the
stored bytes and never rebuilds them, so every bundle verifies whatever wrote it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

from vkyc.protocol.canonical import canonical_json

MANIFEST_KIND = "vkyc-evidence"
MANIFEST_VERSION = 1
EVIDENCE_PREFIX = "evidence/"


class EvidenceInvalid(Exception):
    """A bundle cannot be built (a file is missing) or does not verify. Code ``EVIDENCE_INVALID``."""

    code = "EVIDENCE_INVALID"


class StoredObject(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def size(self) -> int: ...


class BlobStore(Protocol):
    """The subset of a bucket the bundles need (``media_node.storage`` stores and
    ``vkyc.adapters.media_bucket.MediaBucket`` both provide it). A missing key raises ``KeyError``."""

    @property
    def bucket(self) -> str: ...

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def list_prefix(self, prefix: str) -> Sequence[StoredObject]: ...


@dataclass(frozen=True)
class EvidenceFile:
    """One file of the bundle: ``role`` is e.g. ``id_front``, ``id_back``, ``portrait``,
    ``snapshot``, ``recording``; ``sha256`` only if already known from writing it."""

    role: str
    key: str
    sha256: str | None = None


@dataclass(frozen=True)
class DecisionFacts:
    dossier_id: str
    call_id: str
    decision: str  # A, R, C or D
    agent_id: str
    decided_at: datetime
    files: tuple[EvidenceFile, ...]
    reason: str | None = None
    unit_id: str | None = None
    call_started_at: datetime | None = None
    call_answered_at: datetime | None = None
    call_ended_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Bundle:
    manifest_key: str
    manifest_sha256: str
    manifest: dict[str, object]


@dataclass(frozen=True)
class Verification:
    ok: bool
    manifest_key: str
    manifest_sha256: str | None
    files_checked: int
    mismatch: str | None = None


def sha256_of_stream(stream: BinaryIO, chunk: int = 1 << 20) -> tuple[str, int]:
    """(hex sha256, size) of everything left in ``stream``, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    size = 0
    while True:
        block = stream.read(chunk)
        if not block:
            return digest.hexdigest(), size
        digest.update(block)
        size += len(block)


def sha256_of_object(store: BlobStore, key: str) -> tuple[str, int]:
    """(hex sha256, size) of one stored object, streamed; ``KeyError`` if absent."""
    stream = store.open(key)
    try:
        return sha256_of_stream(stream)
    finally:
        stream.close()


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("evidence timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


def manifest_key_for(facts: DecisionFacts, prefix: str = EVIDENCE_PREFIX) -> str:
    stamp = facts.decided_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{prefix}{facts.dossier_id}/{stamp}-{facts.call_id}/manifest.json"


def build_bundle(
    store: BlobStore, facts: DecisionFacts, *, prefix: str = EVIDENCE_PREFIX, now: datetime | None = None
) -> Bundle:
    """Hash the files, write the manifest, return its key and sha256. ``EvidenceInvalid`` if a file
    is missing (a decision must not rest on a file that is not there)."""
    if facts.decision not in ("A", "R", "C", "D"):
        raise ValueError(f"decision must be A, R, C or D, not {facts.decision!r}")
    files = []
    for item in facts.files:
        if item.sha256 is not None:
            digest, size = item.sha256, _size(store, item.key)
        else:
            try:
                digest, size = sha256_of_object(store, item.key)
            except KeyError:
                raise EvidenceInvalid(f"{item.role} s3://{store.bucket}/{item.key} does not exist") from None
        files.append({"role": item.role, "key": item.key, "sha256": digest, "size": size})
    manifest: dict[str, object] = {
        "kind": MANIFEST_KIND,
        "version": MANIFEST_VERSION,
        "bucket": store.bucket,
        "dossier_id": facts.dossier_id,
        "unit_id": facts.unit_id,
        "call_id": facts.call_id,
        "decision": {"code": facts.decision, "reason": facts.reason},
        "agent_id": facts.agent_id,
        "timestamps": {
            "call_started_at": _iso(facts.call_started_at),
            "call_answered_at": _iso(facts.call_answered_at),
            "call_ended_at": _iso(facts.call_ended_at),
            "decided_at": _iso(facts.decided_at),
            "bundled_at": _iso(now or datetime.now(UTC)),
        },
        "files": files,
        "extra": dict(facts.extra),
    }
    raw = canonical_json(manifest)
    key = manifest_key_for(facts, prefix)
    store.put(key, raw, content_type="application/json")
    return Bundle(key, hashlib.sha256(raw).hexdigest(), manifest)


def exists(store: BlobStore, key: str) -> bool:
    """Whether ``key`` is stored (one listing of its own prefix)."""
    return any(o.key == key for o in store.list_prefix(key))


def _size(store: BlobStore, key: str) -> int:
    prefix_matches = [o for o in store.list_prefix(key) if o.key == key]
    if not prefix_matches:
        raise EvidenceInvalid(f"s3://{store.bucket}/{key} does not exist")
    return prefix_matches[0].size


def verify_bundle(store: BlobStore, manifest_key: str, expected_sha256: str | None = None) -> Verification:
    """Re-read the manifest and every file it lists; the first difference is ``mismatch``.

    ``expected_sha256`` is the manifest hash stored on the dossier's log entry: without it only the
    files are checked against the manifest (which a forger could have rewritten too)."""
    try:
        stream = store.open(manifest_key)
    except KeyError:
        return Verification(False, manifest_key, None, 0, f"manifest {manifest_key} does not exist")
    try:
        raw = stream.read()
    finally:
        stream.close()
    digest = hashlib.sha256(raw).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256.lower():
        return Verification(
            False,
            manifest_key,
            digest,
            0,
            f"manifest sha256 {digest} differs from the recorded {expected_sha256}",
        )
    try:
        manifest = json.loads(raw)
        files = manifest["files"]
        if manifest.get("kind") != MANIFEST_KIND:
            raise ValueError("not a vkyc evidence manifest")
    except (ValueError, KeyError, TypeError) as exc:
        return Verification(False, manifest_key, digest, 0, f"manifest {manifest_key} is unreadable: {exc}")
    checked = 0
    for entry in files:
        role, key, want = entry["role"], entry["key"], entry["sha256"]
        try:
            got, size = sha256_of_object(store, key)
        except KeyError:
            return Verification(False, manifest_key, digest, checked, f"{role} {key} is missing")
        if got != want:
            return Verification(
                False,
                manifest_key,
                digest,
                checked,
                f"{role} {key}: sha256 {got} differs from the manifest's {want}",
            )
        if size != entry.get("size", size):
            return Verification(
                False,
                manifest_key,
                digest,
                checked,
                f"{role} {key}: {size} bytes, the manifest says {entry['size']}",
            )
        checked += 1
    return Verification(True, manifest_key, digest, checked)
