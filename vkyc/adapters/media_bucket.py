"""The media bucket as ``vkyc.evidence.BlobStore``: what the evidence bundle of a decision reads
(dossier images, snapshots, the recording) and writes (its manifest). boto3, built on first use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from vkyc import env
from vkyc.adapters.s3 import s3_client


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
        self.client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def open(self, key: str) -> BinaryIO:
        try:
            body: BinaryIO = self.client.get_object(Bucket=self._bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise KeyError(key) from None
            raise
        return body

    def list_prefix(self, prefix: str) -> list[BucketObject]:
        found: list[BucketObject] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            found.extend(BucketObject(o["Key"], int(o["Size"])) for o in page.get("Contents", []))
        return sorted(found, key=lambda o: o.key)
