"""``python -m sdk`` as a terminal starts it, for the test that stops the command with Ctrl-C.

- **Ctrl-C is not ignored.** A process inherits an ignored SIGINT, and Python then leaves it ignored
  (so does ``asyncio.run``, which cancels the main task on SIGINT only over Python's default handler).
  A test suite started in the background by a shell without job control (``(make test &)``, a CI
  runner's script) has SIGINT ignored, and so had every command it started: the command never saw the
  test's Ctrl-C (ci39, ci45). A terminal's Ctrl-C goes to a foreground command, whose SIGINT is not
  ignored; that is the case the README describes, and the one this sets up.
- **SIGUSR1 prints every asyncio task's await chain** (to stderr): faulthandler shows only threads,
  and a command that does not stop is an event loop waiting on some task."""

from __future__ import annotations

import asyncio
import signal
import sys
from types import FrameType
from typing import Any

from sdk.cli import main

DUMP_END = "tasks: end of dump"  # the last line of a dump: the test waits for it, not for a time


def await_chain(awaitable: Any) -> list[str]:
    """Where a suspended coroutine waits: each frame down its ``await`` chain, then what it awaits."""
    where = []
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None and not hasattr(awaitable, "cr_await") and not hasattr(awaitable, "gi_yieldfrom"):
            where.append(f"  awaits {awaitable!r:.300}")
            break
        if frame is not None:
            where.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
    return where


def dump_tasks(signum: int, frame: FrameType | None) -> None:
    try:
        tasks = asyncio.all_tasks(asyncio.get_running_loop())
    except RuntimeError:
        print(f"tasks: no running loop\n{DUMP_END}", file=sys.stderr, flush=True)
        return
    lines = [f"tasks: {len(tasks)}"]
    for task in tasks:
        lines.append(f"task {task.get_name()} cancelling={task.cancelling()}")
        lines += await_chain(task.get_coro())
    lines.append(DUMP_END)
    print("\n".join(lines), file=sys.stderr, flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGUSR1, dump_tasks)
    sys.exit(main())
