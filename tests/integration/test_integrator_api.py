"""Issue #12's first "done when", through the local stack with a plain HTTP client (``urllib``, not the
SDK): the eKYC backend creates a dossier, uploads the ID card and portrait through pre-signed S3 forms
(checked after upload by the image checker), the dealer's mobile calls, the agent decides A, the mobile's
``call.result`` carries URLs that open, the dossier read through ``/v1`` shows A with evidence URLs that
open and hash to the bundle's manifest, and a real HTTP receiver gets ``dossier.decided`` (and
``evidence.ready``) and verifies the signature with the recipe of docs/webhooks.md, run as written there.

The media node is played by the test (no aiortc here): it writes what a node writes (both links up, a
snapshot with a face, the recording's facts and files) where the node would, through the same
repositories; the evidence bundle is then built by the stack's own timer, as after a real call."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

import boto3
import pytest

from bench.webhook_receiver import Receiver
from local.demo.images import demo_face, dossier_images
from tests.integration.integrator_http import V1, documented_verifier, fetch, upload
from tests.integration.test_calls import available, caller
from tests.integration.test_signaling import API_KEY_UNIT_1
from tests.media_facts import customer_seen
from tests.polling import wait_until
from vkyc import env
from vkyc.repositories import call_media
from vkyc.repositories.call_media import RecordingFacts
from vkyc.repositories.tables import Call

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")

INTAKE = {
    "customer": {"name": "Nguyễn Thị Lan", "id_number": "001190067890"},
    "subscriber": "0901 000 777",
    "sub_type": "zp",
    "customer_type": "KHCN",
    "payment_type": "prepaid",
    "dealer_account": "dbh.kv1.hanoi01",
    "dealer_channel": "DBH",
}


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.stop()


@pytest.fixture
def api(stack) -> V1:
    return V1(stack.http_url, API_KEY_UNIT_1)


def s3():
    return boto3.client("s3", endpoint_url=env.endpoint_url(), region_name=env.region())


def played_media_node(call_id: str, snapshot_id: str, picture: bytes) -> bytes:
    """What the call's media node would have written during and after the call (module docstring)."""
    customer_seen(call_id, snapshot_id)
    s3().put_object(
        Bucket=env.bucket_name(), Key=f"calls/{call_id}/snapshots/{snapshot_id}.jpg", Body=picture
    )
    Call(call_id=call_id).update([Call.media_node_id.set("media-played-by-test")])
    return b"\x1aE\xdf\xa3 a recording " + uuid.uuid4().bytes


def recording_closed(call_id: str, recording: bytes) -> None:
    key = f"calls/{call_id}/recording.webm"
    s3().put_object(Bucket=env.bucket_name(), Key=key, Body=recording)
    facts = RecordingFacts(key, len(recording), 12.5, hashlib.sha256(recording).hexdigest(), False)
    assert call_media.store_recording(call_id, facts, datetime.now(UTC)) is not None


def test_intake_upload_call_decision_evidence_and_a_verified_webhook(stack, api, receiver):
    hook = api.ok(
        "POST",
        "/v1/webhooks",
        {"url": receiver.url + "/vkyc", "events": ["dossier.decided", "evidence.ready", "call.ended"]},
    )
    webhook_id, secret = hook["webhook"]["webhook_id"], hook["secret"]
    try:
        dossier_id = f"HS-KV1-IT-{uuid.uuid4().hex[:8].upper()}"
        created = api.ok("PUT", f"/v1/dossiers/{dossier_id}", INTAKE)
        assert (created["state"], created["subscriber"], created["sub_type"]) == ("N", "84901000777", "ZP")
        assert created["not_eligible"] == "DOSSIER_IMAGES_REQUIRED"
        again = api.ok("PUT", f"/v1/dossiers/{dossier_id}", INTAKE)
        assert again["version"] == created["version"], "the same body again changes nothing"

        pictures = dossier_images(INTAKE["customer"]["name"], INTAKE["customer"]["id_number"], demo_face())
        asked = {"images": [{"role": role, "content_type": "image/jpeg"} for role in pictures]}
        forms = api.ok("POST", f"/v1/dossiers/{dossier_id}/images", asked)["forms"]
        for form in forms:
            assert upload(form, pictures[form["role"]])[0] == 204
        checked = wait_until(
            lambda: (d := api.ok("GET", f"/v1/dossiers/{dossier_id}"))["eligible"] and d, timeout=30
        )
        for role, state in checked["images"].items():
            assert (
                state["status"] == "valid" and state["sha256"] == hashlib.sha256(pictures[role]).hexdigest()
            )
            assert fetch(state["url"]) == pictures[role]
        assert checked["images"]["portrait"]["face_found"] is True

        agent = available(stack, "tdv1.kv1")
        mobile = caller(stack, dossier_id)
        call_id = mobile.request("call.request")["call_id"]
        offer = agent.next_push("call.offer")
        assert offer["dossier"]["images"]["portrait"].startswith(f"uploads/{dossier_id}/portrait/"), (
            "the agent sees the accepted upload"
        )
        agent.request("offer.accept", offer_id=offer["offer_id"])
        recording = played_media_node(call_id, "snap-it-1", pictures["portrait"])
        mobile.request("call.hangup", call_id=call_id)
        recording_closed(call_id, recording)
        decided = agent.request(
            "call.decide", call_id=call_id, decision="A", reason="", snapshot_id="snap-it-1"
        )
        assert decided["dossier_state"] == "A"

        result = mobile.next_push("call.result")
        assert result["dossier_href"] == f"/v1/dossiers/{dossier_id}"
        assert fetch(result["media"]["id_front"]) == pictures["id_front"]
        assert fetch(result["media"]["snapshot"]) == pictures["portrait"]
        mobile.close()
        agent.close()

        read = wait_until(
            lambda: (
                (d := api.ok("GET", f"/v1/dossiers/{dossier_id}"))["evidence"]
                and d["evidence"]["manifest_sha256"]
                and d
            ),
            timeout=30,
        )
        assert read["state"] == "A" and read["decision"]["decision"] == "A"
        assert (read["decision"]["decided_by"], read["decision"]["call_id"]) == ("tdv1.kv1", call_id)
        evidence = read["evidence"]
        manifest = fetch(evidence["manifest_url"])
        assert hashlib.sha256(manifest).hexdigest() == evidence["manifest_sha256"]
        listed = {
            f["role"] + ":" + f["key"].rsplit("/", 1)[-1]: f["sha256"] for f in json.loads(manifest)["files"]
        }
        opened = {
            "recording:recording.webm": fetch(evidence["recording"]["url"]),
            "snapshot:snap-it-1.jpg": fetch(evidence["snapshots"][0]["url"]),
            **{
                f"{role}:" + read["images"][role]["url"].split("?")[0].rsplit("/", 1)[-1]: fetch(
                    read["images"][role]["url"]
                )
                for role in pictures
            },
        }
        assert {name: hashlib.sha256(data).hexdigest() for name, data in opened.items()} == listed
        assert read["calls"][0]["call_id"] == call_id

        decided_events = wait_until(lambda: receiver.received("dossier.decided", dossier_id), timeout=30)
        evidence_events = wait_until(lambda: receiver.received("evidence.ready", dossier_id), timeout=30)
        verify = documented_verifier()
        for arrival in decided_events + evidence_events:
            assert verify([secret], arrival.headers["Vkyc-Signature"], arrival.body)
            assert not verify(["whsec_not-ours"], arrival.headers["Vkyc-Signature"], arrival.body)
        assert len({a.event["id"] for a in decided_events}) == 1, "one logical event, one id"
        decided_event = decided_events[0].event
        assert decided_event["data"]["decision"] == "A" and decided_event["data"]["call_id"] == call_id
        assert decided_event["resource"] == {
            "type": "dossier",
            "id": dossier_id,
            "version": read["version"],
            "href": f"/v1/dossiers/{dossier_id}",
        }
        assert evidence_events[0].event["data"]["manifest_sha256"] == evidence["manifest_sha256"]
        ended = wait_until(
            lambda: [a for a in receiver.received("call.ended") if a.event["data"]["call_id"] == call_id]
        )
        assert ended[0].event["data"]["reason"] == "completed"

        one_call = api.ok("GET", f"/v1/calls/{call_id}")
        assert one_call["call"]["decision"] == "A" and one_call["timeline"][0]["to_state"] == "N"
        assert fetch(one_call["recording"]["url"]) == recording
        listed_calls = api.ok("GET", f"/v1/calls?dossier={dossier_id}")
        assert [c["call_id"] for c in listed_calls["calls"]] == [call_id]
        log = api.ok("GET", f"/v1/webhooks/{webhook_id}/deliveries")["deliveries"]
        assert {"dossier.decided", "evidence.ready", "call.ended"} <= {d["event_type"] for d in log}
        assert all(d["state"] == "delivered" for d in log)
    finally:
        api.ok("DELETE", f"/v1/webhooks/{webhook_id}")
