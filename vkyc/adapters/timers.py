"""``Timers`` on SQS: a delayed message per timer, consumed by the signaling app's timer handler."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

from vkyc import env
from vkyc.services.ports import Timer

SQS_MAX_DELAY_S = 900
SQS_MAX_BATCH = 10


class SqsTimers:
    def __init__(self, queue_name: str | None = None) -> None:
        self.queue_name = queue_name or env.timer_queue_name()
        self._client: Any = None
        self._url: str | None = None

    def _queue(self) -> tuple[Any, str]:
        if self._client is None or self._url is None:
            # Built on first use: the Lambda's region and endpoint are known by then, and import stays cheap.
            self._client = boto3.client(
                "sqs",
                region_name=env.region(),
                endpoint_url=env.endpoint_url(),
                # Locally every handler shares this client: keep a connection per concurrent handler.
                config=Config(max_pool_connections=32),
            )
            self._url = self._client.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        return self._client, self._url

    def schedule(self, kind: str, payload: dict[str, Any], delay_s: int) -> None:
        _check_delay(delay_s)
        client, url = self._queue()
        client.send_message(
            QueueUrl=url, MessageBody=json.dumps({"kind": kind, **payload}), DelaySeconds=delay_s
        )

    def schedule_many(self, timers: list[Timer]) -> None:
        if not timers:
            return
        if len(timers) > SQS_MAX_BATCH:
            raise ValueError(f"{len(timers)} timers: SQS takes at most {SQS_MAX_BATCH} per batch")
        for timer in timers:
            _check_delay(timer.delay_s)
        client, url = self._queue()
        entries = [
            {
                "Id": str(index),
                "MessageBody": json.dumps({"kind": timer.kind, **timer.payload}),
                "DelaySeconds": timer.delay_s,
            }
            for index, timer in enumerate(timers)
        ]
        failed = client.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} timer(s): {failed[0].get('Message', failed[0])}")


def _check_delay(delay_s: int) -> None:
    if not 0 <= delay_s <= SQS_MAX_DELAY_S:
        raise ValueError(f"timer delay {delay_s} s is outside SQS's 0..{SQS_MAX_DELAY_S} s")
