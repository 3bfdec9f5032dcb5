"""Fuzzing the signaling channel: thousands of malformed messages over one real connection.

Every one must get a coded error from the catalogue (never INTERNAL_ERROR, never the emulator's
"Internal server error" frame), the connection must stay usable, and no stored item may change.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.signaling_client import Client
from tests.integration.test_signaling import mobile_token
from vkyc.protocol import signing
from vkyc.protocol.errors import CATALOGUE
from vkyc.protocol.messages import CLIENT_ACTIONS

pytestmark = pytest.mark.usefixtures("stack_tables")
EXAMPLES = int(os.environ.get("VKYC_FUZZ_EXAMPLES", "2000"))

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "action",
        "request_id",
        "seq",
        "ts",
        "mac",
        "status",
        "protocol",
        "client",
        "address",
        "capacity",
        "load",
        "extra",
    ]
) | st.text(max_size=12)


@st.composite
def malformed(draw: Any, key: bytes) -> str:
    kind = draw(st.sampled_from(["bytes", "json", "wrong-types", "unknown-action", "oversized", "forged"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200)).decode("utf-8", errors="replace")
    if kind == "json":
        return json.dumps(draw(json_values))
    action = draw(st.sampled_from(sorted(CLIENT_ACTIONS)))
    if kind == "unknown-action":
        action = draw(st.text(min_size=1, max_size=30).filter(lambda a: a not in CLIENT_ACTIONS))
        return json.dumps({"action": action, "request_id": "fuzz", "seq": 1})
    message: dict[str, Any] = {
        "action": action,
        "request_id": "fuzz-1",
        "seq": 10**6,
        "ts": int(time.time() * 1000),
        "mac": "A" * 43,
    }
    if kind == "wrong-types":
        for name in draw(st.lists(field_names, min_size=1, max_size=4)):
            if draw(st.booleans()):
                message.pop(name, None)
            else:
                message[name] = draw(json_values)
    elif kind == "oversized":
        name = draw(field_names)
        message[name] = "x" * draw(st.integers(200, 60_000))
    else:  # forged: well formed, wrong key or stale seq
        message = {k: v for k, v in message.items() if k != "mac"}
        message["seq"] = draw(st.integers(-5, 10**6))
        if message["action"] == "session.hello":
            message["action"] = "ping"
        message = signing.sign(draw(st.binary(min_size=32, max_size=32)), message)
    return json.dumps(message)


def snapshot(endpoint: str, prefix: str) -> dict[str, list[dict]]:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="ap-southeast-1")
    names = [n for n in client.list_tables()["TableNames"] if n.startswith(prefix)]
    result = {}
    for name in names:
        items = client.scan(TableName=name, ConsistentRead=True)["Items"]
        result[name] = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return result


def quiet(endpoint: str, prefix: str, timeout: float = 40) -> None:
    """Wait until earlier tests' grace timers have run: no session DETACHED."""
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="ap-southeast-1")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = client.scan(TableName=f"{prefix}sessions", ConsistentRead=True)["Items"]
        if not any(i["state"]["S"] == "DETACHED" for i in items):
            return
        time.sleep(0.5)
    raise AssertionError("sessions still detached; timers did not run")


# Hypothesis warns when the global ``random`` state moves while a strategy draws. Here the stack's own
# threads move it (a claim's pick among the longest idle, a write's retry jitter), in this process
# during the draws; the strategies draw only from Hypothesis.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)
def test_malformed_messages_get_coded_errors_change_nothing_and_keep_the_connection(stack, monkeypatch):
    # Thousands of messages on one connection as fast as it answers: past any client's allowance
    # (RATE_LIMITED, tested in test_rest_hardening.py). Here every message must reach the checks.
    monkeypatch.setenv("VKYC_LIMIT_MESSAGES", "100000,100000")
    client = Client(stack.ws_url, token=mobile_token(stack, "fuzzer"))
    client.hello()
    assert client.request("ping")["action"] == "pong"
    prefix = os.environ["VKYC_TABLE_PREFIX"]
    quiet(stack.aws_endpoint, prefix)
    before = snapshot(stack.aws_endpoint, prefix)
    codes: dict[str, int] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
    )
    @given(data=st.data())
    def send_one(data: st.DataObject) -> None:
        frame = data.draw(malformed(client.key))
        # API Gateway takes frames of at most 32 KB: a real client fragments a large message
        # (8,000 characters are at most 32 KB in UTF-8).
        client.ws.send(
            [frame[i : i + 8000] for i in range(0, len(frame), 8000)] if len(frame) > 8000 else frame
        )
        reply = json.loads(client.ws.recv(timeout=10))
        assert "message" in reply and reply.get("action") == "error", (frame[:200], reply)
        assert reply["code"] in CATALOGUE and reply["code"] != "INTERNAL_ERROR", (frame[:200], reply)
        codes[reply["code"]] = codes.get(reply["code"], 0) + 1

    send_one()
    assert sum(codes.values()) >= EXAMPLES
    assert snapshot(stack.aws_endpoint, prefix) == before, "a refused message changed stored data"
    assert {"BAD_JSON", "BAD_MESSAGE", "UNKNOWN_ACTION", "MAC_INVALID"} <= codes.keys(), codes
    assert client.request("ping")["action"] == "pong", "the connection is still usable"
    client.close()
