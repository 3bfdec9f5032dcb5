"""The check of an uploaded dossier image (the integrator API, issue #12), run where OpenCV is: the
media node's image (``python -m media_node check-images``), never a Lambda function.

``check_image`` applies ``vkyc.domain.images``' rules in order: the declared type, the size, the
content's own type (magic bytes), the dimensions read from the file's header (before decoding, so a
small file announcing a huge picture is refused without allocating it), decoding, and, for the
portrait, a frontal face with the snapshot's own detector (``media_node.snapshot.analyse``).

``ImageCheckWorker`` takes jobs from the image-check queue (``{"kind": "check_image", key, dossier_id,
role}``, sent by the integrations app when S3 told it of an upload), reads the object (at most
``MAX_BYTES`` + 1 bytes), and sends the verdict to the integrations queue (``image_checked``), which
applies it to the dossier. A job whose verdict could not be sent stays on the queue and comes back.
The worker touches no table: S3 and the two queues only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import threading
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from media_node.snapshot import analyse
from vkyc.domain.images import (
    IMAGE_DIMENSIONS_OUT_OF_RANGE,
    IMAGE_NOT_DECODABLE,
    MAX_BYTES,
    MAX_SIDE_PX,
    ImageRole,
    Rejection,
    check_bytes,
    check_picture,
    sniffed_type,
)

log = logging.getLogger("vkyc.media.images")
VERDICT = "image_checked"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: str | None
    detail: str | None
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None
    face_found: bool | None = None
    sha256: str | None = None


def header_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR or a JPEG's first SOF segment, without decoding; None when the
    header does not say (a broken file)."""
    kind = sniffed_type(data[:16])
    if kind == "image/png":
        if len(data) >= 24 and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        return None
    if kind != "image/jpeg":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        # SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): the frame's height then width.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        if marker == 0xDA or length < 2:
            return None
        pos += 2 + length
    return None


def check_image(role: ImageRole, declared_type: str, data: bytes) -> Verdict:
    """The verdict on one upload (see the module docstring). CPU-bound: tens of milliseconds for a
    phone's picture, the face detection included."""

    def refused(rejection: Rejection, **measured: Any) -> Verdict:
        return Verdict(False, rejection.code, rejection.detail, declared_type, len(data), **measured)

    rejection = check_bytes(declared_type, len(data), data[:16])
    if rejection is not None:
        return refused(rejection)
    dimensions = header_dimensions(data)
    if dimensions is None:
        return refused(Rejection(IMAGE_NOT_DECODABLE, "the file's header gives no picture size"))
    width, height = dimensions
    if max(width, height) > MAX_SIDE_PX or min(width, height) <= 0:
        return refused(
            Rejection(IMAGE_DIMENSIONS_OUT_OF_RANGE, f"{width}x{height} px announced"),
            width=width,
            height=height,
        )
    picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if picture is None:
        return refused(Rejection(IMAGE_NOT_DECODABLE, "the picture does not decode"))
    height, width = picture.shape[:2]
    face_found = analyse(picture).face_found if role is ImageRole.PORTRAIT else None
    rejection = check_picture(role, width, height, face_found)
    if rejection is not None:
        return refused(rejection, width=width, height=height, face_found=face_found)
    digest = hashlib.sha256(data).hexdigest()
    return Verdict(True, None, None, declared_type, len(data), width, height, face_found, digest)


class ImageCheckWorker:
    """Polls the image-check queue until ``stop`` is set (a thread of the local stack, or the process
    of ``python -m media_node check-images``)."""

    def __init__(self, sqs: Any, s3: Any, bucket: str, jobs_queue: str, verdicts_queue: str) -> None:
        self.sqs = sqs
        self.s3 = s3
        self.bucket = bucket
        self.jobs_url = sqs.get_queue_url(QueueName=jobs_queue)["QueueUrl"]
        self.verdicts_url = sqs.get_queue_url(QueueName=verdicts_queue)["QueueUrl"]

    @classmethod
    def from_env(cls) -> ImageCheckWorker:
        import boto3

        from vkyc import env
        from vkyc.adapters.s3 import s3_client

        sqs = boto3.client("sqs", region_name=env.region(), endpoint_url=env.endpoint_url())
        return cls(
            sqs, s3_client(), env.bucket_name(), env.image_check_queue_name(), env.integrations_queue_name()
        )

    def run(self, stop: threading.Event, wait_s: int = 1) -> None:
        log.info("image checker polling %s", self.jobs_url)
        while not stop.is_set():
            try:
                self.poll_once(wait_s)
            except Exception:
                log.exception("image checker: a poll failed; trying again")
                stop.wait(1.0)

    def poll_once(self, wait_s: int = 1) -> int:
        """Check the jobs one receive returns; how many verdicts were sent."""
        answer = self.sqs.receive_message(
            QueueUrl=self.jobs_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s
        )
        sent = 0
        for message in answer.get("Messages", []):
            job = json.loads(message["Body"])
            verdict = self.check(job)
            self.sqs.send_message(QueueUrl=self.verdicts_url, MessageBody=json.dumps(verdict))
            self.sqs.delete_message(QueueUrl=self.jobs_url, ReceiptHandle=message["ReceiptHandle"])
            sent += 1
        return sent

    def check(self, job: dict[str, Any]) -> dict[str, Any]:
        """The verdict message of one job (a missing object is a verdict too: nothing to accept)."""
        key, role = str(job["key"]), ImageRole(str(job["role"]))
        base = {"kind": VERDICT, "key": key, "dossier_id": job.get("dossier_id"), "role": role.value}
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return {**base, "ok": False, "code": IMAGE_NOT_DECODABLE, "detail": "the upload is gone"}
        declared = str(obj.get("ContentType") or "")
        data = obj["Body"].read(MAX_BYTES + 1)
        # The object's own size decides (a body read to the cap would look in range).
        size = int(obj.get("ContentLength", len(data)))
        verdict = check_image(role, declared, data) if size == len(data) else _too_large(declared, size)
        uploaded = obj.get("LastModified")
        out = {**base, **asdict(verdict)}
        if uploaded is not None:
            out["uploaded_at"] = uploaded.isoformat()
        log.info("image %s: %s", key, "accepted" if verdict.ok else f"{verdict.code} ({verdict.detail})")
        return out


def _too_large(declared: str, size: int) -> Verdict:
    rejection = check_bytes(declared, size, b"")
    assert rejection is not None
    return Verdict(False, rejection.code, rejection.detail, declared, size)
