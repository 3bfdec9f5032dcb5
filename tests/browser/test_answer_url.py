"""The popup answer URL on the agent page (issue #16, seed 004): the agent answers a call and the page
opens the unit's answer URL in a new tab with the six fields (userId, hotline, customerNumber,
isCallOut, timeAnswer, callId) arriving at a local HTTP server (the integrator's CRM); a URL that
cannot be opened shows ``REQUEST_ANSWER_URL_ERROR`` with the call id."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import expect_console_errors
from tests.browser.helpers import go_available, login, wait_phase
from tests.integration.test_calls import caller, new_dossier, unit_settings
from tests.polling import wait_until
from vkyc.repositories.calls import CallRepository

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


class Crm:
    """A local HTTP server standing for the integrator's CRM: it records each request's query."""

    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/answer":  # not the browser's /favicon.ico
                    crm.queries.append(parse_qs(parts.query, keep_blank_values=True))
                body = b"<!doctype html><title>CRM</title><p>customer</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def crm() -> Iterator[Crm]:
    server = Crm()
    yield server
    server.stop()


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


def test_a_url_the_page_cannot_open_is_request_answer_url_error_with_the_call_id(open_page, stack, crm):
    # A panel (iframe) whose origin the page's Content-Security-Policy does not allow never loads.
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
