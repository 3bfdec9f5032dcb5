"""Limits on attempts and messages without AWS: the backoff, the token bucket, the per-connection
allowances (``RATE_LIMITED``), refused ``$connect`` per source, their environment overrides, and JSON
nesting."""

from __future__ import annotations

import json

import pytest

from vkyc.domain.limits import Backoff, Rate, TokenBucket
from vkyc.protocol.errors import ProtocolError, RetryLater
from vkyc.protocol.jsontext import MAX_DEPTH, nesting_depth, parse_object
from vkyc.services.limits import ACCOUNT_FAILURES, ConnectFailures, ConnectionLimits, configured


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _shipped_defaults(monkeypatch):
    for name in (
        "VKYC_LIMIT_MESSAGES",
        "VKYC_LIMIT_MEDIA_MESSAGES",
        "VKYC_LIMIT_HELLOS",
        "VKYC_LIMIT_CONNECT_FAILURES",
        "VKYC_LIMIT_ACCOUNT_FAILURES",
    ):
        monkeypatch.delenv(name, raising=False)


# -- backoff ------------------------------------------------------------------------------------------


def test_backoff_is_free_then_doubles_up_to_its_maximum():
    policy = Backoff.parse("5,1,900,86400")
    assert [policy.lock_s(n) for n in range(1, 18)] == [
        0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900,
    ]  # fmt: skip
    assert policy.lock_s(10_000) == 900


@pytest.mark.parametrize("text", ["5,1,900", "0,1,900,86400", "5,10,5,86400", "5,1,900,60", "a,b,c,d"])
def test_a_backoff_that_makes_no_sense_is_refused(text):
    with pytest.raises(ValueError):
        Backoff.parse(text)


def test_a_limit_that_does_not_parse_falls_back_to_the_shipped_default(monkeypatch, caplog):
    monkeypatch.setenv("VKYC_LIMIT_ACCOUNT_FAILURES", "1000000")
    assert configured(ACCOUNT_FAILURES, Backoff.parse) == Backoff(5, 1, 900, 86400)
    assert "does not parse" in caplog.text
    monkeypatch.setenv("VKYC_LIMIT_ACCOUNT_FAILURES", "3,2,60,600")
    assert configured(ACCOUNT_FAILURES, Backoff.parse) == Backoff(3, 2, 60, 600)


# -- token bucket --------------------------------------------------------------------------------------


def test_a_bucket_allows_its_burst_then_its_rate():
    bucket = TokenBucket(Rate(3, 2), now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.25) == pytest.approx(0.25), "nothing taken by a refusal"
    assert bucket.take(0.5) == 0.0
    assert bucket.wait_s(100.0) == 0.0 and bucket.tokens == 3, "never more than the burst"


# -- messages per connection ---------------------------------------------------------------------------


def refusals(limits: ConnectionLimits, connection_id: str, role: str | None, count: int) -> int:
    refused = 0
    for _ in range(count):
        try:
            limits.message(connection_id, role)
        except RetryLater as exc:
            assert exc.code == "RATE_LIMITED" and exc.retry_after_s >= 1
            refused += 1
    return refused


def test_a_connection_gets_60_messages_at_once_then_10_a_second():
    clock = Clock()
    limits = ConnectionLimits(clock)
    assert refusals(limits, "c1", "mobile", 60) == 0
    assert refusals(limits, "c1", "mobile", 5) == 5
    assert refusals(limits, "c2", None, 60) == 0, "another connection has its own allowance"
    clock.now += 1
    assert refusals(limits, "c1", "mobile", 12) == 2


def test_a_media_node_speaks_for_all_its_calls_and_gets_more():
    limits = ConnectionLimits(Clock())
    assert refusals(limits, "node", "media", 600) == 0
    assert refusals(limits, "node", "media", 1) == 1


def test_hellos_get_three_then_one_per_10_seconds():
    clock = Clock()
    limits = ConnectionLimits(clock)
    for _ in range(3):
        limits.hello("c1")
    with pytest.raises(RetryLater) as refused:
        limits.hello("c1")
    assert refused.value.code == "RATE_LIMITED" and refused.value.retry_after_s == 10
    clock.now += 10
    limits.hello("c1")


def test_a_forgotten_connection_starts_afresh_and_the_environment_sets_the_rate(monkeypatch):
    monkeypatch.setenv("VKYC_LIMIT_MESSAGES", "2,0.001")
    limits = ConnectionLimits(Clock())
    assert refusals(limits, "c1", "agent", 3) == 1
    limits.forget("c1")
    assert refusals(limits, "c1", "agent", 2) == 0


def test_refused_connects_block_a_source_until_its_tokens_come_back():
    clock = Clock()
    failures = ConnectFailures(clock)
    for _ in range(20):
        assert failures.blocked_s("203.0.113.1") == 0.0
        failures.failed("203.0.113.1")
    assert failures.blocked_s("203.0.113.1") == pytest.approx(2.0)
    assert failures.blocked_s("203.0.113.2") == 0.0, "another source is not blocked"
    clock.now += 2
    assert failures.blocked_s("203.0.113.1") == 0.0


# -- JSON nesting ---------------------------------------------------------------------------------------


def test_nesting_is_measured_outside_strings():
    assert nesting_depth('{"a": "[[[[{{", "b": [{"c": "\\"]]"}]}') == 3
    assert nesting_depth("[]") == 1 and nesting_depth('"x"') == 0


def test_32_levels_are_read_and_33_are_refused_before_parsing():
    assert parse_object(json.dumps({"a": json.loads("[" * 31 + "]" * 31)}))
    with pytest.raises(ProtocolError) as deep:
        parse_object('{"a": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}")
    assert deep.value.code == "BAD_JSON" and "32 levels" in deep.value.message


@pytest.mark.parametrize("depth", [900, 3000, 100_000])
def test_any_depth_is_a_coded_error_never_a_recursion_error(depth):
    with pytest.raises(ProtocolError) as deep:
        parse_object("[" * depth + "]" * depth)
    assert deep.value.code == "BAD_JSON"
