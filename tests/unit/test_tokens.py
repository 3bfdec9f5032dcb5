"""Signed session tokens."""

from __future__ import annotations

import pytest

from vkyc.security import tokens

KEY = b"k" * 32


def test_round_trip_keeps_claims_and_adds_expiry():
    token = tokens.issue({"role": "agent", "sub": "a1", "unit": "1"}, 60, key=KEY, now=1000)
    claims = tokens.verify(token, key=KEY, now=1030)
    assert (
        claims["role"] == "agent"
        and claims["sub"] == "a1"
        and claims["exp"] == 1060
        and claims["iat"] == 1000
    )


def test_expired_token_is_refused_with_its_own_code():
    token = tokens.issue({"role": "agent"}, 60, key=KEY, now=1000)
    with pytest.raises(tokens.TokenError) as info:
        tokens.verify(token, key=KEY, now=1060)
    assert info.value.code == "TOKEN_EXPIRED"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "x",
        lambda t: "A" + t[1:],
        lambda t: t.replace(".", ""),
        lambda t: t.split(".")[0] + "." + "A" * 43,
        lambda t: "",
        lambda t: "a.b.c",
    ],
)
def test_tampered_or_malformed_token_is_invalid(mangle):
    token = tokens.issue({"role": "agent"}, 60, key=KEY)
    with pytest.raises(tokens.TokenError) as info:
        tokens.verify(mangle(token), key=KEY)
    assert info.value.code == "TOKEN_INVALID"


def test_token_signed_with_another_key_is_invalid():
    token = tokens.issue({"role": "agent"}, 60, key=b"o" * 32)
    with pytest.raises(tokens.TokenError):
        tokens.verify(token, key=KEY)


def test_a_short_or_missing_secret_is_refused(monkeypatch):
    monkeypatch.setenv("VKYC_TOKEN_SECRET", "short")
    with pytest.raises(tokens.SecretMissing):
        tokens.secret()
