"""The local event-source runners against a real moto server, driving a test-only Chalice app
(tests/fixtures/event_app): SQS (shape, batching, delay, retry, dead-letter queue), schedules
(rate with time_scale, cron, fire_now) and DynamoDB Streams (INSERT/MODIFY/REMOVE, retry/skip).

One set of runners serves the whole module, as in a running local stack. Its schedule clock starts
on Monday 2024-03-04 08:58:30 UTC and runs 60x: ``rate(1 minute)`` first fires about 1 s after
start (virtual 08:59:30), the weekday 09:00 cron about 1.5 s after start.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import boto3
import pytest

from local.chalice_app import load_app
from local.runners import EventRunners
from tests.fakes import assert_scheduled_event_shape

APP_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "event_app"
VIRTUAL_START = datetime(2024, 3, 4, 8, 58, 30, tzinfo=UTC)  # a Monday
ACCOUNT = "123456789012"
T = TypeVar("T")


class Stack:
    def __init__(self, url: str, region: str, prefix: str) -> None:
        self.url, self.region, self.prefix = url, region, prefix
        self.sqs = boto3.client("sqs", endpoint_url=url, region_name=region)
        self.ddb = boto3.client("dynamodb", endpoint_url=url, region_name=region)
        self.queue_urls: dict[str, str] = {}
        self.queue_arns: dict[str, str] = {}
        self.stream_arns: dict[str, str] = {}
        self.app: Any = None  # the loaded Chalice app (with its test-only .recorded list)
        self.runners: EventRunners | None = None

    def create_queue(self, short: str, **attributes: str) -> None:
        name = f"{self.prefix}-{short}"
        url = self.sqs.create_queue(QueueName=name, Attributes=cast(Any, attributes))["QueueUrl"]
        self.queue_urls[short] = url
        response = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        self.queue_arns[short] = response["Attributes"]["QueueArn"]

    def create_table(self, short: str) -> None:
        description = self.ddb.create_table(
            TableName=f"{self.prefix}-{short}",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        self.stream_arns[short] = description["LatestStreamArn"]

    def recorded(self, handler: str) -> list[dict]:
        assert self.app is not None
        return [entry for entry in list(self.app.recorded) if entry["handler"] == handler]


def wait_for(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``condition`` every 50 ms until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def stack(moto_server):
    region = os.environ["AWS_DEFAULT_REGION"]
    prefix = f"evr-{uuid.uuid4().hex[:8]}"
    stack = Stack(moto_server.url, region, prefix)
    stack.create_queue("jobs")
    stack.create_queue("delayed", DelaySeconds="2")
    stack.create_queue("failing-dlq")
    redrive = {"deadLetterTargetArn": stack.queue_arns["failing-dlq"], "maxReceiveCount": 2}
    stack.create_queue("failing", VisibilityTimeout="1", RedrivePolicy=json.dumps(redrive))
    stack.create_table("items")
    stack.create_table("flaky")
    with pytest.MonkeyPatch.context() as env:
        # The app reads these when it is imported.
        env.setenv("EVENT_APP_PREFIX", prefix)
        env.setenv("EVENT_APP_ITEMS_STREAM_ARN", stack.stream_arns["items"])
        env.setenv("EVENT_APP_FLAKY_STREAM_ARN", stack.stream_arns["flaky"])
        stack.app = load_app(APP_DIR)
    real_start = datetime.now(UTC)
    runners = EventRunners(
        stack.app,
        moto_server.url,
        region,
        clock=lambda: VIRTUAL_START + (datetime.now(UTC) - real_start),
        time_scale=60.0,
        stream_poll_interval_s=0.2,
        stream_max_retries=2,
        stream_retry_backoff_s=0.05,
    )
    stack.runners = runners.start()
    assert runners.wait_ready(10), [r.name for r in runners.runners if not r.ready]
    yield stack
    assert runners.stop(timeout=5)


# --- SQS -----------------------------------------------------------------------------------------


def test_sqs_message_reaches_the_handler_as_a_lambda_sqs_event_and_is_deleted(stack):
    body = f"hello-{uuid.uuid4()}"
    stack.sqs.send_message(
        QueueUrl=stack.queue_urls["jobs"],
        MessageBody=body,
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "greeting"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    entry = wait_for(
        lambda: next((e for e in stack.recorded("jobs") if e["parsed"][0]["body"] == body), None),
        5,
        "the message",
    )
    [record] = entry["event"]["Records"]
    assert set(entry["event"]) == {"Records"}
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.queue_arns["jobs"]
    assert record["awsRegion"] == stack.region
    attributes = record["attributes"]
    assert {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    } <= set(attributes)
    assert attributes["ApproximateReceiveCount"] == "1"
    assert all(isinstance(value, str) for value in attributes.values())
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "greeting",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\x01").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert entry["parsed"][0]["receipt_handle"] == record["receiptHandle"]  # Chalice's SQSRecord read it

    def queue_empty() -> bool:
        counts = stack.sqs.get_queue_attributes(
            QueueUrl=stack.queue_urls["jobs"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}

    wait_for(queue_empty, 3, "the handled message to be deleted")


def test_sqs_messages_are_delivered_once_in_batches_of_at_most_batch_size(stack):
    bodies = {f"batch-{i}-{uuid.uuid4()}" for i in range(8)}
    for chunk in (sorted(bodies)[:4], sorted(bodies)[4:]):
        stack.sqs.send_message_batch(
            QueueUrl=stack.queue_urls["jobs"],
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
        )

    def delivered() -> list[str]:
        got = [p["body"] for e in stack.recorded("jobs") for p in e["parsed"] if p["body"] in bodies]
        return got if set(got) == bodies else []

    got = wait_for(delivered, 5, "all 8 messages")
    assert sorted(got) == sorted(bodies)  # each exactly once
    batches = [e for e in stack.recorded("jobs") if any(p["body"] in bodies for p in e["parsed"])]
    assert all(len(e["event"]["Records"]) <= 5 for e in batches)  # batch_size=5


def test_delay_seconds_per_message_and_per_queue_are_honoured(stack):
    tag = uuid.uuid4().hex
    sent = time.time()
    stack.sqs.send_message(QueueUrl=stack.queue_urls["jobs"], MessageBody=f"late-{tag}", DelaySeconds=2)
    stack.sqs.send_message(QueueUrl=stack.queue_urls["delayed"], MessageBody=f"queue-delay-{tag}")

    def find(handler: str, body: str) -> dict | None:
        return next((e for e in stack.recorded(handler) if any(p["body"] == body for p in e["parsed"])), None)

    # Delivered, and not before its delay; how late past it is bench/timers_load.py's figure.
    late = wait_for(lambda: find("jobs", f"late-{tag}"), 30, "the per-message delayed message")
    queue_late = wait_for(lambda: find("delayed", f"queue-delay-{tag}"), 30, "the queue-delayed message")
    for entry in (late, queue_late):
        assert entry["at"] - sent >= 1.95, "delivered before its DelaySeconds"


def test_a_failing_batch_is_retried_after_the_visibility_timeout_then_dead_lettered(stack, caplog):
    caplog.set_level(logging.ERROR, logger="local.runners")
    body = f"poison-{uuid.uuid4()}"
    stack.sqs.send_message(QueueUrl=stack.queue_urls["failing"], MessageBody=body)

    def in_dlq() -> list:
        messages = stack.sqs.receive_message(
            QueueUrl=stack.queue_urls["failing-dlq"], WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        return [m for m in messages if m["Body"] == body]

    [dead] = wait_for(in_dlq, 10, "the message in the dead-letter queue")
    attempts = [e for e in stack.recorded("failing") if e["parsed"][0]["body"] == body]
    counts = [e["event"]["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in attempts]
    assert counts == ["1", "2"]  # maxReceiveCount=2, then no more deliveries
    assert attempts[1]["at"] - attempts[0]["at"] >= 0.95  # not before the 1 s visibility timeout
    assert dead["Attributes"]["ApproximateReceiveCount"] >= "2"
    failures = [r for r in caplog.records if r.name == "local.runners" and "failed" in r.getMessage()]
    assert any("failing handler: always raises" in str(r.exc_info[1]) for r in failures if r.exc_info)
    # The runner survived its handler's exceptions: the queue is still served.
    assert stack.runners is not None
    assert all(runner.alive for runner in stack.runners.sqs)


# --- schedules -----------------------------------------------------------------------------------


def assert_scheduled_event(event: dict, function: str, region: str) -> None:
    assert_scheduled_event_shape(event)
    assert event["account"] == ACCOUNT
    assert event["region"] == region
    assert event["resources"] == [f"arn:aws:events:{region}:{ACCOUNT}:rule/event-app-dev-{function}"]
    uuid.UUID(event["id"])


def test_a_rate_schedule_fires_on_virtual_time_with_the_eventbridge_event(stack):
    first = wait_for(lambda: stack.recorded("every_minute")[:1], 5, "rate(1 minute) at 60x")[0]
    assert_scheduled_event(first["event"], "every_minute", stack.region)
    # One period after the virtual start: 08:59:30 plus the few real seconds (x60) it took to build
    # the runners before the schedule runner read its clock.
    assert stack.runners is not None and stack.runners.schedule is not None
    expected = (stack.runners.schedule.origin + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert expected >= "2024-03-04T08:59:30Z"
    assert first["event"]["time"] == expected
    assert first["parsed"] == {"detail_type": "Scheduled Event", "time": expected}


def test_a_weekday_cron_fires_at_its_minute(stack):
    [entry] = wait_for(lambda: stack.recorded("weekday_morning")[:1], 5, "cron(0 9 ? * MON-FRI *)")
    assert_scheduled_event(entry["event"], "weekday_morning", stack.region)
    assert entry["event"]["time"] == "2024-03-04T09:00:00Z"


def test_fire_now_invokes_a_schedule_at_once(stack):
    event = stack.runners.fire_now("weekday_morning")
    [entry] = [e for e in stack.recorded("weekday_morning") if e["event"]["id"] == event["id"]]
    assert_scheduled_event(entry["event"], "weekday_morning", stack.region)
    assert entry["event"]["time"] > "2024-03-04T08:58:30Z"  # virtual now


# --- DynamoDB Streams ----------------------------------------------------------------------------


def test_put_update_delete_reach_the_stream_handler_as_insert_modify_remove_with_images(stack):
    table, key = f"{stack.prefix}-items", f"item-{uuid.uuid4()}"
    stack.ddb.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": "1"}, "blob": {"B": b"\x02"}})
    stack.ddb.update_item(
        TableName=table,
        Key={"pk": {"S": key}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    stack.ddb.delete_item(TableName=table, Key={"pk": {"S": key}})

    def records() -> list[tuple[dict, dict]]:
        found = [
            (record, parsed)
            for entry in stack.recorded("item_changes")
            for record, parsed in zip(entry["event"]["Records"], entry["parsed"], strict=True)
            if record["dynamodb"]["Keys"] == {"pk": {"S": key}}
        ]
        return found if len(found) >= 3 else []

    found = wait_for(records, 5, "three stream records")
    assert [record["eventName"] for record, _ in found] == ["INSERT", "MODIFY", "REMOVE"]
    blob = base64.b64encode(b"\x02").decode()
    insert, modify, remove = (record for record, _ in found)
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": key}, "v": {"N": "1"}, "blob": {"B": blob}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"}
    assert modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert remove["dynamodb"]["OldImage"]["v"] == {"N": "2"}
    assert "NewImage" not in remove["dynamodb"]
    sequence = [int(record["dynamodb"]["SequenceNumber"]) for record, _ in found]
    assert sequence == sorted(sequence)
    for record, parsed in found:
        assert set(record) == {
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        }
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == stack.region
        assert record["eventSourceARN"] == stack.stream_arns["items"]
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
        assert isinstance(record["dynamodb"]["SizeBytes"], int)
        # Chalice's DynamoDBRecord parses it
        assert parsed["table_name"] == table
        assert parsed["event_name"] == record["eventName"]


def test_a_failing_stream_batch_is_retried_then_skipped_and_order_is_kept(stack):
    table, tag = f"{stack.prefix}-flaky", uuid.uuid4().hex[:8]
    for name, fail_times in (("a", 1), ("b", 99), ("c", 0)):
        stack.ddb.put_item(
            TableName=table, Item={"pk": {"S": f"{tag}-{name}"}, "fail_times": {"N": str(fail_times)}}
        )

    def deliveries() -> list[str]:
        keys = [
            record["dynamodb"]["Keys"]["pk"]["S"].rsplit("-", 1)[1]
            for entry in stack.recorded("flaky_changes")
            for record in entry["event"]["Records"]
            if record["dynamodb"]["Keys"]["pk"]["S"].startswith(tag)
        ]
        return keys if "c" in keys else []

    # a: fails once, then succeeds; b: fails 1 + stream_max_retries (2) times, then is skipped;
    # c: comes after b (in order per shard) and succeeds at once.
    assert wait_for(deliveries, 5, "the record after the poisoned one") == ["a", "a", "b", "b", "b", "c"]


# --- lifecycle -----------------------------------------------------------------------------------


def test_include_limits_the_runners_and_stop_ends_every_thread_quickly(stack):
    runners = EventRunners(stack.app, stack.url, stack.region, include={"jobs", "every_minute"})
    assert [r.name for r in runners.runners] == ["event-app:sqs:jobs", "event-app:schedules"]
    assert runners.schedule is not None and runners.schedule.names == ["every_minute"]
    runners.start()
    assert runners.wait_ready(5)
    threads = {t.name for t in threading.enumerate() if t.daemon and t.is_alive()}
    assert {"runner:event-app:sqs:jobs", "runner:event-app:schedules"} <= threads
    # Quickly: the runners' long polls last at most 1 s (SQS's own may last 20 s); a bound a busy machine
    # cannot break, not a measurement.
    assert runners.stop(timeout=10)
    assert not any(r.alive for r in runners.runners)
