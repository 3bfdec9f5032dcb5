"""Revocation (issue #10 item 2) and single-use resume tokens (item 6), through real sockets and REST:
a disabled account, a changed password or a moved account is cut off everywhere at once (its old
bearer token on REST, a new ``$connect``, the live session); ``session.bye`` and ``POST /auth/logout``
revoke the token they speak for; a resume token opens one socket."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import uuid
from types import ModuleType

import pytest
from websockets.exceptions import InvalidStatus

from tests.integration.signaling_client import Client, rest
from tests.integration.test_calls import (
    agent_state,
    available,
    caller,
    new_dossier,
    quiet_unit_1,  # noqa: F401 (autouse fixture: a quiet unit 1)
)
from tests.polling import wait_until
from vkyc.domain.roles import UserRole
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.users import put_user
from vkyc.security.passwords import hash_password


def signaling_module(stack) -> ModuleType:
    """The stack's own signaling module (another test may have imported ``functions.signaling.app``
    outside the stack: its pushes would go nowhere), ready to push outside a socket event, as an admin
    call would be."""
    app = stack.apps["signaling"]
    for module in list(sys.modules.values()):
        if getattr(module, "app", None) is app:
            module.push_outside_socket_events()
            return module
    raise AssertionError("the signaling app is not loaded")


def accounts(stack, use_case: str, *args: object, **kwargs: object) -> object:
    """An account change as an admin call makes it: the use case, then its effects (the sessions it
    ends are told and closed)."""
    graph = signaling_module(stack).graph()
    return graph.run(getattr(graph.accounts, use_case)(*args, **kwargs))


def new_supervisor(password: str = "a-long-enough-password") -> str:
    username = f"gs.test.{uuid.uuid4().hex[:8]}"
    put_user(
        username,
        role=UserRole.SUPERVISOR,
        unit_id="1",
        display_name="Test supervisor",
        password_hash=hash_password(password),
    )
    return username


def log_in(stack, username: str, password: str = "a-long-enough-password") -> str:
    status, body = rest(stack.http_url, "/auth/login", {"username": username, "password": password})
    assert status == 200, body
    return str(body["token"])


def get(stack, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(stack.http_url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def post(stack, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        stack.http_url + path, data=b"", method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def refused_at_connect(stack, **credential: str) -> None:
    with pytest.raises(InvalidStatus) as caught:
        Client(stack.ws_url, **credential)
    assert caught.value.response.status_code == 403


def cut_off(client: Client, reason: str) -> None:
    """The server told the live session why it ended, then closed the socket."""
    assert client.next_push("session.ended")["reason"] == reason
    assert wait_until(lambda: client.ws.close_code is not None or _closed(client))


def _closed(client: Client) -> bool:
    try:
        client.ws.recv(timeout=0.2)
    except TimeoutError:
        return False
    except Exception:
        return True
    return False


def test_a_disabled_account_is_cut_off_on_rest_at_connect_and_on_its_live_socket(stack):
    username = new_supervisor()
    token = log_in(stack, username)
    live = Client(stack.ws_url, token=token)
    live.hello()
    assert get(stack, "/me", token)[0] == 200

    assert accounts(stack, "disable", username, by="test") == 1

    cut_off(live, "account_disabled")
    status, body = get(stack, "/me", token)
    assert (status, body["code"]) == (403, "ACCOUNT_DISABLED")
    refused_at_connect(stack, token=token)
    status, body = rest(
        stack.http_url, "/auth/login", {"username": username, "password": "a-long-enough-password"}
    )
    assert body["code"] == "ACCOUNT_DISABLED"

    accounts(stack, "enable", username, by="test")
    status, body = get(stack, "/me", token)
    assert (status, body["code"]) == (401, "TOKEN_REVOKED"), "enabled again: the old token stays dead"
    assert get(stack, "/me", log_in(stack, username))[0] == 200


def test_an_account_disabled_in_its_table_is_refused_at_once(stack):
    """However the flag got there (a script, an older admin tool), REST and $connect check it."""
    username = new_supervisor()
    token = log_in(stack, username)
    put_user(
        username,
        role=UserRole.SUPERVISOR,
        unit_id="1",
        display_name="Test supervisor",
        password_hash=hash_password("a-long-enough-password"),
        disabled=True,
    )
    assert get(stack, "/me", token)[1]["code"] == "ACCOUNT_DISABLED"
    refused_at_connect(stack, token=token)


def test_a_changed_password_revokes_the_tokens_issued_before(stack):
    username = new_supervisor()
    token = log_in(stack, username)
    live = Client(stack.ws_url, token=token)
    live.hello()
    accounts(stack, "set_password_hash", username, hash_password("the-new-password"), by="test")
    cut_off(live, "credentials_changed")
    assert get(stack, "/me", token)[1]["code"] == "TOKEN_REVOKED"
    refused_at_connect(stack, token=token)
    assert get(stack, "/me", log_in(stack, username, "the-new-password"))[0] == 200


def test_an_agent_disabled_in_a_call_goes_offline_and_the_call_ends(stack):
    agent = available(stack, "tdv2.kv1")
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    agent.request("offer.accept", offer_id=agent.next_push("call.offer")["offer_id"])
    try:
        assert accounts(stack, "disable", "tdv2.kv1", by="test") == 1
        cut_off(agent, "account_disabled")
        assert agent_state(agent) == "OFFLINE"
        ended = mobile.next_push("call.ended")
        assert (ended["call_id"], ended["reason"]) == (call_id, "agent_left")
        assert CallRepository().get(call_id).state == "FINISHED"
    finally:
        accounts(stack, "enable", "tdv2.kv1", by="test")
        mobile.close()


def test_a_bye_revokes_the_token_it_connected_with(stack):
    username = new_supervisor()
    token = log_in(stack, username)
    client = Client(stack.ws_url, token=token)
    client.hello()
    assert client.request("session.bye")["action"] == "ack"
    refused_at_connect(stack, token=token)
    assert get(stack, "/me", token)[1]["code"] == "TOKEN_REVOKED"


def test_logout_revokes_its_token_and_ends_its_sessions_only(stack):
    username = new_supervisor()
    first, second = log_in(stack, username), log_in(stack, username)
    on_first, on_second = Client(stack.ws_url, token=first), Client(stack.ws_url, token=second)
    on_first.hello()
    on_second.hello()
    status, body = post(stack, "/auth/logout", first)
    assert (status, body) == (200, {"sessions_ended": 1})
    cut_off(on_first, "logged_out")
    assert get(stack, "/me", first)[1]["code"] == "TOKEN_REVOKED"
    assert post(stack, "/auth/logout", first)[1]["code"] == "TOKEN_REVOKED"
    assert get(stack, "/me", second)[0] == 200, "another login of the same person is not touched"
    assert on_second.request("ping")["action"] == "pong"
    on_second.close()


def test_a_resume_token_opens_one_socket(stack):
    username = new_supervisor()
    client = Client(stack.ws_url, token=log_in(stack, username))
    resume = client.hello()["resume_token"]
    client.drop()
    back = Client(stack.ws_url, resume=resume)
    refused_at_connect(stack, resume=resume)  # before the first socket's hello changed the token
    assert back.hello()["resumed"] is True, "the first socket carries on, and it alone has the key"
    assert back.request("ping")["action"] == "pong"
    back.close()
