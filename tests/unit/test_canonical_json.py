"""The canonical JSON (``vkyc.protocol.canonical``, RFC 8785 over I-JSON): the shared test vectors of
``docs/protocol/canonical-vectors.json`` (the browser checks the same file: tests/browser/
test_canonical_json.py), what is refused, and properties against references derived from the RFC and
from ECMA-262's Number::toString, independently of the implementation.

It replaced ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``; the last tests
show that the bytes are unchanged for everything but fractional numbers and member names above U+FFFF,
which no signed protocol message and no evidence manifest carries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import struct
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vkyc.protocol import signing
from vkyc.protocol.canonical import MAX_SAFE_INTEGER, NotCanonical, canonical_json

ROOT = Path(__file__).resolve().parents[2]
VECTORS_FILE = ROOT / "docs" / "protocol" / "canonical-vectors.json"
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
KEY = base64.urlsafe_b64decode(VECTORS["key"] + "=")


def old_canonical(value: object) -> bytes:
    """What messages were signed and manifests hashed with before RFC 8785."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# -- the shared vectors -----------------------------------------------------------------------------


def test_the_vector_key_is_the_guides():
    assert bytes(range(32)) == KEY


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_every_vector_canonicalizes_and_signs_as_published(vector):
    message = json.loads(vector["input"])
    expected = vector["canonical"].encode("utf-8")
    assert signing.canonical(message) == expected
    if "mac" not in message:
        assert canonical_json(message) == expected
    # The published mac is the HMAC of the published bytes (the file is consistent with itself)...
    tag = base64.urlsafe_b64encode(hmac.new(KEY, expected, hashlib.sha256).digest()).rstrip(b"=")
    assert vector["mac"] == tag.decode()
    # ...and the server signs and verifies the parsed input with it.
    assert signing.mac(KEY, message) == vector["mac"]
    assert signing.verify(KEY, {**message, "mac": vector["mac"]})


@pytest.mark.parametrize("vector", VECTORS["refused"], ids=lambda v: v["name"])
def test_every_refused_vector_has_no_canonical_form_and_no_valid_mac(vector):
    message = json.loads(vector["input"])
    with pytest.raises(NotCanonical):
        canonical_json(message)
    # Whatever mac is attached, verification says no (MAC_INVALID) rather than raising.
    assert not signing.verify(KEY, {**message, "mac": "A" * 43})


def test_the_guides_two_vectors_are_among_the_shared_ones():
    guide = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    by_name = {v["name"]: v for v in VECTORS["vectors"]}
    for name in ("guide-1-ping", "guide-2-text"):
        assert by_name[name]["canonical"] in guide and by_name[name]["mac"] in guide
    assert "docs/protocol/canonical-vectors.json" in guide


def test_the_vectors_cover_what_the_old_form_got_wrong():
    """At least one vector tells RFC 8785 from the old json.dumps form by name order, and one by
    number spelling: an SDK that passes the vectors cannot be using the old rule by accident."""
    differing = {
        vector["name"]
        for vector in VECTORS["vectors"]
        if old_canonical(json.loads(vector["input"])) != vector["canonical"].encode()
    }
    assert {"utf16-not-code-points", "rfc8785-sorting", "integral-spellings", "fractions"} <= differing


# -- RFC 8785's rules, one by one -------------------------------------------------------------------


def test_names_sort_by_utf16_code_units_not_code_points():
    # U+1D49C is D835 DC9C in UTF-16: before U+E000, although its code point is higher.
    assert canonical_json({"\ue000": 1, "\U0001d49c": 2}) == '{"\U0001d49c":2,"\ue000":1}'.encode()
    assert old_canonical({"\ue000": 1, "\U0001d49c": 2}) == '{"\ue000":1,"\U0001d49c":2}'.encode()


def test_integral_floats_are_written_as_integers():
    assert canonical_json([1.0, -0.0, 1e2, 9007199254740991.0]) == b"[1,0,100,9007199254740991]"
    assert old_canonical([1.0]) == b"[1.0]"


def test_fractions_follow_ecmascript():
    assert canonical_json([0.1, 1e-6, 1e-7, 1.5e-10, 123.456]) == b"[0.1,0.000001,1e-7,1.5e-10,123.456]"
    assert old_canonical([1e-7]) == b"[1e-07]"


def test_only_quote_backslash_and_control_characters_are_escaped():
    text = "\x00\x1f\x7f\x80\u2028/<>&'\"\\\b\t\n\f\r é😀"
    assert canonical_json(text) == '"\\u0000\\u001f\x7f\x80\u2028/<>&\'\\"\\\\\\b\\t\\n\\f\\r é😀"'.encode()


def test_text_is_not_normalized():
    assert canonical_json(["Hu\u0300ng", "H\u00f9ng"]) == '["Hu\u0300ng","H\u00f9ng"]'.encode()


def test_tuples_are_arrays_and_any_mapping_is_an_object():
    assert canonical_json((1, (2,))) == b"[1,[2]]"
    assert canonical_json(MappingProxyType({"b": 1, "a": 2})) == b'{"a":2,"b":1}'
    assert canonical_json(OrderedDict([("b", 1), ("a", 2)])) == b'{"a":2,"b":1}'


def test_booleans_are_not_integers():
    assert canonical_json([True, False, 1, 0]) == b"[true,false,1,0]"


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        2**53,
        -(2**53),
        float(2**53),
        1e300,
        {1: "a name that is not a string"},
        {"s": "\ud800"},
        {"\udfff": 1},
        b"bytes",
        {1, 2},
        datetime(2026, 1, 1, tzinfo=UTC),
        object(),
    ],
    ids=repr,
)
def test_what_has_no_canonical_form_is_refused(value):
    with pytest.raises(NotCanonical):
        canonical_json(value)


def test_the_safe_integers_at_the_edge_are_accepted():
    assert canonical_json([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == b"[9007199254740991,-9007199254740991]"


def test_a_structure_too_deep_for_the_stack_is_refused_not_crashed():
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(NotCanonical, match="deep"):
        canonical_json(deep)


def test_signing_verify_refuses_what_has_no_canonical_form():
    message = {"action": "ping", "request_id": "r-1", "seq": 1, "ts": 1, "n": 2**60}
    assert not signing.verify(KEY, {**message, "mac": "A" * 43})


# -- properties -------------------------------------------------------------------------------------

# Text without surrogate code points: what json.loads makes of any well-formed JSON string.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
SAFE_INTEGERS = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
SAFE_FLOATS = st.floats(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER, allow_nan=False)
SCALARS = st.none() | st.booleans() | SAFE_INTEGERS | SAFE_FLOATS | TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    """JSON equality: numbers by value (1 and 1.0 are one JSON number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _members_in_utf16_order(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name.encode("utf-16-be") for name, _ in pairs]
    assert names == sorted(names) and len(set(names)) == len(names)
    return dict(pairs)


@given(JSON_VALUES)
def test_the_canonical_form_parses_back_to_the_same_value(value):
    assert _same(json.loads(canonical_json(value)), value)


@given(JSON_VALUES)
def test_the_canonical_form_of_the_canonical_form_is_itself(value):
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once


@given(JSON_VALUES)
def test_members_come_in_utf16_order_at_every_level_without_white_space(value):
    text = canonical_json(value).decode("utf-8")
    json.loads(text, object_pairs_hook=_members_in_utf16_order)
    assert not any(c in " \t\n\r" for c in _without_strings(text))  # white space only inside strings


def _without_strings(text: str) -> str:
    out, inside, escaped = [], False, False
    for char in text:
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        else:
            out.append(char)
    return "".join(out)


def ecmascript_number(x: float) -> str:
    """Number::toString(x) for radix 10 as ECMA-262 (6.1.6.1.20) states it, in exact decimal arithmetic:
    the fewest digits k such that some s x 10^(n-k) (s of k digits) reads back as x; of several such s,
    the closest to x, and of two equally close, the even one; then the four layouts by n."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + ecmascript_number(-x)
    with localcontext() as context:
        context.prec = 2000  # exact: a double has at most 767 significant decimal digits
        exact = Decimal(x)
        for k in range(1, 18):
            quantum = Decimal(1).scaleb(exact.adjusted() - k + 1)
            candidates = {exact.quantize(quantum, rounding=r) for r in (ROUND_FLOOR, ROUND_CEILING)}
            readable = [c for c in candidates if float(c) == x]
            if readable:
                best = min(readable, key=lambda c: (abs(c - exact), c.scaleb(-quantum.adjusted()) % 2))
                break
    _, digit_tuple, exponent = best.normalize().as_tuple()
    s = "".join(map(str, digit_tuple))
    k = len(s)
    n = k + int(exponent)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    e = n - 1
    return s[0] + ("." + s[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))


@given(SAFE_FLOATS)
def test_numbers_are_written_as_ecmascript_writes_them(x):
    assert canonical_json(x).decode() == ecmascript_number(x)


@given(st.integers(0, 2**64 - 1))
def test_any_double_within_the_safe_range_is_written_as_ecmascript_writes_it(bits):
    (x,) = struct.unpack("<d", bits.to_bytes(8, "little"))
    if not math.isfinite(x) or abs(x) > MAX_SAFE_INTEGER:
        with pytest.raises(NotCanonical):
            canonical_json(x)
    else:
        assert canonical_json(x).decode() == ecmascript_number(x)


def test_the_rfcs_number_examples():
    """RFC 8785 appendix B's IEEE 754 examples that lie within ±(2**53 - 1)."""
    examples = {
        "0000000000000000": "0",
        "8000000000000000": "0",
        "0000000000000001": "5e-324",
        "8000000000000001": "-5e-324",
        "3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
        "3eb0c6f7a0b5ed8d": "0.000001",
        "41b3de4355555553": "333333333.3333332",
        "41b3de4355555554": "333333333.33333325",
        "41b3de4355555555": "333333333.3333333",
        "41b3de4355555556": "333333333.3333334",
        "41b3de4355555557": "333333333.33333343",
        "becbf647612f3696": "-0.0000033333333333333333",
        "43143ff3c1cb0959": "1424953923781206.2",
    }
    for bits, text in examples.items():
        (x,) = struct.unpack(">d", bytes.fromhex(bits))
        assert canonical_json(x).decode() == text, bits


# -- compatibility with what was signed and hashed before -------------------------------------------

BMP_NAMES = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=8)
WITHOUT_FRACTIONS = st.recursive(
    st.none() | st.booleans() | SAFE_INTEGERS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(BMP_NAMES, inner, max_size=4),
    max_leaves=20,
)


@given(WITHOUT_FRACTIONS)
def test_the_old_form_is_unchanged_without_floats_and_names_above_u_ffff(value):
    """Every signed protocol message (integers only, ASCII names) and every evidence manifest lies in
    this domain: what deployed SDKs signed still verifies, and manifests hash as before."""
    assert canonical_json(value) == old_canonical(value)
