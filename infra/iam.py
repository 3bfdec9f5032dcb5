"""One IAM role per Lambda function, least privilege, derived from what its app declares it uses
(``vkyc.config.FUNCTIONS``) and from the events the function consumes.

Every statement names its actions (no ``*`` action) and only the stack's own resources (``Ref``,
``Fn::GetAtt`` or a ``Fn::Sub`` built on them; no account-wide ARN): a test checks both on every
template ``make package`` writes.

| the app declares | its functions get |
|---|---|
| ``tables="read"`` | GetItem, BatchGetItem, Query, Scan, ConditionCheckItem, DescribeTable (+ indexes) |
| ``tables="write"`` | also PutItem, UpdateItem, DeleteItem, BatchWriteItem (a transaction: item by item) |
| ``bucket="read"`` | GetObject (pre-signed URLs are signed with the role), ListBucket (HeadBucket) |
| ``bucket="write"`` | the above and PutObject, PutObjectRetention (evidence is locked as it is written) |
| ``deletes_uploads`` | DeleteObject under ``uploads/`` only (evidence and recordings are never deleted) |
| ``sends_to`` | SendMessage, GetQueueUrl on those queues |
| ``pushes`` | ManageConnections on the WebSocket API's stage |
| a secret variable | GetSecretValue on that secret |

A function that consumes a queue also gets ReceiveMessage, DeleteMessage, ChangeMessageVisibility and
GetQueueAttributes on it; one that consumes a table's stream, DescribeStream, GetRecords,
GetShardIterator and ListStreams on that stream. Every function writes to its own log group.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from infra.cfn import get_att, ref, sub
from infra.resources import queue_logical_id, secret_logical_id, table_logical_id
from vkyc.config import QUEUES, FunctionSpec
from vkyc.domain.images import UPLOAD_PREFIX
from vkyc.repositories.tables import ALL_MODELS

WS_STAGE_NAME = "api"  # chalice's api_gateway_stage (infra.chalice_build); a Ref would be a cycle

TABLE_READ = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]
TABLE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
STREAM_READ = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
]
BUCKET_READ = ["s3:GetObject"]
BUCKET_WRITE = ["s3:PutObject", "s3:PutObjectRetention"]
QUEUE_SEND = ["sqs:SendMessage", "sqs:GetQueueUrl"]
QUEUE_CONSUME = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]
LOGS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def _statement(actions: list[str], resources: list[Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _table_resources() -> list[Any]:
    resources: list[Any] = []
    for model in ALL_MODELS:
        name = table_logical_id(model.TABLE)
        resources += [get_att(name, "Arn"), sub("${" + name + ".Arn}/index/*")]
    return resources


def _queue_id(queue_name_variable: str) -> str:
    return next(queue_logical_id(q) for q in QUEUES if q.variable.name == queue_name_variable)


def function_role(
    spec: FunctionSpec,
    log_group: str,
    *,
    consumes_queues: Iterable[str] = (),
    consumes_streams: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``AWS::IAM::Role`` of one function of app ``spec``. ``consumes_queues``: logical ids of the
    queues its event source reads; ``consumes_streams``: logical ids of the tables whose streams it reads."""
    uses = spec.uses
    statements = [_statement(LOGS, [get_att(log_group, "Arn")])]
    table_actions = TABLE_READ + (TABLE_WRITE if uses.tables == "write" else [])
    statements.append(_statement(table_actions, _table_resources()))
    streams = sorted(set(consumes_streams))
    if streams:
        statements.append(_statement(STREAM_READ, [get_att(t, "StreamArn") for t in streams]))
    if uses.bucket != "none":
        objects = BUCKET_READ + (BUCKET_WRITE if uses.bucket == "write" else [])
        statements.append(_statement(objects, [sub("${MediaBucket.Arn}/*")]))
        statements.append(_statement(["s3:ListBucket"], [get_att("MediaBucket", "Arn")]))
    if uses.deletes_uploads:
        statements.append(_statement(["s3:DeleteObject"], [sub("${MediaBucket.Arn}/" + UPLOAD_PREFIX + "*")]))
    if uses.sends_to:
        queues = sorted({_queue_id(v.name) for v in uses.sends_to})
        statements.append(_statement(QUEUE_SEND, [get_att(q, "Arn") for q in queues]))
    consumed = sorted(set(consumes_queues))
    if consumed:
        statements.append(_statement(QUEUE_CONSUME, [get_att(q, "Arn") for q in consumed]))
    if uses.pushes:
        connections = sub(
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
            "${WebsocketAPI}/" + WS_STAGE_NAME + "/*/@connections/*"
        )
        statements.append(_statement(["execute-api:ManageConnections"], [connections]))
    if spec.secrets:
        statements.append(
            _statement(["secretsmanager:GetSecretValue"], [ref(secret_logical_id(v)) for v in spec.secrets])
        )
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "least-privilege",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }
