"""The moto server's DynamoDB transactions behave like DynamoDB's (``local/moto_patches.py``)."""

from __future__ import annotations

import threading
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture()
def ddb(moto_server):
    client = boto3.client("dynamodb", endpoint_url=moto_server.url, region_name="ap-southeast-1")
    name = f"patch-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield client, name
    client.delete_table(TableName=name)


def stream_records(moto_server, client, table: str) -> list[dict]:
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_server.url, region_name="ap-southeast-1")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


def test_failed_condition_cancels_the_whole_transaction_with_reasons(ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "state": {"S": "W"}})
    with pytest.raises(ClientError) as info:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "b"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "a"}},
                        "UpdateExpression": "SET #s = :n",
                        "ConditionExpression": "#s = :p",
                        "ExpressionAttributeNames": {"#s": "state"},
                        "ExpressionAttributeValues": {":n": {"S": "A"}, ":p": {"S": "N"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    reasons = info.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["state"] == {"S": "W"}
    assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": "b"}})


def test_a_write_failing_after_others_applied_is_undone_with_its_stream_records(moto_server, ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
    client.put_item(TableName=table, Item={"pk": {"S": "text"}, "n": {"S": "not a number"}})
    before = len(stream_records(moto_server, client, table))
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "kept"}},
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                # Adding to a string only fails while writing: the two writes above must be undone.
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "text"}},
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": "new"}})
    assert client.get_item(TableName=table, Key={"pk": {"S": "kept"}})["Item"]["n"] == {"N": "1"}
    assert len(stream_records(moto_server, client, table)) == before


def test_concurrent_conditional_transactions_on_one_item_exactly_one_wins(ddb):
    client, table = ddb
    rounds, wins, losses = 40, [], []
    for r in range(rounds):
        key = f"item-{r}"
        client.put_item(TableName=table, Item={"pk": {"S": key}, "state": {"S": "W"}, "v": {"N": "1"}})
        barrier = threading.Barrier(2)

        def move(target: str, key: str = key, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"pk": {"S": key}},
                                "UpdateExpression": "SET #s = :t, v = v + :one",
                                "ConditionExpression": "#s = :w AND v = :v",
                                "ExpressionAttributeNames": {"#s": "state"},
                                "ExpressionAttributeValues": {
                                    ":t": {"S": target},
                                    ":w": {"S": "W"},
                                    ":v": {"N": "1"},
                                    ":one": {"N": "1"},
                                },
                            }
                        },
                        {
                            "Put": {
                                "TableName": table,
                                "Item": {"pk": {"S": f"{key}#log#2"}, "to": {"S": target}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
                wins.append((key, target))
            except ClientError:
                losses.append((key, target))

        threads = [threading.Thread(target=move, args=(t,)) for t in ("A", "R")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        item = client.get_item(TableName=table, Key={"pk": {"S": key}})["Item"]
        log = client.get_item(TableName=table, Key={"pk": {"S": f"{key}#log#2"}})["Item"]
        winner = [target for k, target in wins if k == key]
        assert len(winner) == 1, f"round {r}: winners {winner}"
        assert item["state"] == {"S": winner[0]} and item["v"] == {"N": "2"} and log["to"] == {"S": winner[0]}
    assert len(wins) == len(losses) == rounds


# Plain ``SET #a = :a, ...`` updates take a path of their own (without moto's expression parser): they
# must do exactly what moto's path does, and anything else must still get moto's own answer.


def _set(client, table: str, key: str, condition: str | None = None, **attrs: dict) -> dict:
    names = {f"#{n}": n for n in attrs}
    values = {f":{n}": v for n, v in attrs.items()}
    extra = {}
    if condition is not None:
        extra["ConditionExpression"] = condition
        names["#state"] = "state"
        values[":expected"] = {"S": "W"}
    return client.update_item(
        TableName=table,
        Key={"pk": {"S": key}},
        UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in attrs),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
        **extra,
    )


def test_a_plain_set_updates_creates_and_streams_like_dynamodb(moto_server, ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "state": {"S": "W"}, "kept": {"N": "1"}})
    after = _set(client, table, "a", "#state = :expected", state={"S": "A"}, note={"M": {"x": {"L": []}}})
    assert after["Attributes"] == {
        "pk": {"S": "a"},
        "state": {"S": "A"},
        "kept": {"N": "1"},
        "note": {"M": {"x": {"L": []}}},
    }
    _set(client, table, "new", state={"S": "N"})
    assert client.get_item(TableName=table, Key={"pk": {"S": "new"}})["Item"] == {
        "pk": {"S": "new"},
        "state": {"S": "N"},
    }
    modify = [r for r in stream_records(moto_server, client, table) if r["eventName"] == "MODIFY"]
    assert modify[-1]["dynamodb"]["OldImage"]["state"] == {"S": "W"}
    assert modify[-1]["dynamodb"]["NewImage"]["state"] == {"S": "A"}


def test_a_plain_set_whose_condition_fails_changes_nothing(ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "state": {"S": "R"}})
    with pytest.raises(ClientError) as info:
        _set(client, table, "a", "#state = :expected", state={"S": "A"})
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]["state"] == {"S": "R"}


@pytest.mark.parametrize(
    ("expression", "names", "values", "message"),
    [
        ("SET #pk = :v", {"#pk": "pk"}, {":v": {"S": "b"}}, "key"),
        ("SET #a = :v", {"#a": "a"}, {":w": {"S": "x"}}, "expressionattributevalues"),
        ("SET #a = :v, #a = :w", {"#a": "a"}, {":v": {"S": "x"}, ":w": {"S": "y"}}, "overlap"),
        ("SET #a = :v REMOVE #a", {"#a": "a"}, {":v": {"S": "x"}}, "overlap"),
        ("REMOVE #pk", {"#pk": "pk"}, None, "key"),
        ("SET #a = :v", {"#a": "a"}, {":v": {"S": "x" * 410_000}}, "size"),
    ],
)
def test_updates_moto_must_refuse_still_get_its_error(ddb, expression, names, values, message):
    client, table = ddb
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "a": {"S": "old"}})
    with pytest.raises(ClientError) as info:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": "a"}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert message in info.value.response["Error"]["Message"].lower()
    assert client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]["a"] == {"S": "old"}


def test_other_update_expressions_still_work(ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "gone": {"S": "x"}})
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET #n = #n + :one REMOVE #gone",
        ExpressionAttributeNames={"#n": "n", "#gone": "gone"},
        ExpressionAttributeValues={":one": {"N": "2"}},
    )
    assert client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {
        "pk": {"S": "a"},
        "n": {"N": "3"},
    }


def test_a_plain_set_and_remove_applies_both_and_streams_the_old_image(moto_server, ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "state": {"S": "W"}, "call": {"S": "c-1"}})
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET #s = :s REMOVE #c, #never",
        ExpressionAttributeNames={"#s": "state", "#c": "call", "#never": "never_there"},
        ExpressionAttributeValues={":s": {"S": "A"}},
    )
    assert client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {
        "pk": {"S": "a"},
        "state": {"S": "A"},
    }
    last = stream_records(moto_server, client, table)[-1]["dynamodb"]
    assert last["OldImage"]["call"] == {"S": "c-1"} and "call" not in last["NewImage"]


def test_a_put_on_attribute_not_exists_is_refused_when_the_item_exists(ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={"pk": {"S": "log-1"}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as info:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "log-2"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "log-1"}, "v": {"N": "2"}},
                        "ConditionExpression": "attribute_not_exists (#k)",
                        "ExpressionAttributeNames": {"#k": "pk"},
                    }
                },
            ]
        )
    assert [r["Code"] for r in info.value.response["CancellationReasons"]] == [
        "None",
        "ConditionalCheckFailed",
    ]
    assert client.get_item(TableName=table, Key={"pk": {"S": "log-1"}})["Item"]["v"] == {"N": "1"}
    assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": "log-2"}})


def test_reads_leave_nothing_behind_in_the_servers_memory():
    """moto recorded every item it made (for its dashboard), the copies each read returns included:
    the server grew with every Query (~1.3 GB per 100,000-row CSV export of ``bench/reports.py``)."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item

    from local.moto_server import MotoServer

    server = MotoServer(port=0, in_process=True)  # its handlers run here: their objects are this process's
    server.start()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.url, region_name="ap-southeast-1")
        table = f"mem-{uuid.uuid4().hex[:8]}"
        client.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(20):
            item = {"pk": {"S": "p"}, "sk": {"S": f"{n:02d}"}, "v": {"N": "1"}}
            client.put_item(TableName=table, Item=item)

        def live_items() -> int:
            gc.collect()
            return sum(1 for o in gc.get_objects() if isinstance(o, Item))

        before = live_items()
        for _ in range(30):
            found = client.query(
                TableName=table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "p"}},
            )
            assert found["Count"] == 20
            client.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "00"}})
        assert live_items() <= before  # 30 Queries of 20 items: 600 copies held before
    finally:
        server.stop()
