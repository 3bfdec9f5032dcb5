"""A queue of jobs for a Chalice ``on_sqs_message`` handler: ``{"kind": ..., **payload}`` JSON messages,
each delayed up to SQS's 15 minutes, and the queue's dead-letter queue (``<name>-dlq``) to park what
is given up. boto3, built on first use."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

from vkyc import env

SQS_MAX_DELAY_S = 900
SQS_MAX_BATCH = 10


class JobQueue:
    def __init__(self, queue_name: str, client: Any = None) -> None:
        self.queue_name = queue_name
        self._client = client
        self._urls: dict[str, str] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client(
                "sqs",
                region_name=env.region(),
                endpoint_url=env.endpoint_url(),
                config=Config(max_pool_connections=32),
            )
        return self._client

    def _url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self.client.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]

    def send(self, kind: str, payload: dict[str, Any], delay_s: int = 0) -> None:
        """One message, delivered after ``delay_s`` (0..900) seconds. One SendMessage."""
        _check_delay(delay_s)
        self.client.send_message(
            QueueUrl=self._url(self.queue_name),
            MessageBody=json.dumps({"kind": kind, **payload}),
            DelaySeconds=delay_s,
        )

    def send_many(self, kind: str, payloads: list[dict[str, Any]]) -> None:
        """Messages without delay, ten per SendMessageBatch. ``RuntimeError`` if SQS refuses one."""
        url = self._url(self.queue_name) if payloads else ""
        for start in range(0, len(payloads), SQS_MAX_BATCH):
            chunk = payloads[start : start + SQS_MAX_BATCH]
            entries = [
                {"Id": str(index), "MessageBody": json.dumps({"kind": kind, **payload})}
                for index, payload in enumerate(chunk)
            ]
            failed = self.client.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} job(s): {failed[0].get('Message', failed[0])}")

    def dead_letter(self, kind: str, payload: dict[str, Any]) -> None:
        """Park a job that is given up in ``<queue>-dlq`` (for people and re-driving). One SendMessage."""
        self.client.send_message(
            QueueUrl=self._url(self.queue_name + "-dlq"), MessageBody=json.dumps({"kind": kind, **payload})
        )


def _check_delay(delay_s: int) -> None:
    if not 0 <= delay_s <= SQS_MAX_DELAY_S:
        raise ValueError(f"delay {delay_s} s is outside SQS's 0..{SQS_MAX_DELAY_S} s")
