"""The CloudFormation template is derived from the PynamoDB models: every table, key, GSI, stream and
TTL of ``vkyc.repositories.tables`` appears in it, so infra and local bootstrap never drift."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.tables import PREFIX_PARAMETER, logical_id, template
from vkyc.repositories import pynamodb_internals
from vkyc.repositories.tables import ALL_MODELS, STATEFUL_MODELS, ApiKey, DossierLog, User

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def resources():
    return template()["Resources"]


def key_names(key_schema):
    return [(k["AttributeName"], k["KeyType"]) for k in key_schema]


def test_every_model_has_one_table_resource(resources):
    assert len(resources) == len(ALL_MODELS)
    for model in ALL_MODELS:
        resource = resources[logical_id(model)]
        assert resource["Type"] == "AWS::DynamoDB::Table"
        assert resource["Properties"]["TableName"] == {"Fn::Sub": "${" + PREFIX_PARAMETER + "}" + model.TABLE}
        assert resource["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
        assert resource["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.TABLE)
def test_keys_match_the_model(resources, model):
    properties = resources[logical_id(model)]["Properties"]
    expected = [(pynamodb_internals.hash_key_name(model), "HASH")]
    range_key = pynamodb_internals.range_key_name(model)
    if range_key:
        expected.append((range_key, "RANGE"))
    assert key_names(properties["KeySchema"]) == expected
    defined = {a["AttributeName"] for a in properties["AttributeDefinitions"]}
    attributes = model.get_attributes()
    for name, key_type in expected:
        assert name in defined
        assert key_type in {"HASH", "RANGE"}
        assert attributes[name].attr_type in {"S", "N"}


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.TABLE)
def test_gsis_match_the_model(resources, model):
    properties = resources[logical_id(model)]["Properties"]
    in_template = {g["IndexName"]: g for g in properties.get("GlobalSecondaryIndexes", [])}
    model_indexes = pynamodb_internals.indexes(model)
    assert set(in_template) == set(model_indexes)
    defined = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    for name, index in model_indexes.items():
        keys = key_names(in_template[name]["KeySchema"])
        assert keys[0][1] == "HASH"
        for attribute in index.Meta.attributes.values():
            if attribute.is_hash_key or attribute.is_range_key:
                assert (attribute.attr_name, "HASH" if attribute.is_hash_key else "RANGE") in keys
                assert defined[attribute.attr_name] == attribute.attr_type
        projection = in_template[name]["Projection"]
        assert projection["ProjectionType"] == index.Meta.projection.projection_type
        assert projection.get("NonKeyAttributes") == index.Meta.projection.non_key_attributes
        for projected in projection.get("NonKeyAttributes", []):
            assert projected in model.get_attributes(), f"{name} projects unknown attribute {projected}"


def test_only_attributes_used_as_keys_are_defined(resources):
    for model in ALL_MODELS:
        properties = resources[logical_id(model)]["Properties"]
        used = {k["AttributeName"] for k in properties["KeySchema"]}
        for index in properties.get("GlobalSecondaryIndexes", []):
            used |= {k["AttributeName"] for k in index["KeySchema"]}
        assert {a["AttributeName"] for a in properties["AttributeDefinitions"]} == used


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.TABLE)
def test_streams_and_ttl_match_the_model(resources, model):
    properties = resources[logical_id(model)]["Properties"]
    if model in (*STATEFUL_MODELS, DossierLog):  # dossier_log: evidence.ready webhooks
        assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert logical_id(model) + "StreamArn" in template()["Outputs"]
    else:
        assert "StreamSpecification" not in properties
    ttl = pynamodb_internals.ttl_attribute(model)
    if ttl is None:
        assert "TimeToLiveSpecification" not in properties
    else:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": ttl.attr_name, "Enabled": True}


def test_the_credential_tables_are_in_the_template(resources):
    users = resources["UsersTable"]["Properties"]
    assert users["TableName"] == {"Fn::Sub": "${" + PREFIX_PARAMETER + "}users"}
    assert key_names(users["KeySchema"]) == [("username", "HASH")]
    (by_unit,) = users["GlobalSecondaryIndexes"]
    assert key_names(by_unit["KeySchema"]) == [("unit_id", "HASH"), ("role", "RANGE")]
    assert "password_hash" not in by_unit["Projection"]["NonKeyAttributes"]
    api_keys = resources["ApiKeysTable"]["Properties"]
    assert api_keys["TableName"] == {"Fn::Sub": "${" + PREFIX_PARAMETER + "}api_keys"}
    assert key_names(api_keys["KeySchema"]) == [("digest", "HASH")]
    assert "GlobalSecondaryIndexes" not in api_keys
    # Credentials are configuration: no stream (nothing consumes their changes) and no TTL.
    assert "StreamSpecification" not in users and "StreamSpecification" not in api_keys
    assert logical_id(User) == "UsersTable" and logical_id(ApiKey) == "ApiKeysTable"


def test_the_module_prints_the_template_as_json():
    out = subprocess.run(
        [sys.executable, "-m", "infra.tables"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == json.loads(json.dumps(template()))
