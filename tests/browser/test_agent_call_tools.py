"""The agent's own tools in a call (issue #16), in Chromium: mute, the camera and microphone lists, the
network grade, and after-call work (wrap-up kept after the decision until the agent is Available, no
call offered meanwhile). Frames and the network grade with a media node: test_whole_call.py."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import decide, go_available, login, wait_phase, wait_status
from tests.integration.test_calls import caller, new_dossier
from vkyc.repositories.agents import AgentRepository

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def test_the_network_grade_reads_loss_and_delay(open_page):
    page = open_page("/agent.html")
    grades = page.evaluate(
        """async () => {
          const { grade } = await import('/js/callcontrols.js');
          const cases = [[null, 0], [0, 0.02], [0.03, 0.02], [0, 0.2], [0.1, 0], [0, 0.5]];
          return cases.map(([loss, delay]) => grade(loss, delay));
        }"""
    )
    assert grades == ["unknown", "good", "fair", "fair", "poor", "poor"]


def test_mute_devices_and_after_call_work(open_page, stack):
    page = open_page("/agent.html", "tdv1.kv1")
    login(page, "tdv1.kv1", "#work")
    go_available(page)
    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    page.wait_for_selector("#offer", state="visible")
    page.click("#accept")
    wait_phase(page, "incall")

    page.wait_for_selector("#media-controls", state="visible")
    audio_on = "() => document.querySelector('#local-video').srcObject.getAudioTracks().every(t => t.enabled)"
    assert page.evaluate(audio_on) is True
    page.click("#mute")
    assert page.get_attribute("#mute", "aria-pressed") == "true" and page.evaluate(audio_on) is False
    assert page.inner_text("#mute") == "Bật micro"
    page.wait_for_function("() => document.querySelectorAll('#camera-select option').length > 0")
    assert page.eval_on_selector_all("#mic-select option", "os => os.length") > 0
    assert page.inner_text("#quality").startswith("Mạng:")
    screenshot(page, "agent-call-tools")
    page.click("#mute")
    assert page.evaluate(audio_on) is True

    mobile.request("call.hangup", call_id=call_id)
    wait_phase(page, "wrapup")
    page.check("#acw")
    decide(page, "D", code=1)
    wait_phase(page, "idle")
    wait_status(page, "WRAP_UP")
    agent = AgentRepository().get("tdv1.kv1")
    assert (agent.state, agent.after_call_work) == ("WRAP_UP", True)
    assert "Sẵn sàng" in page.inner_text("#idle-text")
    mobile.close()

    # A caller meanwhile waits in the queue; the agent's Available rings it there.
    waiting = caller(stack, new_dossier())
    waiting_id = waiting.request("call.request")["call_id"]
    assert page.is_hidden("#offer")
    go_available(page)
    page.wait_for_selector("#offer", state="visible")
    assert page.evaluate("window.vkyc.pushes.includes('call.offer')")
    waiting.request("call.cancel", call_id=waiting_id)
    wait_phase(page, "idle")
    waiting.close()
