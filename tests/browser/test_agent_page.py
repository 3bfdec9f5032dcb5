"""The agent page in Chromium, without media: the protocol's signing in WebCrypto, login and status,
the ringing popup with its keyboard shortcuts (reject → the call rings on a second agent's page), the
agent's own socket dropping and resuming, and errors shown as sentences with the call id to copy."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.browser.conftest import expect_console_errors, screenshot
from tests.browser.helpers import decide, go_available, login, wait_phase, wait_status
from tests.integration.test_calls import caller, new_dossier
from vkyc.protocol.errors import CATALOGUE
from vkyc.repositories.dossiers import DossierRepository

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def test_signing_in_the_browser_matches_the_guide_test_vectors(open_page):
    page = open_page("/agent.html")
    vector_two = {"z": [1, {"b": True, "a": None}], "name": "Đỗ Văn Hùng", "note": "a/b <c> & 'd' \"e\"\n"}
    results = page.evaluate(
        """async (two) => {
          const s = await import('/js/signing.js');
          const key = await s.importSessionKey('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
          const one = {seq: 1, ts: 1767225600000, request_id: 'm-0002', action: 'ping'};
          two = {...two, mac: 'ignored'};
          return {c1: s.canonical(one), m1: await s.mac(key, one), c2: s.canonical(two),
                  m2: await s.mac(key, two)};
        }""",
        vector_two,
    )
    assert results["c1"] == '{"action":"ping","request_id":"m-0002","seq":1,"ts":1767225600000}'
    assert results["m1"] == "c3yuv-ny5rQfypq9trJgp5J0l9paBZZhZz4qRd4X6zs"
    assert (
        results["c2"]
        == '{"name":"Đỗ Văn Hùng","note":"a/b <c> & \'d\' \\"e\\"\\n","z":[1,{"a":null,"b":true}]}'
    )
    assert results["m2"] == "jLx0CxBqdgm71fQmHLCmgLr1BbVITMPrT7tBt0wuoXo"


def test_every_error_code_has_a_sentence_in_both_languages(open_page):
    page = open_page("/agent.html")
    errors = page.evaluate("async () => (await import('/js/i18n.js')).ERRORS")
    for code in CATALOGUE:
        assert errors.get(code, {}).get("vi") and errors[code].get("en"), code


def test_reject_by_keyboard_rings_the_call_on_a_second_agent_page(open_page, stack):
    first = open_page("/agent.html", "tdv1.kv1")
    login(first, "tdv1.kv1", "#work")
    go_available(first)
    second = open_page("/agent.html", "tdv2.kv1")
    login(second, "tdv2.kv1", "#work")
    go_available(second)

    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    # The agent idle longest (the first) rings: popup, countdown, shortcuts.
    first.wait_for_selector("#offer", state="visible")
    assert re.search(r"\d+ giây", first.inner_text("#offer-countdown"))
    assert "Esc" in first.inner_text("#offer")
    # One Esc only asks to confirm (a stray key must not turn the customer away); the second rejects.
    first.keyboard.press("Escape")
    first.wait_for_selector("#reject-confirm", state="visible")
    assert "Esc" in first.inner_text("#reject-confirm") and first.evaluate("window.vkyc.phase") == "ringing"
    first.keyboard.press("Escape")
    wait_phase(first, "idle")
    wait_status(first, "AVAILABLE")

    second.wait_for_selector("#offer", state="visible")
    second.keyboard.press("Enter")
    wait_phase(second, "incall")
    connected = mobile.next_push("call.connected")
    assert connected["call_id"] == call_id and connected["agent_id"] == "tdv2.kv1"
    assert second.evaluate("window.vkyc.call.call_id") == call_id
    assert call_id in second.inner_text("#call-id")
    assert first.is_hidden("#offer")
    mobile.request("call.hangup", call_id=call_id)
    wait_phase(second, "wrapup")
    assert second.is_visible("#closing") and second.is_visible("#decision")
    mobile.close()


def test_own_socket_drop_shows_reconnecting_then_resumes(open_page):
    page = open_page("/agent.html", "tdv3.kv1")
    login(page, "tdv3.kv1", "#work")
    page.evaluate("window.vkyc.drop()")
    # The banner lasts only until the session resumes: its text is checked in the same wait.
    page.wait_for_selector('.banner[data-key=own]:has-text("Mất kết nối, đang kết nối lại")', state="visible")
    page.wait_for_selector(".banner[data-key=restored]", state="visible")
    assert page.is_hidden(".banner[data-key=own]")
    assert page.evaluate("window.vkyc.session.reconnects") == 1
    go_available(page)  # the resumed session signs and numbers its messages on


def test_a_status_read_answered_after_the_agents_own_change_does_not_undo_it(open_page):
    # After a resume the page reads the agent's status again (GET /me). On a busy machine that answer
    # can come after the agent has set themselves available over the socket: it is the older word and
    # must not put the badge back (ci36: the badge stayed on the status of before, while the server
    # had the agent AVAILABLE, to be rung).
    page = open_page("/agent.html", "tdv3.kv1")
    login(page, "tdv3.kv1", "#work")
    held: list[tuple[Any, Any]] = []

    def hold_the_first_read(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # the server's answer now, given to the page later

    page.route(re.compile(r"/me$"), hold_the_first_read)
    reads = page.evaluate("window.vkyc.statusReads")
    page.evaluate("window.vkyc.drop()")
    page.wait_for_selector(".banner[data-key=restored]", state="visible")
    for _ in range(600):  # route handlers run inside Playwright calls: wait with one
        if held:
            break
        page.wait_for_timeout(50)
    (route, stale), *_ = held
    assert json.loads(stale.text())["agent"]["status"] != "AVAILABLE"
    go_available(page)
    route.fulfill(response=stale)
    page.wait_for_function("n => window.vkyc.statusReads > n", arg=reads)
    assert page.get_attribute("#status-badge", "data-status") == "AVAILABLE"
    assert page.evaluate("window.vkyc.status") == "AVAILABLE"


def test_errors_are_sentences_with_the_call_id_and_switch_language(open_page):
    page = open_page("/agent.html", "tdv1.kv1")
    login(page, "tdv1.kv1", "#work")
    go_available(page)
    # A call-back to a customer whose phone never registered: refused, recorded (state I), explained.
    page.fill("#callback-dossier", "HS-KV1-0001")
    page.click("#callback-form button[type=submit]")
    page.wait_for_selector("#dossier [data-field=customer_name]")
    assert page.inner_text("#dossier [data-field=customer_name]") == "Đỗ Văn Hùng"
    page.click("#callback-start")
    card = page.wait_for_selector(".error-card[data-code=DEVICE_NOT_REGISTERED]")
    assert "chưa đăng ký nhận cuộc gọi lại" in card.inner_text()
    call_id = card.query_selector("[data-copy]").get_attribute("data-copy")
    assert call_id.startswith("cb-")
    screenshot(page, "agent-error")
    page.click("#lang")
    card = page.wait_for_selector(".error-card[data-code=DEVICE_NOT_REGISTERED]")
    assert "is not registered for call-backs" in card.inner_text() and call_id in card.inner_text()
    assert page.inner_text("#status-badge") == "Available"
    page.click("#lang")

    # A REST 404 is explained too (the browser logs the 404 itself).
    expect_console_errors(page, r"status of 404")
    page.fill("#callback-dossier", "NO-SUCH-DOSSIER")
    page.click("#callback-form button[type=submit]")
    card = page.wait_for_selector(".error-card[data-code=NOT_FOUND]")
    assert "Không tìm thấy hồ sơ" in card.inner_text()


def test_call_back_from_a_dossier_rings_the_customer_then_is_decided(open_page, stack):
    page = open_page("/agent.html", "tdv1.kv1")
    login(page, "tdv1.kv1", "#work")
    go_available(page)
    dossier_id = new_dossier()
    mobile = caller(stack, dossier_id)
    assert mobile.request("device.register", device_id="browser-test-phone")["action"] == "device.registered"

    page.fill("#callback-dossier", dossier_id)
    page.click("#callback-form button[type=submit]")
    page.wait_for_selector(f'#dossier [data-field=id]:text("{dossier_id}")')
    page.click("#callback-start")
    wait_phase(page, "callback")
    assert re.search(r"Đang gọi khách hàng… \(\d+ giây\)", page.inner_text("#callback-ringing-text"))
    incoming = mobile.next_push("callback.incoming")
    assert incoming["agent_id"] == "tdv1.kv1" and incoming["dossier_id"] == dossier_id
    mobile.request("callback.accept", call_id=incoming["call_id"])
    wait_phase(page, "incall")
    assert page.evaluate("window.vkyc.call.call_id") == incoming["call_id"]
    # This customer sends no media at all: A and C wait for the video, and say so; R and D are offered.
    why = page.wait_for_selector("#decide-why [data-why=media]")
    assert "chưa nhận được video của khách hàng" in why.inner_text()
    assert page.is_disabled("[data-decision=A]") and page.is_disabled("[data-decision=C]")
    assert page.is_enabled("[data-decision=R]") and page.is_enabled("[data-decision=D]")

    page.click("#hangup")
    wait_phase(page, "wrapup")
    assert mobile.next_push("call.ended")["call_id"] == incoming["call_id"]
    why = page.wait_for_selector("#decide-why [data-why=media_ended]")
    assert "kết thúc mà chưa nhận được video" in why.inner_text()
    assert page.is_disabled("[data-decision=A]") and page.is_disabled("[data-decision=C]")
    decide(page, "D", "Khách hàng không nghe rõ, hẹn gọi lại")
    wait_phase(page, "idle")
    assert page.inner_text("#dossier [data-field=state]").startswith("D")
    assert DossierRepository().get(dossier_id).state == "D"
    assert mobile.next_push("call.result")["decision"] == "D"
    mobile.close()


def test_a_blocked_camera_is_explained_with_what_to_do(open_page):
    page = open_page("/agent.html", "tdv3.kv1")
    page.add_init_script(
        """navigator.mediaDevices.getUserMedia = () =>
             Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"""
    )
    page.reload()
    login(page, "tdv3.kv1", "#work")
    go_available(page)
    card = page.wait_for_selector(".error-card[data-code=GET_USER_MEDIA_ERROR]")
    text = card.inner_text()
    assert "Không mở được camera hoặc micro" in text and "Cho phép" in text and "NotAllowedError" in text


def test_a_login_elsewhere_replaces_the_session_and_logout_ends_it(open_page):
    first = open_page("/agent.html", "tdv2.kv1 first device")
    login(first, "tdv2.kv1", "#work")
    second = open_page("/agent.html", "tdv2.kv1 second device")
    login(second, "tdv2.kv1", "#work")
    banner = first.wait_for_selector(".banner[data-key=login]")
    assert "đăng nhập trên thiết bị khác" in banner.inner_text()
    assert first.is_visible("#login") and first.evaluate("sessionStorage.getItem('vkyc.agent')") is None

    second.click("#logout")
    second.wait_for_selector("#login", state="visible")
    assert second.query_selector(".banner[data-key=login]") is None
    second.reload()  # nothing to resume after a logout
    second.wait_for_selector("#login", state="visible")


def test_the_page_offers_a_decision_only_when_the_call_allows_it(open_page):
    page = open_page("/agent.html")
    gates = page.evaluate(
        """async () => {
          const { decisionGate } = await import('/js/decisions.js');
          const face = { snapshot_id: 's-1', face_found: true };
          const on = { approve_requires_face: true };
          const off = { approve_requires_face: false };
          return {
            ringing_callback: decisionGate({ connected: false }, on),
            answered_no_media: decisionGate({ connected: true, mediaUp: false }, on),
            media_no_snapshot: decisionGate({ connected: true, mediaUp: true }, on),
            media_blank_snapshot: decisionGate(
              { connected: true, mediaUp: true, faceSnapshot: null, snapshot: { face_found: false } }, on),
            media_and_face: decisionGate({ connected: true, mediaUp: true, faceSnapshot: face }, on),
            face_not_required: decisionGate({ connected: true, mediaUp: true }, off),
            older_server: decisionGate({ connected: true, mediaUp: true }, {}),
          };
        }"""
    )
    assert gates["ringing_callback"] == {
        "A": ["answered", "media", "face"],
        "R": ["answered"],
        "C": ["answered", "media"],
        "D": [],
    }
    assert gates["answered_no_media"] == {"A": ["media", "face"], "R": [], "C": ["media"], "D": []}
    for name in ("media_no_snapshot", "media_blank_snapshot", "older_server"):
        assert gates[name] == {"A": ["face"], "R": [], "C": [], "D": []}, name
    for name in ("media_and_face", "face_not_required"):
        assert gates[name] == {"A": [], "R": [], "C": [], "D": []}, name


def test_a_decision_the_server_refuses_is_explained_beside_the_buttons(open_page, stack):
    """The server is the authority: its DECISION_NOT_ALLOWED (here answered in the server's place, to the
    first call.decide the page sends) is shown in the decision panel, and the call stays decidable."""
    refused: list[dict] = []

    def between(ws: Any) -> None:
        server = ws.connect_to_server()

        def from_page(frame: str | bytes) -> None:
            message = json.loads(frame) if isinstance(frame, str) else {}
            if message.get("action") == "call.decide" and not refused:
                refused.append(message)
                ws.send(
                    json.dumps(
                        {
                            "action": "error",
                            "request_id": message["request_id"],
                            "call_id": message["call_id"],
                            "code": "DECISION_NOT_ALLOWED",
                            "message": "Decision D is not allowed on this call.",
                        }
                    )
                )
                return
            server.send(frame)

        ws.on_message(from_page)

    page = open_page("about:blank", "tdv1.kv1")
    page.route_web_socket(lambda url: url.startswith(stack.ws_url), between)
    page.goto("/agent.html")
    login(page, "tdv1.kv1", "#work")
    go_available(page)
    dossier_id = new_dossier()
    mobile = caller(stack, dossier_id)
    call_id = mobile.request("call.request")["call_id"]
    page.wait_for_selector("#offer", state="visible")
    page.click("#accept")
    wait_phase(page, "incall")
    mobile.request("call.hangup", call_id=call_id)
    wait_phase(page, "wrapup")

    decide(page, "D", "Khách hàng không nghe rõ")
    card = page.wait_for_selector("#decision .error-card[data-code=DECISION_NOT_ALLOWED]")
    assert "Không thể ra quyết định này" in card.inner_text() and call_id in card.inner_text()
    assert refused and refused[0]["decision"] == "D"
    assert DossierRepository().get(dossier_id).state == "W" and page.evaluate("window.vkyc.phase") == "wrapup"

    decide(page, "D")  # the next one reaches the server
    wait_phase(page, "idle")
    assert DossierRepository().get(dossier_id).state == "D"
    assert page.query_selector("#decision .error-card") is None
    mobile.close()
