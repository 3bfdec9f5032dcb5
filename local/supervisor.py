"""The local stack as a service: a supervisor that restarts what dies, and what ``/health`` says of it.

``python -m local up`` runs its child processes (the moto server, the media nodes) under a
``Supervisor`` thread that looks at them every ``CHECK_S``:

- a moto server that exited (a crash, ``kill -9``) is started again on the same port with the same state
  directory (``local.moto_state``): it is back with every record, and the handlers' clients reconnect
  by themselves;
- a media node that exited is replaced by a new one under a new id (``<first id>-r<n>``, its key
  derived from the local master): the dead node's session ends after the reconnect grace and takes
  its registration with it (``MediaService.node_left``), which must not be the new node's. Its calls
  were ended by signaling when it went (``media_node_lost``), and the next call gets the new node, as
  a new ECS task does in a deployment (a new task id).

While one is being restarted ``/health`` answers 503 naming it (``health()``); each restart is printed.
Stopping the stack stops the supervisor first, so that nothing is restarted on the way down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.media_node_process import MediaNodeProcess
    from local.moto_server import MotoServer

CHECK_S = 0.25


@dataclass
class Watched:
    """One supervised process: how to tell it is alive and how to start it again."""

    name: str
    alive: Callable[[], bool]
    restart: Callable[[], None]
    pid: Callable[[], int | None]
    current: Callable[[], str] | None = None  # what it runs as now, when that changes (a node's id)
    state: str = "ok"  # ok, restarting, failed: <why>
    restarts: list[float] = field(default_factory=list)  # seconds each restart took


class Supervisor:
    def __init__(self, out: Callable[[str], None] = print, check_s: float = CHECK_S) -> None:
        self.out = out
        self.check_s = check_s
        self.watched: list[Watched] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._lock = threading.Lock()

    def watch_moto(self, server: MotoServer) -> None:
        self.watched.append(Watched("aws", lambda: server.running, server.start, lambda: server.pid))

    def watch_media_node(self, nodes: list[MediaNodeProcess], index: int) -> None:
        slot = nodes[index].node_id
        restarts = [0]

        def restart() -> None:
            from local.media_node_process import MediaNodeProcess

            old = nodes[index]
            restarts[0] += 1
            node_id = f"{slot}-r{restarts[0]}"
            nodes[index] = MediaNodeProcess(
                old.rest_url, node_id, capacity=old.capacity, env=old.extra_env
            ).start()

        self.watched.append(
            Watched(
                slot,
                lambda: nodes[index].running,
                restart,
                lambda: nodes[index].pid,
                lambda: nodes[index].node_id,
            )
        )

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)  # a restart under way finishes first

    def health(self) -> dict[str, str]:
        with self._lock:
            return {w.name: w.state for w in self.watched}

    def _run(self) -> None:
        while not self._stop.wait(self.check_s):
            for watched in self.watched:
                if self._stop.is_set():
                    return
                if watched.alive():
                    continue
                self._restart(watched)

    def _restart(self, watched: Watched) -> None:
        with self._lock:
            watched.state = "restarting"
        self.out(f"      {watched.name} stopped; restarting it")
        started = time.monotonic()
        try:
            watched.restart()
        except Exception as exc:  # tried again at the next check
            with self._lock:
                watched.state = f"failed: {exc}"[:200]
            self.out(f"      {watched.name} did not restart: {exc}")
            self._stop.wait(1.0)
            return
        took = time.monotonic() - started
        with self._lock:
            watched.state = "ok"
            watched.restarts.append(took)
        now = f" as {watched.current()}" if watched.current is not None else ""
        self.out(f"      {watched.name} is back{now} (pid {watched.pid()}, {took:.1f} s)")
