"""Silent monitoring (issue #16) through the whole wiring: the local stack, a media node as a real
process, a mobile (face video) and an agent speaking the protocol through the SDK, and a supervisor of
the call's unit whose receive-only peer connection (``supervisor.monitor``) gets the customer's video
decoded, while the agent's and the mobile's received frames keep growing and neither gets any push.
A supervisor of another unit is refused; the start and the stop are on the call's event log, and an
admin reads them in the admin audit log over HTTP (``GET /admin/v1/audit``), filtered as any entry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.media_peers import FrameLog, agent_peer, mobile_peer, until
from local.media_node_process import MediaNodeProcess
from local.stack import Stack
from media_node.storage import S3Store
from sdk import VkycClient, login
from sdk.errors import ServerError
from sdk.media import MediaPeer, connect_media
from tests.binding import assert_bound_to
from tests.integration.admin_http import AdminHttp
from tests.integration.call_drivers import PASSWORD, LoadUnit, create_unit, invalidate_routing
from tests.integration.media.test_wired_calls import UNIT, call_item, ringing_call
from tests.polling import wait_until
from vkyc.domain.roles import UserRole
from vkyc.protocol.messages import MediaAnswer, MediaLinks
from vkyc.repositories import media_nodes, users
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.tables import Unit
from vkyc.security.passwords import hash_password

OTHER_UNIT = "58"


def supervisor_of(unit_id: str) -> str:
    name = f"gs-mon-{unit_id}"
    users.put_user(
        name,
        role=UserRole.SUPERVISOR,
        unit_id=unit_id,
        display_name=name,
        password_hash=hash_password(PASSWORD),
    )
    return name


@pytest.fixture(scope="module")
def unit(stack: Stack) -> LoadUnit:
    assert_bound_to(stack)
    created = create_unit(UNIT, 2)
    Unit(OTHER_UNIT, name="Another unit", has_agents=True).save()
    invalidate_routing()
    return created


@pytest.fixture(scope="module")
def node(stack: Stack, unit: LoadUnit, node_waiting_media: None) -> Iterator[MediaNodeProcess]:
    # A node another module started must be gone: this one carries the call.
    wait_until(
        lambda: not [n for n in media_nodes.all_nodes() if media_nodes.view(n).live(datetime.now(UTC))]
    )
    started = MediaNodeProcess(stack.http_url, f"media-it-mon-{uuid.uuid4().hex[:4]}").start()
    yield started
    started.stop()


def monitor_peer(log: FrameLog) -> MediaPeer:
    """A receive-only peer, as the supervisor's page makes it: the customer's audio and video, then the
    agent's."""
    peer = MediaPeer(video=None, audio=None, on_video_frame=log, max_bundle=True)
    for transceiver in peer.pc.getTransceivers():
        transceiver.direction = "recvonly"
    for kind in ("audio", "video"):
        peer.pc.addTransceiver(kind, direction="recvonly")
    return peer


@dataclass
class Monitored:
    call_id: str
    supervisor: str
    monitor_log: FrameLog
    monitor_audio_frames: int
    agent_frames: tuple[int, int]
    mobile_frames: tuple[int, int]
    agent_pushes: list[Any]
    mobile_pushes: list[Any]
    stranger_code: str
    events: list[tuple[str, str, str]]
    state_after: str


async def monitored_call(stack: Stack, unit: LoadUnit, store: S3Store) -> Monitored:
    parties = await ringing_call(stack, unit, store, unit.agents[1])
    agent, mobile, call_id = parties.agent, parties.mobile, parties.call_id
    mobile_media, agent_media = mobile_peer(), agent_peer()
    monitor_log = FrameLog()
    watcher = monitor_peer(monitor_log)
    supervisor_name, stranger_name = supervisor_of(UNIT), supervisor_of(OTHER_UNIT)
    supervisor = stranger = None
    try:
        await connect_media(mobile, call_id, mobile_media)
        await agent.request("offer.accept", offer_id=parties.offer.offer_id)
        await mobile.next_push("call.connected", timeout=5)
        await connect_media(agent, call_id, agent_media)
        await until(lambda: call_item(call_id).state == "CONNECTED", interval=0.05)
        # Whatever the parties were told about their own links has arrived before the supervisor comes.
        seen: list[Any] = []
        await until(
            lambda: (
                seen.extend(agent.drain_pushes())
                or any(isinstance(p, MediaLinks) and p.links.agent == p.links.mobile == "up" for p in seen)
            )
        )
        await until(lambda: mobile_media.received["video"].frames >= 10)
        mobile.drain_pushes()

        grant = await login(stack.http_url, stranger_name, PASSWORD)
        stranger = await VkycClient.open(grant.ws_url, token=grant.token)
        stranger_code = ""
        probe = monitor_peer(FrameLog())
        try:
            offer = await probe.offer()
            await stranger.request_then(
                "supervisor.monitor", {"media.answer"}, 10, call_id=call_id, sdp=offer
            )
        except ServerError as exc:
            stranger_code = exc.code
        finally:
            await probe.close()

        grant = await login(stack.http_url, supervisor_name, PASSWORD)
        supervisor = await VkycClient.open(grant.ws_url, token=grant.token)
        answer = await supervisor.request_then(
            "supervisor.monitor", {"media.answer"}, 20, call_id=call_id, sdp=await watcher.offer()
        )
        assert isinstance(answer, MediaAnswer)
        await watcher.accept(answer.sdp)
        await watcher.wait_connected(30)
        agent_before = agent_media.received["video"].frames
        mobile_before = mobile_media.received["video"].frames
        await until(
            lambda: (
                monitor_log.classes().count("customer") >= 30 and monitor_log.classes().count("agent") >= 30
            ),
            timeout=30,
        )
        await until(lambda: agent_media.received["video"].frames >= agent_before + 20)
        await until(lambda: mobile_media.received["video"].frames >= mobile_before + 20)
        await supervisor.request("supervisor.monitor_stop", call_id=call_id)
        events = await until(
            lambda: (
                (h := [(e.event, e.actor, e.to_state) for e in CallRepository().history(call_id)])
                and h[-1][0] == "monitor_stopped"
                and h
            )
        )
        # The parties' media goes on after the supervisor left.
        agent_after, mobile_after = (
            agent_media.received["video"].frames,
            mobile_media.received["video"].frames,
        )
        await until(lambda: agent_media.received["video"].frames >= agent_after + 10)
        await until(lambda: mobile_media.received["video"].frames >= mobile_after + 10)
        return Monitored(
            call_id=call_id,
            supervisor=supervisor_name,
            monitor_log=monitor_log,
            monitor_audio_frames=watcher.received["audio"].frames,
            agent_frames=(agent_before, agent_media.received["video"].frames),
            mobile_frames=(mobile_before, mobile_media.received["video"].frames),
            agent_pushes=agent.drain_pushes(),
            mobile_pushes=mobile.drain_pushes(),
            stranger_code=stranger_code,
            events=events,
            state_after=call_item(call_id).state,
        )
    finally:
        for peer in (watcher, mobile_media, agent_media):
            await peer.close()
        for client in (supervisor, stranger, mobile, agent):
            if client is not None:
                await client.close()


@pytest.fixture(scope="module")
def monitored(stack: Stack, unit: LoadUnit, node: MediaNodeProcess) -> Monitored:
    return asyncio.run(monitored_call(stack, unit, S3Store.from_env()))


def test_the_supervisor_decodes_the_customers_and_the_agents_video_and_hears_them(
    monitored: Monitored,
) -> None:
    classes = monitored.monitor_log.classes()
    assert classes.count("customer") >= 30 and classes.count("agent") >= 30
    assert "waiting" not in classes
    assert monitored.monitor_audio_frames > 0


def test_the_parties_media_keeps_flowing_and_they_are_told_nothing(monitored: Monitored) -> None:
    assert monitored.agent_frames[1] >= monitored.agent_frames[0] + 30
    assert monitored.mobile_frames[1] >= monitored.mobile_frames[0] + 30
    assert monitored.agent_pushes == [] and monitored.mobile_pushes == []
    assert monitored.state_after == "CONNECTED"


def test_a_supervisor_of_another_unit_is_refused(monitored: Monitored) -> None:
    assert monitored.stranger_code == "CALL_NOT_FOUND"


def test_the_start_and_the_stop_are_audited_with_the_supervisor_as_actor(monitored: Monitored) -> None:
    mine = [e for e in monitored.events if e[0].startswith("monitor_")]
    assert mine == [
        ("monitor_started", monitored.supervisor, "CONNECTED"),
        ("monitor_stopped", monitored.supervisor, "CONNECTED"),
    ]


def test_an_admin_reads_the_start_and_the_stop_in_the_audit_log(stack: Stack, monitored: Monitored) -> None:
    admin = AdminHttp(stack.http_url)
    status, log, _ = admin.call("GET", "/audit", kind="call_monitoring", object_id=monitored.call_id)
    assert status == 200, log
    entries = [(e["action"], e["actor"], e["unit"], e["object_id"]) for e in log["entries"]]
    assert entries == [  # newest first
        ("stop", monitored.supervisor, UNIT, monitored.call_id),
        ("start", monitored.supervisor, UNIT, monitored.call_id),
    ]
    assert {e["after"]["serving_unit"] for e in log["entries"]} == {UNIT}
    status, by_unit, _ = admin.call("GET", "/audit", kind="call_monitoring", unit=int(UNIT))
    assert status == 200, by_unit
    assert monitored.call_id in {e["object_id"] for e in by_unit["entries"]}
    assert {e["unit"] for e in by_unit["entries"]} == {UNIT}
    status, by_actor, _ = admin.call("GET", "/audit", kind="call_monitoring", actor="nobody")
    assert status == 200 and by_actor["total"] == 0
