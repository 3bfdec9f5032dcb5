"""The media bucket, read-only, for the reports: what files a call left (snapshots, recording) and
pre-signed GET URLs a browser can open (``<img>``, ``<video>``) without AWS credentials.

Key layout (written by the media node, ``media_node.config.KeyLayout``; vkyc does not import it):
``calls/<call_id>/snapshots/<snapshot_id>.jpg``, ``calls/<call_id>/recording.webm`` and its
``recording.json``. Dossier images are wherever the dossier's ``images`` keys say.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from vkyc import env
from vkyc.adapters.s3 import s3_client

URL_TTL_S = 900  # long enough to watch a recording; short enough that a leaked link soon dies


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    last_modified: datetime


class MediaFiles:
    """Lists, reads and pre-signs objects of the media bucket. The client is built on first use."""

    def __init__(self, bucket: str | None = None, client: Any = None, url_ttl_s: int = URL_TTL_S) -> None:
        self.bucket = bucket or env.bucket_name()
        self.url_ttl_s = url_ttl_s
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def listing(self, prefix: str) -> list[StoredFile]:
        """Every object under ``prefix``, by key (one ListObjectsV2 per 1000 keys)."""
        found: list[StoredFile] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found.append(StoredFile(item["Key"], int(item["Size"]), item["LastModified"]))
        return sorted(found, key=lambda f: f.key)

    def check_bucket(self) -> None:
        """Raise unless the bucket exists and answers (one HeadBucket)."""
        self.client.head_bucket(Bucket=self.bucket)

    def exists(self, key: str) -> bool:
        """Whether the object exists (one HeadObject)."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def read_json(self, key: str) -> dict[str, Any] | None:
        """A small JSON object, or None when it is missing or not a JSON object."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError:
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def url(self, key: str) -> str:
        """A pre-signed GET URL for ``key``, valid ``url_ttl_s`` seconds (no request is made)."""
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.url_ttl_s
        )
        return url

    def upload_form(
        self, key: str, content_type: str, min_bytes: int, max_bytes: int, ttl_s: int
    ) -> tuple[str, dict[str, str]]:
        """A pre-signed S3 POST form (URL and fields) that uploads exactly ``key`` with exactly
        ``content_type`` and a size in ``[min_bytes, max_bytes]``, within ``ttl_s`` seconds. No request
        is made (the policy is signed locally)."""
        form = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", min_bytes, max_bytes]],
            ExpiresIn=ttl_s,
        )
        return str(form["url"]), {str(k): str(v) for k, v in form["fields"].items()}

    def delete(self, key: str) -> None:
        """Remove an object (a rejected upload). One DeleteObject; a missing key is not an error."""
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def head(self, key: str) -> dict[str, Any] | None:
        """HeadObject's answer, or None when there is no such object."""
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head
