"""EligibilityService on moto with real items: each refusal, the daily cap counting only today's
completed inbound calls of that subscriber, the live-call check, the configuration caches, and the
DynamoDB requests one check costs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import FakeClock
from vkyc.domain.eligibility import NotEligible
from vkyc.domain.policy import DEFAULT_SUB_TYPE_POLICY
from vkyc.repositories import policy as policy_repo
from vkyc.repositories import settings_cache
from vkyc.repositories.call_counts import successful_inbound_calls
from vkyc.repositories.policy import load_policy_rows, policy_rows
from vkyc.repositories.settings import put_settings
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call, Dossier, SubTypePolicy
from vkyc.services.eligibility import EligibilityService

# 10:00 in Vietnam on 1 May 2024; that local day began at 30 April 17:00 UTC.
NOW = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
MIDNIGHT = datetime(2024, 4, 30, 17, 0, tzinfo=UTC)


def rid(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:10]


def msisdn() -> str:
    return "8490" + str(uuid.uuid4().int)[:7]


@pytest.fixture(scope="module")
def seeded(tables):
    """The seed's 27 policy rows, stored once for the module."""
    with SubTypePolicy.batch_write() as batch:
        for row in DEFAULT_SUB_TYPE_POLICY:
            batch.save(
                SubTypePolicy(
                    row.sub_type, name=row.name, icc_profile=row.icc_profile, khcn=row.khcn, khdn=row.khdn
                )
            )
    return tables


@pytest.fixture
def cache_clock(seeded, monkeypatch) -> Iterator[FakeClock]:
    """Empty caches driven by a hand-moved clock (restored, and emptied again, afterwards)."""
    clock = FakeClock(1000.0)
    for cache in (policy_repo.POLICY_CACHE, settings_cache.SETTINGS_CACHE):
        cache.clear()
        monkeypatch.setattr(cache, "clock", clock)
    yield clock
    policy_repo.POLICY_CACHE.clear()
    settings_cache.SETTINGS_CACHE.clear()


@pytest.fixture
def service(cache_clock) -> EligibilityService:
    return EligibilityService(clock=lambda: NOW)


def dossier(state: str = "W", **fields: object) -> Dossier:
    """A dossier as read from the table (the service never reads it again): prepaid KHCN on ZP, which
    needs a call, in a unit of its own unless ``unit_id`` is given."""
    values: dict[str, object] = {
        "unit_id": rid("unit-"),
        "subscriber": msisdn(),
        "sub_type": "ZP",
        "customer_type": "KHCN",
        "payment_type": "prepaid",
        "kyc_at_counter": False,
    }
    values.update(fields)
    return Dossier(
        rid("dos-"),
        state=state,
        version=1,
        created_at=NOW,
        updated_at=NOW,
        last_request_id="r",
        **values,
    )


def put_call(
    *,
    dossier_id: str | None = None,
    subscriber: str | None = None,
    state: str,
    direction: str = "in",
    end_reason: str | None = None,
    created_at: datetime = NOW - timedelta(hours=1),
) -> Call:
    call = Call(
        rid("call-"),
        direction=direction,
        unit_id="1",
        dossier_id=dossier_id or rid("other-dos-"),
        subscriber=subscriber,
        state=state,
        end_reason=end_reason,
        version=1,
        created_at=created_at,
        updated_at=created_at,
        last_request_id="r",
    )
    call.save()
    return call


def refusal(service: EligibilityService, item: Dossier) -> str:
    with pytest.raises(NotEligible) as caught:
        service.check(item)
    return caught.value.code


# --- refusals and passes -------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["N", "W", "D"])
def test_an_eligible_dossier_without_calls_passes(service, state):
    service.check(dossier(state))


@pytest.mark.parametrize(
    ("state", "code"),
    [("A", "DOSSIER_ALREADY_APPROVED"), ("R", "DOSSIER_REJECTED"), ("C", "DOSSIER_IN_POST_AUDIT")],
)
def test_decided_and_audited_dossiers_are_refused(service, state, code):
    assert refusal(service, dossier(state)) == code


def test_kyc_at_the_counter_is_refused(service):
    assert refusal(service, dossier(kyc_at_counter=True)) == "KYC_AT_COUNTER_REQUIRED"


def test_the_blacklist_of_the_dossiers_unit_applies_and_only_there(service):
    number = msisdn()
    unit = rid("unit-")
    put_settings({"blacklist": ["0" + number[2:]]}, unit_id=unit, by="test")
    assert refusal(service, dossier(unit_id=unit, subscriber=number)) == "SUBSCRIBER_BLACKLISTED"
    service.check(dossier(subscriber=number))  # another unit, no blacklist


def test_sub_types_are_decided_by_the_stored_table(service):
    assert refusal(service, dossier(sub_type="NOPE")) == "UNKNOWN_SUB_TYPE"
    assert refusal(service, dossier(sub_type="ASI")) == "VIDEO_CALL_NOT_REQUIRED"
    assert refusal(service, dossier(sub_type="FDZ", customer_type="KHDN")) == "VIDEO_CALL_NOT_REQUIRED"
    assert refusal(service, dossier(payment_type="postpaid")) == "VIDEO_CALL_NOT_REQUIRED"
    service.check(dossier(sub_type="FDZ", customer_type="KHCN"))


def test_a_row_added_to_the_table_is_read_from_the_table(seeded, cache_clock):
    code = "Q" + uuid.uuid4().hex[:6].upper()
    SubTypePolicy(code, name="Trial", icc_profile="TBT2", khcn=True, khdn=False).save()
    assert policy_rows()[code].khcn is True
    assert load_policy_rows()[code].khdn is False
    assert len(load_policy_rows()) >= 28


# --- the daily cap ---------------------------------------------------------------------------------------


def test_the_cap_counts_only_todays_completed_inbound_calls_of_that_subscriber(service):
    unit = rid("unit-")
    put_settings({"daily_success_cap_per_subscriber": 2}, unit_id=unit, by="test")
    number = msisdn()
    done = {"subscriber": number, "state": "FINISHED", "end_reason": "completed"}
    # None of these count:
    put_call(**done, created_at=MIDNIGHT - timedelta(seconds=1))  # 23:59:59 yesterday, local
    put_call(**done, created_at=MIDNIGHT - timedelta(days=3))
    put_call(subscriber=number, state="FINISHED", end_reason="no_agent")
    put_call(subscriber=number, state="FINISHED", end_reason="grace_expired")
    put_call(subscriber=number, state="E")
    put_call(subscriber=number, state="T")
    put_call(**done, direction="out")
    put_call(subscriber=number, state="C", direction="out", end_reason="completed")  # a call-back
    put_call(subscriber=msisdn(), state="FINISHED", end_reason="completed")  # someone else
    # One that counts, at the first instant of the local day:
    put_call(**done, created_at=MIDNIGHT)

    assert successful_inbound_calls(number, MIDNIGHT) == 1
    service.check(dossier(unit_id=unit, subscriber=number))

    put_call(**done)
    assert successful_inbound_calls(number, MIDNIGHT) == 2
    assert refusal(service, dossier(unit_id=unit, subscriber=number)) == "DAILY_CALL_LIMIT_REACHED"
    # The same subscriber in a unit without a cap is not limited.
    service.check(dossier(subscriber=number))


def test_the_cap_resets_at_local_midnight(cache_clock):
    unit = rid("unit-")
    put_settings({"daily_success_cap_per_subscriber": 1}, unit_id=unit, by="test")
    number = msisdn()
    put_call(
        subscriber=number, state="FINISHED", end_reason="completed", created_at=MIDNIGHT + timedelta(hours=1)
    )
    item = dossier(unit_id=unit, subscriber=number)
    with pytest.raises(NotEligible):
        EligibilityService(clock=lambda: NOW).check(item)
    EligibilityService(clock=lambda: MIDNIGHT + timedelta(days=1)).check(item)


# --- the live call ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "state"),
    [("in", s) for s in ("N", "W", "R", "M", "A", "CONNECTED", "RECONNECTING")]
    + [("out", "N"), ("out", "A")],
)
def test_a_live_latest_call_of_the_dossier_is_refused(service, direction, state):
    item = dossier()
    call = put_call(dossier_id=item.dossier_id, subscriber=item.subscriber, state=state, direction=direction)
    item.last_call_id = call.call_id
    assert refusal(service, item) == "CALL_IN_PROGRESS"


@pytest.mark.parametrize(
    ("direction", "state"),
    [("in", s) for s in ("E", "T", "FINISHED")] + [("out", s) for s in ("C", "F", "E", "T", "I")],
)
def test_an_ended_latest_call_does_not_block(service, direction, state, dynamodb_calls):
    item = dossier("D")
    call = put_call(
        dossier_id=item.dossier_id,
        state=state,
        direction=direction,
        end_reason="completed" if state == "FINISHED" else None,
    )
    item.last_call_id = call.call_id
    service.check(item)
    dynamodb_calls.clear()
    service.check(item)
    assert dynamodb_calls == ["GetItem"]  # the latest call, and nothing else when warm


def test_live_calls_of_other_dossiers_do_not_block(service):
    item = dossier()
    put_call(state="CONNECTED", subscriber=item.subscriber)  # another dossier of the same subscriber
    put_call(state="CONNECTED", dossier_id=item.dossier_id)  # not its latest (an older, swept record)
    service.check(item)


# --- requests and caches -----------------------------------------------------------------------------------


def test_a_warm_check_of_a_first_call_without_cap_costs_nothing(service, dynamodb_calls):
    item = dossier()
    service.check(item)
    assert sorted(dynamodb_calls) == ["Query", "Query", "Scan"]  # settings x2, policy
    dynamodb_calls.clear()
    service.check(item)
    assert dynamodb_calls == []


def test_a_warm_check_with_a_cap_costs_one_query(service, dynamodb_calls):
    unit = rid("unit-")
    put_settings({"daily_success_cap_per_subscriber": 3}, unit_id=unit, by="test")
    item = dossier(unit_id=unit)
    service.check(item)
    dynamodb_calls.clear()
    service.check(item)
    assert dynamodb_calls == ["Query"]  # today's successful calls


def test_a_refusal_on_the_dossier_alone_costs_nothing_when_warm(service, dynamodb_calls):
    unit = rid("unit-")
    put_settings({"daily_success_cap_per_subscriber": 3}, unit_id=unit, by="test")
    service.check(dossier(unit_id=unit))
    dynamodb_calls.clear()
    for state in ("A", "R", "C"):
        refusal(service, dossier(state, unit_id=unit))
    refusal(service, dossier(unit_id=unit, sub_type="ASI"))
    assert dynamodb_calls == []


def test_configuration_is_read_again_only_after_30_seconds(service, cache_clock, dynamodb_calls):
    unit = rid("unit-")
    number = msisdn()
    item = dossier(unit_id=unit, subscriber=number)
    service.check(item)

    # An admin blacklists the number and adds an exempt SUB_TYPE: within 30 s (the bound the admin API
    # states) this process still decides on what it read, and reads no configuration.
    put_settings({"blacklist": [number]}, unit_id=unit, by="test")
    code = "Z" + uuid.uuid4().hex[:6].upper()
    SubTypePolicy(code, name="Exempt", icc_profile="X", khcn=False, khdn=False).save()
    dynamodb_calls.clear()
    cache_clock.now += 29.9
    service.check(item)
    assert refusal(service, dossier(unit_id=unit, sub_type=code)) == "UNKNOWN_SUB_TYPE"
    assert "Scan" not in dynamodb_calls
    assert dynamodb_calls == []  # the passing check reads no configuration, and has no latest call

    cache_clock.now += 0.2  # 30.1 s after the first read
    dynamodb_calls.clear()
    assert refusal(service, item) == "SUBSCRIBER_BLACKLISTED"
    assert sorted(dynamodb_calls) == ["Query", "Query", "Scan"]  # settings x2, policy; refused before calls
    assert refusal(service, dossier(unit_id=unit, sub_type=code)) == "VIDEO_CALL_NOT_REQUIRED"


def test_settings_are_cached_per_unit(cache_clock, dynamodb_calls):
    first, second = rid("unit-"), rid("unit-")
    put_settings({"ring_timeout_s": 30}, unit_id=first, by="test")
    dynamodb_calls.clear()
    assert cached_settings(first).ring_timeout_s == 30
    assert cached_settings(second).ring_timeout_s == 60
    assert cached_settings(first).ring_timeout_s == 30
    assert dynamodb_calls == ["Query"] * 4  # two per unit, once each


def test_policy_rows_returns_a_copy_the_caller_may_change(cache_clock):
    rows = policy_rows()
    rows.pop("ZP")
    assert "ZP" in policy_rows()
