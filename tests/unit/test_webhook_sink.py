"""``make up``'s webhook sink (``local/webhook_sink.py``): it verifies each delivery's signature with the
docs' recipe, refuses a bad one, and dedupes on the event id."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from local.webhook_sink import WebhookSink
from vkyc.protocol.webhook_signing import header_value

SECRET = "whsec_sink_test_" + "s" * 30


@pytest.fixture
def sink():
    running = WebhookSink(port=0).start()
    running.secrets["/units/1"] = [SECRET]
    yield running
    running.stop()


def post(sink: WebhookSink, path: str, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Vkyc-Signature"] = signature
    request = urllib.request.Request(sink.url + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_sink_takes_signed_deliveries_once_and_refuses_the_others(sink):
    body = json.dumps(
        {"id": "evt_1", "type": "dossier.decided", "resource": {"type": "dossier", "id": "D", "version": 2}}
    ).encode()
    good = header_value([SECRET], int(time.time()), body)
    assert post(sink, "/units/1", body, good) == 200
    assert post(sink, "/units/1", body, good) == 200, "a repeat is acknowledged"
    assert post(sink, "/units/1", body, header_value(["whsec_other"], int(time.time()), body)) == 400
    assert post(sink, "/units/1", body, header_value([SECRET], int(time.time()) - 3600, body)) == 400
    assert post(sink, "/units/2", body, good) == 400, "another unit's path has another secret"
    assert post(sink, "/units/1", body, None) == 400
    shown = sink.snapshot()
    verified = [a for a in shown if a["verified"]]
    assert len(verified) == 1 and verified[0]["repeats"] == 1 and verified[0]["detail"] == "dossier D v2"
    assert len(shown) - len(verified) == 4
    with urllib.request.urlopen(sink.url + "/", timeout=5) as page:
        assert b"dossier.decided" in page.read()
