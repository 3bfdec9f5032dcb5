"""How late the signaling app's timers fire, measured inside a running local stack (same process).

A timer is an SQS message sent with ``DelaySeconds`` (``vkyc.adapters.timers.SqsTimers``); it is *due*
when it was sent plus its delay, and it *fires* when the timer handler starts on its record. Three
hooks, installed by :meth:`TimerWatch.install` and removed by :meth:`TimerWatch.uninstall`:

* botocore's ``BaseClient._make_api_call`` (PynamoDB and boto3 go through it): each ``SendMessage`` /
  ``SendMessageBatch`` to the timer queue records its messages' due times (taken before the request),
  and each ``ReceiveMessage`` when a message was received;
* the signaling app's ``graph.fire`` (what its SQS handler calls once per record): when each
  record starts and ends, and whether it raised (then the handler sends it again, ``retry`` + 1).

Records are matched to sent messages by their body (identical bodies, e.g. two dispatch timers of one
unit, are taken oldest first). ``figures()`` reports lateness (fired - due) in ms, overall and per
timer kind, and in four parts (``Firing.parts_ms``: sending, moto's hand-out, the way back into this
process, the wait for an invocation thread) from SQS's own timestamps, plus failures, retries and the
AWS requests each timer made. Nothing here changes what the handlers do.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import botocore.client
from chalice import Chalice
from chalice.app import SQSEventConfig

from bench.ws_roundtrip import percentile


@dataclass
class Firing:
    """One timer record handled: its times in seconds since the epoch (this machine's clock, which
    the moto process shares)."""

    kind: str
    retry: int
    sent: float  # the handler asked SQS to send it
    delay: int  # its DelaySeconds
    queued: float | None  # moto stored it (SentTimestamp)
    handed_out: float | None  # moto returned it to a receiver (ApproximateFirstReceiveTimestamp)
    received: float | None  # the receiver had it
    fired: float  # the timer handler started on it
    took: float  # seconds the handler spent on it
    failed: bool
    requests: list[tuple[str, float]]  # the AWS requests the record made: (service.operation, ms)

    @property
    def due(self) -> float:
        return self.sent + self.delay

    @property
    def late_ms(self) -> float:
        return (self.fired - self.due) * 1000

    def parts_ms(self) -> dict[str, float] | None:
        """Lateness in four parts (None when SQS's timestamps are missing): ``send`` (asked → stored
        by moto), ``queue`` (stored + delay → handed out: the long poll's wake-up), ``return`` (handed
        out → in the receiver: the response's way back into this process) and ``wait`` (→ fired: a
        free invocation thread, the records before it in its event)."""
        if self.queued is None or self.handed_out is None or self.received is None:
            return None
        return {
            "send": (self.queued - self.sent) * 1000,
            "queue": (self.handed_out - self.queued - self.delay) * 1000,
            "return": (self.received - self.handed_out) * 1000,
            "wait": (self.fired - self.received) * 1000,
        }


class TimerWatch:
    """Due times, deliveries and firings of the timers of one stack (see the module docstring)."""

    def __init__(self, signaling_module: ModuleType, queue_name: str) -> None:
        self.module = signaling_module
        self.queue_name = queue_name
        self.firings: list[Firing] = []
        # body -> (message id, sent, delay), oldest first
        self._sent: dict[str, deque[tuple[str, float, int]]] = defaultdict(deque)
        # message id -> (received, SentTimestamp, ApproximateFirstReceiveTimestamp) at its first receive
        self._received: dict[str, tuple[float, float | None, float | None]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._running = 0
        self.most_running = 0  # timer records handled at the same moment, at most
        self._original_call: Any = None
        self._original_fire: Any = None

    @classmethod
    def of_app(cls, app: Chalice, handler: str = "timers") -> TimerWatch:
        """The watch of ``app``'s SQS handler ``handler`` (its module's ``graph()`` gives the graph whose
        ``fire`` it calls) and its queue."""
        wrapped = app.handler_map[handler]
        module = sys.modules[getattr(wrapped, "func", wrapped).__module__]
        sources = [c for c in app.event_sources if isinstance(c, SQSEventConfig) and c.name == handler]
        assert sources and sources[0].queue is not None, f"{handler} is not an SQS handler with a queue name"
        return cls(module, sources[0].queue)

    def install(self) -> TimerWatch:
        if self._original_call is not None:
            raise RuntimeError("TimerWatch already installed")
        original_call = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 (private)
        original_fire = self._graph().fire
        watch = self

        def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            traced: list[tuple[str, float]] | None = getattr(watch._local, "requests", None)
            if traced is not None:
                began = time.perf_counter()
                try:
                    return watched_call(client, operation, params)
                finally:
                    name = f"{client.meta.service_model.service_name}.{operation}"
                    traced.append((name, (time.perf_counter() - began) * 1000))
            return watched_call(client, operation, params)

        def watched_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if operation not in ("SendMessage", "SendMessageBatch", "ReceiveMessage") or not str(
                params.get("QueueUrl", "")
            ).endswith("/" + watch.queue_name):
                return original_call(client, operation, params)
            sent_at = time.time()
            response = original_call(client, operation, params)
            watch._seen(operation, params, response, sent_at)
            return response

        def fire(payload: dict[str, Any]) -> Any:
            body = json.dumps(payload)  # the body it was parsed from (json keeps the key order)
            started = time.time()
            failed = True
            requests: list[tuple[str, float]] = []
            watch._local.requests = requests
            with watch._lock:
                watch._running += 1
                watch.most_running = max(watch.most_running, watch._running)
            try:
                result = original_fire(payload)
                failed = False
                return result
            finally:
                with watch._lock:
                    watch._running -= 1
                watch._local.requests = None
                watch._fired(body, payload, started, time.time(), failed, requests)

        self._original_call, self._original_fire = original_call, original_fire
        setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)  # noqa: B010 (private)
        self._graph().fire = fire
        return self

    def _graph(self) -> Any:
        """The app's service graph: its module builds it lazily, through the ``graph()`` accessor (the
        function's cold start), and returns the same object on every call."""
        return self.module.graph()

    def uninstall(self) -> None:
        if self._original_call is None:
            return
        setattr(botocore.client.BaseClient, "_make_api_call", self._original_call)  # noqa: B010
        self._graph().fire = self._original_fire
        self._original_call = self._original_fire = None

    def _seen(self, operation: str, params: dict[str, Any], response: dict[str, Any], at: float) -> None:
        with self._lock:
            if operation == "SendMessage":
                delay = int(params.get("DelaySeconds", 0))
                self._sent[params["MessageBody"]].append((response["MessageId"], at, delay))
            elif operation == "SendMessageBatch":
                ids = {ok["Id"]: ok["MessageId"] for ok in response.get("Successful", [])}
                for entry in params["Entries"]:
                    if entry["Id"] in ids:
                        delay = int(entry.get("DelaySeconds", 0))
                        self._sent[entry["MessageBody"]].append((ids[entry["Id"]], at, delay))
            else:
                received = time.time()
                for message in response.get("Messages", []):
                    attributes = message.get("Attributes", {})
                    first = (
                        received,
                        _ms(attributes.get("SentTimestamp")),
                        _ms(attributes.get("ApproximateFirstReceiveTimestamp")),
                    )
                    self._received.setdefault(message["MessageId"], first)

    def _fired(
        self,
        body: str,
        payload: dict[str, Any],
        started: float,
        ended: float,
        failed: bool,
        requests: list[tuple[str, float]],
    ) -> None:
        with self._lock:
            sent = self._sent.get(body)
            if not sent:
                return  # sent before install()
            message_id, sent_at, delay = sent.popleft()
            received, queued, handed_out = self._received.pop(message_id, (None, None, None))
            self.firings.append(
                Firing(
                    kind=str(payload.get("kind")),
                    retry=int(payload.get("retry", 0)),
                    sent=sent_at,
                    delay=delay,
                    queued=queued,
                    handed_out=handed_out,
                    received=received,
                    fired=started,
                    took=ended - started,
                    failed=failed,
                    requests=requests,
                )
            )

    def overdue(self) -> int:
        """Timers due by now and not fired yet."""
        now = time.time()
        with self._lock:
            return sum(1 for queue in self._sent.values() for _, sent, delay in queue if sent + delay <= now)

    def figures(self) -> dict[str, Any]:
        """Lateness p50/p99/max in ms (all firings, then per kind), failures and retries."""
        with self._lock:
            firings = list(self.firings)
        result: dict[str, Any] = {"timers_fired": len(firings), **_stats("timer_late", firings)}
        parts = [p for p in (f.parts_ms() for f in firings) if p is not None]
        for part in ("send", "queue", "return", "wait"):
            result |= _stats_of(f"timer_{part}", [p[part] for p in parts])
        result |= _stats_of("timer_handling", [f.took * 1000 for f in firings])
        result |= _stats_of("timer_requests", [len(f.requests) for f in firings], unit="")
        result |= _stats_of("timer_request", [ms for f in firings for _, ms in f.requests])
        result["timers_running_max"] = self.most_running
        result["timers_late_over_1s"] = sum(1 for f in firings if f.late_ms > 1000)
        result["timers_failed"] = sum(1 for f in firings if f.failed)
        result["timer_retries"] = sum(1 for f in firings if f.retry)
        by_kind: dict[str, list[Firing]] = defaultdict(list)
        for firing in firings:
            by_kind[firing.kind].append(firing)
        result["by_kind"] = {
            kind: {
                "n": len(group),
                **_stats("late", group),
                "failed": sum(1 for f in group if f.failed),
                "requests_p50": percentile([len(f.requests) for f in group], 50),
            }
            for kind, group in sorted(by_kind.items())
        }
        return result

    def requests_by_operation(self) -> dict[str, list[float]]:
        """The timers' AWS requests' times in ms, per ``service.operation``."""
        with self._lock:
            firings = list(self.firings)
        by_operation: dict[str, list[float]] = defaultdict(list)
        for firing in firings:
            for name, ms in firing.requests:
                by_operation[name].append(ms)
        return dict(by_operation)


def _ms(timestamp: str | None) -> float | None:
    """SQS's millisecond timestamp attribute in seconds."""
    return None if timestamp is None else int(timestamp) / 1000


def _stats(name: str, firings: list[Firing]) -> dict[str, float | None]:
    return _stats_of(name, [f.late_ms for f in firings])


def _stats_of(name: str, samples: list[float], unit: str = "_ms") -> dict[str, float | None]:
    if not samples:
        return {f"{name}_p50{unit}": None, f"{name}_p99{unit}": None, f"{name}_max{unit}": None}
    return {
        f"{name}_p50{unit}": round(percentile(samples, 50), 1),
        f"{name}_p99{unit}": round(percentile(samples, 99), 1),
        f"{name}_max{unit}": round(max(samples), 1),
    }
