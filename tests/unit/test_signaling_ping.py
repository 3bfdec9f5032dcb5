"""The signaling app's answers before the full protocol (issue #3): ping and coded errors."""

import importlib.util
import json
from pathlib import Path

import pytest

APP_FILE = Path(__file__).resolve().parents[2] / "functions" / "signaling" / "app.py"
spec = importlib.util.spec_from_file_location("signaling_app_under_test", APP_FILE)
assert spec and spec.loader
signaling = importlib.util.module_from_spec(spec)
spec.loader.exec_module(signaling)


def test_ping_answers_pong_with_the_request_id():
    reply = signaling.reply_for(json.dumps({"action": "ping", "request_id": "abc"}))
    assert reply["action"] == "pong" and reply["request_id"] == "abc" and reply["server_time_ms"] > 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{", "BAD_JSON"),
        ("", "BAD_JSON"),
        ("[1]", "BAD_MESSAGE"),
        ('"ping"', "BAD_MESSAGE"),
        ('{"action": "fly"}', "UNKNOWN_ACTION"),
        ('{"action": 3, "request_id": 9}', "UNKNOWN_ACTION"),
    ],
)
def test_bad_messages_get_a_coded_error(body, code):
    reply = signaling.reply_for(body)
    assert reply["action"] == "error" and reply["code"] == code and reply["message"]
