"""The timers' SQS handler: a timer that fails is sent again soon with a growing delay, a few times,
before the batch fails and SQS's own (slow) retry takes over. The others of the batch still fire."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.runners.sqs import sqs_event


class Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], int]] = []

    def schedule(self, kind: str, payload: dict[str, Any], delay_s: int) -> None:
        self.sent.append((kind, payload, delay_s))


@pytest.fixture
def handler(tables, monkeypatch):
    from functions.signaling import app as signaling_app

    fired: list[dict[str, Any]] = []

    def fire(payload: dict[str, Any]) -> None:
        fired.append(payload)
        if payload.get("offer_id") == "lost-races":
            raise RuntimeError("conflict after conflict")

    queue = Queue()
    monkeypatch.setattr(signaling_app.graph(), "fire", fire)
    monkeypatch.setattr(signaling_app, "timers_queue", lambda: queue)
    monkeypatch.setenv("VKYC_WS_API_ID", "local")
    return signaling_app, fired, queue


def _event(*bodies: dict[str, Any]) -> dict[str, Any]:
    messages = [
        {
            "MessageId": str(n),
            "ReceiptHandle": f"h{n}",
            "Body": json.dumps(body),
            "MD5OfBody": "",
            "Attributes": {},
        }
        for n, body in enumerate(bodies)
    ]
    return sqs_event(
        messages, queue_arn="arn:aws:sqs:ap-southeast-1:000000000000:timers", region="ap-southeast-1"
    )


def test_a_failed_timer_is_sent_again_with_a_growing_delay_and_the_batch_succeeds(handler):
    app, fired, queue = handler
    app.timers(_event({"kind": "ring", "offer_id": "lost-races"}, {"kind": "ring", "offer_id": "ok"}), None)
    assert [p["offer_id"] for p in fired] == ["lost-races", "ok"]
    assert queue.sent == [("ring", {"offer_id": "lost-races", "retry": 1}, 1)]

    app.timers(_event({"kind": "ring", "offer_id": "lost-races", "retry": 3}), None)
    assert queue.sent[-1] == ("ring", {"offer_id": "lost-races", "retry": 4}, 8)


def test_a_timer_out_of_retries_fails_the_batch_for_sqs_to_retry(handler):
    app, _fired, queue = handler
    with pytest.raises(RuntimeError, match="1 timer"):
        app.timers(_event({"kind": "ring", "offer_id": "lost-races", "retry": 4}), None)
    assert queue.sent == []


def test_a_body_that_is_not_a_timer_is_not_sent_again(handler):
    app, _fired, queue = handler
    with pytest.raises(RuntimeError):
        app.timers(_event(["not", "an", "object"]), None)  # type: ignore[arg-type]
    assert queue.sent == []
