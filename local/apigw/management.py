"""The ``@connections`` management API: POST (send), GET (info), DELETE (close).

Served on the emulator's own port, at ``/@connections/{id}`` and ``/{stage}/@connections/{id}``
(boto3 and Chalice put the stage in the endpoint URL). Ids arrive percent-encoded (botocore
encodes the trailing ``=``) and are unquoted. An unknown or closing id answers 410 GoneException,
which boto3 raises as ``client.exceptions.GoneException`` and Chalice as
``WebsocketDisconnectedError``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import unquote

from local.apigw import http
from local.apigw.registry import Connection, ConnectionRegistry

_PATH = re.compile(r"^(?:/[^/@]+)?/@connections/(?P<id>[^/]+)$")

SendFn = Callable[[Connection, bytes], Awaitable[None]]
CloseFn = Callable[[Connection], Awaitable[None]]


def is_management_path(path: str) -> bool:
    return "/@connections" in path


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _error(status: int, error_type: str, message: str | None, keep_alive: bool) -> bytes:
    return http.json_response(
        status, {"message": message}, {"x-amzn-ErrorType": error_type}, keep_alive=keep_alive
    )


class ManagementApi:
    def __init__(
        self, registry: ConnectionRegistry, send: SendFn, close: CloseFn, max_payload_bytes: int
    ) -> None:
        self._registry = registry
        self._send = send
        self._close = close
        self.max_payload_bytes = max_payload_bytes

    async def handle(self, request: http.Request) -> bytes:
        keep = request.keep_alive
        match = _PATH.match(request.path)
        if match is None:
            return _error(403, "ForbiddenException", "Forbidden", keep)
        connection = self._registry.get(unquote(match.group("id")))
        if request.method not in ("POST", "GET", "DELETE"):
            return _error(403, "ForbiddenException", "Forbidden", keep)
        if connection is None:
            return _error(410, "GoneException", None, keep)
        if request.method == "POST":
            if len(request.body) > self.max_payload_bytes:
                return _error(413, "PayloadTooLargeException", "Message too long", keep)
            await self._send(connection, request.body)
            return http.response(200, headers={"Content-Type": "application/json"}, keep_alive=keep)
        if request.method == "GET":
            # The wire names are lower camel case; boto3 maps them to ConnectedAt, Identity...
            info = {
                "connectedAt": _iso(connection.connected_at),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                "lastActiveAt": _iso(connection.last_active_at),
            }
            return http.json_response(200, info, keep_alive=keep)
        await self._close(connection)
        return http.response(204, keep_alive=keep)
