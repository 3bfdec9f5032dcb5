"""Attacks and malformed input against the running stack (issue #10, items 4 and 7): password guessing
ends in a lockout, an address that keeps failing is locked for every account, the login audit trail is
the unit's supervisors' to read, every failure a client can cause over REST is a catalogue body, and
the AWS endpoint going down is a coded 503 that ``/health`` explains.

Every test that fails credentials does so from a loopback address of its own (127.0.0.x: the REST
server and the emulator see the real peer), so that no lock reaches the other tests, which all log in
from 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.integration.signaling_client import Client
from tests.integration.test_signaling import login, mobile_token
from tests.ports import refused_port
from vkyc.domain.roles import UserRole
from vkyc.protocol.errors import CATALOGUE
from vkyc.repositories.tables import Unit
from vkyc.repositories.users import put_user
from vkyc.security.passwords import hash_password

pytestmark = pytest.mark.usefixtures("stack_tables")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def call(
    base: str,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One HTTP request from ``source`` (a loopback address); the status, headers and JSON body."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=20, source_address=(source, 0))
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    all_headers = {"Content-Type": "application/json"} if isinstance(body, dict) else {}
    all_headers.update(headers or {})
    try:
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        connection.close()


def assert_catalogue(status: int, body: dict[str, Any], code: str) -> None:
    assert (status, body.get("code")) == (CATALOGUE[code].http_status, code), body
    assert set(body) - {"fields"} == {"code", "message"} and body["message"].startswith(
        CATALOGUE[code].message
    )


def new_user(role: UserRole = UserRole.SUPERVISOR, unit_id: str | None = "1") -> tuple[str, str]:
    username, password = f"lock.{uuid.uuid4().hex[:8]}", "right-" + uuid.uuid4().hex[:8]
    put_user(
        username, role=role, unit_id=unit_id, display_name=username, password_hash=hash_password(password)
    )
    return username, password


def audit(stack, token: str, query: str = "") -> tuple[int, dict[str, Any]]:
    status, _, body = call(
        stack.http_url, "GET", "/reports/auth-events" + query, headers={"Authorization": f"Bearer {token}"}
    )
    return status, body


# -- item 4: throttling and lockout -------------------------------------------------------------------


def test_200_wrong_passwords_lock_out_with_429_and_the_right_password_is_still_refused(stack, monkeypatch):
    # A first lock of 2 minutes instead of 1 s, so that the assertions do not race the clock on a slow
    # machine; the counting is the shipped one (5 free failures). The lock's end, and the doubling after
    # it, are proven with a clock the test moves (tests/functional/test_credentials.py).
    monkeypatch.setenv("VKYC_LIMIT_ACCOUNT_FAILURES", "5,120,900,86400")
    username, password = new_user()
    answers = [
        call(
            stack.http_url,
            "POST",
            "/auth/login",
            {"username": username, "password": f"guess-{i}"},
            source="127.0.0.2",
        )
        for i in range(200)
    ]
    assert [a[2]["code"] for a in answers[:5]] == ["INVALID_CREDENTIALS"] * 5
    for status, headers, body in answers[5:]:
        assert_catalogue(status, body, "TOO_MANY_ATTEMPTS")
        assert (
            1 <= int(headers["retry-after"]) <= 120
            and f"Retry after {headers['retry-after']} s." in body["message"]
        )

    status, headers, body = call(
        stack.http_url,
        "POST",
        "/auth/login",
        {"username": username, "password": password},
        source="127.0.0.2",
    )
    assert_catalogue(status, body, "TOO_MANY_ATTEMPTS")
    assert "token" not in body
    # The lock is the account's: from another address the right password is refused too.
    status, _, body = call(
        stack.http_url, "POST", "/auth/login", {"username": username, "password": password}
    )
    assert_catalogue(status, body, "TOO_MANY_ATTEMPTS")


def test_an_address_that_keeps_failing_is_locked_for_every_account_and_forwarded_for_is_ignored(
    stack, monkeypatch
):
    monkeypatch.setenv("VKYC_LIMIT_SOURCE_FAILURES", "3,120,300,3600")
    for i in range(3):
        status, _, body = call(
            stack.http_url,
            "POST",
            "/auth/login",
            {"username": f"nobody-{i}", "password": "x"},
            source="127.0.0.3",
        )
        assert_catalogue(status, body, "INVALID_CREDENTIALS")
    good = {"username": "gs.kv1", "password": "demo-gs-kv1"}
    status, _, body = call(stack.http_url, "POST", "/auth/login", good, source="127.0.0.3")
    assert_catalogue(status, body, "TOO_MANY_ATTEMPTS")
    # A client cannot pick the address it is counted under.
    status, _, body = call(
        stack.http_url,
        "POST",
        "/auth/login",
        good,
        headers={"X-Forwarded-For": "127.0.0.1"},
        source="127.0.0.3",
    )
    assert_catalogue(status, body, "TOO_MANY_ATTEMPTS")
    status, _, body = call(stack.http_url, "POST", "/auth/login", good)
    assert status == 200 and body["role"] == "supervisor", "other addresses are not locked"
    # Wrong API keys are counted per address too, separately from logins.
    codes = []
    for _ in range(4):
        status, _, body = call(
            stack.http_url,
            "POST",
            "/auth/mobile",
            {"dealer_account": "d", "dossier_id": "HS-KV1-0001"},
            headers={"x-api-key": "vkyc_guess"},
            source="127.0.0.4",
        )
        assert_catalogue(status, body, body["code"])
        codes.append(body["code"])
    assert codes == ["API_KEY_INVALID"] * 3 + ["TOO_MANY_ATTEMPTS"]


def test_the_login_audit_is_readable_by_a_supervisor_of_the_unit_and_not_by_another_units(stack):
    # A unit of its own: unit 1's trail of the day holds every login of the run, past one page.
    unit = f"aud-{uuid.uuid4().hex[:6]}"
    Unit(unit, name=f"Audit unit {unit}", has_agents=False).save()
    username, password = new_user(UserRole.SUPERVISOR, unit)
    reader, reader_password = new_user(UserRole.SUPERVISOR, unit)
    status, _, _ = call(
        stack.http_url, "POST", "/auth/login", {"username": username, "password": "typo"}, source="127.0.0.5"
    )
    assert status == 401
    status, _, _ = call(
        stack.http_url,
        "POST",
        "/auth/login",
        {"username": username, "password": password},
        headers={"X-Forwarded-For": "10.9.9.9"},
        source="127.0.0.5",
    )
    assert status == 200

    status, _, grant = call(
        stack.http_url, "POST", "/auth/login", {"username": reader, "password": reader_password}
    )
    assert status == 200, grant
    status, trail = audit(stack, grant["token"], f"?unit_id={unit}")
    assert status == 200, trail
    mine = [e for e in trail["events"] if e["principal"] == username]
    assert [e["kind"] for e in mine] == ["login_succeeded", "failed"], "newest first"
    assert {e["source"] for e in mine} == {"127.0.0.5"}, "the peer's address, never X-Forwarded-For"
    assert {(e["unit_id"], e["scope"]) for e in mine} == {(unit, "login")}
    assert [(e["principal"], e["kind"]) for e in trail["events"]] == [
        (reader, "login_succeeded"),
        (username, "login_succeeded"),
        (username, "failed"),
    ]
    assert trail["units"] == [unit] and trail["truncated"] is False

    other = login(stack, "gs.kv2")["token"]
    status, body = audit(stack, other, f"?unit_id={unit}")
    assert_catalogue(status, body, "UNIT_NOT_SERVED")
    status, own = audit(stack, other)
    assert status == 200 and unit not in own["units"]
    assert not [e for e in own["events"] if e["principal"] == username]
    status, body = audit(stack, other, "?unit_id=*")
    assert_catalogue(status, body, "UNIT_NOT_SERVED")
    status, body = audit(stack, login(stack, "tdv1.kv1")["token"], "?unit_id=1")
    assert_catalogue(status, body, "FORBIDDEN_ACTION")


def test_an_admin_reads_the_events_of_no_known_unit(stack):
    ghost = f"ghost-{uuid.uuid4().hex[:6]}"
    call(stack.http_url, "POST", "/auth/login", {"username": ghost, "password": "x"}, source="127.0.0.6")
    admin, password = new_user(UserRole.ADMIN, None)
    status, _, grant = call(stack.http_url, "POST", "/auth/login", {"username": admin, "password": password})
    assert status == 200, grant
    status, trail = audit(stack, grant["token"], "?unit_id=*")
    assert status == 200, trail
    assert [e["kind"] for e in trail["events"] if e["principal"] == ghost] == ["failed"]


def test_a_hello_flood_gets_three_welcomes_then_rate_limited(stack, monkeypatch):
    monkeypatch.setenv("VKYC_LIMIT_HELLOS", "3,0.001")
    client = Client(stack.ws_url, token=mobile_token(stack, "dl-flood"))
    replies = [
        client.call({"action": "session.hello", "request_id": f"h-{i}", "protocol": 1}) for i in range(10)
    ]
    assert [r["action"] for r in replies[:3]] == ["session.welcome"] * 3
    for reply in replies[3:]:
        assert (reply["action"], reply["code"]) == ("error", "RATE_LIMITED"), reply
        assert "Retry after" in reply["message"]
    client.close()


def test_a_connection_past_its_message_allowance_gets_rate_limited_and_nothing_runs(stack, monkeypatch):
    monkeypatch.setenv("VKYC_LIMIT_MESSAGES", "6,0.001")
    client = Client(stack.ws_url, token=mobile_token(stack, "dl-chatty"))
    client.hello()
    pongs = [client.request("ping") for _ in range(5)]
    assert [p["action"] for p in pongs] == ["pong"] * 5
    # Refused before it is read: the error cannot echo the request id.
    client.ws.send(json.dumps(client.signed("ping")))
    refused = json.loads(client.ws.recv(timeout=10))
    assert (refused["action"], refused["code"], refused["request_id"]) == ("error", "RATE_LIMITED", None)
    client.ws.send("not even JSON")
    reply = json.loads(client.ws.recv(timeout=10))
    assert reply["code"] == "RATE_LIMITED", "counted before anything is read"
    client.close()


def test_an_address_refused_too_often_at_connect_is_refused_even_with_a_good_token(stack, monkeypatch):
    monkeypatch.setenv("VKYC_LIMIT_CONNECT_FAILURES", "3,0.001")

    def status_of(token: str, source: str) -> int:
        try:
            with connect(f"{stack.ws_url}/?token={token}", source_address=(source, 0)):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    for _ in range(3):
        assert status_of("not-a-token", "127.0.0.7") == 403
    good = mobile_token(stack, "dl-connect")
    assert status_of(good, "127.0.0.7") == 403
    assert status_of(mobile_token(stack, "dl-connect"), "127.0.0.1") == 101


def test_a_late_resume_of_an_ended_session_does_not_spend_the_addresss_allowance(stack, monkeypatch):
    # Pages behind one office NAT coming back with the resume token of a session that ended (a bye, a
    # replaced device) are not guessing: their refusals must not lock the office's agents out.
    monkeypatch.setenv("VKYC_LIMIT_CONNECT_FAILURES", "3,0.001")
    client = Client(stack.ws_url, token=mobile_token(stack, "dl-late"))
    resume = client.hello()["resume_token"]
    client.request("session.bye")
    client.close()

    def status_of(query: str, source: str) -> int:
        try:
            with connect(f"{stack.ws_url}/?{query}", source_address=(source, 0)):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    for _ in range(5):
        assert status_of(f"resume={resume}", "127.0.0.9") == 403
    assert status_of(f"token={mobile_token(stack, 'dl-late')}", "127.0.0.9") == 101


# -- item 7: robust parsing ------------------------------------------------------------------------------


def test_the_readme_curl_without_a_json_content_type_gets_the_catalogues_415(stack):
    body = b'{"username": "tdv1.kv1", "password": "demo-tdv1-kv1"}'
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # what curl -d sends by default
    status, _, answer = call(stack.http_url, "POST", "/auth/login", body, form)
    assert_catalogue(status, answer, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("path", ["/auth/login", "/auth/mobile", "/auth/node"])
def test_a_3000_deep_body_is_bad_json_not_a_500(stack, path):
    status, _, body = call(
        stack.http_url, "POST", path, b"[" * 3000 + b"]" * 3000, {"Content-Type": "application/json"}
    )
    assert_catalogue(status, body, "BAD_JSON")


def test_bodies_too_large_are_the_catalogues_413(stack):
    status, _, body = call(
        stack.http_url,
        "POST",
        "/auth/login",
        b'{"username": "' + b"x" * 100_000 + b'"}',
        {"Content-Type": "application/json"},
    )
    assert_catalogue(status, body, "PAYLOAD_TOO_LARGE")
    # Over API Gateway's 10 MB: refused from the headers, the body never read.
    url = urlsplit(stack.http_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    connection.putrequest("POST", "/auth/login")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert_catalogue(response.status, json.loads(response.read()), "PAYLOAD_TOO_LARGE")
    connection.close()


def test_a_wrong_method_or_an_unknown_path_is_a_catalogue_error(stack):
    status, headers, body = call(stack.http_url, "GET", "/auth/login")
    assert_catalogue(status, body, "METHOD_NOT_ALLOWED")
    assert headers["allow"] == "POST"
    status, _, body = call(stack.http_url, "GET", "/no/such/route")
    assert_catalogue(status, body, "NOT_FOUND")
    status, _, body = call(stack.http_url, "GET", "/units?nocache=1")
    assert_catalogue(status, body, "BAD_MESSAGE")


def test_health_says_which_dependencies_it_checked(stack):
    status, headers, body = call(stack.http_url, "GET", "/health")
    assert (status, body) == (200, {"status": "ok", "checks": {"dynamodb": "ok", "bucket": "ok"}})
    assert headers["cache-control"] == "no-store"


def test_a_3000_deep_websocket_message_is_an_error_frame_and_the_socket_stays(stack):
    client = Client(stack.ws_url, token=mobile_token(stack, "dl-deep"))
    client.hello()
    client.ws.send("[" * 3000 + "]" * 3000)
    reply = json.loads(client.ws.recv(timeout=10))
    assert (reply["action"], reply["code"]) == ("error", "BAD_JSON") and "32 levels" in reply["message"]
    assert client.request("ping")["action"] == "pong"
    client.close()


@pytest.fixture
def rest_without_aws() -> Iterator[str]:
    """A REST server whose AWS endpoint is a port nobody listens on (its own process)."""
    with refused_port() as port:
        yield from _rest_with_aws_at(f"http://127.0.0.1:{port}")


def _rest_with_aws_at(endpoint: str) -> Iterator[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "VKYC_TABLE_PREFIX": "down-",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.rest_without_aws"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://"), "the server did not start"
    yield url
    process.stdin.close()
    process.wait(timeout=20)


def test_aws_down_is_a_coded_503_and_health_names_the_dependencies(rest_without_aws):
    for method, path, body in [
        ("POST", "/auth/login", {"username": "tdv1.kv1", "password": "demo-tdv1-kv1"}),
        ("POST", "/auth/mobile", {"dealer_account": "d", "dossier_id": "HS-KV1-0001"}),
        ("GET", "/units", None),
    ]:
        status, _, answer = call(rest_without_aws, method, path, body, {"x-api-key": "vkyc_any"})
        assert_catalogue(status, answer, "SERVICE_UNAVAILABLE")
    status, _, answer = call(rest_without_aws, "GET", "/health")
    assert_catalogue(status, answer, "SERVICE_UNAVAILABLE")
    assert "dynamodb: EndpointConnectionError" in answer["message"]
    assert "bucket: EndpointConnectionError" in answer["message"]
