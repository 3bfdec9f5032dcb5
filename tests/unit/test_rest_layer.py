"""The REST layer (``vkyc.api.routes``) without a web framework or AWS: each failure a client can cause or
meet is a catalogue body ``{code, message}`` with the code's HTTP status, checked in the documented order."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import GetError

from vkyc.api.routes import Context, Endpoint, RestApi, RestRequest, RestResponse
from vkyc.protocol.errors import CATALOGUE, ProtocolError, RetryLater
from vkyc.protocol.messages import Role


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=10)
    count: int = 1


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: str | None = None


class Path(BaseModel):
    thing_id: str = Field(pattern=r"^[a-z0-9]{1,8}$")


class Answer(BaseModel):
    said: str


POST = Endpoint(
    name="post",
    method="POST",
    path="/things",
    summary="post",
    body=Body,
    response=Answer,
    errors=("NOT_FOUND",),
)
GET = Endpoint(
    name="get",
    method="GET",
    path="/things/{thing_id}",
    summary="get",
    params=Path,
    query=Query,
    response=Answer,
    roles=frozenset({Role.SUPERVISOR}),
)
BARE = Endpoint(name="bare", method="GET", path="/bare", summary="bare", response=Answer)

failure: list[BaseException] = []


def authenticate(authorization: str | None, roles: frozenset[Role]) -> str:
    if authorization is None:
        raise ProtocolError("AUTH_REQUIRED")
    if authorization != "Bearer supervisor":
        raise ProtocolError("FORBIDDEN_ACTION", "Only supervisor may ask this.")
    return "the supervisor"


api = RestApi(authenticate=authenticate)


@api.route(POST)
def post(call: Context) -> Answer:
    if failure:
        raise failure[0]
    body = call.body_as(Body)
    return Answer(said=f"{body.name} x{body.count} from {call.source_ip}")


@api.route(GET)
def get(call: Context) -> Answer:
    return Answer(said=f"{call.params_as(Path).thing_id} {call.query_as(Query).day} for {call.caller}")


@api.route(BARE)
def bare(call: Context) -> BaseModel:
    if failure:
        raise failure[0]
    return Body(name="no answer")


@pytest.fixture(autouse=True)
def _no_failure():
    failure.clear()
    yield
    failure.clear()


def post_raw(body: bytes | None, content_type: str | None = "application/json") -> RestResponse:
    headers = {"content-type": content_type} if content_type else {}
    return api.handle("post", RestRequest("POST", headers=headers, body=body, source_ip="203.0.113.5"))


def assert_error(answer: RestResponse, status: int, code: str, named: str = "") -> None:
    assert (answer.status, answer.body.get("code")) == (status, code), answer.body
    assert set(answer.body) - {"fields"} == {"code", "message"}
    if (
        "fields" in answer.body
    ):  # a refused body or query names every field at fault, first as the message does
        first = answer.body["fields"][0]
        assert f"{first['field']}: {first['message']}" in answer.body["message"]
    assert CATALOGUE[code].http_status == status
    assert answer.body["message"].startswith(CATALOGUE[code].message) and named in answer.body["message"]
    assert answer.headers["Cache-Control"] == "no-store"


# -- success ---------------------------------------------------------------------------------------------


def test_a_good_request_gets_the_handlers_answer_and_its_source_address():
    answer = post_raw(json.dumps({"name": "lan", "count": 2}).encode())
    assert (answer.status, answer.body) == (200, {"said": "lan x2 from 203.0.113.5"})
    assert answer.headers == {"Cache-Control": "no-store"}


def test_a_body_without_content_type_is_read_as_json():
    assert post_raw(b'{"name": "lan"}', content_type=None).status == 200
    assert post_raw(b'{"name": "lan"}', content_type="application/json; charset=utf-8").status == 200


# -- what a client can get wrong, in the order it is checked --------------------------------------


def test_a_body_over_the_endpoints_limit_is_payload_too_large():
    assert_error(post_raw(b'{"name": "' + b"x" * 70_000 + b'"}'), 413, "PAYLOAD_TOO_LARGE", "65536 bytes")


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_a_body_that_is_not_json_by_content_type_is_unsupported_media_type(content_type):
    # curl -d '{...}' without -H 'Content-Type: application/json' sends form-urlencoded.
    assert_error(post_raw(b'{"name": "lan"}', content_type), 415, "UNSUPPORTED_MEDIA_TYPE", content_type)


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        (b"{not json", "BAD_JSON", ""),
        (b"", "BAD_JSON", ""),
        (b"\xff\xfe", "BAD_JSON", "UTF-8"),
        (b"[" * 3000 + b"]" * 3000, "BAD_JSON", "32 levels"),
        (b'{"name": ' + b"[" * 40 + b"]" * 40 + b"}", "BAD_JSON", "32 levels"),
        (b'["a list"]', "BAD_MESSAGE", "JSON object"),
        (b"{}", "BAD_MESSAGE", "name: Field required"),
        (b'{"name": ""}', "BAD_MESSAGE", "name: String should have at least 1 character"),
        (b'{"name": "lan", "extra": 1}', "BAD_MESSAGE", "extra: Extra inputs are not permitted"),
        (b'{"name": "lan", "count": "many"}', "BAD_MESSAGE", "count:"),
    ],
    ids=[
        "broken",
        "empty",
        "not-utf8",
        "3000-deep",
        "40-deep-field",
        "list",
        "missing",
        "short",
        "extra",
        "type",
    ],
)
def test_bad_bodies_are_coded_and_name_the_field(body, code, named):
    assert_error(post_raw(body), 400, code, named)


def test_bearer_endpoints_check_the_token_before_the_parameters():
    request = RestRequest("GET", path_params={"thing_id": "BAD ID"})
    assert_error(api.handle("get", request), 401, "AUTH_REQUIRED")
    forbidden = RestRequest("GET", path_params={"thing_id": "a1"}, headers={"authorization": "Bearer agent"})
    assert_error(api.handle("get", forbidden), 403, "FORBIDDEN_ACTION", "supervisor")


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ({"thing_id": "BAD ID"}, {}, "thing_id"),
        ({"thing_id": "a1"}, {"days": ["1"]}, "days: Extra inputs are not permitted"),
        ({"thing_id": "a1"}, {"day": ["1", "2"]}, "day: given 2 times"),
    ],
)
def test_bad_parameters_are_coded_and_named(path, query, named):
    request = RestRequest(
        "GET", path_params=path, query=query, headers={"authorization": "Bearer supervisor"}
    )
    assert_error(api.handle("get", request), 400, "BAD_MESSAGE", named)


def test_parameters_reach_the_handler_validated_with_the_caller():
    request = RestRequest(
        "GET",
        path_params={"thing_id": "a1"},
        query={"day": ["mon"]},
        headers={"authorization": "Bearer supervisor"},
    )
    assert api.handle("get", request).body == {"said": "a1 mon for the supervisor"}


def test_an_endpoint_without_query_refuses_any_parameter():
    assert_error(api.handle("bare", RestRequest("GET", query={"t": ["1"]})), 400, "BAD_MESSAGE", "t: unknown")


# -- failures behind the handler ----------------------------------------------------------------------


def test_a_refusal_that_ends_by_itself_says_when_in_retry_after():
    failure.append(RetryLater("TOO_MANY_ATTEMPTS", 41.2))
    answer = post_raw(b'{"name": "lan"}')
    assert_error(answer, 429, "TOO_MANY_ATTEMPTS", "Retry after 42 s.")
    assert answer.headers["Retry-After"] == "42"


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        GetError("Failed to get item", EndpointConnectionError(endpoint_url="http://127.0.0.1:1")),
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem"),
        ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "Query"),
        ClientError({"Error": {"Code": "NoSuchBucket"}}, "ListObjectsV2"),
    ],
    ids=["unreachable", "pynamodb-wrapped", "throttled", "no-table", "no-bucket"],
)
def test_aws_out_of_reach_is_a_coded_503(exc, caplog):
    failure.append(exc)
    with caplog.at_level(logging.WARNING, logger="vkyc.api"):
        assert_error(post_raw(b'{"name": "lan"}'), 503, "SERVICE_UNAVAILABLE")
    assert "unavailable" in caplog.text


def test_a_bug_is_an_internal_error_that_tells_nothing_and_is_logged(caplog):
    failure.append(KeyError("secret-internal-detail"))
    with caplog.at_level(logging.ERROR, logger="vkyc.api"):
        answer = post_raw(b'{"name": "lan"}')
    assert_error(answer, 500, "INTERNAL_ERROR")
    assert "secret-internal-detail" not in json.dumps(answer.body)
    assert "secret-internal-detail" in caplog.text


def test_an_answer_that_is_not_the_declared_model_is_a_bug_not_a_silent_contract_change():
    assert_error(api.handle("bare", RestRequest("GET")), 500, "INTERNAL_ERROR")


def test_a_model_the_handler_fails_to_build_is_a_bug_not_the_clients_bad_message():
    try:
        Answer.model_validate({"said": 3})
    except ValueError as exc:
        failure.append(exc)
    assert_error(api.handle("bare", RestRequest("GET")), 500, "INTERNAL_ERROR")


def test_a_code_the_endpoint_does_not_declare_is_answered_and_logged(caplog):
    failure.append(ProtocolError("CALL_NOT_FOUND"))
    with caplog.at_level(logging.ERROR, logger="vkyc.api"):
        assert_error(post_raw(b'{"name": "lan"}'), 404, "CALL_NOT_FOUND")
    assert "does not declare" in caplog.text


# -- declarations ----------------------------------------------------------------------------------------


def test_an_endpoint_declares_only_catalogue_codes():
    with pytest.raises(ValueError, match="NO_SUCH_CODE"):
        Endpoint(name="x", method="GET", path="/x", summary="x", response=Answer, errors=("NO_SUCH_CODE",))


def test_the_layer_adds_the_codes_its_checks_answer():
    assert set(POST.codes()) == {
        "BAD_JSON",
        "BAD_MESSAGE",
        "PAYLOAD_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "NOT_FOUND",
        "INTERNAL_ERROR",
        "SERVICE_UNAVAILABLE",
    }
    assert {"AUTH_REQUIRED", "TOKEN_INVALID", "TOKEN_EXPIRED", "FORBIDDEN_ACTION", "BAD_MESSAGE"} <= set(
        GET.codes()
    )


def test_an_endpoint_cannot_be_bound_twice_nor_need_a_token_without_authenticate():
    with pytest.raises(ValueError, match="twice"):
        api.route(POST)
    with pytest.raises(ValueError, match="authenticate"):
        RestApi().route(GET)
