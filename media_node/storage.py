"""Where the media node keeps files: an object store (S3 in production, the moto server locally).

``ObjectStore`` is the small interface the node needs; ``S3Store`` implements it with boto3 and
``MemoryStore`` in memory for unit tests. Every method is blocking (boto3 is): the engine calls
them from a thread (``asyncio.to_thread`` or its own executor), never on the event loop.

Errors: a missing key raises ``KeyError``; any other failure raises ``StorageError`` naming the key.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from media_node.errors import StorageError


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


class ObjectStore(Protocol):
    """A flat key → bytes store with prefix listing (the subset of S3 the node uses)."""

    @property
    def bucket(self) -> str: ...

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str = "application/octet-stream",
        *,
        sha256: str | None = None,
    ) -> None:
        """Upload a file in one piece; with ``sha256`` (hex), stored as the object's SHA-256 checksum,
        which the store checks against the body (S3 refuses a mismatch) and reports on HeadObject:
        signaling checks a reported recording against it."""
        ...

    def get(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object (the caller closes it); ``KeyError`` if absent."""
        ...

    def list_prefix(self, prefix: str) -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
        ...

    def delete(self, keys: list[str]) -> None: ...


class S3Store:
    """``ObjectStore`` on one S3 bucket. ``client`` is a boto3 S3 client (thread-safe)."""

    def __init__(self, bucket: str, client: Any) -> None:
        self._bucket = bucket
        self._s3 = client

    @classmethod
    def from_env(cls, bucket: str | None = None) -> S3Store:
        """The deployment's media bucket (``VKYC_BUCKET``) at ``AWS_ENDPOINT_URL`` (or real AWS)."""
        from vkyc import env
        from vkyc.adapters.s3 import s3_client

        client = s3_client()
        return cls(bucket or env.bucket_name(), client)

    @property
    def bucket(self) -> str:
        return self._bucket

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (local stacks and tests; production has it)."""
        try:
            self._s3.head_bucket(Bucket=self._bucket)
            return
        except Exception:  # any failure of the probe means "try to create it"
            pass
        region = self._s3.meta.region_name
        try:
            if region == "us-east-1":
                self._s3.create_bucket(Bucket=self._bucket)
            else:
                self._s3.create_bucket(
                    Bucket=self._bucket, CreateBucketConfiguration={"LocationConstraint": region}
                )
        except Exception as exc:
            raise StorageError(f"cannot create bucket {self._bucket}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)
        except Exception as exc:
            raise StorageError(f"cannot write s3://{self._bucket}/{key}: {exc}") from exc

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str = "application/octet-stream",
        *,
        sha256: str | None = None,
    ) -> None:
        # One PutObject, never a multipart upload: only then is S3's SHA-256 that of the whole object
        # (a multipart one is a hash of the parts' hashes). A PutObject takes up to 5 GB: a 2-hour call
        # at the node's bitrate cap is under 2 GB.
        extra: dict[str, str] = {"ChecksumAlgorithm": "SHA256"}
        if sha256 is not None:
            extra["ChecksumSHA256"] = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        try:
            with path.open("rb") as body:
                self._s3.put_object(
                    Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, **extra
                )
        except Exception as exc:
            raise StorageError(f"cannot write s3://{self._bucket}/{key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        stream = self.open(key)
        try:
            return stream.read()
        finally:
            stream.close()

    def open(self, key: str) -> BinaryIO:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            raise KeyError(key) from None
        except Exception as exc:
            raise StorageError(f"cannot read s3://{self._bucket}/{key}: {exc}") from exc
        body: BinaryIO = response["Body"]
        return body

    def list_prefix(self, prefix: str) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        try:
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                found.extend(ObjectInfo(o["Key"], int(o["Size"])) for o in page.get("Contents", []))
        except Exception as exc:
            raise StorageError(f"cannot list s3://{self._bucket}/{prefix}: {exc}") from exc
        return sorted(found, key=lambda o: o.key)

    def delete(self, keys: list[str]) -> None:
        try:
            for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
                batch = [{"Key": k} for k in keys[start : start + 1000]]
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})
        except Exception as exc:
            raise StorageError(f"cannot delete from s3://{self._bucket}: {exc}") from exc


class MemoryStore:
    """``ObjectStore`` in memory, thread-safe; for unit tests."""

    def __init__(self, bucket: str = "memory") -> None:
        self._bucket = bucket
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        with self._lock:
            self._objects[key] = bytes(data)

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str = "application/octet-stream",
        *,
        sha256: str | None = None,
    ) -> None:
        data = path.read_bytes()
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise StorageError(f"the sha256 given for {key} is not the file's")  # as S3's BadDigest
        self.put(key, data, content_type)

    def get(self, key: str) -> bytes:
        with self._lock:
            return self._objects[key]

    def open(self, key: str) -> BinaryIO:
        import io

        return io.BytesIO(self.get(key))

    def list_prefix(self, prefix: str) -> list[ObjectInfo]:
        with self._lock:
            return [ObjectInfo(k, len(v)) for k, v in sorted(self._objects.items()) if k.startswith(prefix)]

    def delete(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._objects.pop(key, None)

    def keys(self) -> Iterator[str]:
        with self._lock:
            return iter(sorted(self._objects))
