"""The canonical JSON of everything vkyc signs or hashes: RFC 8785 (JSON Canonicalization Scheme, JCS)
over I-JSON values (RFC 7493).

``canonical_json(value)`` is the only such serializer in Python: message MACs
(``vkyc.protocol.signing``) and evidence manifests (``vkyc.evidence``) both use it, and
``web/js/canonical.js`` is its twin in the browser. ``docs/protocol/canonical-vectors.json`` holds the
test vectors both check (published for SDK authors; docs/protocol.md section 5 explains the rules).

The output, as RFC 8785 defines it:

- objects: members sorted by their names compared as arrays of UTF-16 code units (what JavaScript's
  default sort does; for names in the Basic Multilingual Plane this is code point order, but a
  character above U+FFFF, written as a surrogate pair D800-DFFF, sorts before U+E000-U+FFFF);
- no white space; arrays keep their order;
- strings as ECMAScript's ``JSON.stringify`` writes them: only ``"``, ``\\`` and U+0000-U+001F are
  escaped (``\\b \\t \\n \\f \\r`` or ``\\u00xx`` in lower case), everything else, ``/`` and non-ASCII
  included, as itself; no Unicode normalization;
- numbers as ECMAScript's ``Number.prototype.toString``: shortest round-tripping digits, ``1.0`` as
  ``1``, ``-0`` as ``0``, ``0.000001`` but ``1e-7``;
- ``true``, ``false``, ``null``; UTF-8.

Refused (``NotCanonical``), where RFC 8785's I-JSON input rules or JavaScript's numbers would otherwise
make the two sides disagree: strings or names with an unpaired surrogate (they have no UTF-8 form);
NaN and infinities; any number of magnitude above 2**53 - 1 (a JavaScript parser would already have
rounded an integer there, so the bytes could not be reproduced; this is I-JSON's interoperable range,
and every protocol integer lies within it); names that are not strings; values that are not JSON
(bytes, sets, dates, arbitrary objects). Refusing never produces bytes that differ from RFC 8785's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

MAX_SAFE_INTEGER = 2**53 - 1

_ESCAPED = re.compile(r'[\x00-\x1f"\\]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotCanonical(ValueError):
    """The value has no canonical form (see the module's docstring for what is refused)."""


def canonical_json(value: object) -> bytes:
    """The RFC 8785 form of ``value`` (None, bool, int, float, str, list or tuple, Mapping with str
    keys, nested), UTF-8 encoded. ``NotCanonical`` if it has none."""
    parts: list[str] = []
    try:
        _write(value, parts)
    except RecursionError:
        raise NotCanonical("nested too deeply") from None
    return "".join(parts).encode("utf-8")


def _write(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonical(f"integer {value} is beyond ±(2**53 - 1)")
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, Mapping):
        members = []
        for name, item in value.items():
            if not isinstance(name, str):
                raise NotCanonical(f"object member name {name!r} is not a string")
            members.append((_string(name), name.encode("utf-16-be"), item))
        members.sort(key=lambda member: member[1])  # big-endian UTF-16 bytes: code unit order
        out.append("{")
        for index, (name_json, _, item) in enumerate(members):
            if index:
                out.append(",")
            out.append(name_json)
            out.append(":")
            _write(item, out)
        out.append("}")
    else:
        raise NotCanonical(f"{type(value).__name__} is not a JSON value")


def _string(text: str) -> str:
    # A Python str holds a surrogate code point only when it came from an unpaired \uXXXX escape
    # (json.loads joins pairs), or was built so: it has no UTF-8 encoding and I-JSON forbids it.
    if _SURROGATE.search(text):
        raise NotCanonical("string with an unpaired surrogate")
    return '"' + _ESCAPED.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _number(number: float) -> str:
    """ECMAScript's Number::toString(number) for radix 10 (ECMA-262, 6.1.6.1.20)."""
    if not math.isfinite(number):
        raise NotCanonical(f"{number} is not a JSON number")
    if abs(number) > MAX_SAFE_INTEGER:
        raise NotCanonical(f"number {number!r} is beyond ±(2**53 - 1)")
    if number.is_integer():
        return str(int(number))  # below 1e21, so plain digits; -0.0 becomes "0"
    sign = "-" if number < 0 else ""
    # repr gives the shortest digits that round-trip, the closest to the value when several do:
    # exactly the digits (s, k) that ECMAScript specifies. Only their layout differs.
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))  # ECMAScript's n
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= point <= 21:
        text = digits + "0" * (point - k)
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        power = point - 1
        fraction = "." + digits[1:] if k > 1 else ""
        text = f"{digits[0]}{fraction}e{'+' if power >= 0 else '-'}{abs(power)}"
    return sign + text
