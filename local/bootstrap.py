"""Create vkyc's AWS resources on an endpoint: tables (from the one definition in
``vkyc.repositories.tables``), the timer queue, the integrations queue and the image-check queue, each
with its dead-letter queue, and the media bucket, which tells the integrations queue of uploads.
Idempotent: what exists is left alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from local.aws import client as _client
from vkyc import env
from vkyc.domain.images import UPLOAD_PREFIX
from vkyc.repositories import tables

TIMER_MAX_RECEIVES = 5  # a timer handler failing this often is parked in the DLQ for a human
JOB_MAX_RECEIVES = 5
# A job batch may hold five webhook attempts of up to 10 s each: the visibility must outlast it.
INTEGRATIONS_VISIBILITY_S = 120
IMAGE_CHECK_VISIBILITY_S = 60


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
    timer = env.timer_queue_name()
    dlq_url = sqs.create_queue(QueueName=f"{timer}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(TIMER_MAX_RECEIVES)})
    timer_url = sqs.create_queue(
        QueueName=timer, Attributes={"VisibilityTimeout": "30", "RedrivePolicy": redrive}
    )["QueueUrl"]
    resources.queues = {timer: timer_url, f"{timer}-dlq": dlq_url}
    for name, visibility in (
        (env.integrations_queue_name(), INTEGRATIONS_VISIBILITY_S),
        (env.image_check_queue_name(), IMAGE_CHECK_VISIBILITY_S),
    ):
        resources.queues.update(_queue_with_dlq(sqs, name, visibility))

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
    # S3 tells the integrations app of every upload of the integrator API's forms (the image check).
    integrations_arn = sqs.get_queue_attributes(
        QueueUrl=resources.queues[env.integrations_queue_name()], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "integrator-uploads",
                    "QueueArn": integrations_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOAD_PREFIX}]}},
                }
            ]
        },
    )
    return resources


def _queue_with_dlq(sqs: Any, name: str, visibility_s: int) -> dict[str, str]:
    """A queue whose messages go to ``<name>-dlq`` after ``JOB_MAX_RECEIVES`` failed receives."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(JOB_MAX_RECEIVES)})
    url = sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": str(visibility_s), "RedrivePolicy": redrive}
    )["QueueUrl"]
    return {name: url, f"{name}-dlq": dlq_url}
