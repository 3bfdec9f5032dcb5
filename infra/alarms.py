"""CloudWatch alarms of the core stack, all to one SNS topic (``AlarmEmail`` subscribes an address):

| alarm | fires when |
|---|---|
| ``<Queue>DeadLetterAlarm`` | a message sits in a dead-letter queue (a timer failed 5 times: a call stuck?) |
| ``<Function>ErrorsAlarm`` | fails ``FunctionErrorThreshold`` times in 5 min (refused starts too) |
| ``<Function>ThrottlesAlarm`` | a function was throttled in 5 minutes (account concurrency reached) |
| ``RestApi5xxAlarm`` | the REST API answered ``ApiErrorThreshold`` 5xx in 5 minutes |
| ``WebSocketErrorsAlarm`` | the WebSocket API's integrations failed ``ApiErrorThreshold`` times in 5 min |

The media nodes' capacity alarm is in the media node stack (``infra.media_node_stack``), beside the
metric it watches.
"""

from __future__ import annotations

from typing import Any

from infra.cfn import get_att, ref, sub
from infra.resources import dead_letter_logical_id
from vkyc.config import QUEUES

FIVE_MINUTES = 300
PARAMETERS: dict[str, Any] = {
    "AlarmEmail": {
        "Type": "String",
        "Default": "",
        "Description": "Where alarms are mailed (empty: the topic has no subscriber; subscribe later)",
    },
    "FunctionErrorThreshold": {"Type": "Number", "Default": 5, "MinValue": 1},
    "ApiErrorThreshold": {"Type": "Number", "Default": 10, "MinValue": 1},
}
CONDITIONS = {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]}}


def _alarm(
    description: str, namespace: str, metric: str, dimensions: list[dict[str, Any]], threshold: Any
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": sub("${AWS::StackName}: " + description),
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": "Maximum" if namespace == "AWS/SQS" else "Sum",
            "Period": FIVE_MINUTES,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref("AlarmTopic")],
            "OKActions": [ref("AlarmTopic")],
        },
    }


def alarms(functions: list[str]) -> dict[str, Any]:
    """The topic and every alarm; ``functions`` are the logical ids of the Lambda functions."""
    resources: dict[str, Any] = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "alias/aws/sns"}},
        "AlarmSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": ref("AlarmTopic"), "Protocol": "email", "Endpoint": ref("AlarmEmail")},
        },
    }
    for spec in QUEUES:
        dlq = dead_letter_logical_id(spec)
        resources[dlq.removesuffix("Queue") + "Alarm"] = _alarm(
            "a message is in the dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": get_att(dlq, "QueueName")}],
            1,
        )
    for function in functions:
        dimensions = [{"Name": "FunctionName", "Value": ref(function)}]
        resources[f"{function}ErrorsAlarm"] = _alarm(
            f"{function} errors", "AWS/Lambda", "Errors", dimensions, ref("FunctionErrorThreshold")
        )
        resources[f"{function}ThrottlesAlarm"] = _alarm(
            f"{function} throttled", "AWS/Lambda", "Throttles", dimensions, 1
        )
    resources["RestApi5xxAlarm"] = _alarm(
        "REST API 5xx answers",
        "AWS/ApiGateway",
        "5XXError",
        [{"Name": "ApiName", "Value": sub("${AWS::StackName}-rest")}, {"Name": "Stage", "Value": "api"}],
        ref("ApiErrorThreshold"),
    )
    resources["WebSocketErrorsAlarm"] = _alarm(
        "WebSocket API integration errors",
        "AWS/ApiGateway",
        "IntegrationError",
        [
            {"Name": "ApiId", "Value": ref("WebsocketAPI")},
            {"Name": "Stage", "Value": ref("WebsocketAPIStage")},
        ],
        ref("ApiErrorThreshold"),
    )
    return resources
