"""``@app.on_sqs_message`` locally: poll a queue and invoke the handler with Lambda's SQS event.

Contract (what Lambda's SQS event source mapping does, and what this runner does):

* One batch is at most ``batch_size`` messages. A ``ReceiveMessage`` returns at most 10, so larger
  batches are gathered over several calls while messages keep coming or while
  ``maximum_batching_window_in_seconds`` lasts.
* Handler returns → the whole batch is deleted. Handler raises → nothing is deleted: the messages
  reappear after the queue's visibility timeout (the runner does not change it), and once a
  message has been received ``maxReceiveCount`` times the queue's RedrivePolicy moves it to the
  dead-letter queue. moto 5.2 does that move by itself, on the next receive once the count is
  reached, just as SQS does, so the runner has no DLQ code of its own.
* ``DelaySeconds`` (queue attribute and per message) is enforced by the queue (moto honours both):
  a delayed message is simply not returned by ``ReceiveMessage`` before its time.
* Long polling with ``WaitTimeSeconds`` of 1 s: about one request per second per idle queue, and
  ``stop()`` returns within about a second. A new message ends the poll at once, and so does a
  delayed or in-flight message becoming visible (``local/moto_patches.py`` wakes moto's poll then, as
  SQS does), so a timer is delivered within milliseconds of its due time.

Concurrency: ``receivers`` threads receive (as Lambda polls a queue with several pollers) and hand
what they receive to ``concurrency`` invocation threads (as Lambda runs several invocations of one
function on a queue at once): what one ``ReceiveMessage`` returns is split over the free threads, one
record each while enough are free (never more than ``batch_size`` records in one event), so a slow
record (a timer whose handler waits on a busy DynamoDB) delays no other, and a receiver waits for a
handler only when every thread is busy. With a ``maximum_batching_window_in_seconds`` the runner
gathers one batch for one thread instead, as Lambda does, and so it does for a FIFO queue (its order
holds within one invocation only). ``maximum_concurrency`` is ignored. Not emulated: partial batch
responses (Chalice cannot configure ``ReportBatchItemFailures``), Lambda's timeout and payload limits.
"""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from chalice import Chalice
from chalice.app import SQSEventConfig

from local.runners.base import DEFAULT_STAGE, LOG, Runner, boto_config, deployed_function_name, invoke

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

MAX_RECEIVE = 10  # SQS's cap per ReceiveMessage


def _lambda_message_attribute(value: MessageAttributeValueOutputTypeDef) -> dict[str, Any]:
    """SQS's ``MessageAttributeValue`` as Lambda spells it (camelCase, binary in base64)."""
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def sqs_record(message: MessageTypeDef, *, queue_arn: str, region: str) -> dict[str, Any]:
    """One ``Records[]`` entry of Lambda's SQS event, from a ``ReceiveMessage`` message received
    with ``AttributeNames=["All"]`` and ``MessageAttributeNames=["All"]``."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        # ApproximateReceiveCount, SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp
        # (+ SequenceNumber, MessageGroupId, MessageDeduplicationId on FIFO queues), all strings.
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(messages: list[MessageTypeDef], *, queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's SQS event for one batch."""
    return {"Records": [sqs_record(message, queue_arn=queue_arn, region=region) for message in messages]}


class SQSRunner(Runner):
    """Delivers one queue to one ``on_sqs_message`` handler (see the module docstring).

    The queue is looked up by name (or by ``queue_arn``) when the thread starts and again every
    ``resolve_interval_s`` until it exists, so the runner may start before the queue is created.
    ``ready`` is set once the queue is found. ``concurrency`` invocations run at once at most.
    """

    resolve_interval_s = 2.0
    error_pause_s = 1.0

    def __init__(
        self,
        app: Chalice,
        config: SQSEventConfig,
        *,
        endpoint_url: str | None,
        region: str,
        stage: str = DEFAULT_STAGE,
        wait_seconds: int = 1,
        concurrency: int = 1,
        receivers: int = 1,
    ) -> None:
        super().__init__(f"{app.app_name}:sqs:{config.name}")
        if concurrency < 1 or receivers < 1:
            raise ValueError(f"{concurrency} invocations and {receivers} receivers: at least one of each")
        self.receivers = receivers
        self._more_receivers: list[threading.Thread] = []
        self.config = config
        self.region = region
        self.wait_seconds = wait_seconds
        self.concurrency = concurrency
        # One permit per invocation thread: taken before receiving, given back when the invocation ends.
        self._free = threading.BoundedSemaphore(concurrency)
        self._invocations = ThreadPoolExecutor(concurrency, thread_name_prefix=f"sqs:{config.name}")
        self.function_name = deployed_function_name(app.app_name, stage, config.name)
        self._handler = app.handler_map[config.name]
        # Clients are thread-safe once built; build them here, in the caller's thread, because
        # boto3's session machinery is not.
        session = boto3.session.Session(region_name=region)
        # Receivers poll and invocation threads delete at once: a connection for each.
        self._sqs: SQSClient = session.client(
            "sqs", endpoint_url=endpoint_url, config=boto_config(receivers + concurrency)
        )
        self.queue_url: str | None = None
        self.queue_arn: str | None = None

    @property
    def queue_name(self) -> str:
        if self.config.queue:
            return self.config.queue
        assert self.config.queue_arn is not None  # Chalice requires one of the two
        return self.config.queue_arn.rsplit(":", 1)[-1]

    def _resolve(self) -> bool:
        try:
            if self.config.queue_arn and not self.config.queue:
                account = self.config.queue_arn.split(":")[4]
                url = self._sqs.get_queue_url(QueueName=self.queue_name, QueueOwnerAWSAccountId=account)
            else:
                url = self._sqs.get_queue_url(QueueName=self.queue_name)
            queue_url = url["QueueUrl"]
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["QueueArn", "RedrivePolicy", "VisibilityTimeout"]
            )["Attributes"]
        except (ClientError, BotoCoreError) as exc:
            LOG.debug("%s: queue %s not available yet: %s", self.name, self.queue_name, exc)
            return False
        self.queue_url, self.queue_arn = queue_url, attributes["QueueArn"]
        LOG.info(
            "%s: polling %s (batch %d, visibility %s s, redrive %s)",
            self.name,
            self.queue_arn,
            self.config.batch_size,
            attributes.get("VisibilityTimeout"),
            attributes.get("RedrivePolicy", "none"),
        )
        return True

    def _receive(self, count: int, wait_seconds: int) -> list[MessageTypeDef]:
        assert self.queue_url is not None
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(MAX_RECEIVE, count),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _receive_batch(self) -> list[MessageTypeDef]:
        """Up to ``batch_size`` messages: one long poll, then more while they keep coming (a full
        page of 10) or while the batching window lasts."""
        batch_size = max(1, self.config.batch_size)
        batch = self._receive(batch_size, self.wait_seconds)
        if not batch:
            return batch
        window_end = time.monotonic() + self.config.maximum_batching_window_in_seconds
        last_page = len(batch)
        while len(batch) < batch_size and not self._stopping.is_set():
            remaining = window_end - time.monotonic()
            if remaining <= 0 and last_page < MAX_RECEIVE:
                break
            wait = min(self.wait_seconds, max(0, int(remaining + 0.999)))
            page = self._receive(batch_size - len(batch), wait)
            if not page and remaining <= 0:
                break
            batch.extend(page)
            last_page = len(page)
        return batch

    def _delete(self, messages: list[MessageTypeDef]) -> None:
        assert self.queue_url is not None
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            response = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                # E.g. the handler outlived the visibility timeout: SQS redelivers, as in AWS.
                LOG.warning("%s: could not delete a message: %s", self.name, failure.get("Message"))

    @property
    def _splits(self) -> bool:
        # A FIFO queue's batch keeps its groups' order only in one invocation; a batching window means
        # the handler wants its records together.
        return not self.queue_name.endswith(".fifo") and not self.config.maximum_batching_window_in_seconds

    def _take_permits(self, most: int) -> int:
        """Wait for a free invocation thread and take it, with any other free ones up to ``most``; 0
        when stopping meanwhile."""
        while not self._free.acquire(timeout=0.2):
            if self._stopping.is_set():
                return 0
        taken = 1
        while taken < most and self._free.acquire(blocking=False):
            taken += 1
        return taken

    def _receive_any(self) -> list[MessageTypeDef]:
        """What one receive brings: a gathered batch when the runner does not split (FIFO queue,
        batching window), else one ``ReceiveMessage`` of up to 10."""
        if not self._splits:
            return self._receive_batch()
        return self._receive(MAX_RECEIVE, self.wait_seconds)

    def _loop(self) -> None:
        while self.queue_url is None:
            if self._resolve():
                break
            if self._stopping.wait(self.resolve_interval_s):
                return
        self._ready.set()
        failing = False
        batch_size = max(1, self.config.batch_size)
        while not self._stopping.is_set():
            # Received first, then handed to threads: every receiver keeps polling whatever the
            # handlers are doing, so timers due together (a round's callers hanging up at once)
            # come in several receives at the same moment.
            try:
                messages = self._receive_any()
            except (ClientError, BotoCoreError) as exc:
                if not failing:  # one line per outage, not one per second
                    LOG.warning(
                        "%s: receive failed (%s); retrying every %.0f s", self.name, exc, self.error_pause_s
                    )
                failing = True
                self._stopping.wait(self.error_pause_s)
                continue
            failing = False
            if not messages:
                continue
            self._hand_out(messages, batch_size)

    def _hand_out(self, messages: list[MessageTypeDef], batch_size: int) -> None:
        """One thread per record while threads are free; when few are, records share threads (never
        more than ``batch_size`` an event), the rest waiting for the next free ones. Left unhandled
        when stopping: SQS hands them out again after their visibility timeout."""
        remaining = messages
        while remaining:
            permits = self._take_permits(len(remaining) if self._splits else 1)
            if not permits:
                return
            taken = min(len(remaining), permits * batch_size)
            chunk, remaining = remaining[:taken], remaining[taken:]
            for i in range(permits):
                self._invocations.submit(self._invoke, chunk[i::permits])

    def _give_back(self, permits: int) -> None:
        for _ in range(permits):
            self._free.release()

    def _invoke(self, messages: list[MessageTypeDef]) -> None:
        """One invocation with ``messages`` as its event; deletes them when the handler returns."""
        try:
            assert self.queue_arn is not None
            event = sqs_event(messages, queue_arn=self.queue_arn, region=self.region)
            try:
                invoke(
                    self._handler,
                    function_name=self.function_name,
                    source=f"sqs:{self.queue_name}",
                    event=event,
                    count=len(messages),
                )
            except Exception:
                # Leave the batch: it comes back after the visibility timeout, then goes to the DLQ.
                return
            try:
                self._delete(messages)
            except (ClientError, BotoCoreError) as exc:
                LOG.warning("%s: delete failed (%s); the batch will be delivered again", self.name, exc)
        except Exception:
            LOG.exception("%s: invocation failed", self.name)
        finally:
            self._free.release()

    def start(self) -> None:
        super().start()
        for n in range(1, self.receivers):
            thread = threading.Thread(target=self._run, name=f"runner:{self.name}#{n}", daemon=True)
            thread.start()
            self._more_receivers.append(thread)

    def join(self, timeout: float) -> bool:
        """Wait for the receivers, then for the invocations under way, ``timeout`` s in all."""
        deadline = time.monotonic() + timeout
        if not super().join(timeout):
            return False
        for thread in self._more_receivers:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                return False
        # Every permit back means no invocation is running; none starts once the receiver has ended.
        taken = 0
        try:
            while taken < self.concurrency:
                if not self._free.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    return False
                taken += 1
        finally:
            self._give_back(taken)
        self._invocations.shutdown(wait=False)
        return True
