"""``sdk.auth`` against the fake REST auth routes (``test_sdk_fake.FakeRest``)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from sdk import ApiError, TokenGrant, login, mobile_token, node_token
from tests.ports import refused_port
from tests.unit.test_sdk_fake import NODE_KEY, FakeRest, fake_server_in_thread
from vkyc.protocol.messages import Role


@pytest.fixture(scope="module")
def rest() -> Iterator[FakeRest]:
    with fake_server_in_thread() as ws, FakeRest(ws) as fake:
        yield fake


def call(coro: Coroutine[Any, Any, TokenGrant]) -> TokenGrant:
    return asyncio.run(coro)


def test_mobile_token_sends_the_api_key_and_returns_the_grant(rest: FakeRest):
    grant = call(mobile_token(rest.url + "/", "key-unit-1", "dealer-7", "HS-KV1-0001"))
    assert grant.role == "mobile" and grant.unit_id == "1" and grant.agent_id is None
    assert grant.expires_in_s == 600 and grant.ws_url == rest.ws.url
    assert rest.ws.tokens[grant.token] == (Role.MOBILE, "dealer-7", "1")
    path, headers = rest.requests[-1]
    assert path == "/auth/mobile" and headers["x-api-key"] == "key-unit-1"
    assert grant.token not in repr(grant), "the token stays out of logs"


def test_login_returns_the_agent_id_for_agents_only(rest: FakeRest):
    agent = call(login(rest.url, "agent1", "pw-agent1"))
    assert agent.role == "agent" and agent.agent_id == "A-1" and agent.expires_in_s == 43200
    supervisor = call(login(rest.url, "super1", "pw-super1"))
    assert supervisor.role == "supervisor" and supervisor.agent_id is None


def test_node_token(rest: FakeRest):
    grant = call(node_token(rest.url, "node-1", NODE_KEY))
    assert grant.role == "media" and grant.unit_id == "*"


@pytest.mark.parametrize(
    ("coro", "status", "code"),
    [
        (lambda url: mobile_token(url, "wrong-key", "d", "HS-KV1-0001"), 401, "API_KEY_INVALID"),
        (lambda url: mobile_token(url, "key-unit-1", "d", "HS-KV2-0001"), 403, "DOSSIER_OTHER_UNIT"),
        (lambda url: mobile_token(url, "key-unit-1", "d", "HS-NOPE"), 404, "NOT_FOUND"),
        (lambda url: login(url, "agent1", "wrong"), 401, "INVALID_CREDENTIALS"),
        (lambda url: node_token(url, "node-1", "wrong"), 401, "INVALID_CREDENTIALS"),
        (lambda url: login(url + "/nowhere", "agent1", "pw-agent1"), 403, "HTTP_403"),  # no such route
        (lambda url: login(url + "/broken", "agent1", "pw-agent1"), 502, "HTTP_502"),  # not JSON
    ],
)
def test_refusals_raise_api_error_with_the_catalogue_code(rest: FakeRest, coro: Any, status: int, code: str):
    with pytest.raises(ApiError) as refused:
        call(coro(rest.url))
    assert refused.value.status == status and refused.value.code == code and refused.value.message


def test_an_unreachable_server_is_status_zero():
    with refused_port() as port, pytest.raises(ApiError) as refused:
        call(login(f"http://127.0.0.1:{port}", "a", "b", timeout_s=2))
    assert refused.value.status == 0 and refused.value.code == "UNREACHABLE"
