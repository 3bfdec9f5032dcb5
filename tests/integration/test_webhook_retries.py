"""Issue #12's second "done when", through the local stack: a real HTTP receiver that fails the first
three deliveries (HTTP 500, then no answer within the timeout, then a refused connection) gets the
event on the fourth, with one event id, and the delivery log read through ``/v1`` shows the four
attempts; a receiver that always fails ends in the dead-letter queue and is re-delivered through the API.

The retry policy is shortened for the test through ``VKYC_WEBHOOK_RETRY`` (the shipped one waits 10 s
doubling to 1 h for 24 h) and the answer timeout through ``VKYC_WEBHOOK_TIMEOUT_S`` (10 s shipped). A
dossier decided through the repositories (W → A) is the change the stream turns into the event."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from bench.webhook_receiver import Receiver
from tests.integration.integrator_http import V1, documented_verifier
from tests.polling import wait_until
from vkyc import env
from vkyc.domain.dossier import DossierEvent
from vkyc.repositories import api_keys
from vkyc.repositories.dossiers import DossierRepository
from vkyc.security.passwords import api_key_digest

pytestmark = pytest.mark.usefixtures("stack_tables")


@pytest.fixture
def unit(stack_tables) -> tuple[str, str]:
    """A unit of its own (only this test's subscriptions receive its events) and its API key."""
    unit_id = f"wh{uuid.uuid4().hex[:6]}"
    key = f"vkyc_test_{unit_id}_" + uuid.uuid4().hex
    api_keys.put_api_key(api_key_digest(key), unit_id=unit_id, name="webhook tests")
    return unit_id, key


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.stop()


def decide(unit_id: str) -> str:
    dossiers = DossierRepository()
    dossier = dossiers.create(
        f"HS-WH-{uuid.uuid4().hex[:8]}", unit_id=unit_id, request_id=uuid.uuid4().hex, actor="t"
    )
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=uuid.uuid4().hex, actor="t")
    dossiers.transition(dossier, DossierEvent.APPROVE, request_id=uuid.uuid4().hex, actor="tdv-test")
    return dossier.dossier_id


def the_delivery(api: V1, webhook_id: str) -> dict:
    """The subscription's one delivery with its attempts (read through the API); {} before it exists."""
    listed = api.ok("GET", f"/v1/webhooks/{webhook_id}/deliveries")["deliveries"]
    found = [d for d in listed if d["kind"] == "delivery"]
    assert len(found) <= 1, found
    if not found:
        return {"delivery": {"state": None}, "attempts": []}
    return api.ok("GET", f"/v1/webhooks/{webhook_id}/deliveries/{found[0]['delivery_id']}")


def attempts(api: V1, webhook_id: str, count: int) -> dict:
    def enough() -> dict | None:
        delivery = the_delivery(api, webhook_id)
        return delivery if len(delivery["attempts"]) >= count else None

    return wait_until(enough, timeout=60)


def test_a_receiver_failing_three_times_500_timeout_refused_gets_the_event_on_the_fourth(
    stack, unit, receiver, monkeypatch
):
    # Waits of 1-2, 2-4 and 4-8 s: time enough to close and reopen the port between attempts.
    monkeypatch.setenv("VKYC_WEBHOOK_RETRY", "2,16,600,600")
    monkeypatch.setenv("VKYC_WEBHOOK_TIMEOUT_S", "1")
    unit_id, key = unit
    api = V1(stack.http_url, key)
    hook = api.ok("POST", "/v1/webhooks", {"url": receiver.url + "/in", "events": ["dossier.decided"]})
    webhook_id, secret = hook["webhook"]["webhook_id"], hook["secret"]
    receiver.script = ["500", "hang"]
    dossier_id = decide(unit_id)

    attempts(api, webhook_id, 2)
    receiver.close_port()
    after_refused = attempts(api, webhook_id, 3)
    receiver.listen()
    delivered = wait_until(
        lambda: (d := the_delivery(api, webhook_id))["delivery"]["state"] == "delivered" and d, timeout=60
    )

    log = delivered["attempts"]
    assert [a["number"] for a in log] == [1, 2, 3, 4]
    assert [a["status_code"] for a in log] == [500, None, None, 200]
    assert log[0]["error"] == "HTTP 500" and log[1]["error"].startswith("timeout")
    assert log[2]["error"] == "connection refused" and after_refused["delivery"]["state"] == "retrying"
    assert all(a["latency_ms"] >= 0 for a in log) and log[1]["latency_ms"] >= 1000
    assert delivered["delivery"]["attempt_count"] == 4 and delivered["delivery"]["last_status"] == 200

    got = receiver.received("dossier.decided", dossier_id)
    assert [a.answered for a in got] == ["500", "hang", "ok"], "the third attempt never reached it"
    assert len({a.event["id"] for a in got}) == 1, "every attempt carries the one event id"
    assert [a.headers["Vkyc-Attempt"] for a in got] == ["1", "2", "4"]
    assert documented_verifier()([secret], got[-1].headers["Vkyc-Signature"], got[-1].body)
    assert delivered["event"] == json.loads(got[-1].body)
    assert api.ok("GET", f"/v1/webhooks/{webhook_id}")["failing_since"] is None, "the success cleared it"


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_queue_and_is_redelivered(
    stack, unit, receiver, monkeypatch
):
    monkeypatch.setenv("VKYC_WEBHOOK_RETRY", "1,2,3,600")
    unit_id, key = unit
    api = V1(stack.http_url, key)
    hook = api.ok("POST", "/v1/webhooks", {"url": receiver.url + "/in", "events": ["dossier.decided"]})
    webhook_id, secret = hook["webhook"]["webhook_id"], hook["secret"]
    receiver.script = ["500"] * 1000
    dossier_id = decide(unit_id)

    dead = wait_until(
        lambda: (d := the_delivery(api, webhook_id))["delivery"]["state"] == "dead" and d, timeout=60
    )
    assert len(dead["attempts"]) >= 2 and {a["status_code"] for a in dead["attempts"]} == {500}
    assert api.ok("GET", f"/v1/webhooks/{webhook_id}")["failing_since"] is not None
    delivery_id = dead["delivery"]["delivery_id"]
    assert wait_until(lambda: delivery_id in dead_lettered(), timeout=30)

    receiver.script = []
    status, refused = api.call(
        "POST", f"/v1/webhooks/{webhook_id}/deliveries/no-such/redeliver", headers={"Idempotency-Key": "a"}
    )
    assert (status, refused["code"]) == (404, "DELIVERY_NOT_FOUND")
    pending = api.ok("POST", f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
    assert pending["state"] == "pending"
    delivered = wait_until(
        lambda: (d := the_delivery(api, webhook_id))["delivery"]["state"] == "delivered" and d, timeout=30
    )
    assert delivered["attempts"][-1]["redelivery"] is True and delivered["attempts"][-1]["status_code"] == 200
    ok = [a for a in receiver.received("dossier.decided", dossier_id) if a.answered == "ok"]
    assert len(ok) == 1 and documented_verifier()([secret], ok[0].headers["Vkyc-Signature"], ok[0].body)
    assert len({a.event["id"] for a in receiver.received("dossier.decided", dossier_id)}) == 1


def dead_lettered() -> set[str]:
    """The delivery ids of the dead-letter queue's messages (received and left there)."""
    sqs = boto3.client("sqs", endpoint_url=env.endpoint_url(), region_name=env.region())
    url = sqs.get_queue_url(QueueName=env.integrations_queue_name() + "-dlq")["QueueUrl"]
    found: set[str] = set()
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
        found |= {json.loads(m["Body"]).get("delivery_id") for m in messages}
        if not messages:
            break
    return found
