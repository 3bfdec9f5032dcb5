"""``@app.on_dynamodb_record`` locally: read a table's stream and invoke the handler with Lambda's
DynamoDB event.

Contract:

* The stream is the one whose ARN the app registered (``stream_arn``; apps read it from an env var
  set by whoever created the table). It is looked up with ``DescribeStream`` when the thread starts
  and again every ``resolve_interval_s`` until it exists; ``ready`` is set once every shard has an
  iterator, so records written after ``wait_ready()`` are seen even with ``LATEST``.
* Shards present at start are read from ``starting_position`` (``TRIM_HORIZON`` or ``LATEST``);
  shards that appear later are read from their start, and a child shard only after its parent
  is exhausted, as Lambda does. Records are delivered in order per shard, at most ``batch_size``
  per invocation.
* Idle shards are polled every ``poll_interval_s`` (Lambda polls about 4 times a second; 2 is
  plenty locally, and moto serves only ~200 requests/s in all).
* A failing batch is retried ``max_retries`` times with a doubling backoff from ``retry_backoff_s``,
  then logged and skipped. AWS differs here: by default Lambda retries the batch until its
  records expire from the stream (24 h), blocking the shard, unless the event source mapping sets
  ``MaximumRetryAttempts`` / ``MaximumRecordAgeInSeconds`` (Chalice sets neither). Skipping keeps a
  local stack usable after a handler bug.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from chalice import Chalice
from chalice.app import DynamoDBEventConfig

from local.runners.base import DEFAULT_STAGE, LOG, Runner, boto_config, deployed_function_name, invoke

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams.client import DynamoDBStreamsClient
    from mypy_boto3_dynamodbstreams.type_defs import RecordTypeDef, ShardTypeDef


def _b64(data: bytes | bytearray) -> str:
    return base64.b64encode(data).decode()


def _json_attribute_value(value: Any) -> Any:
    """A DynamoDB attribute value as it appears in a Lambda event: the typed JSON form, with binary
    (``B``, ``BS``) in base64, since boto3 hands back ``bytes``. Recurses through ``M`` and ``L``."""
    if isinstance(value, list):
        return [_json_attribute_value(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted: dict[str, Any] = {}
    for key, item in value.items():
        if key == "B" and isinstance(item, bytes | bytearray):
            converted[key] = _b64(item)
        elif key == "BS":
            converted[key] = [_b64(member) for member in item]
        else:
            converted[key] = _json_attribute_value(item)
    return converted


def _epoch_seconds(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(value)


def dynamodb_record(record: RecordTypeDef, *, stream_arn: str, region: str) -> dict[str, Any]:
    """One ``Records[]`` entry of Lambda's DynamoDB event, from a ``GetRecords`` record.

    ``NewImage`` / ``OldImage`` are present only when the stream view type and the event carry
    them (no ``OldImage`` on INSERT, no ``NewImage`` on REMOVE), as in AWS.
    """
    stream = record.get("dynamodb", {})
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": _epoch_seconds(stream.get("ApproximateCreationDateTime", 0)),
        "Keys": _json_attribute_value(stream.get("Keys", {})),
    }
    for image in ("NewImage", "OldImage"):
        if image in stream:
            data[image] = _json_attribute_value(stream[image])
    data["SequenceNumber"] = stream.get("SequenceNumber", "")
    data["SizeBytes"] = stream.get("SizeBytes", 0)
    data["StreamViewType"] = stream.get("StreamViewType", "")
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record.get("eventName", ""),
        # Lambda sends 1.1; moto's GetRecords says 1.0 and a fixed us-east-1.
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": data,
        "eventSourceARN": stream_arn,
    }


def dynamodb_event(records: list[RecordTypeDef], *, stream_arn: str, region: str) -> dict[str, Any]:
    """Lambda's DynamoDB Streams event for one batch."""
    return {"Records": [dynamodb_record(r, stream_arn=stream_arn, region=region) for r in records]}


class _Shard:
    def __init__(self, shard_id: str, parent_id: str | None) -> None:
        self.shard_id = shard_id
        self.parent_id = parent_id
        self.iterator: str | None = None
        self.started = False  # holds an iterator (or had one)
        self.closed = False  # no NextShardIterator: nothing more will come
        self.last_sequence: str | None = None


class DynamoDBStreamRunner(Runner):
    """Delivers one DynamoDB stream to one ``on_dynamodb_record`` handler (see the module docstring)."""

    resolve_interval_s = 2.0
    shard_refresh_s = 10.0
    error_pause_s = 1.0

    def __init__(
        self,
        app: Chalice,
        config: DynamoDBEventConfig,
        *,
        endpoint_url: str | None,
        region: str,
        stage: str = DEFAULT_STAGE,
        poll_interval_s: float = 0.5,
        max_retries: int = 3,
        retry_backoff_s: float = 0.2,
    ) -> None:
        super().__init__(f"{app.app_name}:ddb:{config.name}")
        if config.starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError(f"{config.name}: starting_position must be TRIM_HORIZON or LATEST")
        self.config = config
        self.stream_arn = config.stream_arn
        self.region = region
        self.poll_interval_s = poll_interval_s
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self.function_name = deployed_function_name(app.app_name, stage, config.name)
        self._handler = app.handler_map[config.name]
        session = boto3.session.Session(region_name=region)
        self._streams: DynamoDBStreamsClient = session.client(
            "dynamodbstreams", endpoint_url=endpoint_url, config=boto_config()
        )
        self._shards: dict[str, _Shard] = {}
        self._next_refresh = 0.0

    # --- shards ----------------------------------------------------------------------------------

    def _describe_shards(self) -> list[ShardTypeDef]:
        shards: list[ShardTypeDef] = []
        start: str | None = None
        while True:
            if start is None:
                description = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
            else:
                description = self._streams.describe_stream(
                    StreamArn=self.stream_arn, ExclusiveStartShardId=start
                )["StreamDescription"]
            shards.extend(description.get("Shards", []))
            start = description.get("LastEvaluatedShardId")
            if not start:
                return shards

    def _iterator(self, shard: _Shard, position: str) -> str | None:
        if position == "AFTER_SEQUENCE_NUMBER":
            assert shard.last_sequence is not None
            response = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard.shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=shard.last_sequence,
            )
        else:
            response = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard.shard_id,
                ShardIteratorType=position,  # type: ignore[arg-type]
            )
        return response.get("ShardIterator")

    def _refresh_shards(self, initial: bool) -> None:
        """Learn new shards and start those whose parent is done (or unknown to us)."""
        for described in self._describe_shards():
            shard_id = described["ShardId"]
            if shard_id not in self._shards:
                self._shards[shard_id] = _Shard(shard_id, described.get("ParentShardId"))
                if initial:
                    shard = self._shards[shard_id]
                    shard.iterator = self._iterator(shard, self.config.starting_position)
                    shard.started = True
        for shard in self._shards.values():
            if shard.started:
                continue
            parent = self._shards.get(shard.parent_id or "")
            if parent is None or parent.closed:
                shard.iterator = self._iterator(shard, "TRIM_HORIZON")
                shard.started = True

    # --- delivery --------------------------------------------------------------------------------

    def _deliver(self, records: list[RecordTypeDef]) -> None:
        """Invoke the handler with one batch; retry, then skip (see the module docstring)."""
        event = dynamodb_event(records, stream_arn=self.stream_arn, region=self.region)
        for attempt in range(self.max_retries + 1):
            try:
                invoke(
                    self._handler,
                    function_name=self.function_name,
                    source=f"ddb:{self.stream_arn.split('/')[1]}",
                    event=event,
                    count=len(records),
                )
                return
            except Exception:
                if attempt == self.max_retries:
                    break
                if self._stopping.wait(self.retry_backoff_s * 2**attempt):
                    return
        LOG.error(
            "%s: batch of %d record(s) (sequence %s..%s) failed %d time(s); skipped",
            self.name,
            len(records),
            records[0].get("dynamodb", {}).get("SequenceNumber"),
            records[-1].get("dynamodb", {}).get("SequenceNumber"),
            self.max_retries + 1,
        )

    def _poll_shard(self, shard: _Shard) -> int:
        """Read and deliver one batch of ``shard``; returns how many records it held."""
        assert shard.iterator is not None
        try:
            response = self._streams.get_records(ShardIterator=shard.iterator, Limit=self.config.batch_size)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise  # the stream is gone (table deleted): start over
            # Expired/trimmed iterator or a moto hiccup: take a new one where we left off.
            LOG.warning("%s: get_records on %s failed (%s); re-positioning", self.name, shard.shard_id, code)
            shard.iterator = self._iterator(
                shard, "AFTER_SEQUENCE_NUMBER" if shard.last_sequence else self.config.starting_position
            )
            return 0
        records = list(response.get("Records", []))
        if records:
            self._deliver(records)
            shard.last_sequence = records[-1].get("dynamodb", {}).get("SequenceNumber", shard.last_sequence)
        shard.iterator = response.get("NextShardIterator")
        if shard.iterator is None:
            shard.closed = True
        return len(records)

    def _loop(self) -> None:
        if not self._shards:
            while True:
                try:
                    self._refresh_shards(initial=True)
                    break
                except (ClientError, BotoCoreError) as exc:
                    LOG.debug("%s: stream %s not available yet: %s", self.name, self.stream_arn, exc)
                    self._shards.clear()
                    if self._stopping.wait(self.resolve_interval_s):
                        return
            LOG.info(
                "%s: reading %s from %s (%d shard(s), batch %d)",
                self.name,
                self.stream_arn,
                self.config.starting_position,
                len(self._shards),
                self.config.batch_size,
            )
            self._next_refresh = time.monotonic() + self.shard_refresh_s
            self._ready.set()
        while not self._stopping.is_set():
            try:
                delivered = 0
                for shard in list(self._shards.values()):
                    if shard.iterator is not None and not self._stopping.is_set():
                        delivered += self._poll_shard(shard)
                if self._refresh_due():
                    self._refresh_shards(initial=False)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    LOG.warning("%s: stream %s is gone; waiting for it", self.name, self.stream_arn)
                    self._shards.clear()
                    return  # _run() calls _loop() again, which waits for the stream
                LOG.warning("%s: %s", self.name, exc)
                self._stopping.wait(self.error_pause_s)
                continue
            except BotoCoreError as exc:
                LOG.warning("%s: %s", self.name, exc)
                self._stopping.wait(self.error_pause_s)
                continue
            if not delivered:
                self._stopping.wait(self.poll_interval_s)

    def _refresh_due(self) -> bool:
        now = time.monotonic()
        if now < self._next_refresh:
            return False
        self._next_refresh = now + self.shard_refresh_s
        return True
