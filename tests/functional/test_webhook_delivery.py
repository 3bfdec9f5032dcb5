"""Webhooks on moto, with a scripted receiver and a clock the test moves: the fan-out from stream records
(one delivery per subscription and event, one event id however often a record repeats, held for a
paused subscription), and the sender (signature, retries with backoff through the queue, hops for waits
longer than SQS allows, the dead-letter queue, re-delivery, pausing after a day with a notice, a deleted
subscription, a rotating secret)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from vkyc.domain.dossier import DossierEvent
from vkyc.domain.webhooks import RetryPolicy
from vkyc.protocol import v1
from vkyc.protocol.webhook_signing import HEADER, SignatureInvalid, verify
from vkyc.repositories import webhooks as repo
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import WebhookSubscription
from vkyc.services.integrator_auth import Integrator
from vkyc.services.webhook_delivery import WebhookSender
from vkyc.services.webhook_fanout import WebhookFanout
from vkyc.services.webhooks import WebhookService

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = RetryPolicy(first_delay_s=10, max_delay_s=3600, retry_for_s=86400, pause_after_s=86400)
_serializer = TypeSerializer()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Jobs:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], int]] = []
        self.dead: list[dict[str, Any]] = []

    def send(self, kind: str, payload: dict[str, Any], delay_s: int = 0) -> None:
        assert 0 <= delay_s <= 900, "SQS delays at most 15 minutes"
        self.sent.append((kind, payload, delay_s))

    def send_many(self, kind: str, payloads: list[dict[str, Any]]) -> None:
        self.sent += [(kind, p, 0) for p in payloads]

    def dead_letter(self, kind: str, payload: dict[str, Any]) -> None:
        self.dead.append(payload)

    def take(self) -> dict[str, Any]:
        kind, payload, _ = self.sent.pop(0)
        assert kind == "deliver"
        return payload


@dataclass
class Result:
    status_code: int | None
    latency_ms: int = 12
    error: str | None = None
    excerpt: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Receiver:
    """Answers with the scripted results in turn (the last one forever) and keeps what it got."""

    def __init__(self, *script: Result) -> None:
        self.script = list(script)
        self.got: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Result:
        self.got.append((url, body, dict(headers)))
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


OK, FAIL = Result(200), Result(500, error="HTTP 500")


def image(**values: Any) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


@pytest.fixture
def world(tables):
    clock, jobs = Clock(), Jobs()
    unit = f"u{uuid.uuid4().hex[:6]}"
    service = WebhookService(jobs, allow_private=lambda: False, clock=clock)
    fanout = WebhookFanout(jobs, clock=clock)
    return clock, jobs, unit, service, fanout


def subscribe(service: WebhookService, unit: str, events=("dossier.decided",)) -> tuple[str, str]:
    created = service.create(
        Integrator(unit, "test"), v1.WebhookCreate(url="https://hooks.example.com/vkyc", events=list(events))
    )
    return created.webhook.webhook_id, created.secret


def decision_record(unit: str, dossier_id: str, version: int = 3) -> dict[str, Any]:
    old = image(dossier_id=dossier_id, unit_id=unit, state="W", version=version - 1)
    new = image(
        dossier_id=dossier_id,
        unit_id=unit,
        state="A",
        version=version,
        decided_by="tdv1",
        updated_at="2026-01-01T00:00:00.000000+0000",
    )
    return {"OldImage": old, "NewImage": new}


def sender(jobs: Jobs, receiver: Receiver, clock: Clock, policy: RetryPolicy = POLICY) -> WebhookSender:
    return WebhookSender(jobs, receiver, clock=clock, jitter=lambda: 0.0, policy=lambda: policy)


# -- fan-out -------------------------------------------------------------------------------------------


def test_a_repeated_stream_record_is_one_event_with_one_id_and_one_delivery(world):
    _clock, jobs, unit, service, fanout = world
    webhook_id, _ = subscribe(service, unit)
    record = decision_record(unit, "HS-X-1")
    assert fanout.records("dossiers", [record]) == 1
    assert fanout.records("dossiers", [record]) == 1, "a repeated record is queued again (at least once)"
    first, second = jobs.take(), jobs.take()
    assert first == second
    page = repo.deliveries_of(webhook_id, limit=10, cursor=None)
    assert len(page.items) == 1
    body = json.loads(repo.find_delivery(page.items[0].delivery_id).body or "{}")
    assert body["id"].startswith("evt_") and body["type"] == "dossier.decided"
    assert body["resource"] == {
        "type": "dossier",
        "id": "HS-X-1",
        "version": 3,
        "href": "/v1/dossiers/HS-X-1",
    }


def test_only_subscriptions_of_the_event_type_and_unit_get_it_and_a_paused_one_holds_it(world):
    _clock, jobs, unit, service, fanout = world
    wanted, _ = subscribe(service, unit, ("dossier.decided", "call.ended"))
    other_type, _ = subscribe(service, unit, ("call.missed",))
    paused, _ = subscribe(service, unit)
    service.update(Integrator(unit, "test"), paused, v1.WebhookUpdate(status="paused"))
    other_unit, _ = subscribe(service, unit + "x")
    assert fanout.records("dossiers", [decision_record(unit, "HS-X-2")]) == 1
    assert jobs.take()["webhook_id"] == wanted
    assert not repo.deliveries_of(other_type, limit=10, cursor=None).items
    assert not repo.deliveries_of(other_unit, limit=10, cursor=None).items
    (held,) = repo.deliveries_of(paused, limit=10, cursor=None).items
    assert held.state == "held"


def test_a_decision_event_carries_the_reason_from_the_dossier_log(world):
    _clock, jobs, unit, service, fanout = world
    subscribe(service, unit)
    dossiers = DossierRepository()
    dossier = dossiers.create(
        f"HS-{uuid.uuid4().hex[:6]}", unit_id=unit, request_id=uuid.uuid4().hex, actor="t"
    )
    dossiers.transition(dossier, DossierEvent.SUBMIT, request_id=uuid.uuid4().hex, actor="t")
    dossiers.transition(
        dossier, DossierEvent.REJECT, request_id=uuid.uuid4().hex, actor="tdv9", reason="mismatch"
    )
    record = decision_record(unit, dossier.dossier_id, version=dossier.version)
    fanout.records("dossiers", [record])
    delivery = repo.find_delivery(jobs.take()["delivery_id"])
    data = json.loads(delivery.body or "{}")["data"]
    assert (data["reason"], data["decided_by"]) == ("mismatch", "tdv9")


def test_a_call_ending_answered_unanswered_and_a_callback_are_three_event_types(world):
    _clock, _jobs, unit, service, fanout = world
    webhook_id, _ = subscribe(service, unit, ("call.ended", "call.missed", "callback.ended"))
    at = "2026-01-01T00:00:00.000000+0000"
    records = [
        {
            "OldImage": image(call_id="c1", unit_id=unit, direction="in", state="CONNECTED", version=5),
            "NewImage": image(
                call_id="c1",
                unit_id=unit,
                direction="in",
                state="FINISHED",
                version=6,
                answered_at=at,
                ended_at=at,
            ),
        },
        {
            "OldImage": image(call_id="c2", unit_id=unit, direction="in", state="W", version=2),
            "NewImage": image(call_id="c2", unit_id=unit, direction="in", state="E", version=3, ended_at=at),
        },
        {
            "OldImage": image(call_id="cb-3", unit_id=unit, direction="out", state="N", version=1),
            "NewImage": image(
                call_id="cb-3", unit_id=unit, direction="out", state="T", version=2, ended_at=at
            ),
        },
        {  # not an end: no event
            "OldImage": image(call_id="c4", unit_id=unit, direction="in", state="W", version=2),
            "NewImage": image(call_id="c4", unit_id=unit, direction="in", state="A", version=3),
        },
    ]
    assert fanout.records("calls", records) == 3
    types = sorted(d.event_type for d in repo.deliveries_of(webhook_id, limit=10, cursor=None).items)
    assert types == ["call.ended", "call.missed", "callback.ended"]


# -- sending -------------------------------------------------------------------------------------------


def test_a_delivery_is_signed_with_the_subscription_secret_and_delivered_on_a_2xx(world):
    clock, jobs, unit, service, fanout = world
    webhook_id, secret = subscribe(service, unit)
    fanout.records("dossiers", [decision_record(unit, "HS-X-3")])
    receiver = Receiver(OK)
    assert sender(jobs, receiver, clock).handle(jobs.take()) == "delivered"
    ((_, body, headers),) = receiver.got
    assert verify(secret, headers[HEADER], body, clock.now.timestamp()) == int(clock.now.timestamp())
    event = json.loads(body)
    assert headers["Vkyc-Event-Id"] == event["id"] and headers["Vkyc-Attempt"] == "1"
    with pytest.raises(SignatureInvalid):
        verify("whsec_another", headers[HEADER], body, clock.now.timestamp())
    (item,) = repo.deliveries_of(webhook_id, limit=10, cursor=None).items
    assert (item.state, item.attempt_count, item.last_status) == ("delivered", 1, 200)


def test_failures_are_retried_with_growing_waits_until_the_window_ends_then_dead_lettered(world):
    clock, jobs, unit, service, fanout = world
    webhook_id, _ = subscribe(service, unit)
    fanout.records("dossiers", [decision_record(unit, "HS-X-4")])
    policy = RetryPolicy(first_delay_s=10, max_delay_s=40, retry_for_s=120, pause_after_s=10_000)
    send = sender(jobs, Receiver(FAIL), clock, policy)
    job, waits = jobs.take(), []
    while True:
        outcome = send.handle(job)
        if outcome == "dead":
            break
        assert outcome == "retrying"
        _kind, job, delay = jobs.sent.pop()
        waits.append(delay)
        clock.advance(delay)
    assert waits == [5, 10, 20, 20, 20, 20, 20, 20], (
        "equal jitter at 0: half of 10, 20, 40, then the 40 s cap"
    )
    delivery = repo.find_delivery(job["delivery_id"])
    assert delivery.state == "dead" and delivery.attempt_count == len(waits) + 1
    assert [a.status_code for a in delivery.attempts] == [500] * (len(waits) + 1)
    assert jobs.dead == [
        {
            "delivery_id": delivery.delivery_id,
            "webhook_id": webhook_id,
            "event_id": delivery.event_id,
            "attempts": 9,
        }
    ]
    assert send.handle(job) == "skipped", "a dead delivery's stray job sends nothing"


def test_a_wait_longer_than_sqs_allows_is_made_of_hops_that_touch_no_table(world, dynamodb_calls):
    clock, jobs, unit, service, fanout = world
    subscribe(service, unit)
    fanout.records("dossiers", [decision_record(unit, "HS-X-5")])
    policy = RetryPolicy(first_delay_s=3000, max_delay_s=3000, retry_for_s=86400, pause_after_s=86400)
    send = sender(jobs, Receiver(FAIL, OK), clock, policy)
    assert send.handle(jobs.take()) == "retrying"
    _kind, job, delay = jobs.sent.pop()
    assert delay == 900 and job["not_before"] == (T0 + timedelta(seconds=1500)).timestamp()
    clock.advance(900)
    del dynamodb_calls[:]
    assert send.handle(job) == "hop"
    assert not dynamodb_calls, "a hop reads nothing"
    _kind, job, delay = jobs.sent.pop()
    assert delay == 600
    clock.advance(600)
    assert send.handle(job) == "delivered"


def test_an_early_duplicate_job_waits_for_the_delivery_own_time(world):
    clock, jobs, unit, service, fanout = world
    subscribe(service, unit)
    fanout.records("dossiers", [decision_record(unit, "HS-X-6")])
    first = jobs.take()
    receiver = Receiver(FAIL, OK)
    send = sender(jobs, receiver, clock)
    assert send.handle(first) == "retrying"
    jobs.sent.clear()
    assert send.handle(first) == "hop", "the first job again (SQS may deliver twice): not before its time"
    assert len(receiver.got) == 1


def test_a_subscription_failing_for_a_day_is_paused_its_owner_told_and_new_events_held(world):
    clock, jobs, unit, service, fanout = world
    webhook_id, _ = subscribe(service, unit)
    fanout.records("dossiers", [decision_record(unit, "HS-X-7")])
    send = sender(jobs, Receiver(FAIL), clock)
    job = jobs.take()
    assert send.handle(job) == "retrying"
    assert repo.find_subscription(webhook_id).failing_since == T0
    while repo.find_subscription(webhook_id).status == "active":
        _kind, job, delay = jobs.sent.pop()
        clock.advance(delay)
        send.handle(job)
    subscription = repo.find_subscription(webhook_id)
    assert subscription.paused_at - T0 >= timedelta(hours=24)
    assert "failed" in (subscription.paused_reason or "")
    log = repo.deliveries_of(webhook_id, limit=10, cursor=None).items
    (notice,) = [d for d in log if d.kind == "notice"]
    assert "Paused" in (notice.notice or "") and "resume" in (notice.notice or "")
    if jobs.sent:  # a retry already queued finds the subscription paused
        assert send.handle(jobs.sent.pop()[1]) == "held"
    fanout.records("dossiers", [decision_record(unit, "HS-X-8")])
    assert not jobs.sent, "nothing is sent while paused"
    assert {d.state for d in repo.deliveries_of(webhook_id, limit=10, cursor=None).items} >= {
        "held",
        "notice",
    }


def test_a_success_clears_the_failure_count(world):
    clock, jobs, unit, service, fanout = world
    webhook_id, _ = subscribe(service, unit)
    fanout.records("dossiers", [decision_record(unit, "HS-X-9")])
    send = sender(jobs, Receiver(FAIL, OK), clock)
    send.handle(jobs.take())
    _kind, job, delay = jobs.sent.pop()
    clock.advance(delay)
    assert send.handle(job) == "delivered"
    assert repo.find_subscription(webhook_id).failing_since is None


def test_a_dead_delivery_is_redelivered_through_the_api_as_a_new_run(world):
    clock, jobs, unit, service, fanout = world
    webhook_id, _ = subscribe(service, unit)
    fanout.records("dossiers", [decision_record(unit, "HS-X-10")])
    policy = RetryPolicy(first_delay_s=10, max_delay_s=10, retry_for_s=5, pause_after_s=10_000)
    receiver = Receiver(FAIL, FAIL, FAIL, OK)
    send = sender(jobs, receiver, clock, policy)
    job = jobs.take()
    clock.advance(10)
    assert send.handle(job) == "dead", "its first failure came after the event's 5 s window"
    clock.advance(3600)
    redelivered = service.redeliver(Integrator(unit, "test"), webhook_id, job["delivery_id"])
    assert redelivered.state == "pending"
    _kind, again, delay = jobs.sent.pop()
    assert again["redelivery"] is True and delay == 0
    assert send.handle(again) == "retrying", "a re-delivery gets a window of its own, from now"
    _kind, retry, delay = jobs.sent.pop()
    clock.advance(delay)
    assert send.handle(retry) == "dead"
    service.redeliver(Integrator(unit, "test"), webhook_id, job["delivery_id"])
    assert send.handle(jobs.sent.pop()[1]) == "delivered"
    delivery = repo.find_delivery(job["delivery_id"])
    assert [(a.redelivery, a.status_code) for a in delivery.attempts] == [
        (False, 500),
        (True, 500),
        (False, 500),
        (True, 200),
    ]
    assert len({json.loads(body)["id"] for _, body, _ in receiver.got}) == 1, "the same event id every time"
    assert len(jobs.dead) == 2


def test_a_deleted_subscription_cancels_what_was_queued(world):
    clock, jobs, unit, service, fanout = world
    webhook_id, _ = subscribe(service, unit)
    fanout.records("dossiers", [decision_record(unit, "HS-X-11")])
    service.delete(Integrator(unit, "test"), webhook_id)
    job = jobs.take()
    assert sender(jobs, Receiver(OK), clock).handle(job) == "cancelled"
    assert repo.find_delivery(job["delivery_id"]).state == "cancelled"


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(world):
    clock, jobs, unit, service, fanout = world
    webhook_id, old = subscribe(service, unit)
    new = service.rotate(Integrator(unit, "test"), webhook_id).secret
    receiver = Receiver(OK)
    send = sender(jobs, receiver, clock)
    fanout.records("dossiers", [decision_record(unit, "HS-X-12")])
    send.handle(jobs.take())
    clock.advance(24 * 3600 + 1)
    fanout.records("dossiers", [decision_record(unit, "HS-X-13")])
    send.handle(jobs.take())
    (_, during, during_headers), (_, after, after_headers) = receiver.got
    assert during_headers[HEADER].count("v1=") == 2
    for secret in (old, new):
        verify(secret, during_headers[HEADER], during, T0.timestamp())
    verify(new, after_headers[HEADER], after, clock.now.timestamp())
    with pytest.raises(SignatureInvalid):
        verify(old, after_headers[HEADER], after, clock.now.timestamp())


def test_a_private_or_plain_http_url_is_refused_when_the_deployment_does_not_allow_it(world):
    _clock, _jobs, unit, service, _fanout = world
    from vkyc.protocol.errors import ProtocolError

    for url in (
        "http://hooks.example.com/x",
        "https://169.254.169.254/latest",
        "https://10.0.0.5/x",
        "https://user:pw@hooks.example.com/x",
        "https://localhost/x",
        "https://[::1]/x",
    ):
        with pytest.raises(ProtocolError) as refused:
            service.create(Integrator(unit, "t"), v1.WebhookCreate(url=url, events=["dossier.decided"]))
        assert refused.value.code == "WEBHOOK_URL_REFUSED", url
    assert not repo.subscriptions_of(unit)


def test_a_unit_has_at_most_ten_subscriptions(world):
    _clock, _jobs, unit, service, _fanout = world
    from vkyc.protocol.errors import ProtocolError

    for _ in range(10):
        subscribe(service, unit)
    with pytest.raises(ProtocolError) as refused:
        subscribe(service, unit)
    assert refused.value.code == "WEBHOOK_LIMIT_REACHED"
    assert len(repo.subscriptions_of(unit)) == 10


def test_the_listing_never_reads_a_secret(world):
    _clock, _jobs, unit, service, _fanout = world
    subscribe(service, unit)
    (listed,) = repo.subscriptions_of(unit)
    assert isinstance(listed, WebhookSubscription) and listed.secret is None
