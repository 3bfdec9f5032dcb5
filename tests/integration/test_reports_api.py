"""The web client's REST reads (``functions/reports``) and the supervisors' live board, through the
local stack: bearer tokens of ``POST /auth/login``, bad input answered with stable codes, a call's
lookup with its timeline and evidence URLs, calls per hour with the service level, and the
``monitor.agent`` / ``monitor.queue`` pushes fed by the DynamoDB streams."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import boto3
import pytest

from tests.integration.signaling_client import Client
from tests.integration.test_calls import available, caller, new_dossier
from tests.integration.test_signaling import login
from tests.media_facts import customer_seen
from vkyc import env
from vkyc.protocol.errors import CATALOGUE
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.settings import clear_settings, put_settings
from vkyc.repositories.settings_cache import SETTINGS_CACHE, cached_settings
from vkyc.security import tokens
from vkyc.services.ports import as_utc

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def get(stack, path: str, token: str | None = None, header: str | None = None) -> tuple[int, dict]:
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(stack.http_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def s3():
    return boto3.client("s3", endpoint_url=env.endpoint_url(), region_name=env.region())


def expired_token() -> str:
    claims = {"role": "supervisor", "sub": "gs.kv1", "unit": "1", "agent": None, "user": "gs.kv1"}
    return tokens.issue(claims, 60, now=time.time() - 3600)


def mobile_token() -> str:
    return tokens.issue({"role": "mobile", "sub": "dl-1", "unit": "1", "dossier": "HS-KV1-0001"}, 60)


# -- bad input: each answered with a catalogue code, the right status and a message naming the problem --

BAD_REQUESTS = [
    ("/me", None, None, 401, "AUTH_REQUIRED", ""),
    ("/me", None, "Basic Z3M6a3Yx", 401, "AUTH_REQUIRED", "Bearer"),
    ("/me", None, "Bearer not-a-token", 401, "TOKEN_INVALID", ""),
    ("/me", "expired", None, 401, "TOKEN_EXPIRED", ""),
    ("/me", "mobile", None, 403, "FORBIDDEN_ACTION", "agent, supervisor"),
    ("/calls/abc", "tdv1.kv1", None, 403, "FORBIDDEN_ACTION", "supervisor"),
    ("/calls/" + quote("bad id!"), "gs.kv1", None, 400, "BAD_MESSAGE", "call_id"),
    ("/calls/no-such-call", "gs.kv1", None, 404, "CALL_NOT_FOUND", "no-such-call"),
    ("/dossiers/NO-SUCH-DOSSIER", "tdv1.kv1", None, 404, "NOT_FOUND", "NO-SUCH-DOSSIER"),
    # Another unit's dossier is not told apart from one that does not exist: ids are not probed.
    ("/dossiers/HS-KV7-0001", "tdv1.kv1", None, 404, "NOT_FOUND", "HS-KV7-0001"),
    ("/reports/calls-per-hour", "tdv1.kv1", None, 403, "FORBIDDEN_ACTION", "supervisor"),
    ("/reports/calls-per-hour?date=2025-13-40", "gs.kv1", None, 400, "BAD_MESSAGE", "date"),
    ("/reports/calls-per-hour?date=yesterday", "gs.kv1", None, 400, "BAD_MESSAGE", "date"),
    ("/reports/calls-per-hour?unit_id=2", "gs.kv1", None, 403, "UNIT_NOT_SERVED", "2"),
    ("/reports/calls-per-hour?unit_id=" + quote("1;drop"), "gs.kv1", None, 400, "BAD_MESSAGE", "unit_id"),
    ("/reports/calls-per-hour?units=1", "gs.kv1", None, 400, "BAD_MESSAGE", "units"),
]


@pytest.mark.parametrize(("path", "who", "header", "status", "code", "named"), BAD_REQUESTS)
def test_bad_requests_get_a_stable_code_and_a_clear_message(stack, path, who, header, status, code, named):
    token = None
    if who == "expired":
        token = expired_token()
    elif who == "mobile":
        token = mobile_token()
    elif who is not None:
        token = login(stack, who)["token"]
    got_status, body = get(stack, path, token, header)
    assert (got_status, body.get("code")) == (status, code), body
    assert set(body) - {"fields"} == {"code", "message"}  # fields: a validation error names each field
    assert body["message"].startswith(CATALOGUE[code].message)
    assert named in body["message"]


# -- what the pages read ------------------------------------------------------------------------------


def test_me_tells_an_agent_its_status_reach_and_the_scripts(stack):
    agent = available(stack, "tdv1.kv1")
    status, me = get(stack, "/me", login(stack, "tdv1.kv1")["token"])
    assert status == 200
    assert (me["role"], me["principal_id"], me["name"]) == ("agent", "tdv1.kv1", "Nguyễn Thị Lan")
    assert {u["unit_id"] for u in me["units"]} == {"1", "4", "6"}
    assert me["agent"]["status"] == "AVAILABLE" and me["agent"]["call_id"] is None
    settings = cached_settings("1")
    assert me["settings"]["greeting"] == settings.greeting and me["settings"]["closing_message"]
    assert me["settings"]["ring_timeout_s"] == 60 and me["settings"]["reconnect_grace_s"] == 15
    agent.close()


def test_me_tells_the_agent_page_whether_approval_needs_a_face_snapshot(stack):
    token = login(stack, "tdv1.kv1")["token"]
    assert get(stack, "/me", token)[1]["settings"]["approve_requires_face"] is True  # the default
    put_settings({"approve_requires_face": False}, unit_id="1", by="test")
    SETTINGS_CACHE.clear()  # the stack runs in this process: see the change now
    try:
        assert get(stack, "/me", token)[1]["settings"]["approve_requires_face"] is False
    finally:
        clear_settings(["approve_requires_face"], unit_id="1")
        SETTINGS_CACHE.clear()
    assert get(stack, "/me", token)[1]["settings"]["approve_requires_face"] is True


def test_dossier_has_urls_for_the_images_that_exist(stack):
    dossier_id = new_dossier()
    from vkyc.repositories.dossiers import DossierRepository
    from vkyc.repositories.tables import DossierImages

    front = f"dossiers/{dossier_id}/id_front.jpg"
    dossier = DossierRepository().get(dossier_id)
    dossier.update(
        actions=[
            type(dossier).images.set(
                DossierImages(id_front_key=front, id_back_key=front + ".missing", portrait_key=front + ".x")
            )
        ]
    )
    s3().put_object(Bucket=env.bucket_name(), Key=front, Body=b"\xff\xd8front", ContentType="image/jpeg")
    status, body = get(stack, f"/dossiers/{dossier_id}", login(stack, "tdv2.kv1")["token"])
    assert status == 200, body
    assert body["dossier"]["dossier_id"] == dossier_id and body["dossier"]["images"]["id_front"] == front
    assert fetch(body["image_urls"]["id_front"]) == b"\xff\xd8front"
    assert body["image_urls"]["id_back"] is None and body["image_urls"]["portrait"] is None
    assert body["calls"] == []


def test_call_lookup_shows_the_timeline_snapshot_and_recording(stack):
    agent = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    offer = agent.next_push("call.offer")
    agent.request("offer.accept", offer_id=offer["offer_id"])
    agent.request("call.hangup", call_id=call_id)
    customer_seen(call_id, "snap-1")
    agent.request("call.decide", call_id=call_id, decision="A", reason="", snapshot_id="snap-1")
    bucket = env.bucket_name()
    s3().put_object(Bucket=bucket, Key=f"calls/{call_id}/snapshots/snap-1.jpg", Body=b"\xff\xd8snap")
    s3().put_object(Bucket=bucket, Key=f"calls/{call_id}/recording.webm", Body=b"\x1aE\xdf\xa3webm")
    s3().put_object(Bucket=bucket, Key=f"calls/{call_id}/recording.json", Body=b'{"duration_s": 1.5}')

    status, body = get(stack, f"/calls/{call_id}", login(stack, "gs.kv1")["token"])
    assert status == 200, body
    call = body["call"]
    assert (call["call_id"], call["state"], call["decision"], call["agent_id"]) == (
        call_id,
        "FINISHED",
        "A",
        "tdv1.kv1",
    )
    states = [e["to_state"] for e in body["timeline"]]
    assert states[0] in ("N", "W") and "A" in states and states[-1] == "FINISHED"
    assert [o["agent_id"] for o in body["offers"]] == ["tdv1.kv1"]
    assert [s["snapshot_id"] for s in body["snapshots"]] == ["snap-1"]
    assert fetch(body["snapshots"][0]["url"]) == b"\xff\xd8snap"
    assert fetch(body["recording"]["url"]) == b"\x1aE\xdf\xa3webm"
    assert body["recording"]["info"] == {"duration_s": 1.5}

    # A supervisor of another unit does not learn that the call exists.
    status, other = get(stack, f"/calls/{call_id}", login(stack, "gs.kv2")["token"])
    assert (status, other["code"]) == (404, "CALL_NOT_FOUND")
    mobile.close()
    agent.close()


def test_calls_per_hour_counts_answered_and_missed_with_the_service_level(stack):
    token = login(stack, "gs.kv1")["token"]
    _, before = get(stack, "/reports/calls-per-hour?unit_id=1", token)

    agent = available(stack, "tdv2.kv1")
    answered = caller(stack, new_dossier())
    call_id = answered.request("call.request")["call_id"]
    offer = agent.next_push("call.offer")
    agent.request("offer.accept", offer_id=offer["offer_id"])
    agent.request("call.hangup", call_id=call_id)
    customer_seen(call_id)
    agent.request("call.decide", call_id=call_id, decision="A", reason="")
    agent.request("agent.set_status", status="unavailable")
    missed = caller(stack, new_dossier())
    missed_id = missed.request("call.request")["call_id"]
    missed.request("call.cancel", call_id=missed_id)

    status, after = get(stack, "/reports/calls-per-hour?unit_id=1", token)
    assert status == 200, after
    assert after["totals"]["answered"] == before["totals"]["answered"] + 1
    assert after["totals"]["missed"] == before["totals"]["missed"] + 1
    assert after["totals"]["answered_within_sla"] == before["totals"]["answered_within_sla"] + 1
    # The hours of these calls (not of the clock now: an hour may have turned meanwhile).
    zone, calls = cached_settings("1").zone(), CallRepository()
    answered_hour = as_utc(calls.get(call_id).created_at).astimezone(zone).hour
    missed_hour = as_utc(calls.get(missed_id).created_at).astimezone(zone).hour
    assert after["hours"][answered_hour]["answered"] >= 1 and after["hours"][missed_hour]["missed"] >= 1
    total = after["totals"]
    expected = round(100 * total["answered_within_sla"] / (total["answered"] + total["missed"]), 1)
    assert after["service_level_percent"] == expected
    assert (after["sla_target_percent"], after["sla_answer_within_s"]) == (80.0, 20)
    assert len(after["hours"]) == 24 and after["units"] == ["1"]

    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    _, empty = get(stack, f"/reports/calls-per-hour?date={yesterday}", token)
    assert empty["totals"]["answered"] == 0 and empty["service_level_percent"] is None
    assert empty["units"] == ["1", "4", "6"]
    for client in (agent, answered, missed):
        client.close()


# -- the live board ----------------------------------------------------------------------------------


def next_matching(client: Client, predicate, timeout: float = 10.0) -> dict:
    for i, push in enumerate(client.pushes):
        if predicate(push):
            return client.pushes.pop(i)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            push = json.loads(client.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            break
        if predicate(push):
            return push
        client.pushes.append(push)
    raise AssertionError(f"no matching push within {timeout} s; kept {[p['action'] for p in client.pushes]}")


def test_supervisor_board_is_pushed_agent_changes_and_the_queue(stack):
    supervisor = Client(stack.ws_url, token=login(stack, "gs.kv1")["token"])
    supervisor.hello()
    board = supervisor.request("monitor.snapshot")
    assert board["action"] == "monitor.agents"
    assert {a["agent_id"] for a in board["agents"]} >= {"tdv1.kv1", "tdv2.kv1", "tdv3.kv1"}
    assert [q["unit_id"] for q in board["queues"]] == ["1"]
    assert board["queues"][0]["waiting"] == 0 and board["queues"][0]["oldest_since_ms"] is None

    # Nobody available: the call waits, and the queue is pushed.
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    queued = next_matching(supervisor, lambda p: p["action"] == "monitor.queue" and p["queue"]["waiting"])
    assert queued["queue"]["unit_id"] == "1" and queued["queue"]["oldest_since_ms"] > 0

    agent = available(stack, "tdv1.kv1")
    offer = agent.next_push("call.offer")
    agent.request("offer.accept", offer_id=offer["offer_id"])
    in_call = next_matching(
        supervisor,
        lambda p: p["action"] == "monitor.agent" and p["agent"]["status"] == "IN_CALL",
        timeout=15,
    )
    assert in_call["agent"]["agent_id"] == "tdv1.kv1" and in_call["agent"]["call_id"] == call_id
    emptied = next_matching(
        supervisor, lambda p: p["action"] == "monitor.queue" and not p["queue"]["waiting"]
    )
    assert emptied["queue"]["oldest_since_ms"] is None
    again = supervisor.request("monitor.snapshot")
    row = next(a for a in again["agents"] if a["agent_id"] == "tdv1.kv1")
    assert (row["status"], row["call_id"]) == ("IN_CALL", call_id)

    agent.request("call.hangup", call_id=call_id)
    wrap_up = next_matching(
        supervisor, lambda p: p["action"] == "monitor.agent" and p["agent"]["status"] == "WRAP_UP"
    )
    assert wrap_up["agent"]["call_id"] == call_id
    for client in (mobile, agent, supervisor):
        client.close()
