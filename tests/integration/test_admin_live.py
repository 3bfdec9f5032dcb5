"""Every setting takes effect: changed through the admin API of the running stack (HTTP), the next call
behaves accordingly. The stack runs in this process, whose admin app forgets its cached settings at
each change; a deployed container sees it within 30 s (``CONFIG_TTL_S``, tested in
``tests/unit/test_settings_cache_bound.py``).
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Any

import pytest

from tests.integration.admin_http import AdminHttp
from tests.integration.signaling_client import Client, rest
from tests.integration.test_calls import (  # noqa: F401 - quiet_unit_1 is an autouse fixture
    agent_state,
    available,
    caller,
    new_dossier,
    quiet_unit_1,
)
from tests.integration.test_signaling import login
from tests.polling import wait_until
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.tables import Call
from vkyc.services.routing import DataRouter

pytestmark = pytest.mark.usefixtures("stack_tables")


@pytest.fixture
def admin(stack) -> AdminHttp:
    return AdminHttp(stack.http_url)


@contextmanager
def unit_1(admin: AdminHttp, **values: Any):
    """Unit 1's override of ``values`` for one test, set and cleared through the admin API."""
    admin.settings(1, **values)
    try:
        yield
    finally:
        admin.clear(1, *values)


def close(*clients: Client) -> None:
    for client in clients:
        client.close()


def test_a_ring_timeout_changed_through_the_api_is_the_next_offers(stack, admin):
    with unit_1(admin, ring_timeout_s=7):
        agent = available(stack, "tdv1.kv1")
        mobile = caller(stack, new_dossier())
        mobile.request("call.request")
        offer = agent.next_push("call.offer")
        assert offer["ring_timeout_s"] == 7
        close(mobile, agent)
    status, body, _ = admin.call("GET", "/settings", unit=1)
    assert status == 200 and body["effective"]["ring_timeout_s"]["source"] == "global"


def test_with_missed_offer_sets_unavailable_off_an_agent_who_misses_stays_available(stack, admin):
    with unit_1(admin, ring_timeout_s=1, missed_offer_sets_unavailable=False):
        agent = available(stack, "tdv1.kv1")
        mobile = caller(stack, new_dossier())
        mobile.request("call.request")
        agent.next_push("call.offer")
        assert agent.next_push("offer.withdrawn", timeout=15)["reason"] == "rang_out"
        assert wait_until(lambda: agent_state(agent) == "AVAILABLE")
        close(mobile, agent)


def test_max_offers_per_call_ends_the_call_after_that_many_agents(stack, admin):
    with unit_1(admin, max_offers_per_call=1):
        first = available(stack, "tdv1.kv1")
        mobile = caller(stack, new_dossier())
        call_id = mobile.request("call.request")["call_id"]
        offer = first.next_push("call.offer")
        second = available(stack, "tdv2.kv1")  # free, but the call was offered to one agent already
        first.request("offer.reject", offer_id=offer["offer_id"], reason="busy")
        ended = mobile.next_push("call.ended", timeout=15)
        assert ended["reason"] == "no_agent"
        assert CallRepository().get(call_id).tried_agent_ids == {first.welcome["principal_id"]}
        assert not any(p["action"] == "call.offer" for p in second.pushes)
        close(mobile, first, second)


def test_with_overflow_off_the_overflow_group_never_joins(stack, admin):
    with unit_1(admin, overflow_enabled=False):
        backup = available(stack, "tdv3.kv1")  # only the overflow group (kv1-du-phong) is free
        mobile = caller(stack, new_dossier())
        queued = mobile.request("call.request")
        assert queued["action"] == "call.queued"
        call: Call = CallRepository().get(queued["call_id"])
        router = DataRouter()
        assert router.overflow_in(call) is None  # no dispatch is scheduled for an overflow group
        assert list(router.choose_agent(call, set())) == []
        close(mobile, backup)
    call = CallRepository().get(queued["call_id"])
    assert router.overflow_in(call) is not None  # back on: the overflow group would join


def test_login_policy_refuse_turns_a_second_login_away(stack, admin):
    username = f"t.refuse.{uuid.uuid4().hex[:6]}"  # an account no earlier test left a session of
    spec = {
        "username": username,
        "name": "Refused twice",
        "role": "agent",
        "unit": 1,
        "groups": ["kv1-xac-thuc"],
        "password": "refuse-pass-1",
    }
    status, body, _ = admin.call("POST", "/users", spec)
    assert status == 200, body
    credentials = {"username": username, "password": "refuse-pass-1"}
    with unit_1(admin, login_policy="refuse"):
        status, grant = rest(stack.http_url, "/auth/login", credentials)
        assert status == 200, grant
        first = Client(stack.ws_url, token=grant["token"])
        first.hello()
        status, body = rest(stack.http_url, "/auth/login", credentials)
        assert (status, body["code"]) == (409, "LOGGED_IN_ELSEWHERE")
    status, body = rest(stack.http_url, "/auth/login", credentials)  # the default takes over
    assert status == 200, body
    close(first)
    assert admin.call("DELETE", f"/users/{username}")[0] == 200


def test_login_policy_take_over_replaces_a_device_even_in_a_call(stack, admin):
    with unit_1(admin, login_policy="take_over"):
        first = available(stack, "tdv1.kv1")
        mobile = caller(stack, new_dossier())
        call_id = mobile.request("call.request")["call_id"]
        offer = first.next_push("call.offer")
        first.request("offer.accept", offer_id=offer["offer_id"])
        second = Client(stack.ws_url, token=login(stack, "tdv1.kv1")["token"])
        second.hello()
        assert first.next_push("session.ended", timeout=10)["reason"] == "taken_over"
        assert wait_until(lambda: CallRepository().get(call_id).state not in ("A", "CONNECTED"))
        close(mobile, first, second)


def test_the_default_login_policy_refuses_a_second_login_in_a_call(stack):
    first = available(stack, "tdv1.kv1")
    mobile = caller(stack, new_dossier())
    offer_call = mobile.request("call.request")
    offer = first.next_push("call.offer")
    first.request("offer.accept", offer_id=offer["offer_id"])
    status, body = rest(stack.http_url, "/auth/login", {"username": "tdv1.kv1", "password": "demo-tdv1-kv1"})
    assert (status, body["code"]) == (409, "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL")
    mobile.request("call.hangup", call_id=offer_call["call_id"])
    close(mobile, first)
