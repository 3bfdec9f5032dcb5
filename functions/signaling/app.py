"""Signaling: the WebSocket API that the mobile SDK, agents, supervisors and media nodes speak.

So far: connections are accepted, ``ping`` is answered with ``pong``, and anything else gets a
coded error. Authentication, the full protocol (one pydantic union on ``action``), sessions and
reconnect arrive with the signaling issue (#3).
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from chalice import Chalice
from chalice.app import WebsocketEvent

app = Chalice(app_name="vkyc-signaling")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = boto3.Session()

PROTOCOL_VERSION = 1


def reply_for(body: str) -> dict[str, Any]:
    """The answer to one client message (pure, so it is tested without sockets)."""
    try:
        message = json.loads(body)
    except ValueError:
        return {"action": "error", "code": "BAD_JSON", "message": "The message is not valid JSON."}
    if not isinstance(message, dict):
        return {"action": "error", "code": "BAD_MESSAGE", "message": "A message is a JSON object."}
    request_id = message.get("request_id")
    if not isinstance(request_id, str | None):
        request_id = None
    action = message.get("action")
    if action == "ping":
        return {
            "action": "pong",
            "request_id": request_id,
            "server_time_ms": int(time.time() * 1000),
            "protocol": PROTOCOL_VERSION,
        }
    return {
        "action": "error",
        "code": "UNKNOWN_ACTION",
        "request_id": request_id,
        "message": f"Unknown action {str(action)[:64]!r}.",
    }


@app.on_ws_connect()
def connect(event: WebsocketEvent) -> None:
    return None


@app.on_ws_message()
def message(event: WebsocketEvent) -> None:
    app.websocket_api.send(event.connection_id, json.dumps(reply_for(event.body)))


@app.on_ws_disconnect()
def disconnect(event: WebsocketEvent) -> None:
    return None
