"""Pictures for the demo dossiers: the ID card's front and back and the eKYC portrait that the agent page
shows beside the live video, drawn here and put in the media bucket under the keys the demo file names.

The face is scikit-image's ``astronaut``, the one the reference SDK's mobile sends (``sdk.media.
FaceVideo``), so a demo call shows the same person on the card, in the portrait and on camera. Cards are
drawn with OpenCV's Hershey font, which has no Vietnamese diacritics: names are written without them.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import cv2
import numpy as np
from botocore.exceptions import ClientError

from local.demo.schema import DemoData

CARD_SIZE = (480, 300)  # width, height: the shape of a CCCD card
PORTRAIT_SIZE = (240, 320)
_INK = (30, 30, 30)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def demo_face() -> np.ndarray:
    """The face crop (RGB) the SDK's face video shows."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[20:240, 110:280])


def without_diacritics(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if not unicodedata.combining(c))


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def id_card(side: str, name: str, number: str, face: np.ndarray | None) -> bytes:
    """A CCCD-like card (RGB JPEG): ``side`` is ``front`` (photo, number, name) or ``back``."""
    width, height = CARD_SIZE
    card = np.full((height, width, 3), (236, 226, 196), np.uint8)
    cv2.rectangle(card, (0, 0), (width - 1, 56), (180, 40, 40), -1)
    cv2.putText(card, "CAN CUOC CONG DAN", (20, 38), _FONT, 0.9, (255, 255, 255), 2)
    if side == "front":
        if face is not None:
            card[80:240, 24:144] = cv2.resize(face, (120, 160))
        lines = [
            f"So: {number}",
            f"Ho ten: {without_diacritics(name)}",
            "Ngay sinh: 01/01/1990",
            "Quoc tich: Viet Nam",
        ]
        for row, text in enumerate(lines):
            cv2.putText(card, text, (165, 110 + 38 * row), _FONT, 0.6, _INK, 1)
    else:
        cv2.putText(card, "Dac diem nhan dang: not ruoi", (24, 120), _FONT, 0.6, _INK, 1)
        cv2.rectangle(card, (24, 160), (200, 260), (60, 60, 60), 2)
        cv2.putText(card, "<<VNM" + number + "<<<", (24, 290), _FONT, 0.55, _INK, 1)
    return jpeg(card)


def dossier_images(name: str, number: str, face: np.ndarray) -> dict[str, bytes]:
    """``id_front``, ``id_back`` and ``portrait`` JPEGs of one customer."""
    return {
        "id_front": id_card("front", name, number, face),
        "id_back": id_card("back", name, number, None),
        "portrait": jpeg(cv2.resize(face, PORTRAIT_SIZE)),
    }


def upload_demo_images(data: DemoData, s3: Any, bucket: str) -> int:
    """Put each demo dossier's three pictures at its keys, where nothing is stored yet (a picture an
    integrator or a test replaced is kept). Returns how many objects were written."""
    face = demo_face()
    written = 0
    for dossier in data.dossiers:
        keys = {
            "id_front": dossier.images.id_front_key,
            "id_back": dossier.images.id_back_key,
            "portrait": dossier.images.portrait_key,
        }
        missing = {part: key for part, key in keys.items() if not _exists(s3, bucket, key)}
        if not missing:
            continue
        pictures = dossier_images(dossier.customer.name, dossier.customer.id_number, face)
        for part, key in missing.items():
            s3.put_object(Bucket=bucket, Key=key, Body=pictures[part], ContentType="image/jpeg")
            written += 1
    return written


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def check_demo_images(data: DemoData, s3: Any, bucket: str) -> int:
    """Run each demo dossier's pictures, as stored, through the check integrators' uploads get
    (``media_node.image_check``) and record the outcome on the dossier, which then tracks its images
    like a dossier of the integrator API (``GET /v1/dossiers`` shows them checked; a picture that fails
    makes the dossier uncallable, ``DOSSIER_IMAGES_REQUIRED``). Dossiers already tracking their images
    are left alone. Returns how many dossiers were recorded."""
    from datetime import UTC, datetime

    from media_node.image_check import check_image
    from vkyc.domain.images import ImageRole, ImageStatus
    from vkyc.repositories.dossiers import DossierRepository
    from vkyc.repositories.tables import DossierImageChecks, ImageCheck
    from vkyc.repositories.transitions import commit, plan_note

    repo = DossierRepository()
    recorded = 0
    for demo in data.dossiers:
        dossier = repo.find(demo.id)
        if dossier is None or dossier.image_checks is not None:
            continue
        now = datetime.now(UTC)
        checks = DossierImageChecks()
        for role in ImageRole:
            key = getattr(demo.images, f"{role.value}_key")
            obj = s3.get_object(Bucket=bucket, Key=key)
            body = obj["Body"].read()
            verdict = check_image(role, str(obj.get("ContentType") or "image/jpeg"), body)
            check = ImageCheck(status=ImageStatus.MISSING.value)
            if verdict.ok:
                check = ImageCheck(
                    status=ImageStatus.VALID.value,
                    key=key,
                    content_type=verdict.content_type,
                    size=verdict.size,
                    width=verdict.width,
                    height=verdict.height,
                    sha256=verdict.sha256,
                    face_found=verdict.face_found,
                    uploaded_at=now,
                    checked_at=now,
                )
            else:
                check.rejected_key, check.rejected_code = key, verdict.code
                check.rejected_detail, check.rejected_at = verdict.detail, now
            setattr(checks, role.value, check)
        change = plan_note(
            dossier,
            event="images_checked",
            actor="demo-loader",
            reason="demo pictures",
            attrs={"image_checks": checks},
        )
        commit(change, request_id=f"demo:{demo.id}:images-checked", at=now)
        recorded += 1
    return recorded
