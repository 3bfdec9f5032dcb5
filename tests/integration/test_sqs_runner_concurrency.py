"""The SQS runner invokes a queue's handler as Lambda does under load (``local/runners/sqs.py``): several
invocations at once, none of them holding up records received with a slow one, never more than its
concurrency, and ``stop()`` waiting for the invocations under way.

Each test builds a Chalice app of its own around one queue on the session's moto server; its handler
blocks on a gate for records whose body starts with ``slow``, so the tests follow the runner's
behaviour by conditions, never by the clock.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest
from chalice import Chalice
from chalice.app import SQSEvent

from local.runners import EventRunners
from tests.polling import wait_until

pytestmark = pytest.mark.integration


@dataclass
class GatedApp:
    """A one-queue app whose handler records every invocation and holds ``slow`` records at a gate."""

    app: Chalice
    gate: threading.Event = field(default_factory=threading.Event)
    handled: list[str] = field(default_factory=list)
    running: int = 0
    most_running: int = 0
    events: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, event: SQSEvent) -> None:
        bodies = [record.body for record in event]
        with self.lock:
            self.events.append(bodies)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            for body in bodies:
                if body.startswith("slow"):
                    assert self.gate.wait(timeout=60), "the test never opened the gate"
                with self.lock:
                    self.handled.append(body)
        finally:
            with self.lock:
                self.running -= 1


@dataclass
class Queue:
    url: str
    sqs: object

    def send(self, *bodies: str) -> None:
        """All in one request, so one receive may return them together."""
        self.sqs.send_message_batch(  # type: ignore[attr-defined]
            QueueUrl=self.url, Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)]
        )


@pytest.fixture()
def queue(moto_server) -> Iterator[tuple[str, Queue]]:
    sqs = boto3.client("sqs", endpoint_url=moto_server.url, region_name=os.environ["AWS_DEFAULT_REGION"])
    name = f"runner-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    yield name, Queue(url, sqs)
    sqs.delete_queue(QueueUrl=url)


def gated_app(queue_name: str, batch_size: int = 10) -> GatedApp:
    gated = GatedApp(Chalice(app_name="runner-test"))

    @gated.app.on_sqs_message(queue=queue_name, batch_size=batch_size)
    def work(event: SQSEvent) -> None:
        gated.handle(event)

    return gated


def start_runners(gated: GatedApp, moto_server, concurrency: int) -> EventRunners:
    runners = EventRunners(
        gated.app, moto_server.url, os.environ["AWS_DEFAULT_REGION"], sqs_concurrency=concurrency
    ).start()
    assert runners.wait_ready(10)
    return runners


def test_a_slow_record_holds_up_none_of_the_records_received_with_it(moto_server, queue):
    name, q = queue
    gated = gated_app(name)
    runners = start_runners(gated, moto_server, concurrency=4)
    try:
        q.send("slow-1", "fast-1", "fast-2", "fast-3")

        # Handled while the slow one still waits at its gate (which only the test opens).
        wait_until(lambda: {"fast-1", "fast-2", "fast-3"} <= set(gated.handled))
        assert "slow-1" not in gated.handled

        gated.gate.set()
        wait_until(lambda: "slow-1" in gated.handled)
    finally:
        gated.gate.set()
        assert runners.stop(timeout=10)
    assert sorted(gated.handled) == ["fast-1", "fast-2", "fast-3", "slow-1"]  # each exactly once


def test_no_more_invocations_at_once_than_the_concurrency(moto_server, queue):
    name, q = queue
    gated = gated_app(name)
    runners = start_runners(gated, moto_server, concurrency=2)
    try:
        q.send(*(f"slow-{n}" for n in range(6)))
        wait_until(lambda: gated.running == 2)
        gated.gate.set()
        wait_until(lambda: len(gated.handled) == 6)
    finally:
        gated.gate.set()
        assert runners.stop(timeout=10)
    assert gated.most_running == 2
    assert sorted(gated.handled) == sorted(f"slow-{n}" for n in range(6))
    assert all(len(bodies) <= 10 for bodies in gated.events)


def test_stop_waits_for_the_invocations_under_way(moto_server, queue):
    name, q = queue
    gated = gated_app(name)
    runners = start_runners(gated, moto_server, concurrency=2)
    try:
        q.send("slow-1")
        wait_until(lambda: gated.running == 1)

        assert not runners.stop(timeout=2)  # the handler is still at its gate

        gated.gate.set()
        assert runners.stop(timeout=10)
        assert gated.handled == ["slow-1"]
    finally:
        gated.gate.set()
        runners.stop(timeout=10)


def test_records_share_an_event_when_threads_are_busy_but_never_beyond_the_batch_size(moto_server, queue):
    name, q = queue
    gated = gated_app(name, batch_size=2)
    runners = start_runners(gated, moto_server, concurrency=1)
    try:
        q.send("slow-0")
        wait_until(lambda: gated.running == 1)
        q.send(*(f"fast-{n}" for n in range(6)))  # received while the only thread is busy
        gated.gate.set()
        wait_until(lambda: len(gated.handled) == 7)
    finally:
        gated.gate.set()
        assert runners.stop(timeout=10)
    assert gated.most_running == 1
    assert all(len(bodies) <= 2 for bodies in gated.events)
    assert sorted(gated.handled) == sorted(["slow-0", *(f"fast-{n}" for n in range(6))])
