"""Build the event dicts API Gateway (WebSocket API, Lambda proxy integration) sends to Lambda.

Field names and shapes follow what AWS sends for ``$connect``, MESSAGE routes and ``$disconnect``
(``requestContext`` with connectionId, routeKey, eventType, messageId, requestId, domainName,
stage, apiId, connectedAt, requestTimeEpoch, identity...). Headers and the query string come only
with ``$connect``; ``disconnectStatusCode`` and ``disconnectReason`` only with ``$disconnect``.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiInfo:
    api_id: str
    stage: str
    domain_name: str
    region: str


def _request_time(epoch_ms: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def new_request_id() -> str:
    # AWS request ids of WebSocket APIs look like 'Lx9kZFHvSQ0EaLQ=': 10 random bytes, base64.
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _request_context(
    api: ApiInfo,
    connection_id: str,
    connected_at_ms: int,
    route_key: str,
    event_type: str,
    source_ip: str,
    user_agent: str,
) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    request_id = new_request_id()
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(now_ms),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": connected_at_ms,
        "requestTimeEpoch": now_ms,
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "requestId": request_id,
        "domainName": api.domain_name,
        "connectionId": connection_id,
        "apiId": api.api_id,
    }


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(name, []).append(value)
    return single, multi


def connect_event(
    api: ApiInfo,
    connection_id: str,
    connected_at_ms: int,
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
    source_ip: str,
) -> dict[str, Any]:
    single_h, multi_h = _multi(headers)
    user_agent = next((v for k, v in headers if k.lower() == "user-agent"), "")
    event: dict[str, Any] = {
        "headers": single_h,
        "multiValueHeaders": multi_h,
        "requestContext": _request_context(
            api, connection_id, connected_at_ms, "$connect", "CONNECT", source_ip, user_agent
        ),
        "isBase64Encoded": False,
    }
    if query:
        single_q, multi_q = _multi(query)
        event["queryStringParameters"] = single_q
        event["multiValueQueryStringParameters"] = multi_q
    return event


def message_event(
    api: ApiInfo,
    connection_id: str,
    connected_at_ms: int,
    route_key: str,
    body: bytes,
    is_binary: bool,
    source_ip: str,
    user_agent: str,
) -> dict[str, Any]:
    context = _request_context(
        api, connection_id, connected_at_ms, route_key, "MESSAGE", source_ip, user_agent
    )
    context["messageId"] = base64.b64encode(secrets.token_bytes(10)).decode()
    return {
        "requestContext": context,
        "body": base64.b64encode(body).decode() if is_binary else body.decode("utf-8"),
        "isBase64Encoded": is_binary,
    }


def disconnect_event(
    api: ApiInfo,
    connection_id: str,
    connected_at_ms: int,
    status_code: int,
    reason: str,
    source_ip: str,
    user_agent: str,
) -> dict[str, Any]:
    context = _request_context(
        api, connection_id, connected_at_ms, "$disconnect", "DISCONNECT", source_ip, user_agent
    )
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    headers = {"Host": api.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }
