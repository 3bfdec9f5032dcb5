"""CallSettings: defaults, every constraint refused with the field named, per-unit merge."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from pydantic import ValidationError

from vkyc.domain.settings import (
    CallSettings,
    LoginPolicy,
    MissedTicketMerge,
    merge_settings,
    normalize_msisdn,
    validate_url_template,
)


def test_defaults_match_the_domain_document():
    s = CallSettings()
    assert s.ring_timeout_s == 60
    assert s.reconnect_grace_s == 15
    assert s.callback_timeout_s == 60
    assert s.sla_target_percent == 80
    assert s.sla_answer_within_s == 20
    assert s.daily_success_cap_per_subscriber is None
    assert s.login_policy is LoginPolicy.REFUSE_IN_CALL_ELSE_TAKE_OVER
    assert s.end_of_day == time(22, 0)
    assert s.timezone == "Asia/Ho_Chi_Minh"
    assert s.blacklist == frozenset()
    assert s.missed_ticket_merge in set(MissedTicketMerge)
    assert s.approve_requires_face is True
    assert len(MissedTicketMerge) == 4


def test_settings_are_frozen():
    s = CallSettings()
    with pytest.raises(ValidationError):
        s.ring_timeout_s = 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ring_timeout_s", 0),
        ("ring_timeout_s", -1),
        ("ring_timeout_s", 601),
        ("ring_timeout_s", "60"),  # strict: a quoted number is a typo
        ("ring_timeout_s", True),
        ("reconnect_grace_s", 0),
        ("reconnect_grace_s", 10_000),
        ("queue_timeout_s", 0),
        ("no_call_arrived_s", 0),
        ("wrap_up_limit_s", 0),
        ("callback_timeout_s", 0),
        ("sla_answer_within_s", 0),
        ("sla_target_percent", -1),
        ("sla_target_percent", 100.5),
        ("daily_success_cap_per_subscriber", 0),
        ("max_offers_per_call", 0),
        ("end_of_day", "24:00"),
        ("end_of_day", "9:00"),
        ("end_of_day", "22:00:30"),
        ("end_of_day", 2200),
        ("timezone", "Mars/Olympus_Mons"),
        ("login_policy", "first_wins"),
        ("missed_ticket_merge", "weekly"),
        ("popup_answer_url", "not a url"),
        ("popup_answer_url", "ftp://crm.example/answer"),
        ("popup_answer_url", "https://crm.example/answer?x={password}"),
        ("incoming_iframe_url", "https://crm.example/{callId"),
        ("callout_iframe_url", "javascript:alert(1)"),
        ("webphone_embed_url", "https:///nohost"),
        ("waiting_media_key", "/absolute/key.mp4"),
        ("ringtone", "media/../secret"),
        ("blacklist", ["0901 234 abc"]),
        ("blacklist", ["123"]),
        ("blacklist", "0901234567"),
        ("greeting", "x" * 2001),
        ("no_such_setting", 1),
    ],
)
def test_invalid_value_is_refused_naming_the_field(field, value):
    with pytest.raises(ValidationError) as info:
        CallSettings.model_validate({field: value})
    errors = info.value.errors()
    assert [e["loc"][0] for e in errors] == [field]
    assert field in str(info.value)


def test_boundaries_are_accepted():
    s = CallSettings(
        ring_timeout_s=1,
        reconnect_grace_s=300,
        sla_target_percent=0,
        daily_success_cap_per_subscriber=1,
        end_of_day="00:00",  # type: ignore[arg-type]
    )
    assert s.end_of_day == time(0, 0)
    assert CallSettings(sla_target_percent=100).sla_target_percent == 100


def test_end_of_day_accepts_a_toml_time_and_dumps_hh_mm():
    s = CallSettings(end_of_day=time(21, 30))
    assert s.model_dump(mode="json")["end_of_day"] == "21:30"


def test_json_round_trip_is_identity():
    s = CallSettings(
        blacklist=frozenset({"0901234567"}),
        popup_answer_url="https://crm.example/a?callId={callId}&userId={userId}",
        daily_success_cap_per_subscriber=3,
    )
    assert CallSettings.model_validate_json(s.model_dump_json()) == s


def test_blacklist_is_normalized_and_matches_any_spelling():
    s = CallSettings.model_validate({"blacklist": ["0901234567", "+84 93 123 4567"]})
    assert s.blacklist == {"84901234567", "84931234567"}
    assert s.is_blacklisted("84901234567")
    assert s.is_blacklisted("090-123-4567")
    assert not s.is_blacklisted("0901234568")
    assert not s.is_blacklisted("garbage")


def test_normalize_msisdn():
    assert normalize_msisdn("0901234567") == "84901234567"
    assert normalize_msisdn("+84901234567") == "84901234567"
    assert normalize_msisdn("84.901.234.567") == "84901234567"
    with pytest.raises(ValueError):
        normalize_msisdn("09x")


def test_url_template_without_placeholders_is_fine():
    assert validate_url_template("https://crm.example/answer") == "https://crm.example/answer"


def test_zone_is_vietnam_utc_plus_7_all_year():
    zone = CallSettings().zone()
    for month in (1, 7):
        assert datetime(2024, month, 1, 12, tzinfo=zone).utcoffset() == timedelta(hours=7)


def test_merge_replaces_only_the_overridden_fields():
    base = CallSettings(
        ring_timeout_s=60, blacklist=frozenset({"0901234567"}), daily_success_cap_per_subscriber=2
    )
    unit = merge_settings(base, {"ring_timeout_s": 45, "daily_success_cap_per_subscriber": None})
    assert unit.ring_timeout_s == 45
    assert unit.daily_success_cap_per_subscriber is None
    assert unit.blacklist == base.blacklist
    assert unit.reconnect_grace_s == base.reconnect_grace_s
    assert base.ring_timeout_s == 60  # the global value is untouched


def test_merge_without_override_returns_the_base():
    base = CallSettings()
    assert merge_settings(base, None) is base
    assert merge_settings(base, {}) is base


def test_merge_blacklist_replaces_the_global_list():
    base = CallSettings.model_validate({"blacklist": ["0901234567"]})
    unit = merge_settings(base, {"blacklist": ["0931234567"]})
    assert unit.blacklist == {"84931234567"}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"ring_timeout_s": 0}, "ring_timeout_s"),
        ({"end_of_day": "7pm"}, "end_of_day"),
        ({"ring_timeout": 45}, "ring_timeout"),  # misspelt key
    ],
)
def test_merge_refuses_a_bad_override_naming_the_field(override, field):
    with pytest.raises(ValidationError) as info:
        merge_settings(CallSettings(), override)
    assert [e["loc"][0] for e in info.value.errors()] == [field]
