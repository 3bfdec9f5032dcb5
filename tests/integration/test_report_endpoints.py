"""The reports on the aggregates through the local stack: a call made over real sockets reaches the
summary, the call list and the live tiles through the change streams; each filter's bad value answers
its code; a supervisor outside its reach gets ``UNIT_NOT_SERVED`` and no data; CSV comes with
``Accept: text/csv``; an integrator reads its own unit with its API key, and a wrong key counts
against its address."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from tests.integration.signaling_client import Client
from tests.integration.test_calls import API_KEY_UNIT_1, available, caller, new_dossier
from tests.integration.test_reports_api import next_matching
from tests.integration.test_signaling import login
from tests.media_facts import customer_seen
from tests.polling import wait_until
from vkyc.protocol.errors import CATALOGUE
from vkyc.repositories.settings_cache import cached_settings

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def today() -> str:
    return datetime.now(UTC).astimezone(cached_settings("1").zone()).date().isoformat()


def get(stack, path: str, params: dict | None = None, *, token: str | None = None, headers=None):
    """(status, headers, body): the body parsed as JSON unless it is CSV."""
    url = stack.http_url + path + ("?" + urlencode(params) if params else "")
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, dict(error.headers)
    if got.get("Content-Type", "").startswith("text/csv"):
        return status, got, raw.decode("utf-8")
    return status, got, json.loads(raw or b"{}")


def test_a_call_reaches_the_summary_the_list_and_the_live_tiles(stack):
    token = login(stack, "gs.kv1")["token"]
    day = {"from": today(), "to": today(), "unit_id": "1"}
    _, _, before = get(stack, "/reports/summary", day, token=token)
    supervisor = Client(stack.ws_url, token=token)
    supervisor.hello()
    board = supervisor.request("monitor.snapshot")
    [tiles] = board["tiles"]
    assert tiles["unit_id"] == "1" and tiles["date"] == today()

    agent = available(stack, "tdv2.kv1")
    dossier_id = new_dossier()
    mobile = caller(stack, dossier_id)
    call_id = mobile.request("call.request")["call_id"]
    offer = agent.next_push("call.offer")
    agent.request("offer.accept", offer_id=offer["offer_id"])
    answered = next_matching(
        supervisor,
        lambda p: p["action"] == "monitor.tiles" and p["tiles"]["answered"] > tiles["answered"],
        timeout=15,
    )
    assert answered["tiles"]["queued"] > tiles["queued"] and answered["tiles"]["agents"]["IN_CALL"] >= 1
    agent.request("call.hangup", call_id=call_id)
    customer_seen(call_id)
    agent.request("call.decide", call_id=call_id, decision="A", reason="")

    def counted() -> dict | None:
        _, _, after = get(stack, "/reports/summary", day, token=token)
        return after if after["totals"]["decisions"]["A"] > before["totals"]["decisions"]["A"] else None

    after = wait_until(counted, timeout=15)
    assert after["totals"]["answered"] == before["totals"]["answered"] + 1
    assert after["totals"]["talked"] == before["totals"]["talked"] + 1
    status, _, page = get(stack, "/reports/calls", {**day, "dossier_id": dossier_id}, token=token)
    assert status == 200, page
    [row] = page["calls"]
    assert (row["call_id"], row["agent_name"], row["decision"]) == (call_id, "Trần Văn Minh", "A")
    assert row["unit_name"] and row["queue_name"] and row["evidence"]["face_snapshot"] is True
    for client in (mobile, agent, supervisor):
        client.close()


BAD = [
    ("/reports/summary", {"unit_id": "2"}, "gs.kv1", 403, "UNIT_NOT_SERVED"),
    ("/reports/agents", {"unit_id": "7"}, "gs.kv1", 403, "UNIT_NOT_SERVED"),
    ("/reports/calls", {"unit_id": "3"}, "gs.kv1", 403, "UNIT_NOT_SERVED"),
    ("/reports/errors", {"unit_id": "9"}, "gs.kv1", 403, "UNIT_NOT_SERVED"),
    ("/reports/summary", {"queue_id": "kv2-ekyc"}, "gs.kv1", 404, "NOT_FOUND"),
    ("/reports/summary", {"agent_id": "tdv1.kv2"}, "gs.kv1", 404, "NOT_FOUND"),
    ("/reports/summary", {"group_id": "no-such-group"}, "gs.kv1", 404, "NOT_FOUND"),
    ("/reports/summary", {"sub_type": "NOPE"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/summary", {"bucket": "minute"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/summary", {"direction": "sideways"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/summary", {"customer_type": "VIP"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/summary", {"dealer_channel": "a b"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/summary", {"from": "2025-02-30"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/summary", {"bucket": "hour", "from": "2025-01-01"}, "gs.kv1", 400, "REPORT_RANGE_TOO_LONG"),
    (
        "/reports/summary",
        {"sub_type": "MC", "dealer_channel": "DBH"},
        "gs.kv1",
        400,
        "REPORT_FILTERS_UNSUPPORTED",
    ),
    ("/reports/calls", {"state": "Z"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/calls", {"end_reason": "bored"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/calls", {"decision": "X"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/calls", {"subscriber": "12ab"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/calls", {"limit": "0"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/calls", {"cursor": "!!"}, "gs.kv1", 400, "BAD_MESSAGE"),
    ("/reports/calls", {"from": "2020-01-01"}, "gs.kv1", 400, "REPORT_RANGE_TOO_LONG"),
    ("/reports/summary", {}, "tdv1.kv1", 403, "FORBIDDEN_ACTION"),
]


@pytest.mark.parametrize(
    ("path", "extra", "who", "status", "code"), BAD, ids=[f"{p}-{c}" for p, _, _, _, c in BAD]
)
def test_every_bad_filter_value_answers_its_code_and_no_data(stack, path, extra, who, status, code):
    token = login(stack, who)["token"]
    params = {"from": today(), "to": today(), **extra}
    got_status, _, body = get(stack, path, params, token=token)
    assert (got_status, body.get("code")) == (status, code), body
    assert set(body) - {"fields"} == {"code", "message"} and body["message"].startswith(
        CATALOGUE[code].message
    )


def test_the_csv_export_of_a_day_has_a_bom_and_the_same_rows_as_the_list(stack):
    token = login(stack, "gs.kv1")["token"]
    params = {"from": today(), "to": today(), "limit": 500}
    _, _, page = get(stack, "/reports/calls", params, token=token)
    status, headers, text = get(stack, "/reports/calls", params, token=token, headers={"Accept": "text/csv"})
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == f'attachment; filename="calls_{today()}_{today()}.csv"'
    assert text.startswith("\ufeffcall_id,")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert [row["call_id"] for row in rows] == [row["call_id"] for row in page["calls"]]
    for path in ("/reports/summary", "/reports/agents", "/reports/errors"):
        status, headers, text = get(
            stack, path, {"from": today(), "to": today()}, token=token, headers={"Accept": "text/csv"}
        )
        assert status == 200 and text.startswith("\ufeff"), path


def test_an_integrator_reads_its_own_unit_with_its_key_and_nothing_else(stack):
    key = {"x-api-key": API_KEY_UNIT_1}
    status, _, answer = get(stack, "/reports/summary", {"from": today(), "to": today()}, headers=key)
    assert status == 200, answer
    assert answer["units"] == ["1"]
    status, _, refused = get(
        stack, "/reports/summary", {"from": today(), "to": today(), "unit_id": "4"}, headers=key
    )
    assert (status, refused["code"]) == (403, "UNIT_NOT_SERVED")
    status, _, wrong = get(
        stack, "/reports/calls", {"from": today(), "to": today()}, headers={"x-api-key": "vkyc_wrong"}
    )
    assert (status, wrong["code"]) == (401, "API_KEY_INVALID")
    status, _, none = get(stack, "/reports/calls", {"from": today(), "to": today()})
    assert (status, none["code"]) == (401, "AUTH_REQUIRED")
