"""What the browser tests do on the pages and in the tables: log in, wait for a phase, make a dossier with
ID card and portrait images in the media bucket, settle unit 1 between tests."""

from __future__ import annotations

import uuid
from typing import Any

import boto3

from local.demo.images import demo_face, dossier_images
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


def wait_phase(page: Any, phase: str, timeout: float = 30_000) -> None:
    page.wait_for_function("phase => window.vkyc && window.vkyc.phase === phase", arg=phase, timeout=timeout)


def wait_status(page: Any, status: str, timeout: float = 30_000) -> None:
    page.wait_for_selector(f"#status-badge[data-status={status}]", timeout=timeout)


def go_available(page: Any) -> None:
    page.click("[data-set-status=available]")
    wait_status(page, "AVAILABLE")


def dossier_with_images(unit: str = "1", name: str = "Do Van Hung", display_name: str = "Đỗ Văn Hùng") -> str:
    """A dossier in W-ready state N (a call submits it) whose ID card front and back and portrait are in
    the media bucket, the portrait and the card's photo being the face ``sdk.media.FaceVideo`` shows."""
    face = demo_face()
    dossier_id = f"B-{unit}-{uuid.uuid4().hex[:8]}"
    number = "0010900" + str(uuid.uuid4().int)[:5]
    keys = {side: f"dossiers/{dossier_id}/{side}.jpg" for side in ("id_front", "id_back", "portrait")}
    s3 = boto3.client("s3", endpoint_url=env.endpoint_url(), region_name=env.region())
    bodies = dossier_images(display_name, number, face)
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
