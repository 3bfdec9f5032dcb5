"""``local.s3_forms`` on the session's moto server: a form POST is checked against its policy, and the
other POST on a bucket, DeleteObjects (``POST /bucket?delete``), still deletes (the media node's
recorder deletes a recording's parts so; the check once refused it for want of a policy)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
import requests

from local.moto_server import MotoServer


@pytest.fixture()
def s3(moto_server: MotoServer) -> Any:
    return boto3.client("s3", endpoint_url=moto_server.url, region_name="ap-southeast-1")


@pytest.fixture()
def bucket(s3: Any) -> str:
    name = f"forms-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})
    return name


def test_delete_objects_is_not_taken_for_a_form_upload(s3: Any, bucket: str) -> None:
    for key in ("calls/c-1/parts/0", "calls/c-1/parts/1", "kept"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    answer = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "calls/c-1/parts/0"}, {"Key": "calls/c-1/parts/1"}]}
    )
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["calls/c-1/parts/0", "calls/c-1/parts/1"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["kept"]


def test_a_form_upload_without_a_policy_is_refused_and_stores_nothing(
    moto_server: MotoServer, s3: Any, bucket: str
) -> None:
    answer = requests.post(
        f"{moto_server.url}/{bucket}", data={"key": "uploads/a.jpg"}, files={"file": b"jpeg"}, timeout=10
    )
    assert answer.status_code == 403 and b"must contain a field named 'policy'" in answer.content
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
