"""The media node's monitor link (issue #16: silent monitoring), with real aiortc peers and an engine in
this process: the monitor gets the caller's video while the parties' media goes on; what the monitor
sends is never relayed nor recorded; its link is never reported (no event names it); it cannot be
attached to a call the node does not carry; ``detach`` closes it and the parties go on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bench.media_peers import FrameLog, agent_peer, connect, mobile_peer, until
from media_node.config import NodeConfig
from media_node.engine import MediaEngine, MediaEvent
from media_node.errors import BadParty, CallNotFound
from media_node.storage import S3Store
from sdk.media import BlankVideo, EncodedVideoTrack, MediaPeer

CALL = "IT-MONITOR-1"


@dataclass
class Observed:
    monitor_classes: list[str]
    agent_classes: list[str]
    mobile_classes_after: list[str]
    events: list[MediaEvent]
    parties_after_detach: set[str]
    agent_frames_after_detach: int
    refused: dict[str, str] = field(default_factory=dict)


async def run(store: S3Store) -> Observed:
    events: list[MediaEvent] = []
    engine = MediaEngine(store, NodeConfig(node_id="it-monitor"), on_event=events.append)
    await engine.start()
    mobile_log, agent_log, monitor_log = FrameLog(), FrameLog(), FrameLog()
    mobile, agent = mobile_peer(log=mobile_log), agent_peer(log=agent_log)
    # A monitor that sends a (black) camera anyway: none of it may reach anyone.
    monitor = MediaPeer(video=EncodedVideoTrack(BlankVideo()), audio=None, on_video_frame=monitor_log)
    refused: dict[str, str] = {}
    try:
        try:
            await engine.attach("NOT-OPEN", "monitor", await MediaPeer(video=None, audio=None).offer())
        except CallNotFound as exc:
            refused["not_open"] = exc.code
        await engine.open_call(CALL)
        await connect(engine, CALL, "mobile", mobile)
        await engine.answered(CALL)
        await connect(engine, CALL, "agent", agent)
        await until(lambda: agent_log.classes().count("customer") >= 10)
        await connect(engine, CALL, "monitor", monitor)
        await until(lambda: len(monitor_log.classes()) >= 20)
        await until(lambda: engine.stats(CALL).parties["monitor"].video_frames_in >= 10)
        agent_count, mobile_since = len(agent_log.classes()), len(mobile_log.classes())
        await until(lambda: len(agent_log.classes()) >= agent_count + 15)
        await until(lambda: len(mobile_log.classes()) >= mobile_since + 15)
        mobile_after = mobile_log.classes()[mobile_since:]
        try:
            await engine.detach(CALL, "agent")
        except BadParty as exc:
            refused["detach_agent"] = exc.code
        assert await engine.detach(CALL, "monitor")
        parties = set(engine.stats(CALL).parties)
        before = len(agent_log.classes())
        await until(lambda: len(agent_log.classes()) >= before + 10)
        info = await engine.close_call(CALL, "hangup")
        assert info.key is not None
        return Observed(
            monitor_classes=monitor_log.classes(),
            agent_classes=agent_log.classes(),
            mobile_classes_after=mobile_after,
            events=events,
            parties_after_detach=parties,
            agent_frames_after_detach=len(agent_log.classes()) - before,
            refused=refused,
        )
    finally:
        for peer in (monitor, mobile, agent):
            await peer.close()
        await engine.shutdown()


@pytest.fixture(scope="module")
def observed(media_store: S3Store) -> Observed:
    return asyncio.run(run(media_store))


def test_the_monitor_decodes_the_callers_video(observed: Observed) -> None:
    assert len(observed.monitor_classes) >= 20
    assert set(observed.monitor_classes) == {"customer"}


def test_what_the_monitor_sends_reaches_neither_party(observed: Observed) -> None:
    # The mobile sees only the agent's green camera (after the waiting clip), never the monitor's black.
    assert observed.mobile_classes_after and set(observed.mobile_classes_after) == {"agent"}


def test_the_monitor_link_is_never_reported(observed: Observed) -> None:
    assert observed.events and {e.party.value for e in observed.events} == {"mobile", "agent"}


def test_detach_closes_the_monitor_only(observed: Observed) -> None:
    assert observed.parties_after_detach == {"mobile", "agent"}
    assert observed.agent_frames_after_detach >= 10
    assert observed.refused == {"not_open": "MEDIA_CALL_NOT_FOUND", "detach_agent": "MEDIA_BAD_PARTY"}
