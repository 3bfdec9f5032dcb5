"""The local stack enforces S3's POST-form policy, which moto ignores (``local/s3_forms.py``): the
conditions of a pre-signed form, its expiry, and the fields it does not cover."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from local.s3_forms import PolicyRefused, check_form

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CONDITIONS = [
    {"Content-Type": "image/jpeg"},
    ["content-length-range", 2048, 4096],
    {"bucket": "media"},
    {"key": "uploads/D/portrait/n.jpg"},
    ["starts-with", "$x-amz-meta-tag", "dossier-"],
]


def form(expires: datetime = NOW + timedelta(minutes=15), **fields: str) -> dict[str, str]:
    policy = {"expiration": expires.isoformat().replace("+00:00", "Z"), "conditions": CONDITIONS}
    base = {
        "policy": base64.b64encode(json.dumps(policy).encode()).decode(),
        "Content-Type": "image/jpeg",
        "key": "uploads/D/portrait/n.jpg",
        "x-amz-meta-tag": "dossier-1",
        "x-amz-signature": "ignored",
    }
    return {**base, **fields}


def test_an_upload_within_the_policy_passes():
    check_form(form(), "media", 3000, NOW)


@pytest.mark.parametrize(
    ("fields", "size", "code"),
    [
        ({"Content-Type": "text/html"}, 3000, "AccessDenied"),
        ({"key": "dossiers/D/portrait.jpg"}, 3000, "AccessDenied"),
        ({"x-amz-meta-tag": "other"}, 3000, "AccessDenied"),
        ({"success_action_redirect": "https://evil.example"}, 3000, "AccessDenied"),
        ({}, 100, "EntityTooSmall"),
        ({}, 5000, "EntityTooLarge"),
        ({"policy": ""}, 3000, "AccessDenied"),
        ({"policy": "not base64 json"}, 3000, "InvalidPolicyDocument"),
    ],
    ids=["type", "key", "starts-with", "extra-field", "too-small", "too-large", "no-policy", "bad-policy"],
)
def test_an_upload_outside_the_policy_is_refused_as_s3_does(fields, size, code):
    with pytest.raises(PolicyRefused) as refused:
        check_form(form(**fields), "media", size, NOW)
    assert refused.value.code == code and f"<Code>{code}</Code>" in refused.value.xml()


def test_an_expired_form_or_another_bucket_is_refused():
    with pytest.raises(PolicyRefused, match="expired"):
        check_form(form(expires=NOW - timedelta(seconds=1)), "media", 3000, NOW)
    with pytest.raises(PolicyRefused, match="bucket"):
        check_form(form(), "other-bucket", 3000, NOW)
