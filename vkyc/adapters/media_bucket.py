"""The media bucket as ``vkyc.evidence.BlobStore``: what the evidence bundle of a decision reads
(dossier images, snapshots, the recording) and writes (its manifest); and as
``vkyc.services.ports.ObjectFacts``: what S3 reports of a recording a media node reported (``stat``).
boto3, built on first use.

What it writes under ``evidence/`` is locked against deletion and overwriting for
``VKYC_EVIDENCE_RETENTION_DAYS`` days when that is set (S3 Object Lock, COMPLIANCE mode: not even the
account's root can shorten it; the deployment's bucket has Object Lock enabled). Unset, as locally
(moto's bucket has no Object Lock), nothing is locked."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from vkyc import env
from vkyc.adapters.s3 import s3_client
from vkyc.domain.media_facts import StoredObject
from vkyc.evidence import EVIDENCE_PREFIX

_MISSING = ("404", "NoSuchKey", "NotFound")
RETENTION_VARIABLE = "VKYC_EVIDENCE_RETENTION_DAYS"  # vkyc.config.EVIDENCE_RETENTION_DAYS


@dataclass(frozen=True)
class BucketObject:
    key: str
    size: int


class MediaBucket:
    def __init__(self, bucket: str | None = None, client: Any = None) -> None:
        self._bucket = bucket or env.bucket_name()
        self._client = client

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        lock: dict[str, Any] = {}
        days = os.environ.get(RETENTION_VARIABLE, "").strip()
        if days and key.startswith(EVIDENCE_PREFIX):
            until = datetime.now(UTC) + timedelta(days=int(days))
            lock = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}
        self.client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type, **lock)

    def stat(self, key: str) -> StoredObject | None:
        """One HeadObject with ``ChecksumMode=ENABLED``. The SHA-256 is S3's full-object checksum,
        which S3 checked against the body at upload; a composite one (a multipart upload: a hash of the
        parts' hashes, ``<b64>-<parts>``) or none at all gives ``sha256`` None."""
        try:
            head = self.client.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return StoredObject(int(head["ContentLength"]), _full_object_sha256(head))

    def open(self, key: str) -> BinaryIO:
        try:
            body: BinaryIO = self.client.get_object(Bucket=self._bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise KeyError(key) from None
            raise
        return body

    def list_prefix(self, prefix: str) -> list[BucketObject]:
        found: list[BucketObject] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            found.extend(BucketObject(o["Key"], int(o["Size"])) for o in page.get("Contents", []))
        return sorted(found, key=lambda o: o.key)


def _full_object_sha256(head: dict[str, Any]) -> str | None:
    value = head.get("ChecksumSHA256")
    if not isinstance(value, str) or "-" in value or head.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT":
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 32 else None
