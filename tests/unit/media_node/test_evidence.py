from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from media_node.__main__ import main
from media_node.errors import EvidenceInvalid
from media_node.evidence import (
    DecisionFacts,
    EvidenceFile,
    build_bundle,
    canonical_json,
    require_valid,
    verify_bundle,
)
from media_node.storage import MemoryStore

DECIDED = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)


def dossier_files(store: MemoryStore) -> tuple[EvidenceFile, ...]:
    files = {
        "id_front": ("dossiers/HS-1/id_front.jpg", b"front of the ID card"),
        "id_back": ("dossiers/HS-1/id_back.jpg", b"back of the ID card"),
        "portrait": ("dossiers/HS-1/portrait.jpg", b"portrait taken by eKYC"),
        "snapshot": ("calls/C-1/snapshots/snap-1.jpg", b"\xff\xd8 snapshot jpeg \xff\xd9"),
        "recording": ("calls/C-1/recording.webm", b"\x1a\x45\xdf\xa3 webm" * 100),
    }
    for key, content in files.values():
        store.put(key, content)
    return tuple(EvidenceFile(role, key) for role, (key, _) in files.items())


def facts(files: tuple[EvidenceFile, ...]) -> DecisionFacts:
    return DecisionFacts(
        dossier_id="HS-1",
        call_id="C-1",
        decision="A",
        agent_id="tdv1.kv1",
        decided_at=DECIDED,
        files=files,
        unit_id="1",
        call_started_at=DECIDED - timedelta(minutes=5),
        call_answered_at=DECIDED - timedelta(minutes=4),
        call_ended_at=DECIDED - timedelta(seconds=30),
    )


def test_the_manifest_lists_every_file_with_its_hash_and_returns_its_own_hash() -> None:
    store = MemoryStore()
    bundle = build_bundle(store, facts(dossier_files(store)), now=DECIDED)
    raw = store.get(bundle.manifest_key)
    assert bundle.manifest_sha256 == hashlib.sha256(raw).hexdigest()
    assert raw == canonical_json(json.loads(raw))  # canonical: re-serialising gives the same bytes
    manifest = json.loads(raw)
    assert manifest["decision"] == {"code": "A", "reason": None}
    assert manifest["agent_id"] == "tdv1.kv1"
    assert manifest["timestamps"]["decided_at"] == "2026-03-14T02:30:00+00:00"
    snapshot = next(f for f in manifest["files"] if f["role"] == "snapshot")
    assert snapshot["sha256"] == hashlib.sha256(b"\xff\xd8 snapshot jpeg \xff\xd9").hexdigest()
    assert [f["role"] for f in manifest["files"]] == [
        "id_front",
        "id_back",
        "portrait",
        "snapshot",
        "recording",
    ]
    assert bundle.manifest_key == "evidence/HS-1/20260314T023000000000Z-C-1/manifest.json"


# The sha256 of the manifest of ``manifest_facts`` as the version-1 serializer (json.dumps with
# sort_keys, before RFC 8785) wrote it: the manifest hash stored on dossier logs must not move.
VERSION_1_MANIFEST_SHA256 = "fa3256029991b3923a1c64909e4a3751140ca53191890b568e0a5ae5e3075133"


def manifest_facts(store: MemoryStore) -> DecisionFacts:
    """A refusal with free text (Vietnamese, quotes, a line feed, an emoji, HTML characters) and both
    kinds of extra note: everything a manifest can hold."""
    return dataclasses.replace(
        facts(dossier_files(store)),
        decision="R",
        reason='Ảnh mờ, khách "đeo" kính\n<a/b> & 😀',
        extra={"recording_incomplete": "true", "missing_id_back": "dossiers/HS-1/id_back.jpg"},
    )


def test_the_manifest_bytes_are_those_version_1_wrote() -> None:
    store = MemoryStore()
    bundle = build_bundle(store, manifest_facts(store), now=DECIDED)
    raw = store.get(bundle.manifest_key)
    assert bundle.manifest_sha256 == VERSION_1_MANIFEST_SHA256
    version_1 = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert raw == version_1.encode()
    assert json.loads(raw)["version"] == 1


def test_verification_hashes_the_stored_bytes_and_never_rebuilds_them() -> None:
    """A bundle whose manifest was written in any form (here indented, non-ASCII escaped) verifies
    against the hash recorded for those bytes: no change of serializer can break an old bundle."""
    store = MemoryStore()
    bundle = build_bundle(store, manifest_facts(store), now=DECIDED)
    other_form = json.dumps(bundle.manifest, indent=2).encode()
    store.put(bundle.manifest_key, other_form)
    result = verify_bundle(store, bundle.manifest_key, hashlib.sha256(other_form).hexdigest())
    assert result.ok and result.files_checked == 5


def test_an_intact_bundle_verifies() -> None:
    store = MemoryStore()
    bundle = build_bundle(store, facts(dossier_files(store)))
    result = verify_bundle(store, bundle.manifest_key, bundle.manifest_sha256)
    assert result.ok and result.files_checked == 5 and result.mismatch is None


def test_one_changed_byte_of_the_snapshot_is_caught_and_named() -> None:
    store = MemoryStore()
    bundle = build_bundle(store, facts(dossier_files(store)))
    key = "calls/C-1/snapshots/snap-1.jpg"
    tampered = bytearray(store.get(key))
    tampered[5] ^= 0x01
    store.put(key, bytes(tampered))
    result = verify_bundle(store, bundle.manifest_key, bundle.manifest_sha256)
    assert not result.ok
    assert result.mismatch is not None and result.mismatch.startswith(f"snapshot {key}: sha256")
    with pytest.raises(EvidenceInvalid, match="snapshot"):
        require_valid(store, bundle.manifest_key)


def test_a_rewritten_manifest_is_caught_by_the_hash_on_the_dossier_log() -> None:
    store = MemoryStore()
    files = dossier_files(store)
    bundle = build_bundle(store, facts(files))
    forged = json.loads(store.get(bundle.manifest_key))
    forged["decision"]["code"] = "R"
    store.put(bundle.manifest_key, canonical_json(forged))
    assert verify_bundle(store, bundle.manifest_key).ok  # the files still match the (forged) manifest
    result = verify_bundle(store, bundle.manifest_key, bundle.manifest_sha256)
    assert not result.ok and result.mismatch is not None and "manifest sha256" in result.mismatch


def test_a_missing_file_fails_the_bundle_and_its_verification() -> None:
    store = MemoryStore()
    files = dossier_files(store)
    bundle = build_bundle(store, facts(files))
    store.delete(["dossiers/HS-1/portrait.jpg"])
    result = verify_bundle(store, bundle.manifest_key)
    assert result.mismatch == "portrait dossiers/HS-1/portrait.jpg is missing"
    with pytest.raises(EvidenceInvalid, match="portrait"):
        build_bundle(store, facts(files))
    assert not verify_bundle(store, "evidence/none/manifest.json").ok


def test_a_known_hash_is_taken_without_reading_the_file() -> None:
    store = MemoryStore()
    files = dossier_files(store)
    recording = files[-1]
    known = hashlib.sha256(store.get(recording.key)).hexdigest()
    bundle = build_bundle(store, facts((*files[:-1], EvidenceFile("recording", recording.key, known))))
    assert verify_bundle(store, bundle.manifest_key, bundle.manifest_sha256).ok


def test_bad_decisions_and_naive_times_are_refused() -> None:
    store = MemoryStore()
    files = dossier_files(store)
    with pytest.raises(ValueError, match="decision"):
        build_bundle(store, DecisionFacts("HS-1", "C-1", "X", "a", DECIDED, files))
    with pytest.raises(ValueError, match="timezone"):
        build_bundle(store, DecisionFacts("HS-1", "C-1", "A", "a", DECIDED.replace(tzinfo=None), files))


def test_the_verify_command_exits_0_or_1_naming_the_mismatch(capsys: pytest.CaptureFixture[str]) -> None:
    store = MemoryStore()
    bundle = build_bundle(store, facts(dossier_files(store)))
    assert main(["verify", bundle.manifest_key, "--sha256", bundle.manifest_sha256], store=store) == 0
    assert "OK 5 files" in capsys.readouterr().out
    store.put("dossiers/HS-1/id_back.jpg", b"another picture")
    assert main(["verify", bundle.manifest_key], store=store) == 1
    assert "MISMATCH id_back dossiers/HS-1/id_back.jpg" in capsys.readouterr().err
