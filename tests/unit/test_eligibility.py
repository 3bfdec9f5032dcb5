"""Eligibility before anything rings: every refusal, every eligible state, and which refusal wins when
several apply. Expectations are written out here (seed 002 table, spec/domain.md), not derived from the
code under test."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from vkyc.domain.direction import is_live_call
from vkyc.domain.eligibility import (
    REFUSAL_CODES,
    DossierFacts,
    NotEligible,
    check,
    check_dossier,
    day_start,
)
from vkyc.domain.machine import DomainError
from vkyc.domain.policy import DEFAULT_SUB_TYPE_INDEX
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import CATALOGUE

POLICY = DEFAULT_SUB_TYPE_INDEX
SUBSCRIBER = "84901234567"
# Prepaid individual on ZP (MOBIZONE-PLUS): the seed says KHCN Y, so a call is required.
ELIGIBLE = DossierFacts(
    dossier_id="D-1",
    state="W",
    kyc_at_counter=False,
    sub_type="ZP",
    customer_type="KHCN",
    payment_type="prepaid",
    subscriber=SUBSCRIBER,
)
NO_CAP = CallSettings()
CAP_2 = CallSettings(daily_success_cap_per_subscriber=2)
BLACKLISTING = CallSettings(blacklist=frozenset({"0901234567"}))


def refusal(
    facts: DossierFacts,
    settings: CallSettings = NO_CAP,
    successful_calls_today: int | None = None,
    live_call: bool = False,
) -> str:
    with pytest.raises(NotEligible) as caught:
        check(facts, POLICY, settings, successful_calls_today, live_call)
    return caught.value.code


def passes(
    facts: DossierFacts,
    settings: CallSettings = NO_CAP,
    successful_calls_today: int | None = None,
    live_call: bool = False,
) -> None:
    check(facts, POLICY, settings, successful_calls_today, live_call)


# --- the error itself ----------------------------------------------------------------------------------


def test_not_eligible_is_a_domain_error_with_its_code_per_instance():
    approved = NotEligible("DOSSIER_ALREADY_APPROVED", "approved")
    busy = NotEligible("CALL_IN_PROGRESS", "busy")
    assert isinstance(approved, DomainError)
    assert (approved.code, busy.code) == ("DOSSIER_ALREADY_APPROVED", "CALL_IN_PROGRESS")
    assert str(busy) == "busy"


def test_every_refusal_code_is_in_the_catalogue():
    codes = set(REFUSAL_CODES)
    assert codes == {
        "DOSSIER_ALREADY_APPROVED",
        "DOSSIER_REJECTED",
        "DOSSIER_IN_POST_AUDIT",
        "KYC_AT_COUNTER_REQUIRED",
        "VIDEO_CALL_NOT_REQUIRED",
        "UNKNOWN_SUB_TYPE",
        "SUBSCRIBER_BLACKLISTED",
        "DOSSIER_IMAGES_REQUIRED",
        "DAILY_CALL_LIMIT_REACHED",
        "CALL_IN_PROGRESS",
    }
    assert codes.issubset(CATALOGUE)


def test_a_code_outside_the_refusals_is_a_programming_error():
    with pytest.raises(ValueError, match="NO_AGENT_AVAILABLE"):
        NotEligible("NO_AGENT_AVAILABLE", "no agent")


# --- eligible states -----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["N", "W", "D"], ids=["new", "waiting", "unreachable-retry"])
def test_new_waiting_and_unreachable_dossiers_may_be_called(state):
    passes(replace(ELIGIBLE, state=state))


def test_an_unknown_state_letter_is_corrupt_data_not_a_refusal():
    with pytest.raises(ValueError):
        check(replace(ELIGIBLE, state="X"), POLICY, NO_CAP, None, False)


# --- each refusal --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "code"),
    [("A", "DOSSIER_ALREADY_APPROVED"), ("R", "DOSSIER_REJECTED"), ("C", "DOSSIER_IN_POST_AUDIT")],
)
def test_decided_or_audited_dossiers_are_refused(state, code):
    assert refusal(replace(ELIGIBLE, state=state)) == code


def test_the_refusal_message_names_the_dossier():
    with pytest.raises(NotEligible, match="D-1"):
        check(replace(ELIGIBLE, state="A"), POLICY, NO_CAP, None, False)


def test_kyc_at_the_counter_is_refused():
    assert refusal(replace(ELIGIBLE, kyc_at_counter=True)) == "KYC_AT_COUNTER_REQUIRED"


@pytest.mark.parametrize("spelling", ["84901234567", "0901234567", "+84 901 234 567"])
def test_a_blacklisted_subscriber_is_refused_however_the_number_is_spelled(spelling):
    assert refusal(replace(ELIGIBLE, subscriber=spelling), BLACKLISTING) == "SUBSCRIBER_BLACKLISTED"


def test_a_number_off_the_blacklist_or_no_number_passes_the_blacklist():
    passes(replace(ELIGIBLE, subscriber="84907654321"), BLACKLISTING)
    passes(replace(ELIGIBLE, subscriber=None), BLACKLISTING)


@pytest.mark.parametrize(
    ("sub_type", "customer_type"),
    [
        ("ASI", "KHCN"),  # ASIMQT: N / N
        ("ASI", "KHDN"),
        ("W2G", "KHCN"),  # way2go: N / N
        ("SOF", "KHDN"),  # SOFTSIM: N / N
        ("FDZ", "KHDN"),  # Fast connect KHDN: Y / N
        ("FCE", "KHDN"),  # PFC enterprise: Y / N
    ],
)
def test_prepaid_subscriptions_the_policy_exempts_are_refused_as_not_required(sub_type, customer_type):
    facts = replace(ELIGIBLE, sub_type=sub_type, customer_type=customer_type)
    assert refusal(facts) == "VIDEO_CALL_NOT_REQUIRED"


@pytest.mark.parametrize(
    ("sub_type", "customer_type"),
    [("ZP", "KHDN"), ("FDZ", "KHCN"), ("FCE", "KHCN"), ("MC", "KHDN"), (" zp ", "KHCN")],
)
def test_prepaid_subscriptions_the_policy_requires_pass(sub_type, customer_type):
    passes(replace(ELIGIBLE, sub_type=sub_type, customer_type=customer_type))


@pytest.mark.parametrize("payment_type", ["postpaid", "TS"])
def test_postpaid_never_needs_a_call_even_with_an_unlisted_or_missing_sub_type(payment_type):
    for sub_type in ("ZP", "NOPE", None):
        facts = replace(ELIGIBLE, payment_type=payment_type, sub_type=sub_type, customer_type=None)
        assert refusal(facts) == "VIDEO_CALL_NOT_REQUIRED"


def test_prepaid_written_tt_is_prepaid():
    passes(replace(ELIGIBLE, payment_type="TT"))


@pytest.mark.parametrize(
    "change",
    [
        {"sub_type": "NOPE"},
        {"sub_type": None},
        {"sub_type": ""},
        {"customer_type": None},
        {"customer_type": "VIP"},
        {"payment_type": None},
        {"payment_type": "credit"},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_a_dossier_the_policy_cannot_classify_is_unknown_sub_type(change):
    assert refusal(replace(ELIGIBLE, **change)) == "UNKNOWN_SUB_TYPE"


def test_the_cap_refuses_once_the_subscriber_had_that_many_successful_calls_today():
    passes(ELIGIBLE, CAP_2, successful_calls_today=0)
    passes(ELIGIBLE, CAP_2, successful_calls_today=1)
    assert refusal(ELIGIBLE, CAP_2, successful_calls_today=2) == "DAILY_CALL_LIMIT_REACHED"
    assert refusal(ELIGIBLE, CAP_2, successful_calls_today=7) == "DAILY_CALL_LIMIT_REACHED"


def test_without_a_cap_any_count_passes_and_none_is_fine():
    passes(ELIGIBLE, NO_CAP, successful_calls_today=500)
    passes(ELIGIBLE, NO_CAP, successful_calls_today=None)


def test_with_a_cap_an_uncounted_subscriber_is_a_programming_error():
    with pytest.raises(ValueError, match="counted"):
        check(ELIGIBLE, POLICY, CAP_2, None, False)


def test_with_a_cap_a_dossier_without_subscriber_needs_no_count():
    passes(replace(ELIGIBLE, subscriber=None), CAP_2, successful_calls_today=None)


def test_a_live_call_of_the_dossier_is_refused():
    assert refusal(ELIGIBLE, live_call=True) == "CALL_IN_PROGRESS"


# --- order when several apply --------------------------------------------------------------------------

BLACKLISTING_CAPPED = CallSettings(blacklist=frozenset({SUBSCRIBER}), daily_success_cap_per_subscriber=1)


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        # Everything wrong at once: the dossier's own state wins.
        ({"state": "A", "kyc_at_counter": True, "sub_type": "NOPE"}, "DOSSIER_ALREADY_APPROVED"),
        ({"state": "R", "kyc_at_counter": True, "sub_type": "NOPE"}, "DOSSIER_REJECTED"),
        ({"state": "C", "kyc_at_counter": True, "sub_type": "NOPE"}, "DOSSIER_IN_POST_AUDIT"),
        # Then the counter flag, over the blacklist and the policy.
        ({"kyc_at_counter": True, "sub_type": "NOPE"}, "KYC_AT_COUNTER_REQUIRED"),
        ({"kyc_at_counter": True, "sub_type": "ASI"}, "KYC_AT_COUNTER_REQUIRED"),
        # Then the blacklist, over the policy (unknown or exempt), the cap and a live call.
        ({"sub_type": "NOPE"}, "SUBSCRIBER_BLACKLISTED"),
        ({"sub_type": "ASI"}, "SUBSCRIBER_BLACKLISTED"),
        ({"payment_type": "postpaid"}, "SUBSCRIBER_BLACKLISTED"),
        ({}, "SUBSCRIBER_BLACKLISTED"),
    ],
)
def test_permanent_refusals_win_in_order(facts, code):
    got = refusal(replace(ELIGIBLE, **facts), BLACKLISTING_CAPPED, successful_calls_today=5, live_call=True)
    assert got == code


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        ({"sub_type": "NOPE"}, "UNKNOWN_SUB_TYPE"),
        ({"sub_type": "ASI"}, "VIDEO_CALL_NOT_REQUIRED"),
        ({}, "DAILY_CALL_LIMIT_REACHED"),  # the cap before the live call
    ],
)
def test_the_policy_wins_over_the_cap_and_the_live_call_and_the_cap_over_the_live_call(facts, code):
    capped = CallSettings(daily_success_cap_per_subscriber=1)
    got = refusal(replace(ELIGIBLE, **facts), capped, successful_calls_today=1, live_call=True)
    assert got == code


def test_check_dossier_decides_only_on_the_dossier_and_configuration():
    check_dossier(ELIGIBLE, POLICY, CAP_2)  # no count, no live-call flag needed
    with pytest.raises(NotEligible) as caught:
        check_dossier(replace(ELIGIBLE, state="C"), POLICY, CAP_2)
    assert caught.value.code == "DOSSIER_IN_POST_AUDIT"


# --- live calls and the day ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["N", "W", "R", "M", "A", "CONNECTED", "RECONNECTING"])
def test_inbound_calls_waiting_ringing_or_connected_are_live(state):
    assert is_live_call("in", state)


@pytest.mark.parametrize("state", ["E", "T", "FINISHED"])
def test_ended_inbound_calls_are_not_live(state):
    assert not is_live_call("in", state)


@pytest.mark.parametrize(("state", "live"), [("N", True), ("A", True)] + [(s, False) for s in "CFETI"])
def test_call_backs_are_live_while_ringing_or_answered(state, live):
    assert is_live_call("out", state) is live


def test_a_state_no_machine_knows_counts_as_live():
    assert is_live_call("in", "ZZZ")
    assert is_live_call("out", "ZZZ")


VIETNAM = CallSettings().zone()


@pytest.mark.parametrize(
    ("now", "start"),
    [
        # 23:59:59 local on 1 May is still 1 May: the day began at 30 April 17:00 UTC.
        (datetime(2024, 5, 1, 16, 59, 59, tzinfo=UTC), datetime(2024, 4, 30, 17, 0, tzinfo=UTC)),
        # 00:00 local on 2 May starts a new day.
        (datetime(2024, 5, 1, 17, 0, tzinfo=UTC), datetime(2024, 5, 1, 17, 0, tzinfo=UTC)),
        # 06:30 local on 1 May (23:30 UTC the evening before).
        (datetime(2024, 4, 30, 23, 30, tzinfo=UTC), datetime(2024, 4, 30, 17, 0, tzinfo=UTC)),
        # Any aware input: the same instant written in +07:00.
        (
            datetime(2024, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=7))),
            datetime(2024, 4, 30, 17, 0, tzinfo=UTC),
        ),
    ],
)
def test_the_day_starts_at_local_midnight(now, start):
    assert day_start(now, VIETNAM) == start
    assert day_start(now, VIETNAM).utcoffset() == timedelta(0)


def test_the_day_needs_an_aware_now():
    with pytest.raises(ValueError, match="aware"):
        day_start(datetime(2024, 5, 1, 12, 0), VIETNAM)
