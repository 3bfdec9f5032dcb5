"""Benchmark app: '$default' with body 'noop' returns at once (the reply travels as a two-way route
response); body 'send' answers through @connections, as vkyc's handlers do."""

from typing import Any

import boto3
from chalice import Chalice
from chalice.app import WebsocketEvent

app = Chalice(app_name="bench-roundtrip")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = boto3.Session()


@app.on_ws_message()
def message(event: WebsocketEvent) -> dict[str, Any] | None:
    if event.body == "send":
        app.websocket_api.send(event.connection_id, "sent")
        return None
    return {"body": "noop"}
