"""A minimal synchronous protocol client (the reference client is ``sdk/``): the simulated callers and
agents of ``bench/drivers.py`` use it, and so do the signaling tests (``tests/integration``).

Kept small on purpose: it lets tests craft exactly the frames they need (forged, replayed, stale).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from websockets.sync.client import ClientConnection, connect

from vkyc.protocol import signing

# How long a test waits for a reply. The load scenario raises it: under 50 simultaneous callers the
# one-process stack is slow, and what it checks is correctness, not latency (the benchmark measures that).
REPLY_TIMEOUT_S = 10.0


def rest(
    base: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Client:
    def __init__(self, ws_url: str, *, token: str | None = None, resume: str | None = None) -> None:
        query = f"?token={token}" if token else f"?resume={resume}"
        self.ws: ClientConnection = connect(ws_url + "/" + query).__enter__()
        self.key = b""
        self.seq = 0
        self.welcome: dict[str, Any] = {}
        self.pushes: list[dict[str, Any]] = []

    def hello(self) -> dict[str, Any]:
        self.welcome = self.call({"action": "session.hello", "request_id": _rid(), "protocol": 1})
        assert self.welcome["action"] == "session.welcome", self.welcome
        self.key = signing.b64url_decode(self.welcome["session_key"])
        self.seq = self.welcome["last_seq"]
        return self.welcome

    def signed(self, action: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        message = {
            "action": action,
            "request_id": _rid(),
            "seq": self.seq,
            "ts": int(time.time() * 1000),
            **fields,
        }
        return signing.sign(self.key, message)

    def request(self, action: str, **fields: Any) -> dict[str, Any]:
        return self.call(self.signed(action, **fields))

    def call(self, message: dict[str, Any] | str) -> dict[str, Any]:
        """Send, then return the reply to this request id (pushes meanwhile are kept in ``pushes``)."""
        text = message if isinstance(message, str) else json.dumps(message)
        request_id = None if isinstance(message, str) else message.get("request_id")
        self.ws.send(text)
        while True:
            reply = json.loads(self.ws.recv(timeout=REPLY_TIMEOUT_S))
            if reply.get("request_id") == request_id or (
                reply.get("action") == "error" and request_id is None
            ):
                return reply
            self.pushes.append(reply)

    def next_push(self, action: str, timeout: float = 10) -> dict[str, Any]:
        for i, push in enumerate(self.pushes):
            if push["action"] == action:
                return self.pushes.pop(i)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            push = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if push["action"] == action:
                return push
            self.pushes.append(push)
        raise AssertionError(f"no {action} push within {timeout} s")

    def drop(self) -> None:
        """Lose the network: the TCP connection goes, with no close frame and no bye."""
        self.ws.socket.close()

    def close(self) -> None:
        self.ws.close()


def _rid() -> str:
    return uuid.uuid4().hex[:12]
