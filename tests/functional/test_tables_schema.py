"""Every table is created from its model with the keys, GSIs, streams, TTL and billing promised,
and matches the CloudFormation template built from the same models."""

from __future__ import annotations

import boto3
import pytest

from infra.tables import table_properties
from local.bootstrap import add_missing_indexes
from vkyc.repositories.tables import (
    ALL_MODELS,
    NEW_AND_OLD_IMAGES,
    Agent,
    ApiKey,
    Call,
    Dossier,
    DossierLog,
    IdempotencyRecord,
    MediaNode,
    Offer,
    ReportMark,
    Session,
    Ticket,
    User,
    WebhookDelivery,
    WebhookSubscription,
    WsConnection,
)

STREAMED = {Dossier, DossierLog, Call, Agent, Offer, Session, Ticket}  # tickets: ticket.* webhooks
WITH_TTL = {
    WsConnection: "expires_at",
    MediaNode: "expires_at",
    Session: "expires_at",
    ReportMark: "expires_at",
    WebhookDelivery: "expires_at",
    IdempotencyRecord: "expires_at",
}
EXPECTED_GSIS = {
    Agent: {"by_unit"},
    Call: {"by_dossier", "by_unit_created", "waiting", "by_subscriber", "open", "by_agent"},
    Session: {"by_principal"},
    Offer: {"by_call"},
    User: {"by_unit"},
    WebhookSubscription: {"by_unit"},
    WebhookDelivery: {"by_webhook"},
    Ticket: {"by_unit", "open", "open_for", "by_customer"},
}


@pytest.fixture(scope="module")
def client(tables, moto_server):
    return boto3.client("dynamodb", endpoint_url=moto_server.url, region_name=tables.Dossier.Meta.region)


def test_every_model_has_its_table_under_the_bound_prefix(tables, client):
    names = set(client.list_tables()["TableNames"])
    for model in ALL_MODELS:
        assert model.Meta.table_name == tables.prefix() + model.TABLE
        assert model.Meta.table_name in names


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.TABLE)
def test_table_matches_the_template_built_from_the_same_model(tables, client, model):
    described = client.describe_table(TableName=model.Meta.table_name)["Table"]
    expected = table_properties(model)
    assert described["KeySchema"] == expected["KeySchema"]
    assert (
        sorted(described["AttributeDefinitions"], key=lambda a: a["AttributeName"])
        == expected["AttributeDefinitions"]
    )
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    gsis = {g["IndexName"]: g for g in described.get("GlobalSecondaryIndexes", [])}
    assert set(gsis) == EXPECTED_GSIS.get(model, set())
    for index in expected.get("GlobalSecondaryIndexes", []):
        assert gsis[index["IndexName"]]["KeySchema"] == index["KeySchema"]
        assert gsis[index["IndexName"]]["Projection"] == index["Projection"]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.TABLE)
def test_streams_are_enabled_with_both_images_exactly_where_promised(tables, client, model):
    spec = client.describe_table(TableName=model.Meta.table_name)["Table"].get("StreamSpecification")
    if model in STREAMED:
        assert spec == {"StreamEnabled": True, "StreamViewType": NEW_AND_OLD_IMAGES}
    else:
        assert not spec or not spec.get("StreamEnabled")


@pytest.mark.parametrize("model", list(WITH_TTL), ids=lambda m: m.TABLE)
def test_ttl_is_enabled_on_expiring_tables(tables, client, model):
    ttl = client.describe_time_to_live(TableName=model.Meta.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": WITH_TTL[model]}


def test_gsi_projections_are_not_full_copies(tables, client):
    for model in EXPECTED_GSIS:
        described = client.describe_table(TableName=model.Meta.table_name)["Table"]
        for index in described["GlobalSecondaryIndexes"]:
            assert index["Projection"]["ProjectionType"] in {"KEYS_ONLY", "INCLUDE"}


def test_a_table_kept_from_an_older_release_gets_the_index_it_lacks(tables, client):
    """A local stack keeps its tables across restarts: the bootstrap adds an index a newer release
    declares (here the tickets' ``open_for``, dropped as a release before it would not have it)."""
    name = Ticket.Meta.table_name
    client.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "open_for"}}])
    described = client.describe_table(TableName=name)["Table"]
    assert "open_for" not in {i["IndexName"] for i in described["GlobalSecondaryIndexes"]}
    assert add_missing_indexes(client, Ticket, described) == ["tickets.open_for"]
    described = client.describe_table(TableName=name)["Table"]
    assert {i["IndexName"] for i in described["GlobalSecondaryIndexes"]} == EXPECTED_GSIS[Ticket]
    assert add_missing_indexes(client, Ticket, described) == []  # nothing missing: nothing asked


def test_create_all_is_idempotent(tables):
    tables.create_all()
    assert all(model.exists() for model in ALL_MODELS)


@pytest.mark.parametrize(
    ("model", "keys"),
    [(User, [("username", "HASH")]), (ApiKey, [("digest", "HASH")])],
    ids=["users", "api_keys"],
)
def test_credential_tables_are_keyed_by_login_and_by_digest(tables, client, model, keys):
    described = client.describe_table(TableName=model.Meta.table_name)["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]] == keys


def test_the_users_index_never_carries_password_hashes(tables, client):
    described = client.describe_table(TableName=User.Meta.table_name)["Table"]
    (index,) = described["GlobalSecondaryIndexes"]
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [
        ("unit_id", "HASH"),
        ("role", "RANGE"),
    ]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert "password_hash" not in index["Projection"]["NonKeyAttributes"]
