"""A media node (``python -m media_node run``) as a child process of the local stack, or of a test.

``MediaNodeProcess.start()`` returns once the node has connected to signaling (its log says so);
``stop()`` is SIGTERM (open calls are closed and their recordings reported), ``kill()`` SIGKILL (what
a crash does: the node's loss is then signaling's to notice). The child exits by itself when its
parent dies (``python -m local.media_node_process`` watches for it), so a killed stack leaves no node
behind. Its log (stderr) is kept, the last ``KEPT_LINES`` lines, for a failing test to show.

The child holds its own node key and never the master: with ``VKYC_MEDIA_NODE_MASTER_KEY`` in this
process's environment (the local stack's), the key of ``node_id`` is derived from it
(``vkyc.security.node_keys``) unless ``env`` gives ``VKYC_MEDIA_NODE_KEY``; the master is not passed on.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from vkyc.security import node_keys

ROOT = Path(__file__).resolve().parent.parent
READY_MARKER = "connected to signaling"
KEPT_LINES = 400


class MediaNodeProcess:
    def __init__(
        self,
        rest_url: str,
        node_id: str,
        *,
        capacity: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.rest_url = rest_url
        self.node_id = node_id
        self.capacity = capacity
        self.extra_env = dict(env or {})
        self.lines: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 90.0) -> MediaNodeProcess:
        """Start the node; returns once it connected to signaling. Raises ``RuntimeError`` otherwise."""
        env = {
            **os.environ,
            "VKYC_REST_URL": self.rest_url,
            "VKYC_MEDIA_NODE_ID": self.node_id,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **self.extra_env,
        }
        master = env.pop(node_keys.MASTER_VARIABLE, "")
        if master and "VKYC_MEDIA_NODE_KEY" not in self.extra_env:
            env["VKYC_MEDIA_NODE_KEY"] = node_keys.node_key(self.node_id, master.encode("utf-8"))
        if self.capacity is not None:
            env["VKYC_MEDIA_CAPACITY"] = str(self.capacity)
        self._ready.clear()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "local.media_node_process"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            # Its own session: a terminal's Ctrl-C reaches the stack only, which stops the node in turn.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name=f"log-{self.node_id}", daemon=True)
        self._reader.start()
        started = time.monotonic()
        while not self._ready.wait(0.1):
            code = self._process.poll()
            if code is not None or time.monotonic() > started + timeout:
                self.kill()
                why = f"exited with {code}" if code is not None else f"not connected after {timeout:.0f} s"
                raise RuntimeError(f"media node {self.node_id} did not start ({why}):\n" + self.log())
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self.lines.append(line.rstrip("\n"))
            if READY_MARKER in line:
                self._ready.set()

    def log(self) -> str:
        return "\n".join(self.lines)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then wait (the node finalizes its recordings); SIGKILL if it takes too long."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._join()
        return self._process.returncode

    def kill(self) -> int | None:
        """SIGKILL: the node gets no chance to close or report anything."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._join()
        return self._process.returncode

    def _join(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    """The child: ``python -m media_node`` with ``argv`` (default ``run``), stopped (SIGTERM to itself)
    if its parent goes away."""
    from media_node.__main__ import main as media_node_main

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    return media_node_main(argv or ["run"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
