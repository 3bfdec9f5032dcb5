"""Evidence manifests are locked as they are written (S3 Object Lock, COMPLIANCE) when the deployment
sets ``VKYC_EVIDENCE_RETENTION_DAYS``; other objects, and every object locally, are not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vkyc import env
from vkyc.adapters.media_bucket import RETENTION_VARIABLE, MediaBucket
from vkyc.adapters.s3 import s3_client


@pytest.fixture()
def locked_bucket(moto_server):
    name = f"lock-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": env.region()},
        ObjectLockEnabledForBucket=True,
    )
    return name


def test_an_evidence_manifest_is_locked_for_the_retention_days(locked_bucket, monkeypatch):
    monkeypatch.setenv(RETENTION_VARIABLE, "30")
    MediaBucket(locked_bucket).put("evidence/call-1/manifest.json", b"{}", "application/json")
    head = s3_client().head_object(Bucket=locked_bucket, Key="evidence/call-1/manifest.json")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert timedelta(days=29) < until - datetime.now(UTC) <= timedelta(days=30)


def test_other_objects_and_an_unset_retention_lock_nothing(locked_bucket, monkeypatch):
    monkeypatch.setenv(RETENTION_VARIABLE, "30")
    MediaBucket(locked_bucket).put("calls/call-1/snapshots/s.jpg", b"jpg", "image/jpeg")
    assert "ObjectLockMode" not in s3_client().head_object(
        Bucket=locked_bucket, Key="calls/call-1/snapshots/s.jpg"
    )
    monkeypatch.delenv(RETENTION_VARIABLE)
    MediaBucket(locked_bucket).put("evidence/call-2/manifest.json", b"{}", "application/json")
    assert "ObjectLockMode" not in s3_client().head_object(
        Bucket=locked_bucket, Key="evidence/call-2/manifest.json"
    )
