"""Create vkyc's AWS resources on an endpoint: tables (from the one definition in
``vkyc.repositories.tables``), the queues of ``vkyc.config.QUEUES`` each with its dead-letter queue,
and the media bucket, which tells the queue that ``receives_uploads`` of each upload of the integrator
API's forms (the deployment's templates are made from the same declarations, ``infra/``).
Idempotent: what exists is left alone, but for what an older release did not have: an index a table
lacks is added to it (a local stack's tables are kept across restarts, ``local/moto_state.py``), and
tickets stored before their ``open_for`` key existed get it (``vkyc.services.ticket_index``: a full
read of the open tickets until one pass completes, then one read of its mark).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from local.aws import client as _client
from vkyc import env
from vkyc.config import QUEUES, QueueSpec
from vkyc.domain.images import UPLOAD_PREFIX
from vkyc.repositories import pynamodb_internals, tables
from vkyc.services import ticket_index


@dataclass
class Resources:
    endpoint_url: str
    tables: list[str] = field(default_factory=list)
    stream_arns: dict[str, str] = field(default_factory=dict)  # table base name -> stream ARN
    queues: dict[str, str] = field(default_factory=dict)  # name -> URL
    bucket: str = ""
    indexes_added: list[str] = field(default_factory=list)  # "table.index" added to an existing table
    tickets_backfilled: int = 0

    def export_stream_arns(self) -> None:
        """Put each stream ARN where the apps' ``on_dynamodb_record`` decorators read it."""
        for table, arn in self.stream_arns.items():
            os.environ[env.stream_arn_variable(table)] = arn


def create_resources(endpoint_url: str, prefix: str | None = None) -> Resources:
    prefix = env.table_prefix() if prefix is None else prefix
    tables.bind(endpoint_url, env.region(), prefix)
    tables.create_all(wait=True)
    resources = Resources(endpoint_url=endpoint_url)
    dynamodb = _client("dynamodb", endpoint_url)
    for model in tables.ALL_MODELS:
        name = model.Meta.table_name
        resources.tables.append(name)
        described = dynamodb.describe_table(TableName=name)["Table"]
        resources.indexes_added += add_missing_indexes(dynamodb, model, described)
        arn = described.get("LatestStreamArn")
        if arn:
            resources.stream_arns[model.TABLE] = arn
    resources.tickets_backfilled = ticket_index.backfill().written

    sqs = _client("sqs", endpoint_url)
    for spec in QUEUES:
        name = _name(spec)
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        # A message whose handler failed this often is parked in the dead-letter queue for a human.
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receives)})
        attributes = {"VisibilityTimeout": str(spec.visibility_timeout_s), "RedrivePolicy": redrive}
        queue_url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        resources.queues.update({name: queue_url, f"{name}-dlq": dlq_url})

    s3 = _client("s3", endpoint_url)
    bucket = env.bucket_name()
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        region = env.region()
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    resources.bucket = bucket
    notices = [spec for spec in QUEUES if spec.receives_uploads]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "integrator-uploads",
                    "QueueArn": sqs.get_queue_attributes(
                        QueueUrl=resources.queues[_name(spec)], AttributeNames=["QueueArn"]
                    )["Attributes"]["QueueArn"],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOAD_PREFIX}]}},
                }
                for spec in notices
            ]
        },
    )
    return resources


def add_missing_indexes(dynamodb: Any, model: type[tables.VkycModel], described: dict[str, Any]) -> list[str]:
    """Create the GSIs of ``model`` its table (as ``described`` by DescribeTable) lacks, one UpdateTable
    each (DynamoDB adds one index at a time), waiting until each is active; "table.index" of each.
    A deployed table gets its new indexes from CloudFormation instead (``infra.tables``)."""
    present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    schema = pynamodb_internals.table_schema(model)
    added = []
    for index in schema["global_secondary_indexes"]:
        if index["index_name"] in present:
            continue
        dynamodb.update_table(
            TableName=model.Meta.table_name,
            AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": index["index_name"],
                        "KeySchema": index["key_schema"],
                        "Projection": index["projection"],
                    }
                }
            ],
        )
        _wait_until_active(dynamodb, model.Meta.table_name, index["index_name"])
        added.append(f"{model.TABLE}.{index['index_name']}")
    return added


def _wait_until_active(dynamodb: Any, table: str, index_name: str, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        indexes = dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
        if any(i["IndexName"] == index_name and i.get("IndexStatus") == "ACTIVE" for i in indexes):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"index {index_name} of {table} is not active after {timeout_s:.0f} s")
        time.sleep(1)  # an endpoint backfilling the index (LocalStack): nothing to do but ask again


def _name(spec: QueueSpec) -> str:
    return os.environ.get(spec.variable.name) or str(spec.variable.default)
