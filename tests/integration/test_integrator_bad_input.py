"""Issue #12's third "done when": bad input to the integrator API, each answered with a coded error and
nothing stored changed. Through the local stack with ``urllib``: malformed bodies, wrong credentials,
wrong image types and sizes, files that are not pictures (S3 refuses what the form's policy forbids; the
image check rejects the rest, after the upload, recording its code beside the image the dossier keeps),
another unit's ids (answered as ids that do not exist), a reused ``Idempotency-Key``, a decided dossier."""

from __future__ import annotations

import uuid
from typing import Any

import cv2
import numpy as np
import pytest

from local.demo.images import demo_face, dossier_images
from tests.binding import assert_bound_to
from tests.integration.integrator_http import V1, fetch, upload
from tests.integration.test_signaling import API_KEY_UNIT_1
from tests.polling import wait_until
from vkyc.domain.call import CALL, CallEvent
from vkyc.repositories import webhooks
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import Call

pytestmark = pytest.mark.usefixtures("stack_tables")

INTAKE = {
    "customer": {"name": "Trần Văn Bình", "id_number": "001090055555"},
    "subscriber": "0901000888",
    "sub_type": "MC",
    "customer_type": "KHCN",
    "payment_type": "prepaid",
    "dealer_account": "dbh.kv1.hanoi01",
}
PICTURES = dossier_images(INTAKE["customer"]["name"], INTAKE["customer"]["id_number"], demo_face())


@pytest.fixture(scope="module")
def api(stack) -> V1:
    return V1(stack.http_url, API_KEY_UNIT_1)


@pytest.fixture(scope="module")
def dossier(api, stack_tables_module) -> str:
    """A dossier of unit 1 whose three images were uploaded and accepted."""
    dossier_id = f"HS-KV1-BAD-{uuid.uuid4().hex[:6].upper()}"
    api.ok("PUT", f"/v1/dossiers/{dossier_id}", INTAKE)
    asked = {"images": [{"role": role, "content_type": "image/jpeg"} for role in PICTURES]}
    for form in api.ok("POST", f"/v1/dossiers/{dossier_id}/images", asked)["forms"]:
        assert upload(form, PICTURES[form["role"]])[0] == 204
    wait_until(lambda: api.ok("GET", f"/v1/dossiers/{dossier_id}")["eligible"], timeout=30)
    return dossier_id


@pytest.fixture(scope="module")
def stack_tables_module(stack):
    """The models point at the stack's tables (as ``stack_tables``, for the module's fixtures)."""
    assert_bound_to(stack)


def stored(api: V1, dossier_id: str) -> dict[str, Any]:
    """What the dossier holds, without the pre-signed URLs (signed anew at each read)."""
    read = api.ok("GET", f"/v1/dossiers/{dossier_id}")
    for image in read["images"].values():
        image["url"] = (image["url"] or "").split("?")[0]
    return read


# -- credentials ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Authorization": "ApiKey "}, 401, "AUTH_REQUIRED"),
        ({"Authorization": "Bearer something"}, 401, "AUTH_REQUIRED"),
        ({"Authorization": "ApiKey vkyc_not_a_key_at_all_0000000000"}, 401, "API_KEY_INVALID"),
        ({"x-api-key": "vkyc_not_a_key_at_all_0000000000"}, 401, "API_KEY_INVALID"),
        ({"Authorization": f"ApiKey {API_KEY_UNIT_1}", "x-api-key": "another"}, 401, "AUTH_REQUIRED"),
    ],
    ids=["empty", "bearer", "unknown", "unknown-x-api-key", "two-keys"],
)
def test_a_missing_or_wrong_key_is_refused_with_its_code(api, headers, status, code):
    answer = api.call("GET", "/v1/webhooks", headers=headers)
    assert answer[0] == status and answer[1]["code"] == code


def test_the_key_works_in_either_header(api):
    assert api.call("GET", "/v1/webhooks", headers={"x-api-key": API_KEY_UNIT_1})[0] == 200
    assert api.call("GET", "/v1/webhooks")[0] == 200


# -- malformed bodies ----------------------------------------------------------------------------------


def _changed(**changes: Any) -> dict[str, Any]:
    body = {**INTAKE, **changes}
    return {k: v for k, v in body.items() if v is not None}


MALFORMED = [
    (b"{not json", "application/json", 400, "BAD_JSON"),
    (b'{"customer": [' * 40, "application/json", 400, "BAD_JSON"),
    (b"customer=x", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (_changed(extra="field"), None, 400, "BAD_MESSAGE"),
    (_changed(customer={"name": "A", "id_number": "12345"}), None, 400, "BAD_MESSAGE"),
    (_changed(subscriber="call me"), None, 400, "BAD_MESSAGE"),
    (_changed(customer_type="VIP"), None, 400, "BAD_MESSAGE"),
    (_changed(payment_type=None), None, 400, "BAD_MESSAGE"),
    (_changed(sub_type="Z P!"), None, 400, "BAD_MESSAGE"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "code"), MALFORMED)
def test_a_malformed_intake_is_refused_and_changes_nothing(api, dossier, body, content_type, status, code):
    before = stored(api, dossier)
    fresh = f"HS-KV1-NEW-{uuid.uuid4().hex[:6].upper()}"
    for target in (dossier, fresh):
        headers = {"Content-Type": content_type} if content_type else {}
        raw = body if isinstance(body, bytes) else None
        answer = api.call("PUT", f"/v1/dossiers/{target}", None if raw else body, raw=raw, headers=headers)
        assert answer[0] == status and answer[1]["code"] == code, answer
    assert stored(api, dossier) == before
    assert api.call("GET", f"/v1/dossiers/{fresh}")[1]["code"] == "NOT_FOUND", "nothing was created"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"images": [{"role": "portrait", "content_type": "image/gif"}]}, "content_type"),
        ({"images": [{"role": "selfie", "content_type": "image/jpeg"}]}, "role"),
        ({"images": [{"role": "portrait", "content_type": "image/jpeg"}] * 2}, "each role at most once"),
        ({"images": []}, "images"),
    ],
    ids=["gif", "unknown-role", "twice", "none"],
)
def test_a_wrong_image_type_or_role_gets_no_form(api, dossier, body, field):
    status, answer = api.call("POST", f"/v1/dossiers/{dossier}/images", body)
    assert (status, answer["code"]) == (400, "BAD_MESSAGE") and field in answer["message"]


def test_a_post_without_an_idempotency_key_is_refused(api, dossier):
    asked = {"images": [{"role": "portrait", "content_type": "image/jpeg"}]}
    status, answer = api.call(
        "POST", f"/v1/dossiers/{dossier}/images", asked, headers={"Idempotency-Key": ""}
    )
    assert (status, answer["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")


# -- uploads -------------------------------------------------------------------------------------------


def _jpeg(width: int, height: int) -> bytes:
    noise = np.random.default_rng(7).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", noise, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def _png() -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(demo_face(), cv2.COLOR_RGB2BGR))[1].tobytes()


CHECKED_UPLOADS = [
    ("portrait", b"This is a text file, not a picture of anyone. " * 100, "IMAGE_TYPE_UNSUPPORTED"),
    ("portrait", b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 20, "IMAGE_NOT_DECODABLE"),
    ("portrait", _png(), "IMAGE_TYPE_UNSUPPORTED"),
    ("portrait", PICTURES["id_back"], "IMAGE_NO_FACE"),
    ("id_front", _jpeg(120, 90), "IMAGE_DIMENSIONS_OUT_OF_RANGE"),
]


@pytest.mark.parametrize(
    ("role", "data", "code"),
    CHECKED_UPLOADS,
    ids=["text", "corrupt-jpeg", "png-as-jpeg", "no-face", "thumbnail"],
)
def test_an_upload_that_fails_its_check_is_rejected_with_its_code_and_the_image_kept(
    api, dossier, role, data, code
):
    before = stored(api, dossier)
    asked = {"images": [{"role": role, "content_type": "image/jpeg"}]}
    (form,) = api.ok("POST", f"/v1/dossiers/{dossier}/images", asked)["forms"]
    assert upload(form, data)[0] == 204, "S3 takes it: the form's policy cannot see inside a file"
    key = form["fields"]["key"]
    rejected = wait_until(
        lambda: (
            (r := stored(api, dossier))["images"][role]["last_rejection"]
            and r["images"][role]["last_rejection"]["at"]
            != (before["images"][role]["last_rejection"] or {}).get("at")
            and r
        ),
        timeout=30,
    )
    assert rejected["images"][role]["last_rejection"]["code"] == code
    kept = {k: v for k, v in rejected["images"][role].items() if k != "last_rejection"}
    assert kept == {k: v for k, v in before["images"][role].items() if k != "last_rejection"}
    assert fetch(api.ok("GET", f"/v1/dossiers/{dossier}")["images"][role]["url"]) == PICTURES[role]
    assert (rejected["state"], rejected["eligible"]) == (before["state"], True)
    with pytest.raises(Exception, match="404"):
        fetch(_presigned(key))


def _presigned(key: str) -> str:
    from vkyc.adapters.media_files import MediaFiles

    return MediaFiles().url(key)


@pytest.mark.parametrize(
    ("change", "status", "s3_code"),
    [
        ({"data": b"\xff\xd8\xff" + b"x" * 100}, 400, "EntityTooSmall"),
        ({"fields": {"Content-Type": "text/html"}}, 403, "AccessDenied"),
        ({"fields": {"key": "dossiers/HS-KV1-0001/portrait.jpg"}}, 403, "AccessDenied"),
        ({"fields": {"policy": ""}}, 403, "AccessDenied"),
    ],
    ids=["too-small", "another-type", "another-key", "no-policy"],
)
def test_s3_refuses_an_upload_outside_the_forms_policy_and_nothing_is_stored(
    api, dossier, change, status, s3_code
):
    before = stored(api, dossier)
    asked = {"images": [{"role": "portrait", "content_type": "image/jpeg"}]}
    (form,) = api.ok("POST", f"/v1/dossiers/{dossier}/images", asked)["forms"]
    form = {**form, "fields": {**form["fields"], **change.get("fields", {})}}
    answer = upload(form, change.get("data", PICTURES["portrait"]))
    assert answer[0] == status and s3_code.encode() in answer[1]
    assert stored(api, dossier) == before


def test_a_too_large_upload_is_refused_by_s3(api, dossier):
    asked = {"images": [{"role": "portrait", "content_type": "image/jpeg"}]}
    (form,) = api.ok("POST", f"/v1/dossiers/{dossier}/images", asked)["forms"]
    huge = b"\xff\xd8\xff" + bytes(form["max_bytes"])
    status, body = upload(form, huge)
    assert status == 400 and b"EntityTooLarge" in body


# -- another unit's ids, idempotency, decided dossiers ---------------------------------------------------


def test_another_units_dossier_call_and_webhook_answer_as_if_absent_and_stay_as_they_were(api):
    other = DossierRepository().get("HS-KV7-0001")
    call = Call(f"call-u7-{uuid.uuid4().hex[:8]}", direction="in", unit_id="7", dossier_id="HS-KV7-0001")
    calls = CallRepository()
    calls.create(call, CALL, request_id=uuid.uuid4().hex, actor="test")
    calls.transition(call, CALL, CallEvent.CALLER_HANGUP, request_id=uuid.uuid4().hex, actor="test")
    sink = webhooks.find_subscription("wh_demo_sink_unit_7")
    assert sink is not None
    refusals = [
        (api.call("GET", "/v1/dossiers/HS-KV7-0001"), 404, "NOT_FOUND"),
        (api.call("PUT", "/v1/dossiers/HS-KV7-0001", INTAKE), 404, "NOT_FOUND"),
        (
            api.call(
                "POST",
                "/v1/dossiers/HS-KV7-0001/images",
                {"images": [{"role": "portrait", "content_type": "image/png"}]},
            ),
            404,
            "NOT_FOUND",
        ),
        (api.call("GET", f"/v1/calls/{call.call_id}"), 404, "CALL_NOT_FOUND"),
        (api.call("GET", f"/v1/webhooks/{sink.webhook_id}"), 404, "WEBHOOK_NOT_FOUND"),
        (
            api.call("PATCH", f"/v1/webhooks/{sink.webhook_id}", {"status": "paused"}),
            404,
            "WEBHOOK_NOT_FOUND",
        ),
        (api.call("DELETE", f"/v1/webhooks/{sink.webhook_id}"), 404, "WEBHOOK_NOT_FOUND"),
        (api.call("POST", f"/v1/webhooks/{sink.webhook_id}/secret"), 404, "WEBHOOK_NOT_FOUND"),
        (api.call("GET", f"/v1/webhooks/{sink.webhook_id}/deliveries"), 404, "WEBHOOK_NOT_FOUND"),
    ]
    for (status, answer), expected_status, code in refusals:
        assert (status, answer["code"]) == (expected_status, code), answer
    missing = api.call("GET", "/v1/dossiers/HS-KV1-NO-SUCH")
    assert missing[1]["message"] == api.call("GET", "/v1/dossiers/HS-KV7-0001")[1]["message"], (
        "not told apart"
    )
    assert api.ok("GET", "/v1/calls?dossier=HS-KV7-0001")["calls"] == []
    assert all(c["call_id"] != call.call_id for c in api.ok("GET", "/v1/calls?limit=100")["calls"])
    after = DossierRepository().get("HS-KV7-0001")
    assert (after.version, after.customer.name) == (other.version, other.customer.name)
    assert webhooks.find_subscription(sink.webhook_id).version == sink.version


def test_a_reused_idempotency_key_with_another_body_is_refused_and_nothing_changes(api, stack):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.ok(
        "POST",
        "/v1/webhooks",
        {"url": "https://hooks.example.com/a", "events": ["dossier.decided"]},
        headers=key,
    )
    try:
        status, answer = api.call(
            "POST",
            "/v1/webhooks",
            {"url": "https://hooks.example.com/b", "events": ["dossier.decided"]},
            headers=key,
        )
        assert (status, answer["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
        other_endpoint = api.call(
            "POST", f"/v1/webhooks/{first['webhook']['webhook_id']}/secret", headers=key
        )
        assert other_endpoint[1]["code"] == "IDEMPOTENCY_KEY_REUSED", "a key is spent on one request"
        urls = [w["url"] for w in api.ok("GET", "/v1/webhooks")["webhooks"]]
        assert "https://hooks.example.com/b" not in urls and urls.count("https://hooks.example.com/a") == 1
        replay = api.ok(
            "POST",
            "/v1/webhooks",
            {"events": ["dossier.decided"], "url": "https://hooks.example.com/a"},
            headers=key,
        )
        assert replay == first, "the same request again gets the first answer, nothing new is created"
    finally:
        api.ok("DELETE", f"/v1/webhooks/{first['webhook']['webhook_id']}")


def test_a_decided_dossier_takes_its_own_body_again_but_no_change(api):
    approved = DossierRepository().get("HS-KV1-0003")
    same = {
        "customer": {"name": approved.customer.name, "id_number": approved.customer.id_number},
        "subscriber": approved.subscriber,
        "sub_type": approved.sub_type,
        "customer_type": approved.customer_type,
        "payment_type": approved.payment_type,
        "dealer_account": approved.dealer_account,
        "note": approved.note,
    }
    assert api.ok("PUT", "/v1/dossiers/HS-KV1-0003", same)["version"] == approved.version
    status, answer = api.call("PUT", "/v1/dossiers/HS-KV1-0003", {**same, "sub_type": "MC"})
    assert (status, answer["code"]) == (409, "DOSSIER_DECIDED")
    status, answer = api.call(
        "POST",
        "/v1/dossiers/HS-KV1-0003/images",
        {"images": [{"role": "portrait", "content_type": "image/jpeg"}]},
    )
    assert (status, answer["code"]) == (409, "DOSSIER_DECIDED")
    after = DossierRepository().get("HS-KV1-0003")
    assert (after.version, after.sub_type, after.state) == (approved.version, approved.sub_type, "A")


def test_a_cursor_that_is_not_one_the_list_gave_is_refused(api):
    for cursor in ("garbage", "eyJzIjogIngiLCAiayI6IHt9fQ"):
        status, answer = api.call("GET", f"/v1/calls?cursor={cursor}")
        assert (status, answer["code"]) == (400, "BAD_MESSAGE") and "cursor" in answer["message"]
