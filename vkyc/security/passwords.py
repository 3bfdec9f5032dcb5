"""Password hashing (scrypt) and API key digests (SHA-256).

Passwords are low-entropy, so they get a slow, salted, memory-hard hash: ``hashlib.scrypt`` with
n=2**14, r=8, p=1 (about 16 MiB and tens of milliseconds per hash) and a 16-byte random salt. The
stored string describes itself, so the parameters can be raised later without breaking old hashes::

    scrypt$16384$8$1$<salt, base64>$<hash, base64>

Integrator API keys are generated here with 256 bits of randomness; for such keys a plain SHA-256 digest
is as safe as a slow hash and, being deterministic, lets the key be looked up by its digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32

# Bounds on parameters read from a stored hash: a tampered or corrupt record must not make ``verify``
# allocate gigabytes or spin for minutes.
_MAX_MEMORY = 64 * 1024 * 1024
_MAX_P = 16
_HASH_LEN_RANGE = range(16, 65)


class MalformedHashError(ValueError):
    """A stored password hash is not a ``scrypt$n$r$p$salt$hash`` string this module can check."""


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise MalformedHashError(f"password hash: {what} is not base64") from None


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # maxmem: scrypt needs ~128*n*r*p bytes; the default cap (32 MiB) would refuse bounded inputs.
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_MAX_MEMORY + 1024 * 1024
    )


def hash_password(password: str) -> str:
    """A new self-describing scrypt hash of ``password`` with a fresh random salt.

    Two calls with the same password give different strings. Raises ``ValueError`` for an empty password.
    """
    if not password:
        raise ValueError("password must not be empty")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"{SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64encode(salt)}${_b64encode(digest)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise MalformedHashError("password hash: expected 'scrypt$n$r$p$salt$hash'")
    # Plain ASCII digits only: int() alone would also take " 8", "+8" and "1_6".
    if not all(part.isascii() and part.isdigit() and len(part) <= 8 for part in parts[1:4]):
        raise MalformedHashError("password hash: n, r and p must be integers")
    n, r, p = (int(part) for part in parts[1:4])
    if n < 2 or n & (n - 1) or r < 1 or not 1 <= p <= _MAX_P or 128 * n * r * p > _MAX_MEMORY:
        raise MalformedHashError(f"password hash: unsupported scrypt parameters n={n} r={r} p={p}")
    salt = _b64decode(parts[4], "salt")
    digest = _b64decode(parts[5], "hash")
    if len(salt) < 8:
        raise MalformedHashError("password hash: salt shorter than 8 bytes")
    if len(digest) not in _HASH_LEN_RANGE:
        raise MalformedHashError("password hash: hash length out of range")
    return n, r, p, salt, digest


def verify(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded`` (a string from ``hash_password``).

    Compares in constant time. A wrong password is ``False``; an ``encoded`` that is not a valid
    scrypt hash string raises ``MalformedHashError`` (a corrupt record is a bug to see, not a refusal).
    """
    n, r, p, salt, expected = _parse(encoded)
    actual = _scrypt(password, salt, n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)


def needs_rehash(encoded: str) -> bool:
    """Whether ``encoded`` uses other parameters than today's (re-hash at the next successful login)."""
    n, r, p, salt, digest = _parse(encoded)
    return (n, r, p, len(salt), len(digest)) != (SCRYPT_N, SCRYPT_R, SCRYPT_P, SALT_BYTES, HASH_BYTES)


API_KEY_PREFIX = "vkyc_"
API_KEY_DIGEST_SCHEME = "sha256"


def generate_api_key(prefix: str = API_KEY_PREFIX) -> str:
    """A new integrator API key: ``prefix`` + 43 URL-safe characters (256 random bits)."""
    return prefix + secrets.token_urlsafe(32)


def api_key_digest(key: str) -> str:
    """``sha256$<hex>`` of an API key: what is stored, and what a presented key is looked up by.

    Deterministic on purpose (lookup by digest). Only safe for high-entropy keys such as
    ``generate_api_key`` output or long demo keys, never for passwords.
    """
    return f"{API_KEY_DIGEST_SCHEME}${hashlib.sha256(key.encode('utf-8')).hexdigest()}"


def verify_api_key(key: str, digest: str) -> bool:
    """Whether ``key`` matches a stored ``api_key_digest``, compared in constant time."""
    return hmac.compare_digest(api_key_digest(key).encode("ascii"), digest.encode("utf-8"))
