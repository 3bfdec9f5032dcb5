"""``Notifier`` over API Gateway's ``@connections`` API, through the functions given.

The Chalice app passes ``app.websocket_api.send`` / ``close`` and Chalice's
``WebsocketDisconnectedError`` (vkyc itself never imports Chalice).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

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
