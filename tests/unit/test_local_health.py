"""``/health`` of the local stack: the apps' checks plus the local processes' states
(``local.supervisor``), a process being restarted answering 503 ``SERVICE_UNAVAILABLE`` that names it."""

from __future__ import annotations

import json

from local.rest import _with_local_health

APPS_OK = json.dumps({"status": "ok", "checks": {"dynamodb": "ok", "bucket": "ok"}}).encode()


def test_every_local_process_up_adds_its_check():
    status, body = _with_local_health(200, APPS_OK, {"aws": "ok", "media-local-1": "ok"})
    assert status == 200
    assert json.loads(body)["checks"] == {
        "dynamodb": "ok",
        "bucket": "ok",
        "aws": "ok",
        "media-local-1": "ok",
    }


def test_a_process_being_restarted_is_named_in_a_503():
    status, body = _with_local_health(200, APPS_OK, {"aws": "ok", "media-local-1": "restarting"})
    answer = json.loads(body)
    assert status == 503 and answer["code"] == "SERVICE_UNAVAILABLE"
    assert answer["message"].endswith("media-local-1: restarting")


def test_the_apps_own_failure_is_kept_once_beside_the_local_one():
    apps_down = json.dumps(
        {"code": "SERVICE_UNAVAILABLE", "message": "A service vkyc depends on cannot be reached. dynamodb: X"}
    ).encode()
    status, body = _with_local_health(503, apps_down, {"aws": "restarting"})
    message = json.loads(body)["message"]
    assert status == 503 and message.count("cannot be reached") == 1
    assert "dynamodb: X" in message and "aws: restarting" in message
    assert _with_local_health(503, apps_down, {"aws": "ok"}) == (503, apps_down)
