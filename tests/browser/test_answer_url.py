"""The popup answer URL on the agent page (issue #16, seed 004): the agent answers a call and the page
opens the unit's answer URL in a new tab with the six fields (userId, hotline, customerNumber,
isCallOut, timeAnswer, callId) arriving at a local HTTP server (the integrator's CRM), or in the panel
(an iframe) when the CRM's origin is one the pages' Content-Security-Policy lets them frame
(``VKYC_FRAME_ORIGINS``: the session stack allows ``framed_crm``'s); a URL that cannot be opened (a
panel of an origin not allowed, which the browser refuses) shows ``REQUEST_ANSWER_URL_ERROR`` with the
call id."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import expect_console_errors, screenshot
from tests.browser.helpers import go_available, login, wait_phase
from tests.crm import Crm
from tests.integration.test_calls import caller, new_dossier, unit_settings
from tests.polling import wait_until
from vkyc.repositories.calls import CallRepository

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


@pytest.fixture
def crm() -> Iterator[Crm]:
    """A CRM on an origin of its own: not one the pages may frame."""
    server = Crm()
    yield server
    server.stop()


@pytest.fixture
def allowed_crm(framed_crm: Crm) -> Crm:
    """The CRM whose origin the stack's pages may frame, with no request recorded yet."""
    framed_crm.queries.clear()
    return framed_crm


def frame_sources(stack: Any) -> list[str]:
    """The ``frame-src`` of the policy the stack serves the agent page with."""
    with urllib.request.urlopen(stack.http_url + "/agent.html", timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    (directive,) = [d.split() for d in policy.split(";") if d.split()[:1] == ["frame-src"]]
    return directive[1:]


def answer_a_call(page: Any, stack: Any) -> tuple[str, Any]:
    """A customer calls; the agent (logged in, available) accepts: the call's id and the mobile."""
    mobile = caller(stack, new_dossier(subscriber="84901000777"))
    call_id = mobile.request("call.request")["call_id"]
    page.wait_for_selector("#offer:not(.hidden)")
    page.click("#accept")
    wait_phase(page, "incall")
    return call_id, mobile


def test_the_answer_url_opens_in_a_new_tab_with_the_six_fields(open_page, stack, crm):
    template = (
        crm.url + "/answer?u={userId}&h={hotline}&n={customerNumber}&o={isCallOut}&t={timeAnswer}&c={callId}"
    )
    with unit_settings("1", popup_answer_url=template, popup_answer_target="tab"):
        page = open_page("/agent.html", "tdv1.kv1")
        login(page, "tdv1.kv1", "#work")
        go_available(page)
        before = time.time() * 1000
        with page.context.expect_page(timeout=20_000) as opened:
            call_id, mobile = answer_a_call(page, stack)
        tab = opened.value
        tab.wait_for_load_state()
        wait_until(lambda: crm.queries, timeout=10)
        (query,) = crm.queries
        fields = {name: values[0] for name, values in query.items()}
        call = CallRepository().get(call_id)
        assert call.answered_at is not None
        assert fields == {
            "u": "tdv1.kv1",
            "h": "19001001",  # unit 1's hotline, whose queue the call waited in
            "n": "84901000777",
            "o": "false",
            "t": str(int(call.answered_at.timestamp() * 1000)),
            "c": call_id,
        }
        assert before <= int(fields["t"]) <= time.time() * 1000
        assert tab.url.startswith(crm.url + "/answer?")
        assert page.locator("#errors [data-code=REQUEST_ANSWER_URL_ERROR]").count() == 0
        mobile.close()


def test_a_panel_of_an_allowed_crm_origin_shows_the_crm_page_beside_the_call(open_page, stack, allowed_crm):
    assert frame_sources(stack) == [allowed_crm.url]
    template = allowed_crm.url + "/answer?c={callId}&u={userId}"
    with unit_settings("1", popup_answer_url=template, popup_answer_target="panel"):
        page = open_page("/agent.html", "tdv1.kv1")  # any console error (a CSP refusal) fails the test
        login(page, "tdv1.kv1", "#work")
        go_available(page)
        call_id, mobile = answer_a_call(page, stack)
        # The CRM's own page, loaded in the panel. Playwright's waits, not a loop over ``page.frames``:
        # the sync API updates its frames only inside a Playwright call, so a loop that sleeps between
        # reads never sees a frame that navigated after the loop began (it failed so on a busy machine).
        page.frame_locator("#answer-panel:not(.hidden) iframe").locator("#customer").wait_for()
        crm_frame = page.locator("#answer-panel iframe").element_handle().content_frame()
        assert crm_frame.url.startswith(allowed_crm.url + "/answer?")
        assert "customer" in crm_frame.inner_text("body")
        wait_until(lambda: allowed_crm.queries, timeout=10)
        assert allowed_crm.queries == [{"c": [call_id], "u": ["tdv1.kv1"]}]
        # Loaded: the page's own wait (LOAD_TIMEOUT_MS) is off, and no error was shown.
        assert page.locator("#errors [data-code=REQUEST_ANSWER_URL_ERROR]").count() == 0
        page.locator("#answer-panel").scroll_into_view_if_needed()
        screenshot(page, "agent-answer-panel")
        mobile.close()


def test_a_url_the_page_cannot_open_is_request_answer_url_error_with_the_call_id(open_page, stack, crm):
    # A panel (iframe) whose origin the page's Content-Security-Policy does not allow never loads.
    assert crm.url not in frame_sources(stack)
    with unit_settings("1", popup_answer_url=crm.url + "/answer", popup_answer_target="panel"):
        page = open_page("/agent.html", "tdv1.kv1")
        expect_console_errors(page, r"Content Security Policy|frame-src")  # provoked on purpose
        login(page, "tdv1.kv1", "#work")
        go_available(page)
        call_id, mobile = answer_a_call(page, stack)
        card = page.wait_for_selector("#errors [data-code=REQUEST_ANSWER_URL_ERROR]", timeout=20_000)
        assert call_id in card.inner_text()
        assert crm.queries == []  # it never reached the CRM
        mobile.close()
