"""``make package``'s ``dist/``: templates cfn-lint finds no fault in, holding every handler, table, queue,
bucket and secret the code uses, with IAM that grants no ``*`` action and nothing outside the stack;
function packages that import on their own.

The templates are made once per test run: ``make test`` packages into ``dist/`` first and names it in
``VKYC_DIST``; without it (pytest alone) the session packages into a temporary folder (about a minute
when ``build/package`` holds the downloaded wheels and compiled modules, more on a cold cache).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from infra.cfn import referenced_names
from infra.package import TEMPLATES, package
from infra.resources import queue_logical_id, secret_logical_id, table_logical_id
from infra.template import function_name
from vkyc.config import FUNCTIONS, QUEUES
from vkyc.repositories.tables import ALL_MODELS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]
# AWS authorizes these on no narrower resource than "*" (the one statement the test lets through).
ACCOUNT_WIDE_ONLY = {"ecr:GetAuthorizationToken"}
PSEUDO = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::URLSuffix"}


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("VKYC_DIST")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    package("test", out, ROOT / "build" / "package", out=lambda line: None)
    return out


@pytest.fixture(scope="session")
def core(dist: Path) -> dict[str, Any]:
    return json.loads((dist / "vkyc.json").read_text())


@pytest.fixture(scope="session")
def media(dist: Path) -> dict[str, Any]:
    return json.loads((dist / "media-node.json").read_text())


def functions_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def function_for(template: dict[str, Any], app: str, handler: str) -> dict[str, Any]:
    found = [
        f["Properties"]
        for f in functions_of(template).values()
        if f["Properties"]["Handler"] == f"app.{handler}" and f["Properties"]["CodeUri"] == f"{app}.zip"
    ]
    assert len(found) == 1, f"functions/{app} handler {handler}: {len(found)} functions in the template"
    return found[0]


def test_cfn_lint_finds_nothing_in_any_template(dist):
    assert sorted(p.name for p in dist.glob("*.json")) == sorted(TEMPLATES)
    linted = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *(str(dist / t) for t in TEMPLATES)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("app_name", sorted(FUNCTIONS))
def test_every_handler_of_every_app_is_a_function_with_its_event_source(core, app_name):
    app = importlib.import_module(f"functions.{app_name}.app").app
    for config in app.websocket_handlers.values():
        function_for(core, app_name, config.name)
    for source in app.event_sources:
        events = list((function_for(core, app_name, source.name).get("Events") or {}).values())
        assert len(events) == 1, source.name
        event = events[0]
        if isinstance(source, SQSEventConfig):
            queue = next(q for q in QUEUES if q.variable.default == source.queue)
            assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue_logical_id(queue), "Arn"]}
        elif isinstance(source, DynamoDBEventConfig):
            # The ARN the app was imported with here: a placeholder, or a local stack's real one (its
            # table names carry the stack's prefix).
            named = source.stream_arn.split(":table/")[1].split("/stream/")[0]
            table = next(m.TABLE for m in ALL_MODELS if named == m.TABLE or named.endswith("-" + m.TABLE))
            assert event["Properties"]["Stream"] == {"Fn::GetAtt": [table_logical_id(table), "StreamArn"]}
        else:
            assert isinstance(source, ScheduledEventConfig) and event["Type"] == "Schedule"
    paths = core["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    for path, methods in app.routes.items():
        for method in methods:
            uri = paths[path][method.lower()]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            assert uri.endswith(
                f":function:${{AWS::StackName}}-{function_name(app_name, 'APIHandler')}/invocations"
            )
    if app.routes:
        function_for(core, app_name, "app")


def test_every_table_queue_bucket_and_secret_the_code_uses_is_a_resource(core):
    resources = core["Resources"]
    for model in ALL_MODELS:
        table = resources[table_logical_id(model.TABLE)]
        assert table["Type"] == "AWS::DynamoDB::Table"
        assert table["Properties"]["TableName"] == {"Fn::Sub": "${AWS::StackName}-" + model.TABLE}
    for queue in QUEUES:
        properties = resources[queue_logical_id(queue)]["Properties"]
        redrive = properties["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == queue.max_receives
        assert resources[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    bucket = resources["MediaBucket"]["Properties"]
    assert bucket["ObjectLockEnabled"] is True and bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["BucketEncryption"] and resources["WebBucket"]["Type"] == "AWS::S3::Bucket"
    for spec in FUNCTIONS.values():
        for secret in spec.secrets:
            assert resources[secret_logical_id(secret)]["Type"] == "AWS::SecretsManager::Secret"


@pytest.mark.parametrize("app_name", sorted(FUNCTIONS))
def test_each_function_is_given_every_setting_and_secret_of_its_app(core, app_name):
    spec = FUNCTIONS[app_name]
    for function in functions_of(core).values():
        properties = function["Properties"]
        if properties["CodeUri"] != f"{app_name}.zip":
            continue
        variables = properties["Environment"]["Variables"]
        for variable in spec.variables:
            if variable.secret:
                assert variables[variable.name + "_ARN"] == {"Ref": secret_logical_id(variable)}
                assert variable.name not in variables, "a secret's value never goes in the template"
            else:
                assert variable.name in variables, f"{properties['Handler']} lacks {variable.name}"


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        if "PolicyDocument" in properties:
            documents.append(properties["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                yield name, statement


@pytest.mark.parametrize("template_name", TEMPLATES)
def test_no_statement_grants_a_star_action_or_a_resource_outside_the_stack(dist, template_name):
    template = json.loads((dist / template_name).read_text())
    own = set(template["Resources"]) | PSEUDO
    granted = 0
    for name, statement in statements(template):
        if statement["Effect"] != "Allow":
            continue
        granted += 1
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), f"{name}: {actions}"
        targets = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for target in targets:
            if target == "*":
                assert set(actions) <= ACCOUNT_WIDE_ONLY, f"{name}: {actions} on every resource"
                continue
            assert isinstance(target, dict), f"{name}: {target!r} is not one of the stack's resources"
            if "Fn::ImportValue" in json.dumps(target):
                # The media node stack's only outside names: the core stack's own exports.
                assert referenced_names(target) <= {"CoreStack"} | PSEUDO, f"{name}: {target}"
                continue
            named = referenced_names(target)
            assert named and named <= own, f"{name}: {target} names {named - own or 'no resource'}"
    assert granted > 0


def test_each_function_package_holds_its_app_and_imports_with_nothing_else(dist, tmp_path):
    for app_name, spec in FUNCTIONS.items():
        root = tmp_path / app_name
        with zipfile.ZipFile(dist / f"{app_name}.zip") as archive:
            names = set(archive.namelist())
            archive.extractall(root)
        for expected in ("app.py", "functions/chalice_rest.py", "vkyc/config.py", "chalice/app.py"):
            assert expected in names, f"{app_name}.zip lacks {expected}"
        tag = sys.implementation.cache_tag
        assert f"vkyc/__pycache__/config.{tag}.pyc" in names, "modules ship compiled"
        environment = {
            "PATH": os.environ["PATH"],
            "AWS_DEFAULT_REGION": "ap-southeast-1",
            **{v.name: "s" * 40 if v.secret else (v.default or "set") for v in spec.variables},
        }
        # -I -S: no site-packages, no PYTHONPATH: only the package's own files and the standard library.
        imported = subprocess.run(
            [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(root)!r}); import app"],
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert imported.returncode == 0, f"{app_name}: {imported.stderr[-2000:]}"


def test_the_media_node_service_checks_health_scales_on_load_and_opens_webrtc_ports(media):
    resources = media["Resources"]
    identity, node = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert identity["Essential"] is False and identity["Secrets"][0]["Name"] == "VKYC_MEDIA_NODE_MASTER_KEY"
    assert node["DependsOn"] == [{"ContainerName": "identity", "Condition": "SUCCESS"}]
    assert "Secrets" not in node, "the node container never holds the master"
    assert node["HealthCheck"]["Command"][:4] == ["CMD", "python", "-m", "media_node.fleet"]
    ingress = resources["NodeSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert {(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in ingress} == {("udp", 32768, 60999)}
    metric = resources["LoadMetricFilter"]["Properties"]["MetricTransformations"][0]
    tracked = resources["ScalingPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracked["CustomizedMetricSpecification"]["MetricName"] == metric["MetricName"]
    assert resources["CapacityAlarm"]["Properties"]["MetricName"] == metric["MetricName"]


def test_every_client_message_is_answered_on_a_two_way_route(core):
    # The reply is the signaling function's return value: no @connections request (docs/benchmarks.md).
    resources = core["Resources"]
    route = resources["WebsocketMessageRoute"]["Properties"]
    assert route["RouteKey"] == "$default" and route["RouteResponseSelectionExpression"] == "$default"
    response = resources["WebsocketMessageRouteResponse"]["Properties"]
    assert (
        response["RouteId"] == {"Ref": "WebsocketMessageRoute"} and response["RouteResponseKey"] == "$default"
    )
    assert "WebsocketMessageRouteResponse" in resources["WebsocketAPIDeployment"]["DependsOn"]


def test_api_gateway_checks_the_key_only_where_x_api_key_is_the_only_way_to_send_it(core):
    # /v1 also takes `Authorization: ApiKey`, which API Gateway's key check cannot read (docs/deploy.md).
    paths = core["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    keyed = {
        (method.upper(), path)
        for path, item in paths.items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("security")
    }
    assert keyed == {("POST", "/auth/mobile")}


def test_the_core_stack_exports_each_queue_for_the_image_checker(core, media):
    outputs = core["Outputs"]
    exported = {o["Export"]["Name"]["Fn::Sub"] for o in outputs.values() if "Export" in o}
    for spec in QUEUES:
        queue = queue_logical_id(spec)
        assert {"${AWS::StackName}-" + queue + "Name", "${AWS::StackName}-" + queue + "Arn"} <= exported
    imported = {
        json.dumps(value)
        for value in _walk(media["Resources"])
        if isinstance(value, dict) and "Fn::ImportValue" in value
    }
    for name in imported:
        export = json.loads(name)["Fn::ImportValue"]["Fn::Sub"].replace("${CoreStack}", "${AWS::StackName}")
        assert export in exported, (
            f"the media node stack imports {export}, which the core stack does not export"
        )


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
