"""The local moto server's state survives its restart and its crash (``local.moto_state``): what a
client was told is stored is restored from the snapshot and the journal, a record cut short by a crash
is ignored, and only writes are journaled.

Each test serves moto's dispatcher, wrapped, from a thread of this process on a port the system picks;
a "crash" is forgetting every backend (what a killed process loses) and restoring from the directory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core.base_backend import BackendDict
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local import moto_patches
from local.moto_state import JOURNAL, SNAPSHOT, PersistentState, classify

REGION = "ap-southeast-1"


class Served:
    def __init__(self, directory: Path, snapshot_every: int = 1000) -> None:
        moto_patches.apply()
        self.state = PersistentState(directory, snapshot_every=snapshot_every)
        app = DomainDispatcherApplication(create_backend_app)
        self.replayed = self.state.restore(app)
        self.server = make_server(
            "127.0.0.1", 0, self.state.wrap(app), True, request_handler=MotoRequestHandler
        )
        self.port = self.server.server_port  # the system's pick: nobody can take it in between
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=f"http://127.0.0.1:{self.port}",
            region_name=REGION,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )

    def crash(self) -> None:
        """Stop serving without a snapshot, and forget every backend: what ``kill -9`` leaves."""
        self.server.shutdown()
        self.thread.join(timeout=10)
        BackendDict.reset()


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for server in started:
        server.server.shutdown()
    BackendDict.reset()


def write_some(server: Served) -> None:
    dynamodb = server.client("dynamodb")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for n in range(12):
        dynamodb.put_item(TableName="t", Item={"k": {"S": str(n)}, "v": {"N": str(n)}})
    dynamodb.update_item(
        TableName="t",
        Key={"k": {"S": "3"}},
        UpdateExpression="SET v = :v",
        ConditionExpression="v = :old",
        ExpressionAttributeValues={":v": {"N": "33"}, ":old": {"N": "3"}},
    )
    s3 = server.client("s3")
    s3.create_bucket(Bucket="media-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="media-bucket", Key="calls/c1/recording.webm", Body=b"\x1a\x45" * 5000)
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="timers")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "ring"}')


def assert_all_there(server: Served) -> None:
    dynamodb = server.client("dynamodb")
    assert dynamodb.scan(TableName="t", Select="COUNT")["Count"] == 12
    assert dynamodb.get_item(TableName="t", Key={"k": {"S": "3"}})["Item"]["v"] == {"N": "33"}
    assert dynamodb.describe_table(TableName="t")["Table"].get("LatestStreamArn")
    body = server.client("s3").get_object(Bucket="media-bucket", Key="calls/c1/recording.webm")["Body"]
    assert body.read() == b"\x1a\x45" * 5000
    sqs = server.client("sqs")
    url = sqs.get_queue_url(QueueName="timers")["QueueUrl"]
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])] == ['{"kind": "ring"}']


def test_a_crash_loses_nothing_the_journal_recorded(tmp_path, served):
    served.append(Served(tmp_path))
    write_some(served[0])
    served[0].crash()
    served.append(Served(tmp_path))
    assert served[1].replayed > 15
    assert_all_there(served[1])


def test_snapshots_bound_the_replay_and_keep_everything(tmp_path, served):
    served.append(Served(tmp_path, snapshot_every=5))
    write_some(served[0])
    assert (tmp_path / SNAPSHOT).exists()
    served[0].crash()
    served.append(Served(tmp_path, snapshot_every=5))
    assert served[1].replayed < 5, "only what came after the last snapshot is replayed"
    assert_all_there(served[1])


def test_a_record_cut_short_by_a_crash_is_ignored(tmp_path, served):
    served.append(Served(tmp_path))
    write_some(served[0])
    served[0].crash()
    with open(tmp_path / JOURNAL, "ab") as journal:
        journal.write(b"\x40\x00\x00\x00\xff")  # a header and nothing after it
    served.append(Served(tmp_path))
    assert_all_there(served[1])


def test_a_clean_stop_leaves_a_snapshot_and_an_empty_journal(tmp_path, served):
    served.append(Served(tmp_path))
    write_some(served[0])
    served[0].server.shutdown()
    served[0].state.close()
    assert (tmp_path / SNAPSHOT).exists() and (tmp_path / JOURNAL).read_bytes() == b""
    BackendDict.reset()
    served.append(Served(tmp_path))
    assert served[1].replayed == 0
    assert_all_there(served[1])


@pytest.mark.parametrize(
    ("environ", "body", "kind"),
    [
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem"}, b"", "read"),
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems"}, b"", "write"),
        ({"HTTP_X_AMZ_TARGET": "DynamoDBStreams_20120810.GetRecords"}, b"", "read"),
        ({"HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"}, b"", "read"),
        ({"HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessageBatch"}, b"", "write"),
        (
            {
                "REQUEST_METHOD": "POST",
                "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=x/20260101/r/sqs/aws4",
            },
            b"Action=DeleteMessage&QueueUrl=q",
            "write",
        ),
        ({"REQUEST_METHOD": "GET", "PATH_INFO": "/media-bucket/k"}, b"", "read"),
        ({"REQUEST_METHOD": "PUT", "PATH_INFO": "/media-bucket/k"}, b"x", "write"),
        ({"REQUEST_METHOD": "POST", "PATH_INFO": "/moto-api/reset"}, b"", "read"),
    ],
)
def test_only_writes_are_journaled(environ, body, kind):
    assert classify({"REQUEST_METHOD": "POST", "PATH_INFO": "/", **environ}, body) == kind
