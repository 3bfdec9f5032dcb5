"""Who may report on a call, and which recording facts may be stored (``vkyc.domain.media_facts``)."""

from __future__ import annotations

import pytest

from vkyc.domain.media_facts import (
    ReportedRecording,
    StoredObject,
    may_report,
    recording_key_refusal,
    recording_refusal,
    snapshot_refusal,
)

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("node", "carrier", "recoverers", "recovery", "allowed"),
    [
        ("n1", "n1", (), False, True),
        ("n2", "n1", (), False, False),
        ("n2", "n1", ("n2",), False, False),  # a recoverer reports the recording, not the call's media
        ("n2", "n1", ("n2",), True, True),
        ("n3", "n1", ("n2",), True, False),
        ("n1", None, (), False, False),
    ],
)
def test_only_the_carrier_or_an_asked_recoverer_may_report(node, carrier, recoverers, recovery, allowed):
    assert may_report(node, carrier, recoverers, recovery=recovery) is allowed


@pytest.mark.parametrize(
    ("key", "size", "sha256", "code"),
    [
        ("calls/c-1/recording.webm", 10, SHA, None),
        (None, 0, None, None),
        ("calls/c-2/recording.webm", 10, SHA, "MEDIA_KEY_OUTSIDE_CALL"),
        ("calls/c-10/recording.webm", 10, SHA, "MEDIA_KEY_OUTSIDE_CALL"),  # c-1 is not a prefix of c-10's
        ("calls/c-1", 10, SHA, "MEDIA_KEY_OUTSIDE_CALL"),
        ("evidence/D-1/manifest.json", 10, SHA, "MEDIA_KEY_OUTSIDE_CALL"),
        (None, 10, None, "RECORDING_MISMATCH"),
        (None, 0, SHA, "RECORDING_MISMATCH"),
        ("calls/c-1/recording.webm", 10, None, "RECORDING_MISMATCH"),
    ],
)
def test_a_recordings_key_and_facts_are_checked_before_the_bucket_is_asked(key, size, sha256, code):
    refusal = recording_key_refusal("c-1", ReportedRecording(key, size, sha256))
    assert (refusal.code if refusal else None) == code


@pytest.mark.parametrize(
    ("stored", "code"),
    [
        (StoredObject(10, SHA), None),
        (StoredObject(10, SHA.upper()), None),
        (None, "RECORDING_OBJECT_MISSING"),
        (StoredObject(11, SHA), "RECORDING_MISMATCH"),
        (StoredObject(10, "cd" * 32), "RECORDING_MISMATCH"),
        (StoredObject(10, None), "RECORDING_MISMATCH"),
    ],
)
def test_a_recordings_facts_must_be_what_the_bucket_reports(stored, code):
    refusal = recording_refusal(ReportedRecording("calls/c-1/recording.webm", 10, SHA), stored)
    assert (refusal.code if refusal else None) == code


def test_a_snapshot_lies_under_its_calls_snapshots():
    assert snapshot_refusal("c-1", "calls/c-1/snapshots/s.jpg") is None
    for key in ("calls/c-2/snapshots/s.jpg", "calls/c-1/recording.webm", "dossiers/D/portrait.jpg"):
        refusal = snapshot_refusal("c-1", key)
        assert refusal is not None and refusal.code == "MEDIA_KEY_OUTSIDE_CALL"
