"""What the browser tests do on the pages and in the tables: log in, wait for a phase, make a dossier with
ID card and portrait images in the media bucket, settle unit 1 between tests."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import cv2
import numpy as np

from vkyc import env
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import CustomerInfo, DossierImages

PASSWORDS = {
    "tdv1.kv1": "demo-tdv1-kv1",
    "tdv2.kv1": "demo-tdv2-kv1",
    "tdv3.kv1": "demo-tdv3-kv1",
    "gs.kv1": "demo-gs-kv1",
}


def login(page: Any, username: str, ready: str) -> None:
    """Fill the login form of the page and wait until ``ready`` (a selector) is visible."""
    page.fill("#login-form [name=username]", username)
    page.fill("#login-form [name=password]", PASSWORDS[username])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(ready, state="visible")


def wait_phase(page: Any, phase: str, timeout: float = 15_000) -> None:
    page.wait_for_function("phase => window.vkyc && window.vkyc.phase === phase", arg=phase, timeout=timeout)


def wait_status(page: Any, status: str, timeout: float = 15_000) -> None:
    page.wait_for_selector(f"#status-badge[data-status={status}]", timeout=timeout)


def go_available(page: Any) -> None:
    page.click("[data-set-status=available]")
    wait_status(page, "AVAILABLE")


def _jpeg(picture: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return data.tobytes()


def _id_card(side: str, name: str, number: str, face: np.ndarray | None) -> bytes:
    card = np.full((300, 480, 3), (236, 226, 196), np.uint8)
    cv2.rectangle(card, (0, 0), (479, 56), (180, 40, 40), -1)
    cv2.putText(card, "CAN CUOC CONG DAN", (20, 38), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
    if side == "front":
        if face is not None:
            card[80:240, 24:144] = cv2.resize(face, (120, 160))
        for row, text in enumerate(
            [f"So: {number}", f"Ho ten: {name}", "Ngay sinh: 01/01/1990", "Quoc tich: Viet Nam"]
        ):
            cv2.putText(card, text, (165, 110 + 38 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (30, 30, 30), 1)
    else:
        cv2.putText(
            card, "Dac diem nhan dang: not ruoi", (24, 120), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (30, 30, 30), 1
        )
        cv2.rectangle(card, (24, 160), (200, 260), (60, 60, 60), 2)
        cv2.putText(
            card, "<<VNM" + number + "<<<", (24, 290), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (30, 30, 30), 1
        )
    return _jpeg(card)


def dossier_with_images(unit: str = "1", name: str = "Do Van Hung", display_name: str = "Đỗ Văn Hùng") -> str:
    """A dossier in W-ready state N (a call submits it) whose ID card front and back and portrait are in
    the media bucket, the portrait and the card's photo being the face ``sdk.media.FaceVideo`` shows."""
    from skimage import data

    face = np.ascontiguousarray(data.astronaut()[20:240, 110:280])
    dossier_id = f"B-{unit}-{uuid.uuid4().hex[:8]}"
    number = "0010900" + str(uuid.uuid4().int)[:5]
    keys = {side: f"dossiers/{dossier_id}/{side}.jpg" for side in ("id_front", "id_back", "portrait")}
    s3 = boto3.client("s3", endpoint_url=env.endpoint_url(), region_name=env.region())
    bodies = {
        "id_front": _id_card("front", name, number, face),
        "id_back": _id_card("back", name, number, None),
        "portrait": _jpeg(cv2.resize(face, (240, 320))),
    }
    for side, key in keys.items():
        s3.put_object(Bucket=env.bucket_name(), Key=key, Body=bodies[side], ContentType="image/jpeg")
    DossierRepository().create(
        dossier_id,
        unit_id=unit,
        request_id=uuid.uuid4().hex,
        actor="test",
        subscriber="84901000999",
        sub_type="ZP",
        customer_type="KHCN",
        payment_type="prepaid",
        customer=CustomerInfo(name=display_name, id_number=number),
        images=DossierImages(
            id_front_key=keys["id_front"], id_back_key=keys["id_back"], portrait_key=keys["portrait"]
        ),
        dealer_account="dbh.kv1.hanoi01",
    )
    return dossier_id
