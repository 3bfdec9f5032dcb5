"""Message authentication: the canonical form, HMAC-SHA256, base64url, and two pinned test vectors.

The vectors pin the canonical form byte for byte so that SDKs in other languages can check theirs;
docs/protocol.md shows the same inputs and outputs (a test below keeps them in step).
"""

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from vkyc.protocol import signing
from vkyc.protocol.messages import CLIENT_MESSAGE

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"

# -- the test vectors (also in docs/protocol.md, "Signing messages") --------------------------------
# The session key as session.welcome hands it out (base64url of bytes 0x00..0x1f).
VECTOR_KEY_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
VECTOR_KEY = bytes(range(32))

# 1. A real message: the first ping after session.welcome (last_seq 0), keys in the order an app might
#    build them.
VECTOR_PING = {"seq": 1, "ts": 1767225600000, "request_id": "m-0002", "action": "ping"}
VECTOR_PING_CANONICAL = '{"action":"ping","request_id":"m-0002","seq":1,"ts":1767225600000}'
VECTOR_PING_HMAC_HEX = "737caebfe9f2e6b41fca9abdb6b260a7927497da5a059661673e2a45de17eb3b"
VECTOR_PING_MAC = "c3yuv-ny5rQfypq9trJgp5J0l9paBZZhZz4qRd4X6zs"

# 2. Not a protocol message: pins nesting, null/true, non-ASCII text (NFC), and which characters are
#    escaped (only `"`, `\` and control characters; `/`, `<`, `>`, `&`, `'` are not), and that `mac`
#    is left out.
VECTOR_TEXT = {
    "z": [1, {"b": True, "a": None}],
    "name": "Đỗ Văn Hùng",
    "note": "a/b <c> & 'd' \"e\"\n",
    "mac": "ignored",
}
VECTOR_TEXT_CANONICAL = (
    r"""{"name":"Đỗ Văn Hùng","note":"a/b <c> & 'd' \"e\"\n","z":[1,{"a":null,"b":true}]}"""
)
VECTOR_TEXT_CANONICAL_HEX = (
    "7b226e616d65223a22c490e1bb972056c4836e2048c3b96e67222c226e6f7465223a22612f62203c633e2026202764"
    "27205c22655c225c6e222c227a223a5b312c7b2261223a6e756c6c2c2262223a747275657d5d7d"
)
VECTOR_TEXT_MAC = "jLx0CxBqdgm71fQmHLCmgLr1BbVITMPrT7tBt0wuoXo"


# -- canonical form ---------------------------------------------------------------------------------


def test_canonical_sorts_keys_at_every_level():
    assert signing.canonical({"b": 1, "a": {"d": 2, "c": [{"f": 3, "e": 4}]}}) == (
        b'{"a":{"c":[{"e":4,"f":3}],"d":2},"b":1}'
    )


def test_canonical_has_no_white_space_between_tokens():
    text = signing.canonical({"a": [1, 2], "b": {"c": "d e"}}).decode()
    assert text == '{"a":[1,2],"b":{"c":"d e"}}'


def test_canonical_is_utf8_with_non_ascii_unescaped():
    body = signing.canonical({"name": "Nguyễn Thị Lan", "emoji": "📷"})
    assert body == '{"emoji":"📷","name":"Nguyễn Thị Lan"}'.encode()
    assert b"\\u" not in body


def test_canonical_leaves_out_mac_only_at_the_top_level():
    with_mac = {"action": "ping", "mac": "x" * 43, "nested": {"mac": "kept"}}
    assert signing.canonical(with_mac) == b'{"action":"ping","nested":{"mac":"kept"}}'
    assert signing.canonical(with_mac) == signing.canonical({k: v for k, v in with_mac.items() if k != "mac"})


def test_canonical_does_not_depend_on_key_order():
    a = {"action": "ping", "request_id": "r", "seq": 3, "ts": 5}
    b = dict(reversed(list(a.items())))
    assert list(a) != list(b)
    assert signing.canonical(a) == signing.canonical(b)


def test_canonical_does_not_change_the_message():
    message = {"b": 1, "a": 2, "mac": "m"}
    signing.canonical(message)
    assert message == {"b": 1, "a": 2, "mac": "m"} and list(message) == ["b", "a", "mac"]


# -- base64url --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 2, 3, 31, 32, 33])
def test_b64url_has_no_padding_and_round_trips(size):
    data = bytes((i * 37 + 250) % 256 for i in range(size))
    text = signing.b64url(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert signing.b64url_decode(text) == data
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_b64url_uses_the_url_safe_alphabet():
    assert signing.b64url(b"\xfb\xff\xbf") == "-_-_"
    assert signing.b64url_decode("-_-_") == b"\xfb\xff\xbf"


def test_a_mac_is_43_characters():
    assert len(signing.mac(b"k" * 32, {"action": "ping"})) == 43


# -- sign / verify ----------------------------------------------------------------------------------

KEY = b"\x07" * 32
MESSAGE = {
    "action": "agent.set_status",
    "request_id": "a-1",
    "seq": 4,
    "ts": 1767225600123,
    "status": "available",
}


def test_sign_then_verify():
    signed = signing.sign(KEY, MESSAGE)
    assert set(signed) == {*MESSAGE, "mac"}
    assert signing.verify(KEY, signed)
    assert "mac" not in MESSAGE  # sign copies


def test_sign_is_hmac_sha256_of_the_canonical_form():
    expected = hmac.new(KEY, signing.canonical(MESSAGE), hashlib.sha256).digest()
    assert signing.b64url_decode(signing.sign(KEY, MESSAGE)["mac"]) == expected


def test_a_signed_message_survives_a_json_round_trip():
    wire = json.dumps(signing.sign(KEY, MESSAGE), indent=4)  # any spacing or key order on the wire
    assert signing.verify(KEY, json.loads(wire))


def test_a_signed_message_is_a_valid_client_message():
    CLIENT_MESSAGE.validate_python(signing.sign(KEY, MESSAGE))


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "offline"), ("seq", 5), ("ts", 1767225600124), ("request_id", "a-2"), ("action", "ping")],
)
def test_a_changed_field_fails(field, value):
    tampered = {**signing.sign(KEY, MESSAGE), field: value}
    assert not signing.verify(KEY, tampered)


def test_an_added_field_fails():
    assert not signing.verify(KEY, {**signing.sign(KEY, MESSAGE), "extra": 1})


def test_a_removed_field_fails():
    signed = signing.sign(KEY, MESSAGE)
    del signed["status"]
    assert not signing.verify(KEY, signed)


def test_a_wrong_key_fails():
    signed = signing.sign(KEY, MESSAGE)
    assert not signing.verify(b"\x08" + KEY[1:], signed)
    assert not signing.verify(KEY[:16], signed)


@pytest.mark.parametrize("mac", [None, 42, "", "x" * 43])
def test_a_missing_or_malformed_mac_fails(mac):
    message = dict(MESSAGE) if mac is None else {**MESSAGE, "mac": mac}
    assert not signing.verify(KEY, message)


def test_a_mac_with_padding_is_refused():
    signed = signing.sign(KEY, MESSAGE)
    assert not signing.verify(KEY, {**signed, "mac": signed["mac"] + "="})


# -- the pinned vectors -----------------------------------------------------------------------------


def test_vector_key():
    assert signing.b64url(VECTOR_KEY) == VECTOR_KEY_B64
    assert signing.b64url_decode(VECTOR_KEY_B64) == VECTOR_KEY


def test_vector_ping():
    assert signing.canonical(VECTOR_PING) == VECTOR_PING_CANONICAL.encode()
    digest = hmac.new(VECTOR_KEY, VECTOR_PING_CANONICAL.encode(), hashlib.sha256).digest()
    assert digest.hex() == VECTOR_PING_HMAC_HEX
    assert signing.mac(VECTOR_KEY, VECTOR_PING) == VECTOR_PING_MAC
    signed = signing.sign(VECTOR_KEY, VECTOR_PING)
    assert signed["mac"] == VECTOR_PING_MAC and signing.verify(VECTOR_KEY, signed)
    CLIENT_MESSAGE.validate_python(signed)


def test_vector_text():
    canonical = signing.canonical(VECTOR_TEXT)
    assert canonical == VECTOR_TEXT_CANONICAL.encode("utf-8")
    assert canonical.hex() == VECTOR_TEXT_CANONICAL_HEX
    assert signing.mac(VECTOR_KEY, VECTOR_TEXT) == VECTOR_TEXT_MAC


def test_the_vectors_are_in_the_protocol_guide():
    guide = PROTOCOL_MD.read_text(encoding="utf-8")
    for text in (
        VECTOR_KEY_B64,
        VECTOR_PING_CANONICAL,
        VECTOR_PING_HMAC_HEX,
        VECTOR_PING_MAC,
        VECTOR_TEXT_CANONICAL,
        VECTOR_TEXT_MAC,
    ):
        assert text in guide, f"docs/protocol.md no longer shows {text!r}"
