"""A stand-in for the signaling wiring: drive an engine with JSON lines on stdin/stdout.

In production SDP and orders reach the node over the WebSocket API (role ``media``). Until that
wiring exists, and for tests and benchmarks that need the node in a process of its own (to kill it,
or to measure it alone), ``python -m media_node serve --control stdio`` reads one JSON request per
line on stdin and writes one JSON reply per line on stdout:

    → {"id": 1, "op": "attach", "args": {"call_id": "C-1", "party": "mobile", "offer_sdp": "v=0..."}}
    ← {"id": 1, "ok": true, "result": "v=0..."}
    ← {"id": 2, "ok": false, "code": "MEDIA_CALL_NOT_FOUND", "message": "..."}

Operations: ``open_call``, ``attach``, ``detach``, ``answered``, ``snapshot``, ``close_call``, ``stats``,
``load``. The first line out is ``{"event": "ready", "node_id": ..., "capacity": ...}``; link events
follow as ``{"event": "link.up" | "link.lost", ...}``. Requests run concurrently; replies carry the
request's ``id``. Nothing else is written to stdout (logs go to stderr). No network port is opened.

``ControlClient`` is the other end, for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from media_node.errors import MediaError

log = logging.getLogger("vkyc.media.control")

OPERATIONS = ("open_call", "attach", "detach", "answered", "snapshot", "close_call", "stats", "load")


class Controlled(Protocol):
    """What ``serve_stdio`` drives: ``MediaEngine``, or a benchmark's baseline node."""

    @property
    def capacity(self) -> int: ...

    @property
    def load(self) -> int: ...


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


class LineWriter:
    """One JSON object per line on stdout, flushed at once (the other end reads line by line)."""

    def __init__(self) -> None:
        self._out = sys.stdout

    def line(self, message: Mapping[str, Any]) -> None:
        self._out.write(json.dumps(to_jsonable(message)) + "\n")
        self._out.flush()


async def _handle(node: Controlled, writer: LineWriter, request: Mapping[str, Any]) -> None:
    rid = request.get("id")
    op = request.get("op")
    try:
        if op not in OPERATIONS:
            raise ValueError(f"unknown op {op!r}")
        if op == "load":
            result: Any = {"load": node.load, "capacity": node.capacity}
        else:
            method = getattr(node, str(op))
            result = method(**request.get("args", {}))
            if asyncio.iscoroutine(result):
                result = await result
        writer.line({"id": rid, "ok": True, "result": result})
    except MediaError as exc:
        writer.line({"id": rid, "ok": False, "code": exc.code, "message": exc.message})
    except Exception as exc:  # every request gets a reply
        log.exception("control request %s failed", op)
        writer.line(
            {"id": rid, "ok": False, "code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"}
        )


async def serve_stdio(node: Controlled, node_id: str, writer: LineWriter | None = None) -> None:
    """Serve requests from stdin until it closes."""
    out = writer or LineWriter()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 22)  # SDP fits in a line
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out.line({"event": "ready", "node_id": node_id, "capacity": node.capacity, "pid": os.getpid()})
    tasks: set[asyncio.Task[None]] = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            out.line({"id": None, "ok": False, "code": "BAD_JSON", "message": str(exc)})
            continue
        task = loop.create_task(_handle(node, out, request))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


def event_writer(writer: LineWriter) -> Callable[[Any], None]:
    """An ``on_event`` callback for ``MediaEngine`` that writes each event as a line."""

    def emit(event: Any) -> None:
        writer.line({"event": event.kind, **to_jsonable(event)})

    return emit


class ControlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


class ControlClient:
    """Runs a node process with ``--control stdio`` and talks to it (tests, benchmarks)."""

    def __init__(
        self, argv: list[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.argv = argv
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None
        self.ready: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self._next = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 60.0) -> dict[str, Any]:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=self.cwd,
            limit=1 << 22,
        )
        assert self.process.stdout is not None
        # asyncio.timeout rather than wait_for throughout: on Python 3.11 wait_for swallows a
        # cancellation that comes as the awaited result does, and the caller's shutdown would hang.
        async with asyncio.timeout(timeout):
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"node process exited before ready (code {await self.process.wait()})")
        self.ready = json.loads(line)
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self.ready

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                break
            message = json.loads(line)
            if "event" in message:
                self.events.append(message)
                continue
            future = self._waiting.pop(message.get("id"), None)
            if future is not None and not future.done():
                future.set_result(message)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("node process ended"))
        self._waiting.clear()

    async def request(self, op: str, timeout: float = 60.0, **args: Any) -> Any:
        """The result of one operation; ``ControlError`` with the node's code on failure."""
        assert self.process is not None and self.process.stdin is not None
        self._next += 1
        rid = self._next
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        self.process.stdin.write(json.dumps({"id": rid, "op": op, "args": args}).encode() + b"\n")
        await self.process.stdin.drain()
        async with asyncio.timeout(timeout):
            reply = await future
        if not reply["ok"]:
            raise ControlError(reply["code"], reply["message"])
        return reply["result"]

    async def stop(self, timeout: float = 60.0) -> int:
        """Close stdin (the node finalizes open calls and exits) and wait for the exit code."""
        assert self.process is not None
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return code

    async def kill(self) -> int:
        """SIGKILL: the node gets no chance to finalize anything."""
        assert self.process is not None
        self.process.kill()
        code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return code
