"""Obtaining a session token over REST: ``POST /auth/mobile``, ``/auth/login`` and ``/auth/node``.

Each returns a ``TokenGrant``; open the WebSocket with ``VkycClient.open(grant.ws_url, token=grant.token)``.
A refused call raises ``ApiError(status, code, message)`` with the server's catalogue code (e.g.
``API_KEY_INVALID``, ``INVALID_CREDENTIALS``); a server that cannot be reached raises
``ApiError(0, "UNREACHABLE", ...)``. Only the standard library is used (urllib, in a worker thread),
so this module runs wherever Python does.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from sdk.errors import ApiError

DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TokenGrant:
    """What an ``/auth/*`` call grants.

    ``token`` opens one fresh session (``?token=``) and is valid ``expires_in_s`` seconds from issue
    (mobile tokens live minutes: fetch one right before connecting). ``role`` is ``mobile``,
    ``agent``, ``supervisor`` or ``media``; ``unit_id`` is ``"*"`` for media nodes; ``agent_id`` is
    set for agents only. ``ws_url`` is the WebSocket endpoint to connect to.
    """

    token: str
    expires_in_s: int
    role: str
    unit_id: str
    agent_id: str | None
    ws_url: str

    def __repr__(self) -> str:  # the token is a credential: keep it out of logs
        return (
            f"TokenGrant(token='…', expires_in_s={self.expires_in_s}, role={self.role!r}, "
            f"unit_id={self.unit_id!r}, agent_id={self.agent_id!r}, ws_url={self.ws_url!r})"
        )


async def mobile_token(
    rest_url: str,
    api_key: str,
    dealer_account: str,
    dossier_id: str,
    *,
    dealer_channel: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> TokenGrant:
    """A mobile session token for one dossier, as the integrator backend (mSale Core) obtains it.

    ``api_key`` is the unit's integrator key (header ``x-api-key``); ``dealer_channel`` the dealer's
    sales channel (e.g. ``DBH``, ``DL``) when groups route on it. Errors: ``AUTH_REQUIRED``,
    ``API_KEY_INVALID``, ``NOT_FOUND`` (dossier), ``DOSSIER_OTHER_UNIT``, ``BAD_MESSAGE``,
    ``TOO_MANY_ATTEMPTS`` (429: too many wrong keys from this address; wait, see docs/security.md).
    """
    body = {"dealer_account": dealer_account, "dossier_id": dossier_id}
    if dealer_channel is not None:
        body["dealer_channel"] = dealer_channel
    return _grant(await _post(rest_url, "/auth/mobile", body, {"x-api-key": api_key}, timeout_s))


async def login(
    rest_url: str, username: str, password: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> TokenGrant:
    """An agent's or supervisor's session token.

    Errors: ``INVALID_CREDENTIALS``, ``ACCOUNT_DISABLED``, ``AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL``
    (409: the account is ringing or in a call on another device), ``TOO_MANY_ATTEMPTS`` (429: the
    account or this address is locked after wrong passwords; the message says how many seconds).
    """
    body = {"username": username, "password": password}
    return _grant(await _post(rest_url, "/auth/login", body, {}, timeout_s))


async def node_token(
    rest_url: str, node_id: str, node_key: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> TokenGrant:
    """A media node's session token (``node_key``: the node's own key, bound to ``node_id``; see
    ``vkyc.security.node_keys``).

    Errors: ``INVALID_CREDENTIALS``, ``TOO_MANY_ATTEMPTS``.
    """
    body = {"node_id": node_id, "node_key": node_key}
    return _grant(await _post(rest_url, "/auth/node", body, {}, timeout_s))


def _grant(body: dict[str, Any]) -> TokenGrant:
    try:
        agent_id = body.get("agent_id")
        return TokenGrant(
            token=str(body["token"]),
            expires_in_s=int(body["expires_in_s"]),
            role=str(body["role"]),
            unit_id=str(body["unit_id"]),
            agent_id=None if agent_id is None else str(agent_id),
            ws_url=str(body["ws_url"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(200, "BAD_RESPONSE", f"the token grant lacks or mistypes {exc}") from None


async def _post(
    rest_url: str, path: str, body: dict[str, Any], headers: dict[str, str], timeout_s: float
) -> dict[str, Any]:
    url = rest_url.rstrip("/") + path
    return await asyncio.to_thread(_post_sync, url, body, headers, timeout_s)


def _post_sync(url: str, body: dict[str, Any], headers: dict[str, str], timeout_s: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"content-type": "application/json", "accept": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApiError(0, "UNREACHABLE", f"POST {url}: {reason}") from None
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        code = "BAD_RESPONSE" if 200 <= status < 300 else f"HTTP_{status}"
        raise ApiError(status, code, f"POST {url} answered HTTP {status} with no JSON object")
    if not 200 <= status < 300:
        error_code = parsed.get("code")
        error_message = parsed.get("message")
        raise ApiError(
            status,
            error_code if isinstance(error_code, str) and error_code else f"HTTP_{status}",
            error_message
            if isinstance(error_message, str) and error_message
            else f"POST {url} answered HTTP {status}",
        )
    return parsed
