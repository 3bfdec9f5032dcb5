"""Evidence bundles, for the media node and its ``verify`` command: ``vkyc.evidence`` is the one
implementation (pure S3 and hashing, shared with the decision's use case in signaling); this module
re-exports it and raises the node's own ``EvidenceInvalid`` (a ``MediaError``, code
``EVIDENCE_INVALID``). See ``vkyc.evidence`` for what a bundle holds and how it is verified.
"""

from __future__ import annotations

from datetime import datetime

from media_node.errors import EvidenceInvalid
from vkyc import evidence as _evidence
from vkyc.evidence import (
    MANIFEST_KIND,
    MANIFEST_VERSION,
    BlobStore,
    Bundle,
    DecisionFacts,
    EvidenceFile,
    Verification,
    canonical_json,
    manifest_key_for,
    verify_bundle,
)

__all__ = [
    "MANIFEST_KIND",
    "MANIFEST_VERSION",
    "Bundle",
    "DecisionFacts",
    "EvidenceFile",
    "Verification",
    "build_bundle",
    "canonical_json",
    "manifest_key_for",
    "require_valid",
    "verify_bundle",
]


def build_bundle(
    store: BlobStore, facts: DecisionFacts, *, prefix: str = "evidence/", now: datetime | None = None
) -> Bundle:
    """``vkyc.evidence.build_bundle``, raising ``media_node.errors.EvidenceInvalid``."""
    try:
        return _evidence.build_bundle(store, facts, prefix=prefix, now=now)
    except _evidence.EvidenceInvalid as exc:
        raise EvidenceInvalid(str(exc)) from None


def require_valid(store: BlobStore, manifest_key: str, expected_sha256: str | None = None) -> Verification:
    """``verify_bundle`` that raises ``EvidenceInvalid`` (code ``EVIDENCE_INVALID``) on a mismatch."""
    result = verify_bundle(store, manifest_key, expected_sha256)
    if not result.ok:
        raise EvidenceInvalid(result.mismatch or "unknown mismatch")
    return result
