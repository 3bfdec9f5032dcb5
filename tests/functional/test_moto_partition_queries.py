"""moto's Queries read only their partition (``local/moto_patches.py``, 4) and still answer what
DynamoDB answers: a base table's partition, an index's items of one value, writes of any kind seen by
the next Query (a Put, an update moving an item to another index value or out of a sparse index, a
delete, a transaction); and what a Query walks is its partition, not the table."""

from __future__ import annotations

import uuid

import boto3
import pytest

from local import moto_patches
from local.moto_server import MotoServer


def new_table(client) -> str:
    """A table with a range key and a sparse index ``by_owner``."""
    name = f"part-{uuid.uuid4().hex[:8]}"
    owner_key = [{"AttributeName": "owner", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name_, "AttributeType": "S"} for name_ in ("pk", "sk", "owner")
        ],
        GlobalSecondaryIndexes=[
            {"IndexName": "by_owner", "KeySchema": owner_key, "Projection": {"ProjectionType": "ALL"}}
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture()
def ddb(moto_server):
    client = boto3.client("dynamodb", endpoint_url=moto_server.url, region_name="ap-southeast-1")
    name = new_table(client)
    yield client, name
    client.delete_table(TableName=name)


def put(client, table, pk, sk, owner=None):
    item = {"pk": {"S": pk}, "sk": {"S": sk}}
    if owner:
        item["owner"] = {"S": owner}
    client.put_item(TableName=table, Item=item)


def by_owner(client, table, owner, **extra):
    answer = client.query(
        TableName=table,
        IndexName="by_owner",
        KeyConditionExpression="#o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": owner}},
        **extra,
    )
    return [(i["pk"]["S"], i["sk"]["S"]) for i in answer["Items"]]


def partition(client, table, pk):
    answer = client.query(
        TableName=table,
        KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":p": {"S": pk}, ":a": {"S": "b"}, ":b": {"S": "d"}},
        ScanIndexForward=False,
    )
    return [i["sk"]["S"] for i in answer["Items"]]


def test_a_base_table_query_reads_its_partition_in_order(ddb):
    client, table = ddb
    for sk in "abcde":
        put(client, table, "p1", sk)
    put(client, table, "p2", "c")
    assert partition(client, table, "p1") == ["d", "c", "b"]
    assert partition(client, table, "nobody") == []


def test_an_index_query_sees_every_kind_of_write_at_once(ddb):
    client, table = ddb
    put(client, table, "a", "1", "alice")
    put(client, table, "b", "2", "alice")
    put(client, table, "c", "3", "bob")
    assert by_owner(client, table, "alice") == [("a", "1"), ("b", "2")]
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "b"}, "sk": {"S": "2"}},
        UpdateExpression="SET #o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "bob"}},
    )
    assert by_owner(client, table, "alice") == [("a", "1")]
    assert by_owner(client, table, "bob") == [("b", "2"), ("c", "3")]
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "c"}, "sk": {"S": "3"}},
        UpdateExpression="REMOVE #o",
        ExpressionAttributeNames={"#o": "owner"},
    )
    assert by_owner(client, table, "bob") == [("b", "2")]  # out of the sparse index
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table,
                    "Item": {"pk": {"S": "d"}, "sk": {"S": "4"}, "owner": {"S": "bob"}},
                }
            },
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "b"}, "sk": {"S": "2"}}}},
        ]
    )
    assert by_owner(client, table, "bob") == [("d", "4")]
    assert by_owner(client, table, "bob", Limit=1, ScanIndexForward=False) == [("d", "4")]


def test_a_query_walks_its_partition_and_an_index_is_mapped_once_per_write(monkeypatch):
    server = MotoServer(port=0, in_process=True)
    server.start()
    walked: list[int] = []
    stock = moto_patches.STOCK_ALL_ITEMS

    def counting(table):
        items = stock(table)
        walked.append(len(items))
        return items

    monkeypatch.setattr(moto_patches, "STOCK_ALL_ITEMS", counting)
    try:
        client = boto3.client("dynamodb", endpoint_url=server.url, region_name="ap-southeast-1")
        table = new_table(client)
        for n in range(40):
            put(client, table, f"x{n}", "c", f"o{n % 4}")
        walked.clear()
        assert partition(client, table, "x1") == ["c"]
        assert walked == [], "a base table's query walks no other partition"
        assert len(by_owner(client, table, "o1")) == 10
        assert len(by_owner(client, table, "o2")) == 10
        assert walked == [40], "the index is mapped once, then read by value"
        put(client, table, "y", "c", "o1")
        assert len(by_owner(client, table, "o1")) == 11 and walked == [40, 41]
    finally:
        server.stop()


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize(
    ("condition", "values", "keep"),
    [
        (None, {}, lambda sk: True),
        ("#s BETWEEN :a AND :b", {":a": "03", ":b": "07"}, lambda sk: "03" <= sk <= "07"),
        ("#s = :a", {":a": "05"}, lambda sk: sk == "05"),
        ("#s < :a", {":a": "04"}, lambda sk: sk < "04"),
        ("#s <= :a", {":a": "04"}, lambda sk: sk <= "04"),
        ("#s > :a", {":a": "06"}, lambda sk: sk > "06"),
        ("#s >= :a", {":a": "06"}, lambda sk: sk >= "06"),
        ("begins_with(#s, :a)", {":a": "0"}, lambda sk: sk.startswith("0")),
    ],
)
def test_pages_of_an_index_query_are_what_a_full_walk_gives(ddb, forward, condition, values, keep):
    """Many items share a range key value (ties), so pages must cut inside a run of equal keys."""
    client, table = ddb
    rows = [(f"p{n:03d}", f"{n % 9:02d}") for n in range(60)]
    for pk, sk in rows:
        put(client, table, pk, sk, "same")
    put(client, table, "other", "05", "someone-else")
    expected = sorted(((sk, pk) for pk, sk in rows if keep(sk)), reverse=not forward)
    for limit in (1, 4, 7, 100):
        got: list[tuple[str, str]] = []
        start = None
        for _ in range(200):
            kwargs: dict = {"Limit": limit, "ScanIndexForward": forward}
            if start:
                kwargs["ExclusiveStartKey"] = start
            expression = "#o = :o" + (f" AND {condition}" if condition else "")
            answer = client.query(
                TableName=table,
                IndexName="by_owner",
                KeyConditionExpression=expression,
                ExpressionAttributeNames={"#o": "owner", **({"#s": "sk"} if condition else {})},
                ExpressionAttributeValues={":o": {"S": "same"}, **{k: {"S": v} for k, v in values.items()}},
                **kwargs,
            )
            assert len(answer["Items"]) <= limit
            got += [(i["sk"]["S"], i["pk"]["S"]) for i in answer["Items"]]
            start = answer.get("LastEvaluatedKey")
            if not start:
                break
        assert got == expected, (limit, got[:5], expected[:5])
