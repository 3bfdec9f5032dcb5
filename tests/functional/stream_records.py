"""Every record a table's DynamoDB stream holds so far, as Lambda's event records (the local stream
runner's conversion): what a test feeds a stream consumer directly, in any order and as often as it
likes."""

from __future__ import annotations

from typing import Any

import boto3

from local.runners.streams import dynamodb_record
from vkyc import env
from vkyc.repositories.tables import VkycModel


def stream_records(model: type[VkycModel]) -> list[dict[str, Any]]:
    """The records of ``model``'s stream from its start, in stream order (one shard after another)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=env.endpoint_url(), region_name=env.region())
    streams = boto3.client("dynamodbstreams", endpoint_url=env.endpoint_url(), region_name=env.region())
    arn = dynamodb.describe_table(TableName=model.Meta.table_name)["Table"]["LatestStreamArn"]
    found: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        ).get("ShardIterator")
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records = page.get("Records", [])
            found += [dynamodb_record(r, stream_arn=arn, region=env.region()) for r in records]
            if not records:
                break
            iterator = page.get("NextShardIterator")
    return found
