"""Recording: both parties' encoded media, to S3 as the call goes, assembled into one WebM at the end.

**During the call** every received frame is appended, as it arrived (never decoded or re-encoded),
to a *part*: a small journal file that is uploaded every ``chunk_seconds`` under
``calls/<call_id>/recording/parts/``. So S3 holds the call up to its last few seconds at any time,
whatever happens to the node.

**At the end** ``assemble`` muxes the parts into ``calls/<call_id>/recording.webm`` (VP8 + Opus in
WebM, up to four tracks: mobile video, mobile audio, agent video, agent audio), uploaded with its
sha256 as the object's checksum (signaling checks the node's report against what S3 says of it),
writes its size, duration and sha256 to ``recording.json`` next to it and deletes the parts.
``recover_recording`` does the same for a call whose node died (``incomplete: true``); it refuses while
the newest part is younger than ``min_idle_s`` (a live node may still be writing).

Part format (little-endian): ``b"VKR1"``, u32 header length, a JSON header (call id, sequence number,
node id, wall-clock times), then records ``<u8 track, u8 flags, i64 pts_us, u32 size>`` + data.
``pts_us`` is microseconds since the recording started; each inbound stream (a party's peer
connection) is anchored on the arrival of its first frame and then follows the sender's RTP clock,
so a reconnect leaves a gap but no overlap.

States: RECORDING → FINALIZING → FINISHED, or FAILED when the final file cannot be written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from enum import IntEnum, StrEnum
from fractions import Fraction
from pathlib import Path

import av

from media_node.config import KeyLayout
from media_node.errors import RecordingNotFound, RecordingStillActive, StorageError
from media_node.frames import EncodedFrame, Kind, vp8_dimensions
from media_node.storage import ObjectStore
from vkyc.evidence import sha256_of_stream

log = logging.getLogger("vkyc.media.recorder")

MAGIC = b"VKR1"
RECORD = struct.Struct("<BBqI")
FLAG_KEY = 0x01
MICROS = Fraction(1, 1_000_000)
AUDIO_PACKET_US = 20_000


class Track(IntEnum):
    MOBILE_VIDEO = 0
    MOBILE_AUDIO = 1
    AGENT_VIDEO = 2
    AGENT_AUDIO = 3

    @property
    def kind(self) -> Kind:
        return Kind.VIDEO if self in (Track.MOBILE_VIDEO, Track.AGENT_VIDEO) else Kind.AUDIO

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def of(cls, party: str, kind: Kind) -> Track:
        return cls[f"{party.upper()}_{kind.name}"]


class RecordingState(StrEnum):
    RECORDING = "recording"
    FINALIZING = "finalizing"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class RecordingInfo:
    """The call's recording. ``key`` is None (and the figures 0) when no media ever arrived."""

    call_id: str
    key: str | None
    size: int
    duration_s: float
    sha256: str | None
    incomplete: bool
    tracks: tuple[str, ...] = ()
    parts: int = 0
    end_reason: str | None = None

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["tracks"] = list(self.tracks)
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RecordingInfo:
        values = dict(data)
        values["tracks"] = tuple(values.get("tracks") or ())  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


# -- parts -------------------------------------------------------------------------------------
def encode_part_header(header: dict[str, object]) -> bytes:
    raw = json.dumps(header, sort_keys=True).encode()
    return MAGIC + struct.pack("<I", len(raw)) + raw


@dataclass(frozen=True)
class PartRecord:
    track: Track
    keyframe: bool
    pts_us: int
    data: bytes


def parse_part(data: bytes) -> tuple[dict[str, object], list[PartRecord]]:
    """Header and records of one part. A truncated last record is ignored (it cannot be played)."""
    if data[:4] != MAGIC:
        raise ValueError("not a vkyc recording part")
    (length,) = struct.unpack_from("<I", data, 4)
    header = json.loads(data[8 : 8 + length])
    records: list[PartRecord] = []
    pos = 8 + length
    while pos + RECORD.size <= len(data):
        track, flags, pts, size = RECORD.unpack_from(data, pos)
        pos += RECORD.size
        if pos + size > len(data):
            break
        records.append(PartRecord(Track(track), bool(flags & FLAG_KEY), pts, data[pos : pos + size]))
        pos += size
    return header, records


class Recorder:
    """Records one call; see the module docstring. ``write`` is called on the event loop for every
    received frame (cheap: an append); ``flush_due`` uploads a part when ``chunk_seconds`` passed;
    ``finish`` uploads the last part and assembles the final file."""

    def __init__(
        self,
        store: ObjectStore,
        call_id: str,
        *,
        layout: KeyLayout,
        node_id: str,
        chunk_seconds: float,
        executor: Executor | None = None,
    ) -> None:
        self.store = store
        self.call_id = call_id
        self.layout = layout
        self.node_id = node_id
        self.chunk_seconds = chunk_seconds
        self._executor = executor
        self.state = RecordingState.RECORDING
        self._t0 = time.monotonic()
        self.started_at = time.time()
        self._seq = 0
        self._buffer = bytearray()
        self._buffer_started = self._t0
        self._anchors: dict[tuple[Track, int], tuple[int, int]] = {}  # (track, stream) → (base_us, base_ts)
        self._last_pts: dict[Track, int] = {}
        self._stream_of: dict[Track, int] = {}
        self._waiting_key: set[Track] = set()
        self._uploads: set[asyncio.Future[None]] = set()
        self._failed_parts: list[tuple[int, bytes]] = []
        self.frames_written = 0
        self.bytes_written = 0
        self.parts_uploaded = 0

    def write(self, track: Track, stream: int, frame: EncodedFrame) -> None:
        """Append one frame of ``track``; ``stream`` numbers the party's peer connections (a new
        number = a reconnect: re-anchor the clock, and for video wait for a key frame)."""
        if self.state is not RecordingState.RECORDING:
            return
        if self._stream_of.get(track) != stream:
            self._stream_of[track] = stream
            if track.kind is Kind.VIDEO:
                self._waiting_key.add(track)
        if track in self._waiting_key:
            if not frame.keyframe:
                return
            self._waiting_key.discard(track)
        clock = track.kind.clock_rate
        anchor = self._anchors.get((track, stream))
        if anchor is None:
            anchor = (int((frame.arrival - self._t0) * 1_000_000), frame.timestamp)
            self._anchors[(track, stream)] = anchor
        pts = anchor[0] + (frame.timestamp - anchor[1]) * 1_000_000 // clock
        last = self._last_pts.get(track)
        if last is not None and pts <= last:
            pts = last + 1
        self._last_pts[track] = pts
        if not self._buffer:
            self._buffer_started = time.monotonic()
        self._buffer += RECORD.pack(track, FLAG_KEY if frame.keyframe else 0, pts, len(frame.data))
        self._buffer += frame.data
        self.frames_written += 1
        self.bytes_written += len(frame.data)

    def flush_due(self) -> None:
        """Upload the current part if it is ``chunk_seconds`` old (call it about once a second)."""
        if self._buffer and time.monotonic() - self._buffer_started >= self.chunk_seconds:
            self._cut()

    def _cut(self) -> None:
        header = {
            "call_id": self.call_id,
            "seq": self._seq,
            "node_id": self.node_id,
            "recording_started_at": self.started_at,
            "written_at": time.time(),
        }
        part = encode_part_header(header) + bytes(self._buffer)
        self._buffer.clear()
        seq = self._seq
        self._seq += 1
        self._upload(seq, part)

    def _upload(self, seq: int, part: bytes) -> None:
        loop = asyncio.get_running_loop()
        key = self.layout.part(self.call_id, seq)
        future = loop.run_in_executor(self._executor, self.store.put, key, part)
        self._uploads.add(future)

        def done(f: asyncio.Future[None]) -> None:
            self._uploads.discard(f)
            if f.cancelled() or f.exception() is not None:
                # Kept and retried at the next cut or at finish: S3 hiccups must not lose media.
                log.warning("recording part %s of %s failed to upload; will retry", seq, self.call_id)
                self._failed_parts.append((seq, part))
            else:
                self.parts_uploaded += 1

        future.add_done_callback(done)
        for failed_seq, failed_part in self._take_failed():
            self._upload(failed_seq, failed_part)

    def _take_failed(self) -> list[tuple[int, bytes]]:
        failed, self._failed_parts = self._failed_parts, []
        return failed

    async def drain(self) -> None:
        """Wait for the uploads under way (and one retry of the failed ones)."""
        for attempt in range(3):
            if self._uploads:
                await asyncio.gather(*list(self._uploads), return_exceptions=True)
            failed = self._take_failed()
            if not failed:
                return
            if attempt == 2:
                raise StorageError(f"recording parts {[s for s, _ in failed]} of {self.call_id} not stored")
            for seq, part in failed:
                self._upload(seq, part)

    async def finish(self, end_reason: str) -> RecordingInfo:
        """Upload the last part, assemble the final file and describe it (state → FINISHED)."""
        if self.state is not RecordingState.RECORDING:
            raise RuntimeError(f"recorder of {self.call_id} is {self.state}")
        self.state = RecordingState.FINALIZING
        try:
            if self._buffer:
                self._cut()
            await self.drain()
            loop = asyncio.get_running_loop()
            info = await loop.run_in_executor(
                self._executor, finalize, self.store, self.layout, self.call_id, False, end_reason
            )
        except Exception:
            self.state = RecordingState.FAILED
            raise
        self.state = RecordingState.FINISHED
        return info


# -- assembly ----------------------------------------------------------------------------------
def _iter_parts(paths: list[Path]) -> Iterator[tuple[int, list[PartRecord]]]:
    for path in paths:
        header, records = parse_part(path.read_bytes())
        yield int(header["seq"]), records  # type: ignore[call-overload]


@dataclass(frozen=True)
class Assembled:
    tracks: tuple[Track, ...]
    duration_s: float
    parts: int


def assemble(part_paths: list[Path], out_path: Path) -> Assembled | None:
    """Mux the parts (in sequence order) into a WebM at ``out_path``; None if nothing is playable.

    Video of a track is kept from its first key frame; after a missing part (a sequence gap) each
    video track waits for its next key frame again, so the file never holds undecodable frames.
    """
    # Pass 1: which tracks have playable media, their picture size, and where the file starts.
    sizes: dict[Track, tuple[int, int]] = {}
    present: set[Track] = set()
    start_us: int | None = None
    expected = None
    waiting = set(Track)
    for seq, records in _iter_parts(part_paths):
        if expected is not None and seq != expected:
            waiting |= {t for t in Track if t.kind is Kind.VIDEO}
        expected = seq + 1
        for record in records:
            if record.track in waiting:
                if record.track.kind is Kind.VIDEO and not record.keyframe:
                    continue
                waiting.discard(record.track)
            if record.track.kind is Kind.VIDEO and record.track not in sizes:
                dims = vp8_dimensions(record.data)
                if dims is None:
                    continue
                sizes[record.track] = dims
            present.add(record.track)
            start_us = record.pts_us if start_us is None else min(start_us, record.pts_us)
    if not present or start_us is None:
        return None

    tracks = tuple(sorted(present))
    end_us = 0
    with av.open(str(out_path), "w", format="webm") as container:
        streams: dict[Track, av.stream.Stream] = {}
        for track in tracks:
            if track.kind is Kind.VIDEO:
                vstream = container.add_stream("libvpx", rate=30)
                vstream.width, vstream.height = sizes[track]
                streams[track] = vstream
            else:
                streams[track] = container.add_stream("libopus", rate=48_000, layout="stereo")
            streams[track].metadata["title"] = track.label
        expected = None
        waiting = set(Track)
        for seq, records in _iter_parts(part_paths):
            if expected is not None and seq != expected:
                waiting |= {t for t in Track if t.kind is Kind.VIDEO}
            expected = seq + 1
            for record in records:
                if record.track not in streams:
                    continue
                if record.track in waiting:
                    if record.track.kind is Kind.VIDEO and not record.keyframe:
                        continue
                    waiting.discard(record.track)
                pts = record.pts_us - start_us
                if pts < 0:
                    continue
                packet = av.Packet(record.data)
                packet.stream = streams[record.track]
                packet.time_base = MICROS
                packet.pts = packet.dts = pts
                packet.is_keyframe = record.keyframe
                container.mux(packet)
                tail = AUDIO_PACKET_US if record.track.kind is Kind.AUDIO else 0
                end_us = max(end_us, pts + tail)
    return Assembled(tracks, end_us / 1_000_000, len(part_paths))


def finalize(
    store: ObjectStore, layout: KeyLayout, call_id: str, incomplete: bool, end_reason: str | None
) -> RecordingInfo:
    """Assemble the call's parts from the store into the final recording (blocking; run in a thread).
    Writes ``recording.webm`` and ``recording.json``, then deletes the parts."""
    parts = store.list_prefix(layout.parts_prefix(call_id))  # zero-padded sequence numbers: key order
    with tempfile.TemporaryDirectory(prefix="vkyc-rec-") as tmp:
        paths: list[Path] = []
        for index, part in enumerate(parts):
            path = Path(tmp) / f"{index:08d}.vkr"
            path.write_bytes(store.get(part.key))
            paths.append(path)
        out = Path(tmp) / "recording.webm"
        assembled = assemble(paths, out) if paths else None
        if assembled is None:
            info = RecordingInfo(call_id, None, 0, 0.0, None, incomplete, (), len(parts), end_reason)
        else:
            with out.open("rb") as stream:
                digest, size = sha256_of_stream(stream)
            key = layout.recording(call_id)
            store.put_file(key, out, content_type="video/webm", sha256=digest)
            info = RecordingInfo(
                call_id,
                key,
                size,
                round(assembled.duration_s, 3),
                digest,
                incomplete,
                tuple(t.label for t in assembled.tracks),
                assembled.parts,
                end_reason,
            )
    store.put(
        layout.recording_info(call_id),
        json.dumps(info.to_json(), sort_keys=True).encode(),
        content_type="application/json",
    )
    store.delete([p.key for p in parts])
    return info


def parse_part_header(data: bytes) -> dict[str, object]:
    if data[:4] != MAGIC:
        raise ValueError("not a vkyc recording part")
    (length,) = struct.unpack_from("<I", data, 4)
    header: dict[str, object] = json.loads(data[8 : 8 + length])
    return header


def read_recording_info(store: ObjectStore, layout: KeyLayout, call_id: str) -> RecordingInfo | None:
    try:
        raw = store.get(layout.recording_info(call_id))
    except KeyError:
        return None
    return RecordingInfo.from_json(json.loads(raw))


def recover_recording(
    store: ObjectStore,
    call_id: str,
    *,
    layout: KeyLayout | None = None,
    min_idle_s: float = 10.0,
    end_reason: str = "media_node_lost",
    now: float | None = None,
) -> RecordingInfo:
    """The recording of a call whose node died: assembles what S3 holds, ``incomplete=True``.

    Idempotent: a call already finalized (by its node, or by an earlier recovery) returns the stored
    description. Raises ``RecordingNotFound`` if there is nothing at all, and
    ``RecordingStillActive`` if the newest part was written less than ``min_idle_s`` ago.
    Blocking (S3 and muxing): call it from a thread in async code.
    """
    layout = layout or KeyLayout()
    existing = read_recording_info(store, layout, call_id)
    if existing is not None:
        return existing
    parts = store.list_prefix(layout.parts_prefix(call_id))
    if not parts:
        raise RecordingNotFound(f"no recording or recorded part for call {call_id}", call_id=call_id)
    newest = parse_part_header(store.get(parts[-1].key))
    written_at = float(newest.get("written_at", 0.0))  # type: ignore[arg-type]
    age = (time.time() if now is None else now) - written_at
    if age < min_idle_s:
        raise RecordingStillActive(
            f"the newest part of call {call_id} is {age:.1f} s old (< {min_idle_s} s)", call_id=call_id
        )
    return finalize(store, layout, call_id, True, end_reason)
