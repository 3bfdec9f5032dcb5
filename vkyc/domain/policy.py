"""Is a video call required for this subscriber? The SUB_TYPE policy of seed 002.

Only prepaid (TT) subscribers may need a video call; postpaid (TS) never does for now. For prepaid, the
policy table says per SUB_TYPE whether individual (KHCN) and enterprise (KHDN) customers need one. The
table is data (editable at run time, stored in a table); ``DEFAULT_SUB_TYPE_POLICY`` is the seed's copy.

A SUB_TYPE missing from the table is an error (``UnknownSubType``), never a silent "not required":
a new package must be classified before its subscribers can skip or take verification.

Pure: imports nothing of vkyc's outside the domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from vkyc.domain.machine import DomainError


class CustomerType(StrEnum):
    """KHCN: individual customer (khách hàng cá nhân). KHDN: enterprise (khách hàng doanh nghiệp)."""

    KHCN = "KHCN"
    KHDN = "KHDN"


class PaymentType(StrEnum):
    """Prepaid (trả trước, TT) or postpaid (trả sau, TS). ``PaymentType("TT")`` is accepted too."""

    PREPAID = "prepaid"
    POSTPAID = "postpaid"

    @classmethod
    def _missing_(cls, value: object) -> PaymentType | None:
        # The operator's own systems say TT / TS; accept those (any case) as aliases.
        if isinstance(value, str):
            return {"TT": cls.PREPAID, "TS": cls.POSTPAID}.get(value.strip().upper())
        return None


class UnknownSubType(DomainError):
    """The SUB_TYPE is not in the policy table, so whether a video call is required is unknown."""

    code = "UNKNOWN_SUB_TYPE"

    def __init__(self, sub_type: str) -> None:
        self.sub_type = sub_type
        super().__init__(f"SUB_TYPE {sub_type!r} is not in the video-call policy table")


class DuplicateSubType(DomainError):
    """The same SUB_TYPE appears twice in a policy table (which row wins would be arbitrary)."""

    code = "DUPLICATE_SUB_TYPE"

    def __init__(self, sub_type: str) -> None:
        self.sub_type = sub_type
        super().__init__(f"SUB_TYPE {sub_type!r} appears more than once in the policy table")


_SUB_TYPE_RE = re.compile(r"^[A-Z0-9_]{1,16}$")


def normalize_sub_type(value: str) -> str:
    """SUB_TYPE codes compare trimmed and upper-case (``" zp "`` is ``ZP``)."""
    return value.strip().upper()


def _yes_no(value: Any) -> Any:
    # The seed table writes Y / N; booleans are accepted as they are.
    if isinstance(value, str):
        flag = value.strip().upper()
        if flag in ("Y", "N"):
            return flag == "Y"
        raise ValueError(f"expected Y or N, got {value!r}")
    return value


YesNo = Annotated[bool, BeforeValidator(_yes_no), Field(strict=True)]


class SubTypePolicy(BaseModel):
    """One row of the policy table: whether prepaid KHCN / KHDN customers of this SUB_TYPE need a call."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    sub_type: str
    """Package code, upper-case letters and digits (e.g. ``ZP``)."""
    name: Annotated[str, Field(min_length=1, max_length=200)]
    """Human name of the package (e.g. ``MOBIZONE-PLUS``)."""
    icc_profile: Annotated[str, Field(min_length=1, max_length=50)]
    """SIM (ICC) profile of the package (e.g. ``TBT2``)."""
    khcn: YesNo
    """Video call required for individual customers (KHCN). ``Y``/``N`` or a boolean on input."""
    khdn: YesNo
    """Video call required for enterprise customers (KHDN). ``Y``/``N`` or a boolean on input."""

    @field_validator("sub_type")
    @classmethod
    def _code(cls, value: str) -> str:
        code = normalize_sub_type(value)
        if not _SUB_TYPE_RE.fullmatch(code):
            raise ValueError(f"SUB_TYPE must be 1-16 letters/digits, got {value!r}")
        return code

    def required_for(self, customer_type: CustomerType) -> bool:
        """Whether a prepaid customer of ``customer_type`` with this SUB_TYPE needs a video call."""
        return self.khcn if customer_type is CustomerType.KHCN else self.khdn


def policy_index(rows: Iterable[SubTypePolicy]) -> dict[str, SubTypePolicy]:
    """The rows keyed by SUB_TYPE. Raises ``DuplicateSubType`` if a SUB_TYPE appears twice."""
    index: dict[str, SubTypePolicy] = {}
    for row in rows:
        if row.sub_type in index:
            raise DuplicateSubType(row.sub_type)
        index[row.sub_type] = row
    return index


def video_call_required(
    policy_rows: Iterable[SubTypePolicy] | Mapping[str, SubTypePolicy],
    sub_type: str,
    customer_type: CustomerType | str,
    payment_type: PaymentType | str,
) -> bool:
    """Whether a subscriber needs a video call before activation.

    ``policy_rows``: the table, as rows or as ``policy_index`` output (pass the index when deciding many).
    Postpaid: never required, whatever the SUB_TYPE (postpaid packages are not in the table).
    Prepaid: the row's KHCN or KHDN flag. Raises ``UnknownSubType`` when a prepaid SUB_TYPE is not in the
    table, and ``ValueError`` for a customer or payment type that is not one of the enums' values.
    """
    customer = CustomerType(customer_type)
    payment = PaymentType(payment_type)
    if payment is PaymentType.POSTPAID:
        return False
    index = policy_rows if isinstance(policy_rows, Mapping) else policy_index(policy_rows)
    code = normalize_sub_type(sub_type)
    row = index.get(code)
    if row is None:
        raise UnknownSubType(code)
    return row.required_for(customer)


def _row(sub_type: str, name: str, icc_profile: str, khcn: str, khdn: str) -> SubTypePolicy:
    return SubTypePolicy.model_validate(
        {"sub_type": sub_type, "name": name, "icc_profile": icc_profile, "khcn": khcn, "khdn": khdn}
    )


DEFAULT_SUB_TYPE_POLICY: tuple[SubTypePolicy, ...] = (
    # Verbatim from seed 002 (see spec/domain.md): SUB_TYPE, name, ICC profile, KHCN, KHDN.
    _row("ASI", "ASIMQT", "ASIMQT", "N", "N"),
    _row("ASZ", "ASIMZ", "ASIMZ", "N", "N"),
    _row("ET1", "MOBI E-TALK DEVICE", "MCP", "Y", "Y"),
    _row("ZP", "MOBIZONE-PLUS", "TBT2", "Y", "Y"),
    _row("MQ", "MOBIQ", "QT2", "Y", "Y"),
    _row("B4G", "Ba khía 4G", "TBT2", "Y", "Y"),
    _row("DT2", "TB DT2", "DT2", "Y", "Y"),
    _row("FCZ", "FastConnect Zone", "FCZ", "Y", "Y"),
    _row("FDZ", "TBTT Fast connect KHDN", "FCZ", "Y", "N"),
    _row("ZPP", "MOBIZONE-DPLUS", "TBT2", "Y", "Y"),
    _row("MSY", "MSubsidy", "TIT", "Y", "Y"),
    _row("W2G", "way2go", "W2G", "N", "N"),
    _row("ZDT", "Zone Duyên Hải MT", "DHMT", "Y", "Y"),
    _row("HTD", "Happy Tourist Data", "HTD", "N", "N"),
    _row("ZMT", "Zone Miền Trung", "ZMT", "Y", "Y"),
    _row("DCF", "data-only subscriber", "DCF", "N", "N"),
    _row("HDE", "Bộ hạt dẻ", "TBT2", "Y", "Y"),
    _row("HTV", "Happy Tourist Voice", "HTV", "N", "N"),
    _row("SP", "S30+", "SBK", "Y", "Y"),
    _row("MC", "MOBICARD", "TT2", "Y", "Y"),
    _row("BTR", "Bộ Ban Trắng", "TBT2", "Y", "Y"),
    _row("ETK", "MOBI E-TALK", "MCP", "Y", "Y"),
    _row("MY", "MOBI365", "YT2", "Y", "Y"),
    _row("FC", "PFC", "FCT2", "Y", "Y"),
    _row("FCE", "PFC enterprise", "FCDN", "Y", "N"),
    _row("ZHN", "Zone HN", "ZHN", "Y", "Y"),
    _row("SOF", "SOFTSIM subscriber", "FCDN", "N", "N"),
)
"""The seed's 27 rows, in the seed's order."""

# Fail at import, not at the first lookup, if an edit ever duplicates a row.
DEFAULT_SUB_TYPE_INDEX: Mapping[str, SubTypePolicy] = policy_index(DEFAULT_SUB_TYPE_POLICY)
