"""Which table changes are webhook events, each event's one id, the retry policy, and where deliveries
may go (``vkyc.domain.webhooks``)."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest

from vkyc.domain.webhooks import (
    Event,
    EventType,
    RetryPolicy,
    UrlRefused,
    check_url,
    event_id,
    events_of,
    is_public,
    manifest_call_id,
    schedule,
)

AT = "2026-01-01T00:00:00.000000+0000"
LATER = "2026-01-01T00:02:30.500000+0000"


def dossier(state: str, version: int, **more) -> dict:
    return {
        "dossier_id": "HS-1",
        "unit_id": "1",
        "state": state,
        "version": version,
        "updated_at": AT,
        **more,
    }


def call(state: str, version: int, direction: str = "in", **more) -> dict:
    return {
        "call_id": "c-1",
        "unit_id": "6",
        "direction": direction,
        "state": state,
        "version": version,
        **more,
    }


def sample_event(kind: EventType) -> Event:
    """One event of each type, as the tables' changes make them."""
    if kind is EventType.DOSSIER_DECIDED:
        return events_of("dossiers", dossier("W", 4), dossier("A", 5))[0]
    if kind is EventType.EVIDENCE_READY:
        old = {"dossier_id": "HS-1", "version": 5, "to_state": "A", "at": AT}
        new = {
            **old,
            "evidence_key": "evidence/HS-1/20260101T000000000000Z-c-1/manifest.json",
            "evidence_sha256": "ab",
        }
        return events_of("dossier_log", old, new)[0]
    if kind is EventType.CALL_ENDED:
        return events_of("calls", call("CONNECTED", 8), call("FINISHED", 9, answered_at=AT, ended_at=LATER))[
            0
        ]
    if kind is EventType.CALL_MISSED:
        return events_of("calls", call("W", 3), call("E", 4, created_at=AT, ended_at=LATER))[0]
    return events_of("calls", call("N", 1, "out"), call("T", 2, "out", ended_at=LATER))[0]


@pytest.mark.parametrize("kind", list(EventType))
def test_each_event_type_comes_from_its_change(kind):
    assert sample_event(kind).type is kind


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (dossier("N", 1), dossier("W", 2)),  # submitted
        (dossier("D", 6), dossier("W", 7)),  # a retry of an unreachable dossier
        (dossier("A", 5), dossier("A", 6, note="x")),  # a note on a decided one
        (None, None),  # removed
    ],
)
def test_changes_that_decide_nothing_are_no_dossier_event(old, new):
    assert events_of("dossiers", old, new) == []


def test_a_review_of_post_audit_and_a_dossier_created_decided_are_decisions():
    (review,) = events_of("dossiers", dossier("C", 6), dossier("A", 7))
    assert (review.data["previous_state"], review.data["decision"]) == ("C", "A")
    (created,) = events_of("dossiers", None, dossier("R", 3))
    assert created.data["previous_state"] is None


def test_a_call_event_comes_once_when_the_call_becomes_final():
    assert events_of("calls", call("W", 2), call("A", 3)) == []
    assert events_of("calls", call("FINISHED", 9), call("FINISHED", 10, decision="A")) == [], (
        "the decision's note"
    )
    (missed,) = events_of(
        "calls", call("W", 3), call("FINISHED", 4, end_reason="no_agent", created_at=AT, ended_at=LATER)
    )
    assert (missed.type, missed.data["reason"], missed.data["waited_s"]) == (
        EventType.CALL_MISSED,
        "no_agent",
        150.5,
    )
    (unanswered,) = events_of("calls", None, call("I", 2, "out"))
    assert unanswered.type is EventType.CALLBACK_ENDED and unanswered.data["answered"] is False


def test_an_answered_call_says_how_long_it_lasted_and_waited():
    (ended,) = events_of(
        "calls",
        call("RECONNECTING", 8),
        call(
            "FINISHED",
            9,
            created_at=AT,
            answered_at="2026-01-01T00:00:10.000000+0000",
            ended_at=LATER,
            end_reason="grace_expired",
        ),
    )
    assert (ended.data["duration_s"], ended.data["waited_s"], ended.data["reason"]) == (
        140.5,
        10.0,
        "grace_expired",
    )
    assert ended.data["ended_at"] == "2026-01-01T00:02:30.500000Z"
    (no_media,) = events_of("calls", call("A", 5), call("T", 6, answered_at=AT))
    assert no_media.type is EventType.CALL_ENDED and no_media.data["reason"] == "no_call_arrived"


def test_one_logical_event_has_one_id_and_different_events_differ():
    first = events_of("dossiers", dossier("W", 4), dossier("A", 5))[0]
    repeated = events_of("dossiers", dossier("W", 4), dossier("A", 5))[0]
    assert first.event_id == repeated.event_id == event_id(EventType.DOSSIER_DECIDED, "dossier", "HS-1", 5)
    evidence = sample_event(EventType.EVIDENCE_READY)
    assert evidence.version == first.version and evidence.event_id != first.event_id
    assert evidence.unit_id is None, "the fan-out fills an evidence event's unit from the dossier"
    assert evidence.data["call_id"] == "c-1"


def test_a_manifest_key_names_its_call():
    assert (
        manifest_call_id("evidence/HS-1/20260101T000000000000Z-0f4c2a9e-3b7d/manifest.json")
        == "0f4c2a9e-3b7d"
    )
    assert manifest_call_id("not/a/manifest") is None


# -- retries ---------------------------------------------------------------------------------------------


def test_the_shipped_policy_retries_for_at_least_a_day_with_growing_jittered_waits():
    policy = RetryPolicy()
    rng = random.Random(12)
    offsets = schedule(policy, rng.random)
    assert offsets[-1] >= 24 * 3600, "the last attempt comes a day or more after the event"
    assert 30 <= len(offsets) <= 50
    waits = [b - a for a, b in zip([0.0, *offsets], offsets, strict=False)]
    assert 5 <= waits[0] <= 10 and max(waits) <= 3600
    for failures in range(1, 30):
        step = min(3600, 10 * 2 ** (failures - 1))
        assert step / 2 <= policy.delay_s(failures, rng.random()) <= step


def test_a_delivery_is_given_up_only_once_a_failure_comes_after_the_window():
    policy = RetryPolicy(first_delay_s=10, max_delay_s=3600, retry_for_s=86400, pause_after_s=86400)
    event = datetime(2026, 1, 1, tzinfo=UTC)
    just_before = event + timedelta(seconds=86399)
    assert policy.next_attempt(event, 30, just_before, 0.5) == just_before + timedelta(seconds=2700)
    assert policy.next_attempt(event, 30, event + timedelta(days=1), 0.5) is None
    assert not policy.should_pause(None, just_before)
    assert not policy.should_pause(event, just_before) and policy.should_pause(
        event, event + timedelta(days=1)
    )


@pytest.mark.parametrize("text", ["", "1,2,3", "a,b,c,d", "0,1,1,1", "10,5,1,1", "-1,5,5,5"])
def test_a_policy_that_does_not_parse_is_refused(text):
    with pytest.raises(ValueError):
        RetryPolicy.parse(text)


def test_a_policy_parses_from_the_environment_form():
    assert RetryPolicy.parse("2,16,600,300") == RetryPolicy(2, 16, 600, 300)


# -- where deliveries may go ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/vkyc", "https://hooks.example.com:8443/v?x=1", "https://8.8.8.8/x"]
)
def test_public_https_urls_are_allowed(url):
    check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "https://user:secret@hooks.example.com/x",
        "https://hooks.example.com/x#frag",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://192.168.0.10/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://localhost/x",
        "https://api.localhost/x",
        "https://0.0.0.0/x",
        "https://203.0.113.7/x",  # documentation ranges are not global either
        "https://[2001:db8::1]/x",
        "https:///nohost",
        "https://hooks.example.com:99999/x",
    ],
)
def test_urls_a_deployment_must_not_deliver_to_are_refused(url):
    with pytest.raises(UrlRefused):
        check_url(url, allow_private=False)


def test_a_local_stack_may_deliver_to_http_and_local_addresses():
    check_url("http://127.0.0.1:8010/units/1", allow_private=True)
    with pytest.raises(UrlRefused):
        check_url("https://u:p@127.0.0.1/x", allow_private=True)


def test_public_means_global_and_unicast():
    assert is_public(ipaddress.ip_address("8.8.8.8"))
    assert not is_public(ipaddress.ip_address("224.0.0.1"))
    assert not is_public(ipaddress.ip_address("100.64.0.1"))
