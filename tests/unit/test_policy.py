"""The SUB_TYPE policy: is a video call required (seed 002)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vkyc.domain.policy import (
    DEFAULT_SUB_TYPE_INDEX,
    DEFAULT_SUB_TYPE_POLICY,
    CustomerType,
    DuplicateSubType,
    PaymentType,
    SubTypePolicy,
    UnknownSubType,
    policy_index,
    video_call_required,
)

TABLE = DEFAULT_SUB_TYPE_POLICY


def test_default_table_has_the_27_rows_of_the_seed():
    assert len(TABLE) == 27
    assert len(DEFAULT_SUB_TYPE_INDEX) == 27
    assert [r.sub_type for r in TABLE[:3]] == ["ASI", "ASZ", "ET1"]
    assert TABLE[-1].sub_type == "SOF"


@pytest.mark.parametrize(
    ("sub_type", "name", "icc_profile", "khcn", "khdn"),
    [
        ("ASI", "ASIMQT", "ASIMQT", False, False),
        ("ZP", "MOBIZONE-PLUS", "TBT2", True, True),
        ("FDZ", "TBTT Fast connect KHDN", "FCZ", True, False),
        ("ZDT", "Zone Duyên Hải MT", "DHMT", True, True),
        ("FCE", "PFC enterprise", "FCDN", True, False),
        ("SOF", "SOFTSIM subscriber", "FCDN", False, False),
    ],
)
def test_default_table_rows_match_the_seed(sub_type, name, icc_profile, khcn, khdn):
    row = DEFAULT_SUB_TYPE_INDEX[sub_type]
    assert (row.name, row.icc_profile, row.khcn, row.khdn) == (name, icc_profile, khcn, khdn)


@pytest.mark.parametrize(
    ("sub_type", "customer_type", "expected"),
    [
        ("ZP", CustomerType.KHCN, True),
        ("ZP", CustomerType.KHDN, True),
        ("FDZ", CustomerType.KHCN, True),
        ("FDZ", CustomerType.KHDN, False),
        ("ASI", CustomerType.KHCN, False),
        ("ASI", CustomerType.KHDN, False),
    ],
)
def test_prepaid_follows_the_row(sub_type, customer_type, expected):
    assert video_call_required(TABLE, sub_type, customer_type, PaymentType.PREPAID) is expected


@pytest.mark.parametrize("sub_type", ["ZP", "ASI", "NOT-IN-TABLE"])
def test_postpaid_is_never_required_even_for_an_unknown_sub_type(sub_type):
    assert video_call_required(TABLE, sub_type, "KHCN", PaymentType.POSTPAID) is False


def test_unknown_prepaid_sub_type_is_an_explicit_error():
    with pytest.raises(UnknownSubType) as info:
        video_call_required(TABLE, "XYZ", "KHCN", "prepaid")
    assert info.value.code == "UNKNOWN_SUB_TYPE"
    assert info.value.sub_type == "XYZ"
    assert "XYZ" in str(info.value)


def test_strings_and_aliases_are_accepted():
    assert video_call_required(TABLE, " fdz ", "KHDN", "TT") is False
    assert video_call_required(TABLE, "fdz", "KHCN", "tt") is True
    assert video_call_required(TABLE, "ZP", "KHCN", "TS") is False


def test_an_index_works_as_the_table():
    assert video_call_required(DEFAULT_SUB_TYPE_INDEX, "MC", "KHCN", "prepaid") is True


@pytest.mark.parametrize(("customer_type", "payment_type"), [("KHXX", "prepaid"), ("KHCN", "monthly")])
def test_unknown_customer_or_payment_type_is_refused(customer_type, payment_type):
    with pytest.raises(ValueError):
        video_call_required(TABLE, "ZP", customer_type, payment_type)


def test_an_edited_table_is_used_as_given():
    edited = [SubTypePolicy(sub_type="NEW", name="New pack", icc_profile="X", khcn=False, khdn=True)]
    assert video_call_required(edited, "NEW", "KHDN", "prepaid") is True
    with pytest.raises(UnknownSubType):
        video_call_required(edited, "ZP", "KHCN", "prepaid")


def test_duplicate_sub_type_is_refused():
    with pytest.raises(DuplicateSubType):
        policy_index([TABLE[0], TABLE[0]])


def test_row_accepts_y_n_and_refuses_other_flags():
    row = SubTypePolicy.model_validate(
        {"sub_type": "zp", "name": "n", "icc_profile": "p", "khcn": "Y", "khdn": "n"}
    )
    assert (row.sub_type, row.khcn, row.khdn) == ("ZP", True, False)
    with pytest.raises(ValidationError) as info:
        SubTypePolicy.model_validate(
            {"sub_type": "ZP", "name": "n", "icc_profile": "p", "khcn": "yes", "khdn": "N"}
        )
    assert "khcn" in str(info.value)
    with pytest.raises(ValidationError) as info:
        SubTypePolicy.model_validate(
            {"sub_type": "Z P", "name": "n", "icc_profile": "p", "khcn": "Y", "khdn": "N"}
        )
    assert "sub_type" in str(info.value)
