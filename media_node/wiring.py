"""The media node on the signaling channel: what ``python -m media_node`` (or ``run``) runs.

The node is one more client of the WebSocket API, role ``media`` (``sdk.client.VkycClient``): it gets
a token from ``POST /auth/node`` (``VKYC_MEDIA_NODE_ID`` and its own key ``VKYC_MEDIA_NODE_KEY``, which
is bound to that id: ``vkyc.security.node_keys``), connects, and then

- sends ``node.heartbeat`` (address, capacity, load) every ``heartbeat_s`` (3 s; signaling counts a
  node silent for 15 s as dead) and ``media.sync`` (the calls it carries) on connecting and every
  ``sync_s`` (30 s), closing the calls signaling says are over (a lost ``media.close``, a call that
  ended while the node was away);
- serves the pushes: ``media.attach`` (open the call if needed, answer the party's offer →
  ``media.answer``; a supervisor's ``monitor`` only to a call the node carries), ``media.detach`` (close
  the monitor's link), ``media.snapshot_request`` (→ ``media.snapshot_taken``), ``media.close`` (→
  ``media.recording``), ``media.recover`` (assemble a dead node's recording → ``media.recording``);
  a failure of any of them is reported as ``media.error`` with its catalogue code;
- reports its links going up and being lost (``media.event``, with both parties' link states).

Each push runs in a task of its own (a snapshot waits for a key frame; an attach for ICE gathering),
except that the orders of one call are serialized (open before attach, close after). A session that
is lost (the node was away longer than the grace) is replaced by a fresh one with a new token; its
first ``media.sync`` closes what signaling ended meanwhile. SIGTERM: every open call is closed and its
recording reported, then the session ends (``session.bye``) and signaling ends the calls still live.

A call id the node closed is remembered (the last 10,000): a late ``media.attach`` for it is refused
(``MEDIA_CALL_STATE``) instead of opening it again. When it opens a call, parts of that call left in
S3 by another node (a caller whose waiting media was on a node that died) are discarded: they would
collide with its own (same part numbers).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from media_node import fleet
from media_node.config import NodeConfig
from media_node.engine import MediaEngine, MediaEvent
from media_node.errors import CallStateError, MediaError, RecordingNotFound
from media_node.recorder import RecordingInfo, recover_recording
from media_node.states import CallMediaState, LinkState
from sdk.auth import node_token
from sdk.client import VkycClient, wait_event
from sdk.errors import SdkError, SessionLost
from vkyc.protocol.messages import (
    MediaAttach,
    MediaClose,
    MediaDetach,
    MediaRecover,
    MediaSnapshotRequest,
    MediaSyncResult,
    ReplyTo,
)

log = logging.getLogger("vkyc.media.wiring")

CLIENT_NAME = "vkyc-media-node/0.1"
REMEMBERED_CLOSED = 10_000
BAD_WAITING_MEDIA_S = 300.0  # a queue's clip that failed is not tried again for this long
RECONNECT_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
LINK_STATUS = {
    LinkState.NEW: "new",
    LinkState.CONNECTING: "connecting",
    LinkState.CONNECTED: "up",
    LinkState.LOST: "lost",
    LinkState.CLOSED: "closed",
}


@dataclass(frozen=True)
class WiringConfig:
    """Where signaling is and how the node introduces itself (environment variables in brackets)."""

    rest_url: str = "http://127.0.0.1:8000"  # VKYC_REST_URL: POST /auth/node is there
    node_key: str = ""  # VKYC_MEDIA_NODE_KEY: this node's own key (python -m vkyc.security.node_keys <id>)
    address: str = ""  # VKYC_MEDIA_ADDRESS: shown in the registration (default: the host name)
    heartbeat_s: float = 3.0  # VKYC_MEDIA_HEARTBEAT_S
    sync_s: float = 30.0  # VKYC_MEDIA_SYNC_S
    health_file: str = ""  # VKYC_MEDIA_HEALTH_FILE: touched after each accepted heartbeat (media_node.fleet)
    load_log_s: float = 0.0  # VKYC_MEDIA_LOAD_LOG_S: print the load line this often (0: never)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WiringConfig:
        env = os.environ if environ is None else environ
        return cls(
            rest_url=env.get("VKYC_REST_URL", cls.rest_url),
            node_key=env.get("VKYC_MEDIA_NODE_KEY", ""),
            address=env.get("VKYC_MEDIA_ADDRESS") or socket.gethostname(),
            heartbeat_s=float(env.get("VKYC_MEDIA_HEARTBEAT_S", cls.heartbeat_s)),
            sync_s=float(env.get("VKYC_MEDIA_SYNC_S", cls.sync_s)),
            health_file=env.get(fleet.HEALTH_FILE_VARIABLE, ""),
            load_log_s=float(env.get(fleet.LOAD_LOG_VARIABLE) or 0),
        )


class NodeWiring:
    """Drives one ``MediaEngine`` from signaling. Build the engine with ``on_event=wiring.on_event``."""

    def __init__(self, engine: MediaEngine, config: NodeConfig, wiring: WiringConfig) -> None:
        self.engine = engine
        self.config = config
        self.wiring = wiring
        self.client: VkycClient | None = None
        self.connected = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._bad_waiting: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Connect (again and again, with a fresh session when one is lost) until ``stop`` is set; then
        close every call, report the recordings and end the session."""
        failures = 0
        while not stop.is_set():
            try:
                grant = await node_token(self.wiring.rest_url, self.config.node_id, self.wiring.node_key)
                client = await VkycClient.open(grant.ws_url, token=grant.token, client_name=CLIENT_NAME)
            except SdkError as exc:
                delay = RECONNECT_BACKOFF_S[min(failures, len(RECONNECT_BACKOFF_S) - 1)]
                failures += 1
                log.warning(
                    "node %s cannot reach signaling (%s); again in %.1f s", self.config.node_id, exc, delay
                )
                await _wait(stop, delay)
                continue
            failures = 0
            self.client = client
            self.connected.set()
            log.info(
                "media node %s connected to signaling (session %s)", self.config.node_id, client.session_id
            )
            try:
                await self._serve(client, stop)
            finally:
                self.connected.clear()
            if stop.is_set():
                await self._close_all("node_shutdown")
                await client.close()
            self.client = None
        for task in list(self._tasks):
            task.cancel()

    async def _serve(self, client: VkycClient, stop: asyncio.Event) -> None:
        loops = [
            asyncio.create_task(self._heartbeats(client), name="media-heartbeat"),
            asyncio.create_task(self._syncs(client), name="media-sync"),
            asyncio.create_task(self._pushes(client), name="media-pushes"),
        ]
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([*loops, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*loops, stopper):
                task.cancel()
            await asyncio.gather(*loops, stopper, return_exceptions=True)

    async def _heartbeats(self, client: VkycClient) -> None:
        load_logged = 0.0
        while client.ended is None:
            try:
                await client.request(
                    "node.heartbeat",
                    address=self.wiring.address[:200] or "unknown",
                    capacity=self.engine.capacity,
                    load=self.engine.load,
                )
            except SessionLost:
                return
            except SdkError as exc:
                log.info("heartbeat failed: %s", exc)
            else:
                if self.wiring.health_file:
                    fleet.touch(self.wiring.health_file)
            if self.wiring.load_log_s and time.monotonic() - load_logged >= self.wiring.load_log_s:
                load_logged = time.monotonic()
                print(
                    fleet.load_line(self.config.node_id, self.engine.load, self.engine.capacity), flush=True
                )
            await asyncio.sleep(self.wiring.heartbeat_s)

    async def _syncs(self, client: VkycClient) -> None:
        while client.ended is None:
            try:
                reply = await client.request("media.sync", call_ids=self.engine.call_ids()[:1000])
            except SessionLost:
                return
            except SdkError as exc:
                log.info("media.sync failed: %s", exc)
            else:
                if isinstance(reply, MediaSyncResult):
                    for call_id in reply.ended:
                        self._spawn(self._close(call_id, "call_over"))
            await asyncio.sleep(self.wiring.sync_s)

    async def _pushes(self, client: VkycClient) -> None:
        while True:
            try:
                message = await client.next_push(timeout=5.0)
            except TimeoutError:
                continue
            except SessionLost as exc:
                log.warning("media node %s lost its session (%s)", self.config.node_id, exc.reason)
                return
            if isinstance(message, MediaAttach):
                self._spawn(self._attach(message))
            elif isinstance(message, MediaSnapshotRequest):
                self._spawn(self._snapshot(message))
            elif isinstance(message, MediaDetach):
                self._spawn(self._detach(message))
            elif isinstance(message, MediaClose):
                self._spawn(self._close(message.call_id, message.reason))
            elif isinstance(message, MediaRecover):
                self._spawn(self._recover(message))
            else:
                log.debug("push ignored: %s", getattr(message, "action", message))

    # -- orders ------------------------------------------------------------------------------------
    async def _attach(self, push: MediaAttach) -> None:
        call_id = push.call_id
        try:
            async with self._lock(call_id):
                if call_id in self._closed:
                    raise CallStateError(f"call {call_id} is closed on this node", call_id=call_id)
                if push.party == "monitor" and call_id not in self.engine.call_ids():
                    raise CallStateError(f"call {call_id} has no media on this node", call_id=call_id)
                if call_id not in self.engine.call_ids():
                    await self._discard_stale_parts(call_id)
                    await self.engine.open_call(call_id, await self._waiting_media(push.waiting_media))
            answer = await self.engine.attach(call_id, push.party, push.sdp)
            if push.party != "monitor" and (push.answered or push.party == "agent"):
                await self._answered(call_id)
        except Exception as exc:  # the party waits for an answer: it gets an error instead
            await self._error(call_id, "attach", exc, party=push.party, reply_to=push.reply_to)
            return
        await self._send(
            "media.answer", call_id=call_id, party=push.party, sdp=answer, reply_to=_reply(push.reply_to)
        )

    async def _detach(self, push: MediaDetach) -> None:
        try:
            await self.engine.detach(push.call_id, push.party)
        except MediaError as exc:  # the call closed meanwhile: its links are gone anyway
            log.info("detach %s of %s: %s", push.party, push.call_id, exc)

    async def _answered(self, call_id: str) -> None:
        # The agent's media replaces the waiting media at its first key frame (engine: ``answered``).
        if self.engine.stats(call_id).state is CallMediaState.WAITING:
            await self.engine.answered(call_id)

    async def _snapshot(self, push: MediaSnapshotRequest) -> None:
        try:
            shot = await self.engine.snapshot(push.call_id)
        except Exception as exc:
            await self._error(push.call_id, "snapshot", exc, reply_to=push.reply_to)
            return
        box = shot.face_box
        await self._send(
            "media.snapshot_taken",
            call_id=push.call_id,
            reply_to=_reply(push.reply_to),
            snapshot_id=shot.snapshot_id,
            key=shot.key,
            face_found=shot.face_found,
            face_box=None if box is None else [box.x, box.y, box.width, box.height],
            sharpness_tenths=max(0, round(shot.sharpness * 10)),
            taken_at_ms=int(shot.taken_at.timestamp() * 1000),
            width=shot.width,
            height=shot.height,
        )

    async def _close(self, call_id: str, reason: str) -> None:
        """Close the call's media and report its recording. A call this node does not carry: its
        recording may still be in S3 (a previous process of this node): assembled if so, else reported
        as none, so that signaling never waits for it. ``not_assigned``: not ours at all, dropped."""
        async with self._lock(call_id):
            carried = call_id in self.engine.call_ids()
            self._remember_closed(call_id)
            if not carried and reason == "not_assigned":
                return
            try:
                if carried:
                    info = await self.engine.close_call(call_id, reason)
                else:
                    info = await self._recovered(call_id, 0.0, reason)
            except Exception as exc:  # the parts stay in S3: signaling has them recovered
                await self._error(call_id, "close", exc)
                return
        await self._report(info)

    async def _recover(self, push: MediaRecover) -> None:
        try:
            info = await asyncio.get_running_loop().run_in_executor(
                self.engine.io_executor,
                lambda: recover_recording(
                    self.engine.store, push.call_id, layout=self.engine.layout, min_idle_s=push.min_idle_s
                ),
            )
        except Exception as exc:
            await self._error(push.call_id, "recover", exc)
            return
        await self._report(info)

    async def _recovered(self, call_id: str, min_idle_s: float, reason: str) -> RecordingInfo:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self.engine.io_executor,
                lambda: recover_recording(
                    self.engine.store,
                    call_id,
                    layout=self.engine.layout,
                    min_idle_s=min_idle_s,
                    end_reason=reason,
                ),
            )
        except RecordingNotFound:
            return RecordingInfo(call_id, None, 0, 0.0, None, False, end_reason=reason)

    async def _close_all(self, reason: str) -> None:
        for call_id in self.engine.call_ids():
            await self._close(call_id, reason)

    # -- events and reports ------------------------------------------------------------------------
    def on_event(self, event: MediaEvent) -> None:
        """``MediaEngine``'s ``on_event``: a link went up or was lost → ``media.event``."""
        try:
            parties = self.engine.stats(event.call_id).parties
        except MediaError:
            return  # closed meanwhile
        links = {p: LINK_STATUS[parties[p].state] if p in parties else "none" for p in ("mobile", "agent")}
        self._spawn(
            self._send(
                "media.event",
                call_id=event.call_id,
                kind=event.kind,
                party=event.party.value,
                stream=event.stream,
                links=links,
            )
        )

    async def _report(self, info: RecordingInfo) -> None:
        await self._send(
            "media.recording",
            call_id=info.call_id,
            key=info.key,
            size=info.size,
            duration_ms=round(info.duration_s * 1000),
            sha256=info.sha256,
            incomplete=info.incomplete,
            end_reason=(info.end_reason or "")[:200] or None,
        )

    async def _error(
        self,
        call_id: str,
        op: str,
        exc: Exception,
        *,
        party: str | None = None,
        reply_to: ReplyTo | None = None,
    ) -> None:
        """``media.error`` with the error's catalogue code; an error the engine did not foresee is
        ``INTERNAL_ERROR`` (logged with its trace), so the party is never left waiting."""
        if isinstance(exc, MediaError):
            code, detail = exc.code, exc.detail
            log.info("%s of %s failed: %s", op, call_id, exc)
        else:
            code, detail = "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"
            log.error("%s of %s failed unexpectedly", op, call_id, exc_info=exc)
        await self._send(
            "media.error",
            call_id=call_id,
            op=op,
            code=code,
            message=detail[:500],
            party=party,
            reply_to=None if reply_to is None else _reply(reply_to),
        )

    async def _send(self, action: str, **fields: Any) -> None:
        """One signed message; waits for signaling to be connected (a report is worth a short wait)."""
        for _ in range(3):
            client = self.client
            if client is None or client.ended is not None:
                if not await wait_event(self.connected, 30):
                    break
                continue
            try:
                await client.request(action, **fields)
                return
            except SessionLost:
                continue
            except SdkError as exc:
                log.warning("%s of %s refused: %s", action, fields.get("call_id"), exc)
                return
        log.error("%s of %s not delivered: signaling unreachable", action, fields.get("call_id"))

    # -- helpers -----------------------------------------------------------------------------------
    async def _waiting_media(self, key: str | None) -> str | None:
        """The queue's clip, if it can be played (encoded once, cached by the engine); else the
        default. A clip that failed is not tried again for ``BAD_WAITING_MEDIA_S``."""
        if key is None:
            return None
        failed_at = self._bad_waiting.get(key)
        if failed_at is not None and time.monotonic() - failed_at < BAD_WAITING_MEDIA_S:
            return None
        try:
            await self.engine.preload_waiting_media(key)
        except Exception as exc:  # a queue's bad clip must not fail the call
            log.warning("waiting media %s unusable (%s); playing the default", key, exc)
            self._bad_waiting[key] = time.monotonic()
            return None
        return key

    async def _discard_stale_parts(self, call_id: str) -> None:
        store, prefix = self.engine.store, self.engine.layout.parts_prefix(call_id)
        loop = asyncio.get_running_loop()
        parts = await loop.run_in_executor(self.engine.io_executor, store.list_prefix, prefix)
        if parts:
            log.warning("call %s: %d recording part(s) of another node discarded", call_id, len(parts))
            await loop.run_in_executor(self.engine.io_executor, store.delete, [p.key for p in parts])

    def _lock(self, call_id: str) -> asyncio.Lock:
        lock = self._locks.get(call_id)
        if lock is None:
            if len(self._locks) > REMEMBERED_CLOSED:
                for stale in [k for k, v in self._locks.items() if not v.locked()][: REMEMBERED_CLOSED // 2]:
                    del self._locks[stale]
            lock = self._locks[call_id] = asyncio.Lock()
        return lock

    def _remember_closed(self, call_id: str) -> None:
        self._closed[call_id] = None
        self._closed.move_to_end(call_id)
        while len(self._closed) > REMEMBERED_CLOSED:
            self._closed.popitem(last=False)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("media order failed", exc_info=task.exception())


def _reply(reply_to: ReplyTo) -> dict[str, str]:
    return reply_to.model_dump(mode="json")


async def _wait(stop: asyncio.Event, delay: float) -> None:
    # wait_event, not asyncio.wait_for: on Python 3.11 wait_for swallows a cancellation that comes as
    # ``stop`` is set, and the node's shutdown would then wait for the next reconnection attempt.
    await wait_event(stop, delay)
