"""Issue #6's "done when", in Chromium: a whole video call between the reference SDK's mobile client
(aiortc, sending a real face) and the agent page, through the local stack and a media node process,
watched by the supervisor console.

One call, step by step (each step asserts what it promises):
1. the agent logs in and goes available (screenshot: idle); the supervisor console shows the board;
2. the mobile calls: the page rings with the popup and its countdown (screenshot: ringing);
3. the test clicks accept: the supervisor board shows the agent IN_CALL with the call, pushed;
4. video frames are decoded on both sides: ``getStats`` framesDecoded in the page, the agent's
   camera (not the node's waiting clip) at the mobile;
5. the mobile's network drops and comes back: the page is told (peer.reconnecting / reconnected);
6. the snapshot: the face-check result is shown (a real face: found), and only now is A offered (before,
   greyed out with the reason: a snapshot of the face) (screenshot: in call);
7. a reload mid-call resumes the session and the call: same call, fresh media both ways;
8. hang-up: wrap-up with the closing message; R without a reason is refused on the page
   (screenshot: decision); A is recorded: the dossier is A in its table, the mobile gets call.result;
9. the supervisor looks the call up: timeline, snapshot, recording player, calls-per-hour chart
   (screenshots: supervisor-board during the call, supervisor-lookup).
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bench.media_peers import FrameLog, mobile_peer
from local.media_node_process import MediaNodeProcess
from sdk import VkycClient, mobile_token
from sdk.media import BlankVideo, MediaPeer, VideoSource, connect_media
from tests.browser.conftest import LoopThread, screenshot
from tests.browser.helpers import decide, dossier_with_images, go_available, login, wait_phase
from tests.integration.test_signaling import API_KEY_UNIT_1
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.services.ports import as_utc

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


@pytest.fixture(scope="module")
def media_node(stack: Any, node_waiting_media: None) -> Iterator[MediaNodeProcess]:
    node = MediaNodeProcess(stack.http_url, f"media-browser-{uuid.uuid4().hex[:4]}").start()
    yield node
    node.stop()


def frames_decoded(page: Any) -> int:
    stats = page.evaluate("async () => window.vkyc.stats()")
    return int(stats["framesDecoded"]) if stats else 0


def wait_frames(page: Any, count: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        decoded = frames_decoded(page)
        if decoded >= count:
            return decoded
        time.sleep(0.25)
    raise AssertionError(f"the page decoded {frames_decoded(page)} frames, not {count}, within {timeout} s")


def agent_frames(log: FrameLog, since: float) -> int:
    """Frames the mobile decoded since ``since`` that are not the node's waiting clip."""
    return sum(1 for kind in log.classes(since) if kind != "waiting")


def wait_agent_frames(log: FrameLog, since: float, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while agent_frames(log, since) < count:
        assert time.monotonic() < deadline, f"the mobile got {agent_frames(log, since)} agent frames"
        time.sleep(0.2)


class Mobile:
    """The dealer's phone: the SDK's client and an aiortc peer sending FaceVideo, in the loop thread."""

    def __init__(self, loop: LoopThread, video: VideoSource | None = None) -> None:
        self.loop = loop
        self.video = video
        self.log = FrameLog()
        self.client: VkycClient | None = None
        self.peer: MediaPeer | None = None
        self.peers: list[MediaPeer] = []
        self.call_id = ""

    def call(self, http_url: str, dossier_id: str) -> str:
        async def place() -> str:
            grant = await mobile_token(http_url, API_KEY_UNIT_1, "dbh.kv1.hanoi01", dossier_id)
            self.client = await VkycClient.open(grant.ws_url, token=grant.token)
            reply = await self.client.request("call.request")
            self.call_id = reply.call_id  # type: ignore[union-attr]
            await self._connect_media()
            return self.call_id

        return self.loop.run(place(), timeout=40)

    async def _connect_media(self) -> None:
        assert self.client is not None
        self.peer = mobile_peer(self.video, log=self.log)
        self.peers.append(self.peer)
        await connect_media(self.client, self.call_id, self.peer)

    def drop(self) -> None:
        """The network goes: no close frame, no bye, and no automatic resume yet."""
        assert self.client is not None
        self.loop.run(self.client.drop(resume=False))

    def come_back(self) -> None:
        """The network is back: resume the session, then a fresh peer connection to the node."""

        async def again() -> None:
            assert self.client is not None and self.peer is not None
            await self.client.resume()
            await self.peer.close()
            await self._connect_media()

        self.loop.run(again(), timeout=30)

    def next_push(self, action: str, timeout: float = 20) -> Any:
        assert self.client is not None
        return self.loop.run(self.client.next_push(action, timeout=timeout), timeout=timeout + 5)

    def hang_up(self) -> None:
        """End the call from the phone, if it is still on (a test that leaves the agent free)."""
        if self.client is not None and self.call_id:
            with contextlib.suppress(Exception):
                self.loop.run(self.client.request("call.hangup", call_id=self.call_id), timeout=10)

    def close(self) -> None:
        async def done() -> None:
            for peer in self.peers:
                await peer.close()
            if self.client is not None:
                await self.client.close()

        self.loop.run(done(), timeout=20)


def fetch_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return int(response.status)


def test_a_whole_call_in_the_browser(open_page, stack, loop, media_node):
    dossier_id = dossier_with_images()
    supervisor = open_page("/supervisor.html", "gs.kv1")
    login(supervisor, "gs.kv1", "#console")
    supervisor.wait_for_selector('tr[data-agent="tdv1.kv1"]')

    # 1. Logged in, available, the camera previewed.
    agent = open_page("/agent.html", "tdv1.kv1")
    login(agent, "tdv1.kv1", "#work")
    go_available(agent)
    agent.wait_for_function("() => document.querySelector('#preview').videoWidth > 0")
    screenshot(agent, "agent-idle")
    supervisor.wait_for_selector('tr[data-agent="tdv1.kv1"][data-status=AVAILABLE]')

    # 2. The mobile calls (its media already up with the node's waiting clip): the popup rings.
    mobile = Mobile(loop)
    try:
        call_id = mobile.call(stack.http_url, dossier_id)
        agent.wait_for_selector("#offer", state="visible")
        assert "Đỗ Văn Hùng" in agent.inner_text("#offer-fields")
        assert dossier_id in agent.inner_text("#offer-fields")
        assert "giây" in agent.inner_text("#offer-countdown")
        screenshot(agent, "agent-ringing")

        # 3. Accept: in call, and the supervisor's board is pushed the agent IN_CALL with the call.
        agent.click("#accept")
        wait_phase(agent, "incall")
        accepted_at = time.monotonic()
        assert agent.is_disabled("[data-decision=A]"), "no approval before a snapshot of the face"
        assert mobile.next_push("call.connected").agent_id == "tdv1.kv1"
        supervisor.wait_for_selector(f'tr[data-agent="tdv1.kv1"][data-status=IN_CALL] a[href="#{call_id}"]')
        screenshot(supervisor, "supervisor-board")
        assert agent.is_visible("#greeting") and "Xin chào quý khách" in agent.inner_text("#greeting-text")
        for image in ("id_front", "id_back", "portrait"):
            agent.wait_for_function(
                "kind => (document.querySelector(`img[data-image=${kind}]`) || {}).naturalWidth > 0",
                arg=image,
            )

        # 4. Video both ways: decoded in the page (the customer's face), and the agent's camera at the mobile.
        wait_frames(agent, 30)
        wait_agent_frames(mobile.log, accepted_at, 20)
        agent.wait_for_function("() => window.vkyc.mediaState === 'connected'")
        agent.wait_for_function("() => document.querySelector('#remote-video').videoWidth > 0")
        assert CallRepository().get(call_id).state == "CONNECTED"
        # The network grade of both sides: the node's link report arrived, getStats figures graded.
        agent.wait_for_function("() => window.vkyc.pushes.includes('media.links')")
        agent.wait_for_function("() => !['unknown', 'poor'].includes(window.vkyc.quality.customer)")
        assert agent.get_attribute("#quality", "data-level") in ("good", "fair")
        # The customer's video is up: C is offered; A waits for a snapshot with the face, and says so.
        agent.wait_for_selector("[data-decision=C]:enabled")
        assert (
            agent.is_disabled("[data-decision=A]")
            and agent.get_attribute("[data-decision=A]", "data-why") == "face"
        )
        assert "A cần một ảnh chụp thấy khuôn mặt" in agent.inner_text("#decide-why")

        # 5. The customer's network drops and comes back within the grace: the page is told both.
        mobile.drop()
        banner = agent.wait_for_selector(".banner[data-key=peer]")
        assert re.search(r"Khách hàng đang kết nối lại… \(\d+ giây\)", banner.inner_text())
        mobile.come_back()
        agent.wait_for_selector(".banner[data-key=peer-back]")
        assert agent.is_hidden(".banner[data-key=peer]")
        pushes = agent.evaluate("window.vkyc.pushes")
        assert pushes.index("peer.reconnecting") < pushes.index("peer.reconnected")
        wait_phase(agent, "incall")

        # 6. The snapshot, with the face check.
        agent.click("#snapshot")
        verdict = agent.wait_for_selector("#snapshot-verdict[data-face-found=true]")
        assert "Đã thấy khuôn mặt chính diện" in verdict.inner_text()
        snapshot_id = agent.evaluate("window.vkyc.call.snapshot.snapshot_id")
        agent.wait_for_selector("[data-decision=A]:enabled")
        assert agent.is_hidden("#decide-why")
        screenshot(agent, "agent-in-call")

        # 7. Reload mid-call: the session resumes, the call and its snapshot are back, fresh media flows.
        reloaded_at = time.monotonic()
        agent.reload()
        wait_phase(agent, "incall")
        assert agent.evaluate("window.vkyc.call.call_id") == call_id
        assert agent.evaluate("window.vkyc.session.welcome.resumed") is True
        agent.wait_for_selector(".banner[data-key=resumed]")
        wait_frames(agent, 20)
        wait_agent_frames(mobile.log, reloaded_at + 1.0, 15)
        assert agent.is_visible("#snapshot-verdict[data-face-found=true]")
        assert agent.is_enabled("[data-decision=A]"), "the face snapshot and the media survive the reload"

        # The decision is confirmed, with the closing script to read while the customer is there.
        agent.click("[data-decision=A]")
        agent.wait_for_selector("#confirm-closing", state="visible")
        assert "Cảm ơn quý khách" in agent.inner_text("#confirm-closing-text")
        screenshot(agent, "agent-confirm")
        agent.click("#confirm-no")
        assert agent.is_hidden("#confirm") and DossierRepository().get(dossier_id).state == "W"

        # 8. Hang up, wrap-up with the closing message; R needs a reason; A is recorded.
        agent.click("#hangup")
        wait_phase(agent, "wrapup")
        assert mobile.next_push("call.ended").reason == "completed"
        assert "Cảm ơn quý khách" in agent.inner_text("#closing-text")
        decide(agent, "R")  # neither a reason code nor a note
        agent.wait_for_selector("#confirm .error-card[data-code=REASON_REQUIRED]")
        agent.click("#confirm-no")
        assert DossierRepository().get(dossier_id).state == "W"
        agent.fill("#reason", "Khách hàng đã xác nhận thông tin")
        screenshot(agent, "agent-decision")
        decide(agent, "A")
        wait_phase(agent, "idle")
        assert agent.query_selector(".error-card[data-code=REASON_REQUIRED]") is None, "no stale R error"
        done = agent.wait_for_selector(".banner[data-key=decided]")
        assert (
            dossier_id in done.inner_text() and "A" in done.inner_text() and snapshot_id in done.inner_text()
        )
        assert agent.inner_text("#dossier [data-field=state]").startswith("A")
        assert DossierRepository().get(dossier_id).state == "A"
        result = mobile.next_push("call.result")
        assert (result.decision, result.dossier.state, result.snapshot_id) == ("A", "A", snapshot_id)
        screenshot(agent, "agent-decided")
        supervisor.wait_for_selector('tr[data-agent="tdv1.kv1"][data-status=AVAILABLE]')
    finally:
        mobile.close()

    # 9. The supervisor looks the call up: timeline, snapshot, recording; the chart of the day.
    deadline = time.monotonic() + 30
    while CallRepository().get(call_id).recording_key is None:
        assert time.monotonic() < deadline, "the media node did not report the recording"
        time.sleep(0.3)
    supervisor.fill("#lookup-id", call_id)
    supervisor.click("#lookup-form button[type=submit]")
    supervisor.wait_for_selector(f'dl[data-call="{call_id}"]')
    states = supervisor.eval_on_selector_all("#timeline li", "items => items.map(li => li.dataset.state)")
    assert "CONNECTED" in states and states[-1] == "FINISHED"
    supervisor.wait_for_function(
        "id => (document.querySelector(`img[data-snapshot='${id}']`) || {}).naturalWidth > 0", arg=snapshot_id
    )
    recording_url = supervisor.get_attribute("#recording", "src")
    assert recording_url and fetch_status(recording_url) == 200
    # The day of the call, in the unit's time (the call may have been answered just before midnight).
    answered = as_utc(CallRepository().get(call_id).answered_at).astimezone(cached_settings("1").zone())
    supervisor.wait_for_selector("#reports[data-ready]")
    for field in ("#report-from", "#report-to"):
        supervisor.fill(field, answered.date().isoformat())
    supervisor.click("#report-form button[type=submit]")
    supervisor.wait_for_selector("#chart svg rect[data-kind=answered]")
    assert supervisor.inner_text("#sl-text")
    screenshot(supervisor, "supervisor-lookup")


def test_a_snapshot_without_a_face_warns_the_agent_and_keeps_approval_greyed_out(
    open_page, stack, loop, media_node
):
    dossier_id = dossier_with_images()
    agent = open_page("/agent.html", "tdv1.kv1")
    login(agent, "tdv1.kv1", "#work")
    go_available(agent)
    mobile = Mobile(loop, video=BlankVideo())  # the phone films a wall
    try:
        mobile.call(stack.http_url, dossier_id)
        agent.wait_for_selector("#offer", state="visible")
        agent.click("#accept")
        wait_phase(agent, "incall")
        wait_frames(agent, 10)
        agent.click("#snapshot")
        verdict = agent.wait_for_selector("#snapshot-verdict[data-face-found=false]")
        assert "Không thấy khuôn mặt chính diện" in verdict.inner_text()
        # The customer's video is up (C is offered) but no face was seen: A stays greyed out, and says why.
        agent.wait_for_selector("[data-decision=C]:enabled")
        assert (
            agent.is_disabled("[data-decision=A]")
            and agent.get_attribute("[data-decision=A]", "data-why") == "face"
        )
        assert "A cần một ảnh chụp thấy khuôn mặt khách hàng" in agent.inner_text(
            "#decide-why [data-why=face]"
        )
        agent.click("#lang")
        assert "A needs a snapshot showing the customer's face" in agent.inner_text("#decide-why")
        agent.click("#lang")
        agent.click("#hangup")
        wait_phase(agent, "wrapup")
        ended = agent.wait_for_selector("#decide-why [data-why=face_ended]")
        assert "cuộc gọi đã kết thúc mà chưa có" in ended.inner_text()
        assert agent.is_disabled("[data-decision=A]") and agent.is_enabled("[data-decision=C]")
        decide(agent, "D", "Khách hàng không nhìn vào camera")
        wait_phase(agent, "idle")
        assert DossierRepository().get(dossier_id).state == "D"
    finally:
        mobile.close()
