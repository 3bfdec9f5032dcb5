"""S3 calls through the local moto server, with the POST-form policy check in front of moto's bucket
POST (``local/s3_forms.py``): a batch delete is a bucket POST too, and must not be taken for a form."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import boto3
import pytest


def test_a_batch_delete_is_not_taken_for_a_form_upload(moto_server):
    s3 = boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1")
    bucket = f"delete-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    for key in ("a/1", "a/2", "b/3"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a/1"}, {"Key": "a/2"}]})

    assert sorted(d["Key"] for d in answer.get("Deleted", [])) == ["a/1", "a/2"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["b/3"]


def test_a_form_post_without_a_policy_is_still_refused(moto_server):
    s3 = boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1")
    bucket = f"form-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nx\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\ndata\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        f"{moto_server.url}/{bucket}",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403 and b"policy" in refused.value.read()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
