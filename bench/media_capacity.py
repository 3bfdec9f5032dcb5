"""How many relayed + recorded calls one media node process carries at >= 14 fps received, against
aiortc's stock pipeline measured in the same run.

Set-up: a moto server (S3) in this process; the node under test in a process of its own
(``python -m media_node serve --control stdio``, driven through its stdin), so its CPU and memory are
its own; the callers and agents are aiortc peers (``sdk.media.MediaPeer``) in this process.

* **Load.** Each call has a caller sending a real face (scikit-image's astronaut, 640x480, 15 fps,
  ~500 kbit/s VP8 + Opus) and an agent sending a synthetic picture. To keep the load generator
  cheap enough to out-run the node on 2 cores, the peers replay pre-encoded clips
  (``media_node.clip``; a key frame on request from the clip's intra copies) and count received
  frames without decoding them (``MediaPeer(decode=False)``).
* **Ramp.** Calls are added one by one up to 8, then two by two (open, caller attaches, answered,
  agent attaches). After each step: ``--settle`` seconds, then a ``--window`` during which every
  call's two video directions are counted; the level holds if the slowest direction of the slowest
  call got >= 14 fps (a level that misses is counted once more, as the machine is shared). The ramp
  stops at the first level that does not hold (or at ``--max-calls``: the result is then a lower
  bound).
* **Ours** (``media_node``): pass-through relay, waiting media, recording to S3 (parts every 2 s,
  WebM assembled at close). One snapshot per level (p50 reported) on a call picked in turn.
* **Baseline** (``--stock-node``, aiortc's documented pipeline): received tracks decoded, relayed
  through ``MediaRelay`` into senders that re-encode, and each party recorded by a ``MediaRecorder``
  to ``.mp4`` (its defaults: H.264 + AAC).

Prints progress on stderr, then ONE JSON line: ``max_calls_at_14fps``, ``baseline_max_calls``,
``ratio``, ``cpu_pct_per_call`` (node CPU at the highest holding level / calls), ``snapshot_p50_ms``
and ``rss_mb_per_call`` ((node RSS at that level - RSS before any call) / calls).

``--soak SECONDS`` instead runs one call for that long and prints the node's memory over time as one
JSON line (issue #5: memory of a node over a 5-minute call stays flat).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder, MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from bench.media_peers import store_on_moto
from media_node.clip import AUDIO_FRAME_SAMPLES, ClipCursor, EncodedClip, encode_clip
from media_node.control import ControlClient, serve_stdio
from sdk.media import FaceVideo, MediaPeer, SyntheticVideo, Tone

ROOT = Path(__file__).resolve().parent.parent
FPS = 15
TARGET_FPS = 14.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- load: replayed pre-encoded media ------------------------------------------------------------
def make_clips() -> tuple[EncodedClip, EncodedClip]:
    """(caller's face clip, agent's clip): 4 s loops, 640x480 at 15 fps, VP8 ~500 kbit/s, Opus."""
    import numpy as np

    seconds = 4
    face, synthetic = FaceVideo(FPS), SyntheticVideo()
    audio = Tone(440).pcm(0, seconds * 48_000)
    common: dict[str, Any] = {"fps": FPS, "width": 640, "height": 480, "bitrate": 500_000, "gop": 150}
    caller = encode_clip([face.frame(i, 640, 480) for i in range(seconds * FPS)], audio_pcm=audio, **common)
    agent = encode_clip(
        [np.ascontiguousarray(synthetic.frame(i, 640, 480)) for i in range(seconds * FPS)],
        audio_pcm=Tone(660).pcm(0, seconds * 48_000),
        **common,
    )
    return caller, agent


class _Clock:
    """Item ``n`` is due at ``start + n * period`` (a shared absolute schedule: no drift)."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.start: float | None = None

    async def wait(self, index: int) -> None:
        now = time.monotonic()
        if self.start is None:
            self.start = now
        due = self.start + index * self.period
        if due > now:
            await asyncio.sleep(due - now)


class ReplayVideoTrack(MediaStreamTrack):
    """A camera replaying a pre-encoded clip; a key frame (the clip's intra copy) on request."""

    kind = "video"

    def __init__(self, clip: EncodedClip) -> None:
        super().__init__()
        self._cursor = ClipCursor(clip)
        self._clock = _Clock(1 / clip.fps)

    def request_keyframe(self) -> None:
        self._cursor.request_keyframe()

    def set_target_bitrate(self, bps: int) -> None:
        """Pre-encoded: the rate is fixed (the benchmark's links are not constrained)."""

    def report_loss(self, fraction_lost: float) -> None:
        """Pre-encoded: nothing to adapt."""

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        await self._clock.wait(self._cursor.video_index)
        data, timestamp, _key = self._cursor.next_video()
        packet = av.Packet(data)
        packet.pts = packet.dts = timestamp
        packet.time_base = Fraction(1, 90_000)
        return packet


class ReplayAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, clip: EncodedClip) -> None:
        super().__init__()
        self._cursor = ClipCursor(clip)
        self._clock = _Clock(AUDIO_FRAME_SAMPLES / 48_000)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        await self._clock.wait(self._cursor.audio_index)
        data, timestamp = self._cursor.next_audio()
        packet = av.Packet(data)
        packet.pts = packet.dts = timestamp
        packet.time_base = Fraction(1, 48_000)
        return packet


# -- the baseline: aiortc's stock relay + recorder -----------------------------------------------
class _Forward(MediaStreamTrack):
    """A sender's track that plays the other party's (relayed, decoded) track once it exists."""

    def __init__(self, kind: str, source: Any) -> None:
        super().__init__()
        self.kind = kind
        self._source = source

    async def recv(self) -> Any:
        while True:
            track = self._source()
            if track is not None:
                return await track.recv()
            if self.readyState != "live":
                raise MediaStreamError
            await asyncio.sleep(0.05)


@dataclass
class _StockCall:
    relay: MediaRelay = field(default_factory=MediaRelay)
    pcs: dict[str, RTCPeerConnection] = field(default_factory=dict)
    tracks: dict[tuple[str, str], MediaStreamTrack] = field(default_factory=dict)
    relayed: dict[tuple[str, str], MediaStreamTrack] = field(default_factory=dict)
    recorders: list[MediaRecorder] = field(default_factory=list)


class StockNode:
    """aiortc's pipeline as its examples build it: decode, relay, re-encode, ``MediaRecorder``."""

    capacity = 1000

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.calls: dict[str, _StockCall] = {}

    @property
    def load(self) -> int:
        return len(self.calls)

    async def open_call(self, call_id: str, waiting_media: str | None = None) -> None:
        self.calls[call_id] = _StockCall()

    async def attach(self, call_id: str, party: str, offer_sdp: str) -> str:
        call = self.calls[call_id]
        other = "agent" if party == "mobile" else "mobile"
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        call.pcs[party] = pc
        for kind in ("audio", "video"):
            pc.addTransceiver(
                _Forward(kind, lambda k=kind: call.relayed.get((other, k))), direction="sendrecv"
            )
        recorder = MediaRecorder(str(self.out_dir / f"{call_id}-{party}.mp4"))
        call.recorders.append(recorder)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            call.tracks[(party, track.kind)] = track
            call.relayed[(party, track.kind)] = call.relay.subscribe(track, buffered=False)
            recorder.addTrack(call.relay.subscribe(track, buffered=False))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await recorder.start()
        return str(pc.localDescription.sdp)

    async def answered(self, call_id: str) -> None:
        """Stock aiortc has no waiting media: nothing changes at the answer."""

    async def close_call(self, call_id: str, reason: str) -> dict[str, str]:
        call = self.calls.pop(call_id)
        for recorder in call.recorders:
            try:
                await recorder.stop()
            except av.FFmpegError as exc:  # MediaRecorder's own failure (e.g. out-of-order timestamps)
                log(f"  stock MediaRecorder of {call_id} failed at stop: {exc}")
        for pc in call.pcs.values():
            await pc.close()
        return {"reason": reason}

    def stats(self, call_id: str) -> dict[str, str]:
        return {}


async def run_stock_node() -> None:
    with tempfile.TemporaryDirectory(prefix="vkyc-stock-") as tmp:
        node = StockNode(Path(tmp))
        await serve_stdio(node, "stock")
        for call_id in list(node.calls):
            await node.close_call(call_id, "end")


# -- measuring -----------------------------------------------------------------------------------
def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class BenchCall:
    call_id: str
    mobile: MediaPeer
    agent: MediaPeer


@dataclass
class Level:
    calls: int
    min_fps: float
    cpu_pct: float
    rss_mb: float
    generator_cpu_pct: float
    holds: bool


@dataclass
class Ramp:
    kind: str
    levels: list[Level] = field(default_factory=list)
    snapshots_ms: list[float] = field(default_factory=list)
    rss_idle_mb: float = 0.0

    @property
    def max_calls(self) -> int:
        holding = [lv.calls for lv in self.levels if lv.holds]
        return max(holding) if holding else 0

    def level(self, calls: int) -> Level | None:
        return next((lv for lv in self.levels if lv.calls == calls), None)


async def add_call(node: ControlClient, clips: tuple[EncodedClip, EncodedClip], index: int) -> BenchCall:
    call_id = f"BENCH-{index}-{uuid.uuid4().hex[:6]}"
    caller_clip, agent_clip = clips
    mobile = MediaPeer(video=ReplayVideoTrack(caller_clip), audio=ReplayAudioTrack(caller_clip), decode=False)
    agent = MediaPeer(video=ReplayVideoTrack(agent_clip), audio=ReplayAudioTrack(agent_clip), decode=False)
    await node.request("open_call", call_id=call_id)
    await mobile.accept(
        await node.request("attach", call_id=call_id, party="mobile", offer_sdp=await mobile.offer())
    )
    await node.request("answered", call_id=call_id)
    await agent.accept(
        await node.request("attach", call_id=call_id, party="agent", offer_sdp=await agent.offer())
    )
    return BenchCall(call_id, mobile, agent)


def counts(calls: list[BenchCall]) -> dict[str, tuple[int, int]]:
    """Video frames received so far by each call's caller and agent."""
    return {c.call_id: (c.mobile.received["video"].frames, c.agent.received["video"].frames) for c in calls}


def window_fps(calls: list[BenchCall], before: dict[str, tuple[int, int]], seconds: float) -> float:
    rates = []
    for call in calls:
        mobile_before, agent_before = before[call.call_id]
        rates.append((call.mobile.received["video"].frames - mobile_before) / seconds)
        rates.append((call.agent.received["video"].frames - agent_before) / seconds)
    return min(rates) if rates else 0.0


async def ramp(
    kind: str, argv: list[str], args: argparse.Namespace, clips: tuple[EncodedClip, EncodedClip]
) -> Ramp:
    env = {**os.environ, "VKYC_MEDIA_CAPACITY": str(args.max_calls + 1)}
    node = ControlClient(argv, env, ROOT)
    await node.start(timeout=120)
    result = Ramp(kind)
    await asyncio.sleep(1.0)
    result.rss_idle_mb = proc_rss_mb(node.pid)
    calls: list[BenchCall] = []
    generator = os.getpid()
    try:
        while len(calls) < args.max_calls:
            # One call at a time up to 8 (the target), then two at a time to save time.
            for _ in range(1 if len(calls) < 8 else min(2, args.max_calls - len(calls))):
                calls.append(await add_call(node, clips, len(calls)))
            await asyncio.sleep(args.settle)
            if kind == "ours":
                target = calls[len(result.levels) % len(calls)]  # each call in turn
                started = time.perf_counter()
                try:
                    await node.request("snapshot", call_id=target.call_id, timeout=10)
                    result.snapshots_ms.append((time.perf_counter() - started) * 1000)
                except Exception as exc:  # a failed snapshot is reported, the ramp goes on
                    log(f"  snapshot failed: {exc}")
            # A level that misses is counted once more: this machine is shared, and one hiccup of
            # another process must not end the ramp. Two misses in a row end it.
            for _attempt in range(2):
                before = counts(calls)
                cpu0, gen0, t0 = proc_cpu_seconds(node.pid), proc_cpu_seconds(generator), time.monotonic()
                await asyncio.sleep(args.window)
                elapsed = time.monotonic() - t0
                fps = window_fps(calls, before, elapsed)
                if fps >= TARGET_FPS:
                    break
                load = os.getloadavg()[0]
                log(f"  {kind:5s} {len(calls):2d} calls: slowest {fps:5.1f} fps (load average {load:.1f})")
            level = Level(
                len(calls),
                round(fps, 2),
                round((proc_cpu_seconds(node.pid) - cpu0) / elapsed * 100, 1),
                round(proc_rss_mb(node.pid), 1),
                round((proc_cpu_seconds(generator) - gen0) / elapsed * 100, 1),
                fps >= TARGET_FPS,
            )
            result.levels.append(level)
            log(
                f"  {kind:5s} {level.calls:2d} calls: slowest {level.min_fps:5.1f} fps, node cpu "
                f"{level.cpu_pct:5.1f} %, rss {level.rss_mb:6.1f} MB, "
                f"load generator cpu {level.generator_cpu_pct:5.1f} %"
            )
            if not level.holds:
                break
    finally:
        for call in calls:
            try:
                await node.request("close_call", call_id=call.call_id, reason="bench", timeout=120)
            except Exception as exc:  # closing is best effort at the end of a ramp
                log(f"  close {call.call_id}: {exc}")
            await call.mobile.close()
            await call.agent.close()
        await node.stop(timeout=120)
    return result


async def soak(args: argparse.Namespace, clips: tuple[EncodedClip, EncodedClip]) -> dict[str, Any]:
    node = ControlClient([sys.executable, "-m", "media_node", "serve", "--control", "stdio"], None, ROOT)
    await node.start(timeout=120)
    call = await add_call(node, clips, 0)
    samples: list[tuple[float, float]] = []
    fps: list[float] = []
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < args.soak:
            before = counts([call])
            await asyncio.sleep(10)
            fps.append(window_fps([call], before, 10))
            samples.append((time.monotonic() - started, proc_rss_mb(node.pid)))
            log(f"  soak {elapsed:5.0f} s: rss {samples[-1][1]:6.1f} MB, slowest {fps[-1]:.1f} fps")
        await node.request("close_call", call_id=call.call_id, reason="bench", timeout=120)
    finally:
        await call.mobile.close()
        await call.agent.close()
        await node.stop(timeout=120)
    warm = [(t, r) for t, r in samples if t >= 30] or samples  # after start-up allocations
    slope = (
        statistics.linear_regression([t for t, _ in warm], [r for _, r in warm]).slope if len(warm) > 1 else 0
    )
    return {
        "soak_seconds": round(samples[-1][0]),
        "rss_start_mb": round(warm[0][1], 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "rss_max_mb": round(max(r for _, r in samples), 1),
        "rss_growth_mb_per_min": round(slope * 60, 3),
        "min_fps": round(min(fps), 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with store_on_moto("bench-media"):
        log("encoding the load's clips ...")
        clips = await asyncio.get_running_loop().run_in_executor(None, make_clips)
        if args.soak:
            return await soak(args, clips)
        ours_argv = [sys.executable, "-m", "media_node", "serve", "--control", "stdio"]
        stock_argv = [sys.executable, str(Path(__file__).resolve()), "--stock-node"]
        log("ramp: media_node (pass-through relay + recording)")
        ours = await ramp("ours", ours_argv, args, clips)
        log("ramp: aiortc stock pipeline (MediaRelay + re-encoding + MediaRecorder .mp4)")
        stock = await ramp("stock", stock_argv, args, clips)
    best = ours.level(ours.max_calls)
    return {
        "max_calls_at_14fps": ours.max_calls,
        "baseline_max_calls": stock.max_calls,
        "ratio": round(ours.max_calls / stock.max_calls, 2) if stock.max_calls else None,
        "cpu_pct_per_call": round(best.cpu_pct / best.calls, 2) if best else None,
        "snapshot_p50_ms": round(statistics.median(ours.snapshots_ms), 1) if ours.snapshots_ms else None,
        "rss_mb_per_call": round((best.rss_mb - ours.rss_idle_mb) / best.calls, 2) if best else None,
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max-calls", type=int, default=40, help="stop the ramp there (default 40)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after adding a call (default 3)")
    parser.add_argument("--window", type=float, default=5.0, help="seconds of counting per level (default 5)")
    parser.add_argument(
        "--soak", type=float, default=0.0, help="run one call this many seconds, report memory"
    )
    parser.add_argument("--stock-node", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.stock_node:
        asyncio.run(run_stock_node())
    else:
        print(json.dumps(asyncio.run(main(arguments))), flush=True)
