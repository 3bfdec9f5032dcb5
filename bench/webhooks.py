"""Webhook delivery through the local event sources: how many events one sender delivers per second, how
long from the table change to the receiver, and how many AWS requests a delivered event costs.

Runs moto (a child process), the integrations app (``functions/integrations``) with its stream runners
and ONE poller of the integrations queue (one sender: one Lambda invocation at a time), and a receiver
on a local port that verifies every signature. Dossiers of a unit of its own, subscribed once, are
decided (W → A, one transaction each): each decision is a ``dossier.decided`` event.

- latency: ``--paced`` decisions at ``--rate`` per second; each from its commit returning to the
  receiver's answer (p50, p99);
- throughput: ``--burst`` decisions at once; delivered events over the time from the first commit to the
  last arrival;
- AWS requests per delivered event: every botocore call made inside the app's handlers (the stream
  fan-out and the sender), and, separately, with the event sources' own polling (GetRecords,
  ReceiveMessage, DeleteMessage...) over the whole run.

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.client

from bench.webhook_receiver import Receiver
from bench.ws_roundtrip import percentile
from local.moto_server import MotoServer, ensure_fake_credentials

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_bench_" + "k" * 32
_local = threading.local()
COUNTS = {"handlers": 0, "all": 0}
_lock = threading.Lock()


def _install_counter() -> None:
    original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 (private, untyped)

    def counted(self: botocore.client.BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if getattr(_local, "bench", False):
            return original(self, operation_name, api_params)
        with _lock:
            COUNTS["all"] += 1
            if getattr(_local, "handler", False):
                COUNTS["handlers"] += 1
        return original(self, operation_name, api_params)

    setattr(botocore.client.BaseClient, "_make_api_call", counted)  # noqa: B010 (private, untyped)


def _trace_handlers(app: Any) -> None:
    for name, handler in list(app.handler_map.items()):

        def traced(event: Any, context: Any, _handler: Any = handler) -> Any:
            _local.handler = True
            try:
                return _handler(event, context)
            finally:
                _local.handler = False

        app.handler_map[name] = traced


def _arrivals(receiver: Receiver) -> dict[str, float]:
    """When each dossier's event first reached the receiver (perf_counter), its signature verified."""
    from vkyc.protocol.webhook_signing import verify

    first: dict[str, float] = {}
    for arrival in receiver.received():
        verify(SECRET, arrival.headers.get("Vkyc-Signature"), arrival.body, time.time())
        resource_id = arrival.event["resource"]["id"]
        first[resource_id] = min(arrival.at, first.get(resource_id, arrival.at))
    return first


def _decide(dossiers: list[Any]) -> dict[str, float]:
    from vkyc.domain.dossier import DossierEvent
    from vkyc.repositories.dossiers import DossierRepository

    repo, committed = DossierRepository(), {}
    _local.bench = True
    try:
        for dossier in dossiers:
            repo.transition(dossier, DossierEvent.APPROVE, request_id=uuid.uuid4().hex, actor="bench")
            committed[dossier.dossier_id] = time.perf_counter()
    finally:
        _local.bench = False
    return committed


def _dossiers(unit: str, count: int) -> list[Any]:
    from vkyc.domain.dossier import DossierEvent
    from vkyc.repositories.dossiers import DossierRepository

    repo, made = DossierRepository(), []
    _local.bench = True
    try:
        for _ in range(count):
            dossier = repo.create(
                f"B-{uuid.uuid4().hex[:10]}", unit_id=unit, request_id=uuid.uuid4().hex, actor="b"
            )
            repo.transition(dossier, DossierEvent.SUBMIT, request_id=uuid.uuid4().hex, actor="bench")
            made.append(dossier)
    finally:
        _local.bench = False
    return made


def _wait(receiver: Receiver, ids: list[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrived = {a.event["resource"]["id"] for a in receiver.received()}
        if all(i in arrived for i in ids):
            break
        time.sleep(0.02)
    return _arrivals(receiver)


def run(paced: int, rate: float, burst: int) -> dict[str, Any]:
    ensure_fake_credentials()
    moto = MotoServer(port=0)
    moto.start()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": moto.url,
            "VKYC_TABLE_PREFIX": f"wb{uuid.uuid4().hex[:6]}-",
            "VKYC_WEBHOOK_ALLOW_PRIVATE": "1",
            "VKYC_TOKEN_SECRET": "bench-" + "x" * 40,
        }
    )
    runners = None
    receiver: Receiver | None = None
    try:
        from local.bootstrap import create_resources
        from local.chalice_app import load_app
        from local.runners import EventRunners
        from vkyc import env
        from vkyc.domain.webhooks import EventType
        from vkyc.repositories import webhooks
        from vkyc.repositories.tables import WebhookSubscription

        create_resources(moto.url).export_stream_arns()
        app = load_app(ROOT / "functions" / "integrations")
        _install_counter()
        _trace_handlers(app)
        receiver = Receiver()
        hook_url = receiver.url + "/hook"
        unit, now = "bench-unit", datetime.now(UTC)
        webhooks.put_subscription(
            WebhookSubscription(
                "wh_bench",
                unit_id=unit,
                url=hook_url,
                events={EventType.DOSSIER_DECIDED.value},
                status="active",
                secret=SECRET,
                created_at=now,
                updated_at=now,
                version=1,
            )
        )
        runners = EventRunners(app, moto.url, env.region(), sqs_concurrency=1, sqs_receivers=1).start()
        assert runners.wait_ready(30), "event runners not ready"

        warm = _dossiers(unit, 5)
        _wait(receiver, list(_decide(warm)), 60)

        burst_dossiers = _dossiers(unit, burst)
        with _lock:
            COUNTS["handlers"] = COUNTS["all"] = 0
        committed = _decide(burst_dossiers)
        _wait(receiver, list(committed), 300)
        with _lock:
            handler_requests, all_requests = COUNTS["handlers"], COUNTS["all"]
        arrived = _arrivals(receiver)
        delivered = [i for i in committed if i in arrived]
        span = max(arrived[i] for i in delivered) - min(committed.values())
        burst_latency = [(arrived[i] - committed[i]) * 1000 for i in delivered]

        paced_committed: dict[str, float] = {}
        again = _dossiers(unit, paced)
        for dossier in again:
            paced_committed.update(_decide([dossier]))
            time.sleep(1 / rate)
        arrived = _wait(receiver, list(paced_committed), 120)
        latencies = [(arrived[i] - paced_committed[i]) * 1000 for i in paced_committed if i in arrived]
    finally:
        if runners is not None:
            runners.stop()
        if receiver is not None:
            receiver.stop()
        moto.stop()

    figures = {
        "paced_events": len(latencies),
        "paced_rate_per_s": rate,
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p99_ms": round(percentile(latencies, 99), 1),
        "burst_events": burst,
        "burst_delivered": len(delivered),
        "delivered_per_s": round(len(delivered) / span, 1),
        "burst_latency_p50_ms": round(percentile(burst_latency, 50), 1),
        "burst_latency_p99_ms": round(percentile(burst_latency, 99), 1),
        "aws_requests_per_event_handlers": round(handler_requests / max(1, len(delivered)), 2),
        "aws_requests_per_event_with_polling": round(all_requests / max(1, len(delivered)), 2),
    }
    print(f"{'measure':<40}{'n':>6}{'p50':>10}{'p99':>10}")
    print(
        f"{'change → receiver, paced (ms)':<40}{len(latencies):>6}"
        f"{figures['latency_p50_ms']:>10}{figures['latency_p99_ms']:>10}"
    )
    print(
        f"{'change → receiver, burst (ms)':<40}{len(burst_latency):>6}"
        f"{figures['burst_latency_p50_ms']:>10}{figures['burst_latency_p99_ms']:>10}"
    )
    print(f"delivered per second (one sender): {figures['delivered_per_s']} over {span:.1f} s")
    print(
        f"AWS requests per delivered event: {figures['aws_requests_per_event_handlers']} in the handlers, "
        f"{figures['aws_requests_per_event_with_polling']} with the event sources' polling"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paced", type=int, default=40, help="decisions for the latency, one at a time")
    parser.add_argument("--rate", type=float, default=5.0, help="paced decisions per second")
    parser.add_argument("--burst", type=int, default=200, help="decisions at once, for the throughput")
    args = parser.parse_args()
    print(json.dumps(run(args.paced, args.rate, args.burst)))


if __name__ == "__main__":
    main()
