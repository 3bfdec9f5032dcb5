"""The core stack: every Chalice app's ``chalice package`` template merged into one, with the resources
the functions use (``infra.resources``), one IAM role per function (``infra.iam``) and the alarms
(``infra.alarms``).

Merging:

- Each app's logical ids get the app's name in front (``APIHandler`` of signaling becomes
  ``SignalingAPIHandler``), except the WebSocket API's (``Websocket*``: one app serves it) and the REST
  API's: the apps' REST APIs become one ``RestAPI`` (their paths are disjoint), so the pages, the SDK and
  the media nodes have one REST address, one stage, one throttle and one usage plan.
- Each function gets its environment from ``vkyc.config`` (``VALUES`` below: the stack's own resources;
  a variable not listed there becomes a stack parameter of its own, with its default), its secrets as
  ``<NAME>_ARN``, a role, a log group, a memory size and a timeout fitting what invokes it.
- Event sources point at the stack's resources: an SQS queue named in a decorator at the queue of
  ``vkyc.config.QUEUES`` with that name, a stream at the table's ``StreamArn``.
- The REST API: stage throttling, the integrator endpoints (``api_key=True`` in ``vkyc.api.endpoints``)
  behind API Gateway API keys and a usage plan (not the reports, which take a bearer token or a key),
  and API Gateway's own answers (Gateway Responses) as catalogue bodies ``{code, message}``. The pages
  (CloudFront) call it cross-origin: the functions answer CORS for ``VKYC_WEB_ORIGIN``
  (``functions/chalice_rest.py``), preflights included.
- No cycles: the pages' headers name the APIs (CSP), the functions name the pages' origin (CORS), so
  the APIs must not depend on the functions: each function has a fixed name (``<stack>-<app>-<handler>``)
  and the REST API's integrations are written with it rather than with the function's ARN.
- The WebSocket API: default route throttling; the ``$default`` route (every client message) is two-way:
  a route response sends the signaling function's returned body to the socket, so a reply costs no
  ``@connections`` request (``functions/signaling/app.py``; API Gateway passes a proxy integration's
  body through as is, with no integration response).
"""

from __future__ import annotations

import json
import re
from typing import Any

from infra import alarms, iam, resources
from infra.cfn import get_att, pascal, ref, rename, sub
from infra.chalice_build import PackagedApp
from infra.resources import queue_logical_id, secret_logical_id, table_logical_id
from vkyc.api.endpoints import ALL as ENDPOINTS
from vkyc.config import (
    BUCKET,
    EVIDENCE_RETENTION_DAYS,
    FRAME_ORIGINS,
    FUNCTIONS,
    ICE_SERVERS,
    QUEUES,
    TABLE_PREFIX,
    WEB_ORIGIN,
    WS_API_ID,
    WS_STAGE,
    WS_URL,
    Variable,
)
from vkyc.protocol.errors import CATALOGUE

SAM = "AWS::Serverless-2016-10-31"
# Chalice's stage names (``api_gateway_stage``), written out: a Ref to a stage would make each function
# depend on its own API's deployment (a cycle through the routes and integrations).
WS_STAGE_NAME = REST_STAGE_NAME = "api"
WS_URL_VALUE = "wss://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + WS_STAGE_NAME
REST_URL_VALUE = "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + REST_STAGE_NAME
WEB_URL_VALUE = "https://${WebDistribution.DomainName}"

VALUES: dict[str, Any] = {
    TABLE_PREFIX.name: sub(resources.STACK_PREFIX),
    BUCKET.name: ref("MediaBucket"),
    WS_API_ID.name: ref("WebsocketAPI"),
    WS_STAGE.name: WS_STAGE_NAME,
    WS_URL.name: sub(WS_URL_VALUE),
    ICE_SERVERS.name: ref("IceServers"),
    EVIDENCE_RETENTION_DAYS.name: ref("EvidenceRetentionDays"),
    WEB_ORIGIN.name: sub(WEB_URL_VALUE),
    FRAME_ORIGINS.name: ref("FrameOrigins"),  # the pages' frame-src too (infra.resources)
    **{q.variable.name: get_att(queue_logical_id(q), "QueueName") for q in QUEUES},
}
"""What each variable of ``vkyc.config`` is set to, as CloudFormation values."""

PARAMETERS: dict[str, Any] = {
    "FunctionMemory": {
        "Type": "Number",
        "Default": 1024,
        "MinValue": 128,
        "MaxValue": 10240,
        "Description": "MB per function (Lambda's CPU share grows with it: cold starts too)",
    },
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 90,
        "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653],
    },
    "IceServers": {
        "Type": "String",
        "Default": "",
        "NoEcho": True,
        "Description": "VKYC_ICE_SERVERS: the TURN servers the parties get (JSON list of RTCIceServer; "
        "docs/protocol.md 'ICE servers'); empty: none",
    },
    "RestRateLimit": {"Type": "Number", "Default": 100, "Description": "REST requests per second (stage)"},
    "RestBurstLimit": {"Type": "Number", "Default": 200},
    "WebSocketRateLimit": {"Type": "Number", "Default": 500, "Description": "WebSocket messages per second"},
    "WebSocketBurstLimit": {"Type": "Number", "Default": 1000},
    "IntegratorRateLimit": {
        "Type": "Number",
        "Default": 20,
        "Description": "mobile tokens per second per key",
    },
    "IntegratorBurstLimit": {"Type": "Number", "Default": 40},
    "IntegratorDailyQuota": {
        "Type": "Number",
        "Default": 20000,
        "Description": "mobile tokens per day per key",
    },
}

# API Gateway's own refusals, before any function runs, answered as the catalogue does.
GATEWAY_RESPONSES = {
    "REQUEST_TOO_LARGE": "PAYLOAD_TOO_LARGE",
    "THROTTLED": "RATE_LIMITED",
    "QUOTA_EXCEEDED": "RATE_LIMITED",
    "MISSING_AUTHENTICATION_TOKEN": "NOT_FOUND",  # API Gateway's answer to a path nobody serves
    "INVALID_API_KEY": "API_KEY_INVALID",
    "DEFAULT_4XX": "BAD_MESSAGE",
    "DEFAULT_5XX": "INTERNAL_ERROR",
}
# How long each kind of function may run: API Gateway gives up after 29 s; a queue's consumer must
# finish within the queue's visibility timeout (set per queue); schedules and streams have time.
API_TIMEOUT_S = 29
BACKGROUND_TIMEOUT_S = 60
STREAM_RETRIES = 3  # as the local runner: a failing batch is retried, then skipped (and the alarm fires)


class TemplateError(RuntimeError):
    pass


def _new_name(app: str, name: str) -> str:
    if name == "RestAPI" or name.startswith("Websocket"):
        return name
    return pascal(app) + name


def _variable_parameter(variable: Variable) -> str:
    return pascal(variable.name.removeprefix("VKYC_").lower())


def _environment(app: str, parameters: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable in FUNCTIONS[app].variables:
        if variable.secret:
            values[variable.name + "_ARN"] = ref(secret_logical_id(variable))
        elif variable.name in VALUES:
            values[variable.name] = VALUES[variable.name]
        else:
            # A setting this module does not know: the deployment chooses it, as a stack parameter.
            name = _variable_parameter(variable)
            parameters[name] = {"Type": "String", "Description": f"{variable.name}: {variable.help}"}
            if variable.default is not None:
                parameters[name]["Default"] = variable.default
            values[variable.name] = ref(name)
    return values


def _queue_by_name(arn: Any) -> str:
    text = arn["Fn::Sub"] if isinstance(arn, dict) else str(arn)
    for spec in QUEUES:
        if text.endswith(":" + str(spec.variable.default)):
            return queue_logical_id(spec)
    raise TemplateError(f"an SQS handler consumes {text!r}, which vkyc/config.py QUEUES does not declare")


def _table_by_stream(arn: Any) -> str:
    parts = str(arn).split(":table/", 1)
    if len(parts) != 2 or "/stream/" not in parts[1]:
        raise TemplateError(f"a stream handler reads {arn!r}: use vkyc.env.stream_arn_variable(<table>)")
    return table_logical_id(parts[1].split("/stream/")[0])


def function_name(app: str, old_name: str) -> str:
    """``signaling`` / ``APIHandler`` -> ``signaling-api-handler`` (after the stack's name)."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z0-9]+", old_name)
    return f"{app}-" + "-".join(word.lower() for word in words)


def _function(
    app: str, name: str, function: dict[str, Any], out: dict[str, Any], parameters: dict[str, Any]
) -> None:
    """Rewrite one function of ``app`` for the stack; add its role and log group to ``out``."""
    properties = function["Properties"]
    queues: list[str] = []
    streams: list[str] = []
    timeout = API_TIMEOUT_S
    for event in (properties.get("Events") or {}).values():
        if event["Type"] == "SQS":
            queue = _queue_by_name(event["Properties"]["Queue"])
            event["Properties"]["Queue"] = get_att(queue, "Arn")
            queues.append(queue)
            timeout = next(q.visibility_timeout_s for q in QUEUES if queue_logical_id(q) == queue)
        elif event["Type"] == "DynamoDB":
            table = _table_by_stream(event["Properties"]["Stream"])
            event["Properties"]["Stream"] = get_att(table, "StreamArn")
            event["Properties"]["MaximumRetryAttempts"] = STREAM_RETRIES
            streams.append(table)
            timeout = BACKGROUND_TIMEOUT_S
        elif event["Type"] == "Schedule":
            timeout = BACKGROUND_TIMEOUT_S
    log_group = f"{name}LogGroup"
    out[log_group] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"RetentionInDays": ref("LogRetentionDays")},
    }
    out[f"{name}Role"] = iam.function_role(
        FUNCTIONS[app], log_group, consumes_queues=queues, consumes_streams=streams
    )
    properties.update(
        {
            "FunctionName": sub(resources.STACK_PREFIX + function_name(app, name.removeprefix(pascal(app)))),
            "CodeUri": f"{app}.zip",
            "Role": get_att(f"{name}Role", "Arn"),
            "MemorySize": ref("FunctionMemory"),
            "Timeout": timeout,
            "Environment": {"Variables": _environment(app, parameters)},
            "LoggingConfig": {"LogGroup": ref(log_group)},
        }
    )
    out[name] = function


def _by_name(app: str, paths: dict[str, Any]) -> dict[str, Any]:
    """The paths with each integration naming its function by name instead of by ``GetAtt``."""
    text = json.dumps(paths)
    for arn in set(re.findall(r"\$\{(" + pascal(app) + r"[A-Za-z0-9]+)\.Arn\}", text)):
        by_name = (
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
            + resources.STACK_PREFIX
            + function_name(app, arn.removeprefix(pascal(app)))
        )
        text = text.replace("${" + arn + ".Arn}", by_name)
    answer: dict[str, Any] = json.loads(text)
    return answer


def _gateway_responses() -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for kind, code in GATEWAY_RESPONSES.items():
        info = CATALOGUE[code]
        body = json.dumps({"code": code, "message": info.message})
        answer: dict[str, Any] = {
            "ResponseTemplates": {"application/json": body},
            # Any origin may read these: they say nothing but the catalogue's words (and naming the
            # pages' origin here would make the API depend on the pages' distribution, a cycle).
            "ResponseParameters": {"Headers": {"Access-Control-Allow-Origin": "'*'"}},
        }
        if not kind.startswith("DEFAULT_"):
            answer["StatusCode"] = str(info.http_status)
        answers[kind] = answer
    return answers


def _integrator_security(paths: dict[str, Any]) -> None:
    """API Gateway API keys (the integrator's ``x-api-key``, its usage plan's throttle and quota) on the
    endpoints that take the key in ``x-api-key`` only (``POST /auth/mobile``).

    Not on ``/v1``: it also takes the key as ``Authorization: ApiKey <key>`` (docs/openapi.json), which
    API Gateway's key check cannot read (it reads ``x-api-key``, or what a Lambda authorizer returns), so
    requiring it there would refuse documented requests. The integrations function checks the key itself
    (per-address failure counters, docs/security.md) under the stage's throttle (docs/deploy.md). Nor on
    the reports, which take a bearer token as well: API Gateway would refuse every one."""
    for endpoint in ENDPOINTS:
        if endpoint.api_key and endpoint.key_schemes == ("apiKey",) and endpoint.roles is None:
            operation = paths.get(endpoint.path, {}).get(endpoint.method.lower())
            if operation is None:
                raise TemplateError(f"{endpoint.method} {endpoint.path} is declared but no app serves it")
            operation["security"] = [{"api_key": []}]


def _rest_api(paths: dict[str, Any]) -> dict[str, Any]:
    _integrator_security(paths)
    return {
        "Type": "AWS::Serverless::Api",
        "Properties": {
            "Name": sub("${AWS::StackName}-rest"),
            "StageName": REST_STAGE_NAME,
            "EndpointConfiguration": {"Type": "REGIONAL"},
            "DefinitionBody": {
                "swagger": "2.0",
                "info": {"version": "1.0", "title": "vkyc"},
                "schemes": ["https"],
                "paths": paths,
                "definitions": {"Empty": {"type": "object", "title": "Empty Schema"}},
                "securityDefinitions": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
                "x-amazon-apigateway-api-key-source": "HEADER",
            },
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": ref("RestRateLimit"),
                    "ThrottlingBurstLimit": ref("RestBurstLimit"),
                }
            ],
            "GatewayResponses": _gateway_responses(),
        },
    }


def _usage_plan() -> dict[str, Any]:
    return {
        "IntegratorUsagePlan": {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Properties": {
                "UsagePlanName": sub("${AWS::StackName}-integrators"),
                "Description": "Each integrator's API key (docs/deploy.md: registering an integrator)",
                "ApiStages": [{"ApiId": ref("RestAPI"), "Stage": ref("RestAPI.Stage")}],
                "Throttle": {
                    "RateLimit": ref("IntegratorRateLimit"),
                    "BurstLimit": ref("IntegratorBurstLimit"),
                },
                "Quota": {"Limit": ref("IntegratorDailyQuota"), "Period": "DAY"},
            },
        }
    }


def _outputs() -> dict[str, Any]:
    def output(value: Any, description: str, export: str = "") -> dict[str, Any]:
        answer: dict[str, Any] = {"Value": value, "Description": description}
        if export:  # what the media node stack imports (infra.media_node_stack)
            answer["Export"] = {"Name": sub("${AWS::StackName}-" + export)}
        return answer

    return {
        "RestApiUrl": output(sub(REST_URL_VALUE), "the REST API (the nodes' VKYC_REST_URL)", "RestApiUrl"),
        "WebSocketUrl": output(sub(WS_URL_VALUE), "the WebSocket API"),
        "WebUrl": output(sub(WEB_URL_VALUE), "the agent and supervisor pages"),
        "WebBucketName": output(ref("WebBucket"), "where web/ is uploaded"),
        "MediaBucketName": output(ref("MediaBucket"), "recordings, snapshots, evidence", "MediaBucket"),
        "MediaBucketArn": output(get_att("MediaBucket", "Arn"), "the media bucket's ARN", "MediaBucketArn"),
        "MediaNodeRepositoryUri": output(
            get_att("MediaNodeRepository", "RepositoryUri"), "push the node image here"
        ),
        "MediaNodeRepositoryArn": output(
            get_att("MediaNodeRepository", "Arn"), "the node image repository", "MediaNodeRepositoryArn"
        ),
        "MediaNodeMasterKeySecretArn": output(
            ref("MediaNodeMasterKeySecret"), "the nodes' key master", "MediaNodeMasterKeySecretArn"
        ),
        "AlarmTopicArn": output(ref("AlarmTopic"), "every alarm goes here", "AlarmTopicArn"),
        "IntegratorUsagePlanId": output(ref("IntegratorUsagePlan"), "integrators' API keys join this plan"),
        "TablePrefix": output(sub(resources.STACK_PREFIX), "VKYC_TABLE_PREFIX of the functions"),
        **_queue_outputs(output),
    }


def _queue_outputs(output: Any) -> dict[str, Any]:
    """Each queue's name and ARN, exported: the image checker (media node stack) consumes one and sends
    to another; an operator redrives a dead-letter queue by name."""
    answers: dict[str, Any] = {}
    for spec in QUEUES:
        queue = queue_logical_id(spec)
        what = f"the {spec.variable.default or spec.variable.name} queue"
        answers[queue + "Name"] = output(get_att(queue, "QueueName"), what, queue + "Name")
        answers[queue + "Arn"] = output(get_att(queue, "Arn"), what + "'s ARN", queue + "Arn")
    return answers


def _two_way_messages(out: dict[str, Any]) -> dict[str, Any]:
    """The ``$default`` route's route response, and the deployment waiting for it."""
    route = out["WebsocketMessageRoute"]
    if route["Properties"].get("RouteKey") != "$default":
        raise TemplateError("WebsocketMessageRoute is not the $default route")
    route["Properties"]["RouteResponseSelectionExpression"] = "$default"
    deployment = out["WebsocketAPIDeployment"]
    deployment["DependsOn"] = [*deployment.get("DependsOn", []), "WebsocketMessageRouteResponse"]
    return {
        "WebsocketMessageRouteResponse": {
            "Type": "AWS::ApiGatewayV2::RouteResponse",
            "Properties": {
                "ApiId": ref("WebsocketAPI"),
                "RouteId": ref("WebsocketMessageRoute"),
                "RouteResponseKey": "$default",
            },
        }
    }


def core_template(apps: list[PackagedApp]) -> dict[str, Any]:
    """The core stack's SAM template from the apps' ``chalice package`` templates."""
    parameters: dict[str, Any] = {**resources.PARAMETERS, **PARAMETERS, **alarms.PARAMETERS}
    out: dict[str, Any] = dict(resources.all_resources())
    paths: dict[str, Any] = {}
    functions: list[str] = []
    for app in apps:
        renamed = rename(app.template["Resources"], lambda n, a=app.name: _new_name(a, n))  # type: ignore[misc]
        for old, resource in renamed.items():
            name = _new_name(app.name, old)
            if resource["Type"] == "AWS::Serverless::Api":
                clash = set(paths) & set(resource["Properties"]["DefinitionBody"]["paths"])
                if clash:
                    raise TemplateError(f"{sorted(clash)[0]} is served by two apps")
                paths.update(_by_name(app.name, resource["Properties"]["DefinitionBody"]["paths"]))
            elif resource["Type"] == "AWS::Serverless::Function":
                _function(app.name, name, resource, out, parameters)
                functions.append(name)
            elif name in out:
                raise TemplateError(f"{name} is defined by two apps")
            else:
                out[name] = resource
    out["RestAPI"] = _rest_api(paths)
    out.update(_usage_plan())
    stage = out["WebsocketAPIStage"]["Properties"]
    stage["DefaultRouteSettings"] = {
        "ThrottlingRateLimit": ref("WebSocketRateLimit"),
        "ThrottlingBurstLimit": ref("WebSocketBurstLimit"),
    }
    out["WebsocketAPI"]["Properties"]["Name"] = sub("${AWS::StackName}-websocket")
    out.update(_two_way_messages(out))
    out.update(alarms.alarms(functions))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM,
        "Description": "vkyc: signaling, routing and reports functions, their APIs, tables, queues, buckets, "
        "secrets and alarms (generated by `make package` from the code: do not edit)",
        "Parameters": parameters,
        "Conditions": {**alarms.CONDITIONS, **resources.CONDITIONS},
        "Resources": out,
        "Outputs": _outputs(),
    }
