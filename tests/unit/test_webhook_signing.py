"""Webhook signatures (``vkyc.protocol.webhook_signing``) and docs/webhooks.md: the published test
vectors are what the server's signer produces, the Python snippet of the docs verifies them (and
refuses what it must), and every event example of the docs is an event the server would send."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.integrator_http import documented_verifier
from vkyc.domain.webhooks import EventType, event_id
from vkyc.protocol.webhook_signing import (
    HEADER,
    TOLERANCE_S,
    SignatureInvalid,
    header_value,
    new_secret,
    signature,
    verify,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "docs" / "webhooks" / "signature-vectors.json").read_text(encoding="utf-8"))[
    "vectors"
]
DOCS = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")


def _secrets(vector: dict) -> list[str]:
    return [vector["secret"], *([vector["previous_secret"]] if "previous_secret" in vector else [])]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["description"])
def test_the_published_vectors_are_what_the_server_signs(vector):
    body = vector["body"].encode("utf-8")
    assert vector["signed_payload"] == f"{vector['timestamp']}.{vector['body']}"
    assert vector["v1"] == [signature(s, vector["timestamp"], body) for s in _secrets(vector)]
    assert header_value(_secrets(vector), vector["timestamp"], body) == vector["header"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["description"])
def test_the_documented_python_recipe_accepts_each_vector_with_each_of_its_secrets(vector):
    verify_documented = documented_verifier()
    body = vector["body"].encode("utf-8")
    for secret in _secrets(vector):
        assert verify_documented([secret], vector["header"], body, now=vector["timestamp"] + 10)
        assert verify(secret, vector["header"], body, vector["timestamp"] + 10) == vector["timestamp"]


def test_the_documented_recipe_and_the_server_refuse_the_same_deliveries():
    verify_documented = documented_verifier()
    vector = VECTORS[0]
    body, t = vector["body"].encode(), vector["timestamp"]
    refused = [
        (vector["header"], body + b" ", t),  # a body changed by one byte
        (vector["header"], body, t + TOLERANCE_S + 1),  # too old: a replay
        (vector["header"], body, t - TOLERANCE_S - 1),  # from the future
        (vector["header"].replace("t=", "t=1"), body, t),  # another time than signed
        ("v1=" + vector["v1"][0], body, t),  # no t
        (f"t={t}", body, t),  # no signature
        (None, body, t),
        ("", body, t),
        (f"t={t},v1=" + "0" * 64, body, t),
    ]
    for header, sent, now in refused:
        assert not verify_documented([vector["secret"]], header, sent, now=now), header
        with pytest.raises(SignatureInvalid):
            verify(vector["secret"], header, sent, now)
    assert not verify_documented(["whsec_someone_else"], vector["header"], body, now=t)


def test_secrets_are_fresh_and_prefixed():
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_") and len(first) >= 40
    assert HEADER == "Vkyc-Signature"


EXAMPLES = re.findall(r"<!-- webhook-event -->\n```json\n(.*?)```", DOCS, re.S)


def test_the_docs_show_an_example_of_every_event_type():
    assert sorted(json.loads(e)["type"] for e in EXAMPLES) == sorted(t.value for t in EventType)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: json.loads(e)["type"])
def test_each_documented_event_has_the_id_and_fields_the_server_would_give_it(example):
    from tests.unit.test_domain_webhooks import sample_event

    event = json.loads(example)
    resource = event["resource"]
    kind = EventType(event["type"])
    assert event["id"] == event_id(kind, resource["type"], resource["id"], resource["version"])
    produced = sample_event(kind).body()
    assert set(event) == set(produced)
    assert set(event["data"]) == set(produced["data"])
    assert set(resource) == set(produced["resource"])
    assert resource["href"] == f"/v1/{'calls' if resource['type'] == 'call' else 'dossiers'}/{resource['id']}"
