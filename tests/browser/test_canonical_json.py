"""The browser's canonical JSON (``web/js/canonical.js``, under ``signing.js``) in Chromium, served by the
stack under its Content-Security-Policy: every shared vector of ``docs/protocol/canonical-vectors.json``
(which ``tests/unit/test_canonical_json.py`` checks in Python), then the browser against the server's
Python function on random numbers and random JSON values, so that what one signs the other verifies."""

from __future__ import annotations

import json
import math
import random
import struct
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vkyc.protocol import signing
from vkyc.protocol.canonical import MAX_SAFE_INTEGER, NotCanonical, canonical_json

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "protocol" / "canonical-vectors.json").read_text("utf-8")
)

# The modules on window, so that each later evaluate is one synchronous call.
LOAD = """async () => {
  window.canon = await import('/js/canonical.js');
  window.signing = await import('/js/signing.js');
}"""

# [canonical text, or null and the error's name] of each JSON text.
CANONICALIZE = """(texts) => texts.map((text) => {
  try { return [window.canon.canonicalJson(JSON.parse(text)), null]; }
  catch (error) { return [null, error.name]; }
})"""


def open_canonical(open_page: Any) -> Any:
    page = open_page("/index.html")
    page.evaluate(LOAD)
    return page


def python_side(value: object) -> str | None:
    try:
        return canonical_json(value).decode("utf-8")
    except NotCanonical:
        return None


def test_the_browser_signs_every_shared_vector_as_published(open_page):
    page = open_canonical(open_page)
    results = page.evaluate(
        """async ({key, vectors}) => {
          const sessionKey = await window.signing.importSessionKey(key);
          const out = {};
          for (const vector of vectors) {
            const message = JSON.parse(vector.input);
            out[vector.name] = {canonical: window.signing.canonical(message),
                                mac: await window.signing.mac(sessionKey, message)};
          }
          return out;
        }""",
        {"key": VECTORS["key"], "vectors": VECTORS["vectors"]},
    )
    for vector in VECTORS["vectors"]:
        expected = {"canonical": vector["canonical"], "mac": vector["mac"]}
        assert results[vector["name"]] == expected, vector["name"]


def test_the_browser_refuses_every_refused_vector(open_page):
    page = open_canonical(open_page)
    texts = [vector["input"] for vector in VECTORS["refused"]]
    results = page.evaluate(CANONICALIZE, texts)
    for vector, (text, error) in zip(VECTORS["refused"], results, strict=True):
        assert text is None and error == "NotCanonical", vector["name"]
    # signing.js signs nothing the server could not verify: it throws before any HMAC.
    refused = page.evaluate(
        """async (text) => {
          const key = await window.signing.importSessionKey('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
          try { await window.signing.sign(key, JSON.parse(text)); return null; }
          catch (error) { return error.name; }
        }""",
        texts[0],
    )
    assert refused == "NotCanonical"


def test_the_browser_and_the_server_write_twenty_thousand_random_doubles_alike(open_page):
    """Random bit patterns cover every exponent, subnormals and the edges of the safe range; repr()
    carries each double exactly to JSON.parse."""
    page = open_canonical(open_page)
    rng = random.Random(8785)
    numbers: list[float] = []
    while len(numbers) < 20_000:
        (x,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if math.isfinite(x):
            numbers.append(x)
    numbers += [2.0**e for e in range(-1074, 54)] + [float(MAX_SAFE_INTEGER), -0.0, 1e21, 1e-7, 1e-6]
    results = page.evaluate(CANONICALIZE, [repr(x) for x in numbers])
    pairs = zip(numbers, results, strict=True)
    differences = [(x, text, python_side(x)) for x, (text, _) in pairs if text != python_side(x)]
    assert not differences, differences[:10]


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=10)
NUMBERS = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.floats(allow_nan=False, allow_infinity=False)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)


def test_the_browser_and_the_server_agree_on_random_json_values(open_page):
    """Names in any script (UTF-16 order), any text, integers and floats in and out of the safe range:
    the same canonical text on both sides, or a refusal on both."""
    page = open_canonical(open_page)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(JSON_VALUES, min_size=1, max_size=20))
    def agree(values: list[Any]) -> None:
        results = page.evaluate(CANONICALIZE, [json.dumps(value) for value in values])
        for value, (text, _) in zip(values, results, strict=True):
            assert text == python_side(value), value

    agree()


def test_a_message_signed_in_the_browser_verifies_on_the_server(open_page):
    page = open_canonical(open_page)
    message = {
        "action": "call.decide",
        "request_id": "r-1",
        "seq": 7,
        "ts": 1767225600000,
        "call_id": "C-1",
        "decision": "R",
        "reason": 'Ảnh mờ \U0001f4f7, "đeo" kính\n',
        "\ue000": {"\U0001d49c": [1, 0.5]},  # not a protocol message: pins name order and a fraction
    }
    signed = page.evaluate(
        """async (message) => {
          const key = await window.signing.importSessionKey('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
          return window.signing.sign(key, message);
        }""",
        message,
    )
    assert signing.verify(bytes(range(32)), signed)
    assert signed["mac"] == signing.mac(bytes(range(32)), message)
