"""Create vkyc's AWS resources on an endpoint: tables (from the one definition in
``vkyc.repositories.tables``), the queues of ``vkyc.config.QUEUES`` each with its dead-letter queue,
and the media bucket, which tells the queue that ``receives_uploads`` of each upload of the integrator
API's forms (the deployment's templates are made from the same declarations, ``infra/``).
Idempotent: what exists is left alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from local.aws import client as _client
from vkyc import env
from vkyc.config import QUEUES, QueueSpec
from vkyc.domain.images import UPLOAD_PREFIX
from vkyc.repositories import tables


@dataclass
class Resources:
    endpoint_url: str
    tables: list[str] = field(default_factory=list)
    stream_arns: dict[str, str] = field(default_factory=dict)  # table base name -> stream ARN
    queues: dict[str, str] = field(default_factory=dict)  # name -> URL
    bucket: str = ""

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
        arn = dynamodb.describe_table(TableName=name)["Table"].get("LatestStreamArn")
        if arn:
            resources.stream_arns[model.TABLE] = arn

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


def _name(spec: QueueSpec) -> str:
    return os.environ.get(spec.variable.name) or str(spec.variable.default)
