"""Silent monitoring (issue #16), in Chromium: during a live call between the SDK's mobile (a real face)
and the agent page, the supervisor clicks Listen on the agent's row: the console decodes the customer's
video and the agent's (``videoWidth`` > 0, ``currentTime`` advancing, ``framesDecoded`` growing), while
the agent's page shows no sign of it (no push, no text) and keeps decoding; Stop ends it. Both are on
the call's log with the supervisor as actor."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import dossier_with_images, go_available, login, wait_phase
from tests.browser.test_whole_call import Mobile, frames_decoded, media_node, wait_frames
from tests.polling import wait_until
from vkyc.repositories.calls import CallRepository

__all__ = ["media_node"]  # the node process fixture, shared with the whole call's module

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def listen_frames(page: Any) -> int:
    return int(page.evaluate("async () => window.vkycSupervisor.listenFrames()"))


def wait_listen_frames(page: Any, count: int) -> int:
    return wait_until(lambda: (decoded := listen_frames(page)) >= count and decoded, timeout=30)


def test_a_supervisor_listens_to_a_live_call_and_the_agent_sees_no_sign(open_page, stack, loop, media_node):
    dossier_id = dossier_with_images()
    supervisor = open_page("/supervisor.html", "gs.kv1")
    login(supervisor, "gs.kv1", "#console")
    agent = open_page("/agent.html", "tdv1.kv1")
    login(agent, "tdv1.kv1", "#work")
    go_available(agent)
    mobile = Mobile(loop)
    try:
        call_id = mobile.call(stack.http_url, dossier_id)
        agent.wait_for_selector("#offer", state="visible")
        supervisor.wait_for_selector('tr[data-agent="tdv1.kv1"][data-status=RINGING]')
        assert supervisor.query_selector("button[data-listen]") is None, "no Listen before the answer"
        agent.click("#accept")
        wait_phase(agent, "incall")
        mobile.next_push("call.connected")
        wait_frames(agent, 30)
        agent.wait_for_function("() => window.vkyc.pushes.includes('media.links')")
        pushes_before = agent.evaluate("window.vkyc.pushes.length")

        supervisor.click(f'button[data-listen="{call_id}"]')
        supervisor.wait_for_selector("#listen", state="visible")
        supervisor.wait_for_function(
            "() => document.querySelector('#listen-video').videoWidth > 0", timeout=30000
        )
        started = supervisor.evaluate("document.querySelector('#listen-video').currentTime")
        supervisor.wait_for_function(
            "t => document.querySelector('#listen-video').currentTime > t + 1", arg=started, timeout=30000
        )
        supervisor.wait_for_function(
            "() => document.querySelector('#listen-agent-video').videoWidth > 0", timeout=30000
        )
        first = wait_listen_frames(supervisor, 30)
        wait_listen_frames(supervisor, first + 15)
        assert "Đang nghe" in supervisor.inner_text("#listen-state")
        screenshot(supervisor, "supervisor-listening")

        # The agent's page: media goes on, and nothing arrived or changed because of the supervisor.
        agent_frames = frames_decoded(agent)
        wait_frames(agent, agent_frames + 15)
        assert agent.evaluate("window.vkyc.pushes.length") == pushes_before
        assert "giám sát" not in agent.inner_text("body").lower()
        assert CallRepository().get(call_id).state == "CONNECTED"

        supervisor.click("#listen-stop")
        supervisor.wait_for_selector("#listen", state="hidden")
        events = wait_until(lambda: len(audit := monitor_events(call_id)) == 2 and audit)
        assert events == [("monitor_started", "gs.kv1"), ("monitor_stopped", "gs.kv1")]
        assert agent.evaluate("window.vkyc.pushes.length") == pushes_before
    finally:
        mobile.hang_up()
        mobile.close()


def monitor_events(call_id: str) -> list[tuple[str, str]]:
    return [(e.event, e.actor) for e in CallRepository().history(call_id) if e.event.startswith("monitor_")]
