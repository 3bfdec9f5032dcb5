"""The evidence bundle of a decision (issue #5): built once the call is decided **and** its recording
is closed, whichever comes last, and its manifest's key and sha256 put on the dossier's log entry of
that decision (``DossierLog.evidence_key`` / ``evidence_sha256``), which makes it tamper-evident.

Triggered by the timer ``EVIDENCE_TIMER`` ({call_id}), scheduled by the decision (a call with a media
node) and by the recording's report (a decided call): whichever comes second finds both facts stored,
and a trigger that comes too early finds one missing and does nothing. Two triggers may both find
both: a claim on the log entry (``call_media.claim_evidence``) lets one build; the other returns.

The bundle (``vkyc.evidence``) lists: the dossier's ID card front and back and portrait (a key the
dossier names but the bucket lacks is listed in ``extra`` as ``missing_<role>`` rather than failing
the bundle: the decision was made on what the agent saw), every snapshot the agent took during the
call, the recording (its sha256 as the node reported it), the decision, reason, agent and the
call's timestamps. ``python -m media_node verify <manifest-key> --sha256 <hex>`` checks it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

from vkyc.evidence import BlobStore, DecisionFacts, EvidenceFile, build_bundle, exists
from vkyc.repositories import call_media
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.services.ports import Clock, as_utc, utc_now

log = logging.getLogger("vkyc.evidence")

CLAIM_STALE_AFTER = timedelta(minutes=5)
"""A builder that claimed a bundle this long ago and stored nothing is taken to have crashed."""


class Outcome(StrEnum):
    BUILT = "built"
    NOT_DECIDED = "not_decided"
    RECORDING_PENDING = "recording_pending"
    ALREADY_BUILT = "already_built"
    CLAIMED_ELSEWHERE = "claimed_elsewhere"
    UNKNOWN_CALL = "unknown_call"


class EvidenceService:
    def __init__(self, store: BlobStore, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock
        self.calls = CallRepository()
        self.dossiers = DossierRepository()

    def build(self, call_id: str) -> Outcome:
        """Build the call's decision bundle if it is due and not built yet (see the module docstring)."""
        call = self.calls.find(call_id)
        if call is None:
            return Outcome.UNKNOWN_CALL
        if not call.decision or call.decision_version is None or not call.dossier_id:
            return Outcome.NOT_DECIDED
        if call.media_node_id and call.recording_closed_at is None:
            return Outcome.RECORDING_PENDING
        entry = call_media.decision_entry(call.dossier_id, call.decision_version)
        if entry is None:
            return Outcome.NOT_DECIDED
        if entry.evidence_sha256:
            return Outcome.ALREADY_BUILT
        now = self.clock()
        if not call_media.claim_evidence(
            call.dossier_id, call.decision_version, now, now - CLAIM_STALE_AFTER
        ):
            return Outcome.CLAIMED_ELSEWHERE
        dossier = self.dossiers.get(call.dossier_id)
        files: list[EvidenceFile] = []
        extra: dict[str, str] = {}
        images = dossier.images
        for role, key in (
            ("id_front", images.id_front_key if images else None),
            ("id_back", images.id_back_key if images else None),
            ("portrait", images.portrait_key if images else None),
        ):
            if not key:
                continue
            if exists(self.store, key):
                files.append(EvidenceFile(role, key))
            else:
                extra[f"missing_{role}"] = key
        files += [EvidenceFile("snapshot", key) for key in sorted(call.snapshot_keys or ())]
        if call.recording_key:
            files.append(EvidenceFile("recording", call.recording_key, call.recording_sha256))
        if call.recording_incomplete:
            extra["recording_incomplete"] = "true"
        if dossier.snapshot_key:
            extra["decision_snapshot_id"] = dossier.snapshot_key
        facts = DecisionFacts(
            dossier_id=dossier.dossier_id,
            call_id=call.call_id,
            decision=call.decision,
            agent_id=entry.actor,
            decided_at=as_utc(entry.at),
            files=tuple(files),
            reason=entry.reason,
            unit_id=dossier.unit_id,
            call_started_at=as_utc(call.created_at) if call.created_at else None,
            call_answered_at=as_utc(call.answered_at) if call.answered_at else None,
            call_ended_at=as_utc(call.ended_at) if call.ended_at else None,
            extra=extra,
        )
        bundle = build_bundle(self.store, facts, now=now)
        call_media.store_evidence(
            dossier.dossier_id,
            call.decision_version,
            bundle.manifest_key,
            bundle.manifest_sha256,
            call_id=call.call_id,
            at=now,
        )
        log.info(
            "evidence of %s (%s): %s sha256 %s",
            call.call_id,
            dossier.dossier_id,
            bundle.manifest_key,
            bundle.manifest_sha256,
        )
        return Outcome.BUILT
