"""What every event-source runner shares.

A runner owns one daemon thread, a stop flag and a readiness flag, and invokes handlers the way
Lambda does: one fresh context per invocation, the event as a plain dict, every invocation logged
on the ``local.runners`` logger. A handler exception is logged and reported to the caller of
:func:`invoke`; it never ends the runner's thread, and neither does an unexpected error of the
runner itself (the loop is restarted after a pause).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from botocore.config import Config

from local.invocations import GATE
from local.lambda_context import LambdaContext

LOG = logging.getLogger("local.runners")

# moto's account id; used where an event carries an account and nothing better is known.
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_STAGE = "dev"

Handler = Callable[[dict[str, Any], Any], Any]


def deployed_function_name(app_name: str, stage: str, name: str) -> str:
    """The Lambda function name ``chalice deploy`` gives a handler: ``{app}-{stage}-{name}``."""
    return f"{app_name}-{stage}-{name}"


def boto_config(connections: int = 10) -> Config:
    """Client settings for pollers: fail fast when the endpoint is down (so ``stop()`` stays quick),
    leave room for long polls, retry a little (moto answers 5xx under load), and keep ``connections``
    connections open (one per thread that uses the client at once)."""
    return Config(
        connect_timeout=2,
        read_timeout=15,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=connections,
    )


def invoke(handler: Handler, *, function_name: str, source: str, event: dict[str, Any], count: int) -> Any:
    """Call ``handler(event, context)`` once, as Lambda would, and log the outcome.

    Returns what the handler returns; re-raises what it raises (after logging it with its
    traceback), so the caller decides between retrying, skipping or leaving messages in a queue.
    """
    context = LambdaContext(function_name)
    started = time.monotonic()
    try:
        with GATE.invocation():
            result = handler(event, context)
    except Exception:
        LOG.exception(
            "%s -> %s failed (%d record(s), %.0f ms, request %s)",
            source,
            function_name,
            count,
            (time.monotonic() - started) * 1000,
            context.aws_request_id,
        )
        raise
    LOG.info(
        "%s -> %s ok (%d record(s), %.0f ms)",
        source,
        function_name,
        count,
        (time.monotonic() - started) * 1000,
    )
    return result


class Runner(ABC):
    """One background poller. ``start()`` once; ``stop()`` is idempotent and safe before ``start()``.

    Subclasses implement :meth:`_loop`, which must return soon after ``self._stopping`` is set
    (wait on it rather than ``time.sleep``) and call ``self._ready.set()`` once positioned
    (queue found, stream iterators taken), so callers can wait before producing events.
    """

    #: pause before re-entering a loop that raised unexpectedly
    restart_pause_s = 1.0

    def __init__(self, name: str) -> None:
        self.name = name
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._thread = threading.Thread(target=self._run, name=f"runner:{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to end without waiting (lets many runners wind down in parallel)."""
        self._stopping.set()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the thread; True when it has ended (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop and join; True when the thread has ended within ``timeout`` s."""
        self.request_stop()
        return self.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._loop()
            except Exception:
                # A bug or an endpoint gone mad must not silently end event delivery.
                LOG.exception("%s: runner loop failed; restarting in %.0f s", self.name, self.restart_pause_s)
                self._stopping.wait(self.restart_pause_s)

    @abstractmethod
    def _loop(self) -> None:
        """Deliver events until ``self._stopping`` is set."""
