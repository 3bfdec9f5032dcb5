"""A call's media facts on the call item, and the evidence of a decision on its dossier log entry.

These are unversioned conditional writes (no state move, no log entry of their own): a media fact
arriving while a party hangs up or the agent decides must not make that transition fail with a
version conflict. Each is conditioned on what makes it idempotent or safe:

- ``assign_node``: the call gets a media node only once, only while it is not final, and the node's
  ``call_ids`` gains it in the same transaction (what to end and recover if the node dies);
- ``release_node``: a node that refused the call gives it back (only if it is still that node's and
  no recording was reported);
- ``add_recoverer``: a node asked to recover a dead node's recording (only while none is stored);
- ``store_recording``: the facts are written once (``recording_closed_at``);
- ``claim_evidence`` / ``store_evidence``: one builder at a time, one bundle per decision.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from vkyc.repositories import tables
from vkyc.repositories.batch import get_many
from vkyc.repositories.errors import RepositoryError
from vkyc.repositories.tables import Call, DossierLog, MediaNode


class NodeGone(RepositoryError):
    """The chosen node's registration vanished (expired) between the read and the assignment."""


@dataclass(frozen=True)
class RecordingFacts:
    key: str | None
    size: int
    duration_s: float
    sha256: str | None
    incomplete: bool


def assign_node(call_id: str, node_id: str, states: Collection[str]) -> bool:
    """Give the call to ``node_id`` if it has no node yet and is in one of ``states``; the node's
    ``call_ids`` gains the call in the same transaction. False when the call already has a node (or is
    no longer in ``states``, or does not exist): re-read it. One TransactWriteItems."""
    call_condition = (
        Call.call_id.exists() & Call.media_node_id.does_not_exist() & Call.state.is_in(*sorted(states))
    )
    try:
        with TransactWrite(connection=tables.connection()) as tx:
            tx.update(
                Call(call_id=call_id), actions=[Call.media_node_id.set(node_id)], condition=call_condition
            )
            tx.update(
                MediaNode(node_id=node_id),
                actions=[MediaNode.call_ids.add({call_id})],
                condition=MediaNode.node_id.exists(),
            )
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        codes = [r.code if r is not None else None for r in reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            return False
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            raise NodeGone(f"media node {node_id} is not registered") from exc
        raise RepositoryError(f"assigning call {call_id} to {node_id}: {exc}") from exc
    return True


def release_node(call_id: str, node_id: str) -> bool:
    """The node refused or could not be reached: the call may be assigned again. False if it is no
    longer that node's, or the node already reported its recording."""
    released = _update(
        Call(call_id=call_id),
        [Call.media_node_id.remove()],
        (Call.media_node_id == node_id) & Call.recording_closed_at.does_not_exist(),
    )
    if released:
        _update(
            MediaNode(node_id=node_id), [MediaNode.call_ids.delete({call_id})], MediaNode.node_id.exists()
        )
    return released


def add_snapshot(call_id: str, key: str, snapshot_id: str, *, face_found: bool) -> None:
    """Remember a snapshot the agent took (S3 key and id): the evidence bundle lists the call's snapshots,
    and a decision may rest only on one of them (an approval on one with a face: ``vkyc.domain.decision``).
    """
    actions = [Call.snapshot_keys.add({key}), Call.snapshot_ids.add({snapshot_id})]
    if face_found:
        actions.append(Call.face_snapshot_ids.add({snapshot_id}))
    _update(Call(call_id=call_id), actions, Call.call_id.exists())


def mark_media_connected(call_id: str, at: datetime) -> bool:
    """Stamp the first time the node reported both parties' media up (once; unversioned, so a party's
    concurrent move is not disturbed). False when already stamped or the call does not exist."""
    return _update(
        Call(call_id=call_id),
        [Call.media_connected_at.set(at)],
        Call.call_id.exists() & Call.media_connected_at.does_not_exist(),
    )


def add_recoverer(call_id: str, node_id: str) -> bool:
    """``node_id`` is asked to recover the call's recording: it may then report it. False when the
    recording is already stored (nothing to recover) or the call does not exist."""
    return _update(
        Call(call_id=call_id),
        [Call.recovery_node_ids.add({node_id})],
        Call.call_id.exists() & Call.recording_closed_at.does_not_exist(),
    )


def store_recording(call_id: str, facts: RecordingFacts, at: datetime) -> Call | None:
    """Write the recording's facts once. Returns the call as it now stands, or None when they were
    already written (a repeated report, or a recovery after the node's own report)."""
    call = Call(call_id=call_id)
    actions: list[Any] = [
        Call.recording_size.set(facts.size),
        Call.recording_duration_s.set(round(facts.duration_s, 3)),
        Call.recording_incomplete.set(facts.incomplete),
        Call.recording_closed_at.set(at),
    ]
    for attribute, value in ((Call.recording_key, facts.key), (Call.recording_sha256, facts.sha256)):
        actions.append(attribute.set(value) if value is not None else attribute.remove())
    if not _update(call, actions, Call.call_id.exists() & Call.recording_closed_at.does_not_exist()):
        return None
    return call


def mark_incomplete(call_id: str) -> bool:
    """The node died with the call live: whatever recording is recovered will be incomplete."""
    return _update(
        Call(call_id=call_id),
        [Call.recording_incomplete.set(True)],
        Call.call_id.exists() & Call.recording_closed_at.does_not_exist(),
    )


def calls(call_ids: Sequence[str]) -> list[Call]:
    """The calls that exist among ``call_ids`` (BatchGetItem by 100)."""
    found: list[Call] = []
    ids = list(dict.fromkeys(call_ids))
    for start in range(0, len(ids), 100):
        for item in get_many([Call(call_id=i) for i in ids[start : start + 100]]):
            if isinstance(item, Call):
                found.append(item)
    return found


def decision_entry(dossier_id: str, version: int) -> DossierLog | None:
    try:
        return DossierLog.get(dossier_id, version, consistent_read=True)
    except DossierLog.DoesNotExist:
        return None


def claim_evidence(dossier_id: str, version: int, at: datetime, stale_before: datetime) -> bool:
    """Claim the building of the decision's bundle: only if none is stored and no other builder claimed
    it after ``stale_before`` (a builder that crashed leaves a stale claim)."""
    return _update(
        DossierLog(dossier_id, version),
        [DossierLog.evidence_claimed_at.set(at)],
        DossierLog.version.exists()
        & DossierLog.evidence_sha256.does_not_exist()
        & (DossierLog.evidence_claimed_at.does_not_exist() | (DossierLog.evidence_claimed_at < stale_before)),
    )


def store_evidence(
    dossier_id: str, version: int, key: str, sha256: str, *, call_id: str, at: datetime
) -> bool:
    """Put the bundle's manifest key and sha256 on the decision's log entry, once, and stamp the call's
    ``evidence_built_at`` in the same transaction (what the reports count). False when already stored."""
    try:
        with TransactWrite(connection=tables.connection()) as tx:
            tx.update(
                DossierLog(dossier_id, version),
                actions=[DossierLog.evidence_key.set(key), DossierLog.evidence_sha256.set(sha256)],
                condition=DossierLog.version.exists() & DossierLog.evidence_sha256.does_not_exist(),
            )
            tx.update(
                Call(call_id=call_id),
                actions=[Call.evidence_built_at.set(at)],
                condition=Call.call_id.exists(),
            )
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
            return False
        raise RepositoryError(f"storing the evidence of {call_id}: {exc}") from exc
    return True


def _update(item: Any, actions: list[Any], condition: Any) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise RepositoryError(f"{type(item).__name__}: {exc}") from exc
    return True
