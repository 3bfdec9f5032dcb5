"""The API Gateway WebSocket emulator, through real sockets, a third-party client (websockets)
and boto3's own ``apigatewaymanagementapi`` client, running a Chalice app written only for this test.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from local.apigw.server import Limits, WebSocketEmulator, running
from local.chalice_app import load_app
from tests.polling import wait_until

FIXTURES = Path(__file__).parent.parent / "fixtures"
REQUEST_CONTEXT_FIELDS = {
    "connectionId",
    "routeKey",
    "eventType",
    "requestId",
    "domainName",
    "stage",
    "apiId",
    "connectedAt",
    "requestTimeEpoch",
    "identity",
    "messageDirection",
    "requestTime",
}


@pytest.fixture(scope="module")
def app():
    return load_app(FIXTURES / "ws_app")


@pytest.fixture()
def emulator(app) -> Iterator[WebSocketEmulator]:
    app.recorded.clear()
    limits = Limits(idle_timeout_s=60, max_connection_s=120, close_handshake_s=0.5)
    with running(WebSocketEmulator(app, port=0, limits=limits)) as emu:
        yield emu


def management_client(emu: WebSocketEmulator):
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{emu.management_url}/{emu.stage}",
        region_name="ap-southeast-1",
    )


def recorded(app, route: str) -> list[dict]:
    return [event for r, event in app.recorded if r == route]


def whoami(ws: ClientConnection) -> str:
    ws.send("whoami")
    return json.loads(ws.recv(timeout=5))["id"]


def closed_code(ws: ClientConnection) -> int:
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=5)
    assert info.value.rcvd is not None, "server closed without a close frame"
    return info.value.rcvd.code


# -- $connect ---------------------------------------------------------------------------------------


def test_connect_event_carries_request_context_headers_and_query(app, emulator):
    with connect(f"{emulator.url}/?token=abc&token=def&unit=6", additional_headers={"X-Dealer": "d1"}) as ws:
        connection_id = whoami(ws)
    (event,) = recorded(app, "$connect")
    context = event["requestContext"]
    assert context.keys() >= REQUEST_CONTEXT_FIELDS
    assert context["eventType"] == "CONNECT" and context["routeKey"] == "$connect"
    assert context["connectionId"] == connection_id and connection_id.endswith("=")
    assert context["stage"] == "local" and context["apiId"] == emulator.api_id
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["X-Dealer"] == "d1"
    assert event["queryStringParameters"] == {"token": "def", "unit": "6"}
    assert event["multiValueQueryStringParameters"]["token"] == ["abc", "def"]


@pytest.mark.parametrize("how", ["raise", "status"])
def test_connect_handler_that_raises_or_answers_non_2xx_refuses_upgrade_with_403(app, emulator, how):
    with pytest.raises(InvalidStatus) as info:
        connect(f"{emulator.url}/?refuse={how}")
    assert info.value.response.status_code == 403
    assert len(emulator.registry) == 0
    assert not recorded(app, "$disconnect"), "a refused connection never connected"


# -- routing and handler failures ------------------------------------------------------------------


def test_route_selected_on_body_action_else_default(app, emulator):
    with connect(emulator.url) as ws:
        ws.send(json.dumps({"action": "sendmessage", "text": "hello"}))
        assert ws.recv(timeout=5) == "routed:hello"
        ws.send(json.dumps({"action": "nosuchroute"}))
        ws.send("not json at all")
        ws.send(json.dumps(["a list"]))
        ws.send(b"\x00\x01binary")
        ws.send("echo:done")
        assert ws.recv(timeout=5) == "done"
    (routed,) = recorded(app, "sendmessage")
    assert routed["requestContext"]["routeKey"] == "sendmessage"
    assert routed["requestContext"]["eventType"] == "MESSAGE" and routed["requestContext"]["messageId"]
    defaults = recorded(app, "$default")
    assert [e["body"] for e in defaults[:3]] == ['{"action": "nosuchroute"}', "not json at all", '["a list"]']
    binary = defaults[3]
    assert binary["isBase64Encoded"] is True and binary["body"] == "AAFiaW5hcnk="
    assert all("headers" not in e for e in defaults), "only $connect carries headers"


def test_a_body_too_deep_to_read_goes_to_default_and_the_socket_stays(app, emulator):
    deep = "[" * 3000 + "]" * 3000
    with connect(emulator.url) as ws:
        ws.send(deep)
        ws.send(json.dumps({"action": "sendmessage", "text": "still here"}))
        assert ws.recv(timeout=5) == "routed:still here"
    assert [e["body"] for e in recorded(app, "$default")] == [deep]


def test_source_ip_is_the_peers_address_in_every_event(app, emulator):
    with connect(emulator.url, source_address=("127.0.0.9", 0)) as ws:
        whoami(ws)
    events = recorded(app, "$connect") + recorded(app, "$default")
    assert events and {e["requestContext"]["identity"]["sourceIp"] for e in events} == {"127.0.0.9"}


def test_handler_exception_sends_internal_server_error_and_keeps_socket(app, emulator):
    with connect(emulator.url) as ws:
        connection_id = whoami(ws)
        ws.send("boom")
        error = json.loads(ws.recv(timeout=5))
        assert error["message"] == "Internal server error"
        assert error["connectionId"] == connection_id and error["requestId"]
        ws.send("echo:still here")
        assert ws.recv(timeout=5) == "still here"


def test_a_returned_body_is_sent_back_only_on_two_way_routes(app):
    # API Gateway sends a handler's answer to the socket only for a route with a route response.
    for two_way in (False, True):
        with running(WebSocketEmulator(app, port=0, route_responses=two_way)) as emu, connect(emu.url) as ws:
            ws.send("answer:the reply")
            ws.send("echo:then a push")
            received = [ws.recv(timeout=5)]
            if two_way:
                received.append(ws.recv(timeout=5))
            assert received == (["the reply", "then a push"] if two_way else ["then a push"])


def test_message_without_route_or_default_gets_forbidden():
    app = load_app(FIXTURES / "ws_app_no_default")
    with running(WebSocketEmulator(app, port=0)) as emu, connect(emu.url) as ws:
        ws.send(json.dumps({"action": "anything"}))
        assert json.loads(ws.recv(timeout=5))["message"] == "Forbidden"


# -- @connections --------------------------------------------------------------------------------------


def test_management_api_post_get_delete_and_410_with_boto3(app, emulator):
    client = management_client(emulator)
    with connect(emulator.url, user_agent_header="vkyc-test/1") as ws:
        connection_id = whoami(ws)
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"hello": "from boto3"}')
        assert json.loads(ws.recv(timeout=5)) == {"hello": "from boto3"}
        info = client.get_connection(ConnectionId=connection_id)
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "vkyc-test/1"}
        assert info["ConnectedAt"] <= info["LastActiveAt"]
        client.delete_connection(ConnectionId=connection_id)
        assert closed_code(ws) == 1000
    disconnect = wait_until(lambda: recorded(app, "$disconnect"))[0]
    assert disconnect["requestContext"]["connectionId"] == connection_id
    assert disconnect["requestContext"]["eventType"] == "DISCONNECT"
    for call in (
        lambda: client.post_to_connection(ConnectionId=connection_id, Data=b"x"),
        lambda: client.get_connection(ConnectionId=connection_id),
        lambda: client.delete_connection(ConnectionId=connection_id),
    ):
        with pytest.raises(client.exceptions.GoneException):
            call()


def test_management_api_also_served_without_stage_and_unknown_id_is_410(emulator):
    client = boto3.client(
        "apigatewaymanagementapi", endpoint_url=emulator.management_url, region_name="ap-southeast-1"
    )
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="bm8gc3VjaCBpZA==", Data=b"x")
    with connect(emulator.url) as ws:
        client.post_to_connection(ConnectionId=whoami(ws), Data=b"no stage")
        assert ws.recv(timeout=5) == "no stage"


def test_management_api_refuses_oversize_payload_with_413(emulator):
    client = management_client(emulator)
    with connect(emulator.url) as ws:
        connection_id = whoami(ws)
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
        ws.send("echo:alive")
        assert ws.recv(timeout=5) == "alive"


def test_chalice_send_reaches_the_client_through_the_emulator(emulator):
    with connect(emulator.url) as ws:
        ws.send("echo:" + "é" * 1000)
        assert ws.recv(timeout=5) == "é" * 1000


# -- limits ----------------------------------------------------------------------------------------------


def test_frame_over_32kb_closes_with_1009_and_disconnect_runs(app, emulator):
    with connect(emulator.url, max_size=None) as ws:
        ws.send("x" * (32 * 1024 + 1))
        assert closed_code(ws) == 1009
    event = wait_until(lambda: recorded(app, "$disconnect"))[0]
    assert event["requestContext"]["disconnectStatusCode"] == 1009


def test_message_over_128kb_in_small_frames_closes_with_1009(emulator):
    with connect(emulator.url) as ws:
        # 150 KB in 30 KB fragments: every frame is fine, the message is not.
        try:
            ws.send(["y" * 30 * 1024] * 5)
        except ConnectionClosed as exc:
            # The emulator closed as soon as the message passed 128 KB, while the last fragment was still
            # being sent (ci43): the send itself then reports the close.
            assert exc.rcvd is not None and exc.rcvd.code == 1009
        else:
            assert closed_code(ws) == 1009


def test_fragmented_message_under_the_limits_is_delivered_whole(emulator):
    with connect(emulator.url) as ws:
        ws.send(["echo:", "z" * 30 * 1024, "z" * 30 * 1024, "z" * 30 * 1024])
        assert ws.recv(timeout=5) == "z" * 90 * 1024


def test_client_close_invokes_disconnect_with_its_code_and_reason(app, emulator):
    with connect(emulator.url) as ws:
        connection_id = whoami(ws)
        ws.close(code=4001, reason="bye")
    event = wait_until(lambda: recorded(app, "$disconnect"))[0]
    context = event["requestContext"]
    assert context["connectionId"] == connection_id
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (4001, "bye")


def test_dropped_tcp_without_close_frame_is_abnormal_1006(app, emulator):
    sock = raw_upgrade(emulator)
    sock.close()
    event = wait_until(lambda: recorded(app, "$disconnect"))[0]
    assert event["requestContext"]["disconnectStatusCode"] == 1006


def test_idle_timeout_closes_with_1001(app):
    app.recorded.clear()
    limits = Limits(idle_timeout_s=0.5, max_connection_s=60, close_handshake_s=0.5)
    with running(WebSocketEmulator(app, port=0, limits=limits)) as emu, connect(emu.url) as ws:
        started = time.monotonic()
        assert closed_code(ws) == 1001  # within closed_code's 5 s: the idle limit, not the age limit (60 s)
        assert time.monotonic() - started > 0.4
    event = wait_until(lambda: recorded(app, "$disconnect"))[0]
    assert event["requestContext"]["disconnectStatusCode"] == 1001


def test_maximum_connection_time_closes_an_active_connection_with_1001(app):
    limits = Limits(idle_timeout_s=60, max_connection_s=1.0, close_handshake_s=0.5)
    with running(WebSocketEmulator(app, port=0, limits=limits)) as emu, connect(emu.url) as ws:
        deadline = time.monotonic() + 5
        with pytest.raises(ConnectionClosed) as info:
            while time.monotonic() < deadline:  # busy connection: only the age limit can close it
                ws.send("echo:tick")
                ws.recv(timeout=5)
                time.sleep(0.1)  # the scenario: a message every 100 ms keeps the connection busy
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001


# -- malformed input never crashes the emulator -----------------------------------------------------------


def raw_upgrade(emu: WebSocketEmulator) -> socket.socket:
    sock = socket.create_connection((emu.host, emu.port), timeout=5)
    sock.sendall(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1024)
    assert head.startswith(b"HTTP/1.1 101") and b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    return sock


def read_close_code(sock: socket.socket) -> int:
    data = b""
    while len(data) < 4:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    assert data[0] == 0x88, f"expected a close frame, got {data[:8]!r}"
    return struct.unpack("!H", data[2:4])[0]


def masked(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([(0x80 if fin else 0) | rsv | opcode, 0x80 | len(payload)]) + mask + body


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (bytes([0x81, 0x02]) + b"hi", 1002),  # unmasked client frame
        (masked(0x1, b"hi", rsv=0x40), 1002),  # reserved bit without an extension
        (masked(0x3, b"hi"), 1002),  # unknown opcode
        (masked(0x0, b"hi"), 1002),  # continuation with nothing to continue
        (masked(0x9, b"p", fin=False), 1002),  # fragmented control frame
        (masked(0x1, b"\xff\xfe"), 1007),  # text that is not UTF-8
    ],
    ids=["unmasked", "rsv-bit", "bad-opcode", "orphan-continuation", "fragmented-ping", "bad-utf8"],
)
def test_malformed_frames_close_with_protocol_codes_and_emulator_survives(emulator, frame, code):
    sock = raw_upgrade(emulator)
    sock.sendall(frame)
    assert read_close_code(sock) == code
    sock.close()
    with connect(emulator.url) as ws:
        ws.send("echo:ok")
        assert ws.recv(timeout=5) == "ok"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01garbage\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",  # no key
        b"POST /local/@connections/abc HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
    ids=["tls-hello", "http-0.9", "no-key", "bad-length", "huge-head"],
)
def test_malformed_http_gets_4xx_and_emulator_survives(emulator, request_bytes):
    sock = socket.create_connection((emulator.host, emulator.port), timeout=5)
    sock.sendall(request_bytes)
    answer = sock.recv(1024)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:60]
    sock.close()
    with connect(emulator.url) as ws:
        ws.send("echo:ok")
        assert ws.recv(timeout=5) == "ok"


def test_ping_gets_pong(emulator):
    with connect(emulator.url) as ws:
        assert ws.ping(b"hb").wait(timeout=5)


# -- the command line ---------------------------------------------------------------------------------------


def test_python_m_local_ws_serves_any_chalice_project_dir():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "ws", "--project-dir", str(FIXTURES / "ws_app"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        found = re.search(r"ws://127\.0\.0\.1:(\d+)", banner)
        assert found and int(found.group(1)) != 0, banner  # the port the system picked
        with connect(found.group(0)) as ws:
            ws.send("echo:from the command line")
            assert ws.recv(timeout=5) == "from the command line"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
