"""``make deploy``'s steps that need no real AWS: function packages uploaded once under their content
hash and named in the template, parameters, the pages published with the deployment's REST API."""

from __future__ import annotations

import json
import uuid

import pytest

from infra import deploy
from vkyc import env
from vkyc.adapters.s3 import s3_client


@pytest.fixture()
def bucket(moto_server):
    name = f"artifacts-{uuid.uuid4().hex[:10]}"
    deploy.ensure_bucket(s3_client(), name, env.region())
    return name


def test_function_packages_are_uploaded_once_and_named_in_the_template(bucket, tmp_path):
    (tmp_path / "signaling.zip").write_bytes(b"zip bytes")
    template = {
        "Resources": {
            "A": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "signaling.zip"}},
            "B": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "signaling.zip"}},
            "T": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        }
    }
    s3 = s3_client()
    out = deploy.with_uploaded_code(template, s3, bucket, "vkyc-test", tmp_path)
    code = out["Resources"]["A"]["Properties"]["CodeUri"]
    assert code == out["Resources"]["B"]["Properties"]["CodeUri"] and code["Bucket"] == bucket
    assert s3.get_object(Bucket=bucket, Key=code["Key"])["Body"].read() == b"zip bytes"
    assert template["Resources"]["A"]["Properties"]["CodeUri"] == "signaling.zip", "the input is left alone"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="vkyc-test/")["KeyCount"]
    assert listed == 1


def test_parameters_are_name_value_pairs():
    assert deploy.parameters(["AlarmEmail=ops@example.com", "IceServers=[]"]) == [
        {"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.com"},
        {"ParameterKey": "IceServers", "ParameterValue": "[]"},
    ]
    with pytest.raises(deploy.DeployError, match="Name=Value"):
        deploy.parameters(["AlarmEmail"])


def test_the_pages_are_published_with_the_deployments_rest_api(bucket):
    s3 = s3_client()
    found = {
        "WebBucketName": bucket,
        "RestApiUrl": "https://abc.execute-api.ap-southeast-1.amazonaws.com/api",
    }
    count = deploy.publish_web(s3, None, found, None)
    assert count > 5
    config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert config == {"api": found["RestApiUrl"], "api_origins": []}
    page = s3.head_object(Bucket=bucket, Key="agent.html")
    assert page["ContentType"] == "text/html"


def test_frame_origins_are_checked_and_written_with_commas_before_anything_is_deployed(capsys):
    assert deploy.core_parameters(["FrameOrigins=https://CRM.example.vn/ https://crm2.example.vn"]) == [
        {"ParameterKey": "FrameOrigins", "ParameterValue": "https://crm.example.vn,https://crm2.example.vn"}
    ]
    assert deploy.core_parameters(["FrameOrigins="]) == [
        {"ParameterKey": "FrameOrigins", "ParameterValue": ""}
    ]
    for value, code in [
        ("*", "FRAME_ORIGIN_WILDCARD"),
        ("http://crm.example.vn", "FRAME_ORIGIN_NOT_HTTPS"),
        ("https://crm.example.vn/answer", "FRAME_ORIGIN_INVALID"),
    ]:
        with pytest.raises(deploy.DeployError, match=f"^{code}: --parameter FrameOrigins entry"):
            deploy.core_parameters([f"FrameOrigins={value}"])
    # The command stops before it asks AWS anything (no credentials or region needed to be told).
    assert deploy.main(["--stage", "test", "--parameter", "FrameOrigins=https://*.example.vn"]) == 2
    assert "FRAME_ORIGIN_WILDCARD" in capsys.readouterr().err
