"""Password hashing (scrypt) and API key digests."""

from __future__ import annotations

import base64

import pytest

from vkyc.security.passwords import (
    MalformedHashError,
    api_key_digest,
    generate_api_key,
    hash_password,
    needs_rehash,
    verify,
    verify_api_key,
)


def test_round_trip():
    encoded = hash_password("correct horse battery staple")
    assert verify("correct horse battery staple", encoded)


def test_wrong_password_is_false():
    encoded = hash_password("s3cret-pass")
    assert not verify("s3cret-pasS", encoded)
    assert not verify("", encoded)


def test_encoding_is_self_describing():
    scheme, n, r, p, salt, digest = hash_password("pw-123456").split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32


def test_salts_differ_for_the_same_password():
    first, second = hash_password("same-password"), hash_password("same-password")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]
    assert verify("same-password", first) and verify("same-password", second)


def test_non_ascii_password():
    encoded = hash_password("mật khẩu Việt")
    assert verify("mật khẩu Việt", encoded)
    assert not verify("mat khau Viet", encoded)


def test_empty_password_cannot_be_hashed():
    with pytest.raises(ValueError):
        hash_password("")


GOOD = hash_password("pw-123456")
SALT, DIGEST = GOOD.split("$")[4:]


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plaintext",
        f"bcrypt$16384$8$1${SALT}${DIGEST}",
        f"scrypt$16384$8${SALT}${DIGEST}",  # missing p
        f"scrypt$16384$8$1${SALT}${DIGEST}$extra",
        f"scrypt$abc$8$1${SALT}${DIGEST}",
        f"scrypt$1_6384$8$1${SALT}${DIGEST}",
        f"scrypt$16383$8$1${SALT}${DIGEST}",  # n not a power of two
        f"scrypt$1048576$8$1${SALT}${DIGEST}",  # 1 GiB: refused before computing
        f"scrypt$16384$0$1${SALT}${DIGEST}",
        f"scrypt$16384$8$99${SALT}${DIGEST}",
        f"scrypt$16384$8$1$not*base64${DIGEST}",
        f"scrypt$16384$8$1$QUJD${DIGEST}",  # 3-byte salt
        f"scrypt$16384$8$1${SALT}$QUJD",  # 3-byte hash
    ],
)
def test_malformed_encoding_is_refused_with_a_clear_error(encoded):
    with pytest.raises(MalformedHashError, match="password hash"):
        verify("pw-123456", encoded)


def test_needs_rehash():
    assert not needs_rehash(GOOD)
    weaker = hash_password("x-123456").replace("scrypt$16384$", "scrypt$1024$", 1)
    assert needs_rehash(weaker)


def test_api_key_digest_is_deterministic_and_verifies():
    key = generate_api_key()
    assert key.startswith("vkyc_") and len(key) >= 40
    assert generate_api_key() != key
    digest = api_key_digest(key)
    assert digest == api_key_digest(key)
    assert digest.startswith("sha256$")
    assert verify_api_key(key, digest)
    assert not verify_api_key(key + "x", digest)
    assert not verify_api_key(key, "sha256$00")
