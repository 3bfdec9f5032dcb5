"""How late the signaling app's timers fire, measured inside a running local stack (same process).

A timer is an SQS message sent with ``DelaySeconds`` (``vkyc.adapters.timers.SqsTimers``); it is *due*
when it was sent plus its delay, and it *fires* when the timer handler starts on its record. Three
hooks, installed by :meth:`TimerWatch.install` and removed by :meth:`TimerWatch.uninstall`:

* botocore's ``BaseClient._make_api_call`` (PynamoDB and boto3 go through it): each ``SendMessage`` /
  ``SendMessageBatch`` to the timer queue records its messages' due times (taken before the request),
  and each ``ReceiveMessage`` when a message was received;
* the signaling app's ``_fire`` (the function its SQS handler calls once per record): when each
  record starts and ends, and whether it raised (then the handler sends it again, ``retry`` + 1).

Records are matched to sent messages by their body (identical bodies, e.g. two dispatch timers of one
unit, are taken oldest first). ``figures()`` reports lateness (fired - due) in ms, overall and per
timer kind, split into delivery (received - due: moto's delay and the pollers) and the wait after
delivery (fired - received: the handler pool and the batch's records before it), plus failures and
retries. Nothing here changes what the handlers do.
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
    kind: str
    retry: int
    due: float
    received: float | None
    fired: float
    took: float
    failed: bool
    send_s: float  # how long the request that sent it took
    requests: list[tuple[str, float]]  # the AWS requests the record made: (service.operation, ms)

    @property
    def late_ms(self) -> float:
        return (self.fired - self.due) * 1000


class TimerWatch:
    """Due times, deliveries and firings of the timers of one stack (see the module docstring)."""

    def __init__(self, signaling_module: ModuleType, queue_name: str) -> None:
        self.module = signaling_module
        self.queue_name = queue_name
        self.firings: list[Firing] = []
        # body -> (message id, due, seconds the send took)
        self._due: dict[str, deque[tuple[str, float, float]]] = defaultdict(deque)
        self._received: dict[str, float] = {}  # message id -> first receive
        self._lock = threading.Lock()
        self._local = threading.local()
        self._running = 0
        self.most_running = 0  # timer records handled at the same moment, at most
        self._original_call: Any = None
        self._original_fire: Any = None

    @classmethod
    def of_app(cls, app: Chalice, handler: str = "timers") -> TimerWatch:
        """The watch of ``app``'s SQS handler ``handler`` (its module holds ``_fire``) and its queue."""
        wrapped = app.handler_map[handler]
        module = sys.modules[getattr(wrapped, "func", wrapped).__module__]
        sources = [c for c in app.event_sources if isinstance(c, SQSEventConfig) and c.name == handler]
        assert sources and sources[0].queue is not None, f"{handler} is not an SQS handler with a queue name"
        return cls(module, sources[0].queue)

    def install(self) -> TimerWatch:
        if self._original_call is not None:
            raise RuntimeError("TimerWatch already installed")
        original_call = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 (private)
        original_fire = getattr(self.module, "_fire")  # noqa: B009 (the app's private)
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
        setattr(self.module, "_fire", fire)  # noqa: B010 (the app's private)
        return self

    def uninstall(self) -> None:
        if self._original_call is None:
            return
        setattr(botocore.client.BaseClient, "_make_api_call", self._original_call)  # noqa: B010
        setattr(self.module, "_fire", self._original_fire)  # noqa: B010
        self._original_call = self._original_fire = None

    def _seen(self, operation: str, params: dict[str, Any], response: dict[str, Any], at: float) -> None:
        took = time.time() - at
        with self._lock:
            if operation == "SendMessage":
                due = at + int(params.get("DelaySeconds", 0))
                self._due[params["MessageBody"]].append((response["MessageId"], due, took))
            elif operation == "SendMessageBatch":
                ids = {ok["Id"]: ok["MessageId"] for ok in response.get("Successful", [])}
                for entry in params["Entries"]:
                    if entry["Id"] in ids:
                        due = at + int(entry.get("DelaySeconds", 0))
                        self._due[entry["MessageBody"]].append((ids[entry["Id"]], due, took))
            else:
                received = time.time()
                for message in response.get("Messages", []):
                    self._received.setdefault(message["MessageId"], received)

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
            sent = self._due.get(body)
            if not sent:
                return  # sent before install()
            message_id, due, send_s = sent.popleft()
            self.firings.append(
                Firing(
                    kind=str(payload.get("kind")),
                    retry=int(payload.get("retry", 0)),
                    due=due,
                    received=self._received.pop(message_id, None),
                    fired=started,
                    took=ended - started,
                    failed=failed,
                    send_s=send_s,
                    requests=requests,
                )
            )

    def overdue(self) -> int:
        """Timers due by now and not fired yet."""
        now = time.time()
        with self._lock:
            return sum(1 for queue in self._due.values() for _, due, _ in queue if due <= now)

    def figures(self) -> dict[str, Any]:
        """Lateness p50/p99/max in ms (all firings, then per kind), failures and retries."""
        with self._lock:
            firings = list(self.firings)
        result: dict[str, Any] = {"timers_fired": len(firings), **_stats("timer_late", firings)}
        delivered = [f for f in firings if f.received is not None]
        result |= _stats_of("timer_delivery", [(f.received - f.due) * 1000 for f in delivered])  # type: ignore[operator]
        result |= _stats_of("timer_wait", [(f.fired - f.received) * 1000 for f in delivered])  # type: ignore[operator]
        result |= _stats_of("timer_send", [f.send_s * 1000 for f in firings])
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
