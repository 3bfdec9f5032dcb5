"""``Notifier`` over API Gateway's ``@connections`` API, through the functions given.

The Chalice app passes ``app.websocket_api.send`` / ``close`` and Chalice's
``WebsocketDisconnectedError`` (vkyc itself never imports Chalice).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from vkyc.config import WS_API_ID, WS_STAGE, ConfigError

log = logging.getLogger("vkyc.notifier")


class CallbackNotifier:
    def __init__(
        self,
        send: Callable[[str, str], None],
        close: Callable[[str], None],
        gone: type[Exception],
    ) -> None:
        self._send = send
        self._close = close
        self._gone = gone

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        try:
            self._send(connection_id, json.dumps(message, ensure_ascii=False))
        except self._gone:
            return False
        return True

    def close(self, connection_id: str) -> None:
        try:
            self._close(connection_id)
        except self._gone:
            log.debug("close: %s was already gone", connection_id)


class NoPush:
    """Drops every push (logged): for a test or a tool that has no WebSocket API to reach."""

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        log.debug("no push to %s: %s", connection_id, message.get("action"))
        return False

    def close(self, connection_id: str) -> None:
        return None


def management_api_notifier(websocket_api: Any, gone: type[Exception]) -> CallbackNotifier | NoPush:
    """Pushes through ``@connections`` for an app that does not serve the WebSocket API itself
    (routing, reports), configured from ``VKYC_WS_API_ID`` / ``VKYC_WS_STAGE``. ``websocket_api`` is the
    Chalice app's ``app.websocket_api``; it gets a boto3 session when it has none (Chalice gives one only
    to the app that serves the API). ``ConfigError`` without ``VKYC_WS_API_ID``: a push must never be
    dropped for want of a setting (``vkyc.config`` refuses to start such a function first)."""
    api_id = os.environ.get(WS_API_ID.name)
    if not api_id:
        raise ConfigError(f"{WS_API_ID.name} is not set: {WS_API_ID.help}")
    if websocket_api.session is None:
        import boto3

        websocket_api.session = boto3.Session()
    websocket_api.configure_from_api_id(api_id, os.environ.get(WS_STAGE.name) or WS_STAGE.default)
    return CallbackNotifier(websocket_api.send, websocket_api.close, gone)
