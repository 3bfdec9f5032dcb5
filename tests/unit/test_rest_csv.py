"""CSV answers of the REST layer: content negotiation on ``Accept``, the byte-order mark, rows generated
as they are read (a generator of a million rows is never held), formulas defused; and the integrator's
``x-api-key`` as the alternative to a bearer token."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from vkyc.api.routes import Context, Endpoint, RestApi, RestRequest, accepts_csv
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import Role
from vkyc.protocol.tabular import CsvStream
from vkyc.services.integrator_auth import presented_key


class Answer(BaseModel):
    rows: int


TABLE = Endpoint(
    name="table",
    method="GET",
    path="/table",
    summary="table",
    response=Answer,
    roles=frozenset({Role.SUPERVISOR}),
    api_key=True,
    csv=True,
)
produced: list[int] = []


def endless() -> Iterator[list[object]]:
    for n in itertools.count():
        produced.append(n)
        yield [n, f"name {n}", None]


def bearer(authorization: str | None, roles: frozenset[Role]) -> str:
    if authorization != "Bearer ok":
        raise ProtocolError("AUTH_REQUIRED")
    return "supervisor"


def key(request: RestRequest) -> str:
    if presented_key(request.header("authorization"), request.header("x-api-key")) != "good-key":
        raise ProtocolError("API_KEY_INVALID")
    return f"integrator from {request.source_ip}"


api = RestApi(authenticate=bearer, authenticate_key=key)


@api.route(TABLE)
def table(call: Context) -> Answer | CsvStream:
    if call.wants_csv:
        return CsvStream("t.csv", ["n", "name", "empty"], endless())
    return Answer(rows=0 if call.caller == "supervisor" else 1)


def request(headers: dict[str, str]) -> RestRequest:
    return RestRequest("GET", headers=headers, source_ip="203.0.113.9")


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        ("text/csv", True),
        ("application/json, text/csv;q=0.5", True),
        ("TEXT/CSV; charset=utf-8", True),
        ("text/csv;q=0", False),
        ("application/json", False),
        (None, False),
        ("*/*", False),
    ],
)
def test_csv_is_negotiated_on_accept(accept, wanted):
    assert accepts_csv(accept) is wanted


def test_a_csv_answer_is_generated_as_it_is_read():
    produced.clear()
    answer = api.handle("table", request({"authorization": "Bearer ok", "accept": "text/csv"}))
    assert answer.status == 200 and answer.chunks is not None
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="t.csv"'
    first = next(answer.chunks)
    assert first.startswith("\ufeffn,name,empty\r\n0,name 0,\r\n")
    # One chunk of about 64 KB: a few thousand rows of an endless table were made, not all of them.
    assert 1000 < len(produced) < 10_000


def test_json_stays_the_default():
    answer = api.handle("table", request({"authorization": "Bearer ok"}))
    assert (answer.status, answer.body, answer.chunks) == (200, {"rows": 0}, None)


def test_the_api_key_is_the_alternative_to_the_bearer_token():
    assert api.handle("table", request({"x-api-key": "good-key"})).body == {"rows": 1}
    assert api.handle("table", request({"authorization": "ApiKey good-key"})).body == {"rows": 1}
    wrong = api.handle("table", request({"x-api-key": "guess"}))
    assert (wrong.status, wrong.body["code"]) == (401, "API_KEY_INVALID")
    assert api.handle("table", request({})).body["code"] == "AUTH_REQUIRED"
    assert {"API_KEY_INVALID", "TOO_MANY_ATTEMPTS"} <= set(TABLE.codes())


def test_a_key_endpoint_needs_an_authenticate_key():
    with pytest.raises(ValueError, match="authenticate_key"):
        RestApi(authenticate=bearer).route(TABLE)


def test_cells_a_spreadsheet_would_run_as_formulas_are_defused():
    rows = [['=HYPERLINK("http://evil")', "+84901", "-1", "@SUM(A1)", 7, -3, "Nguyễn Thị Lan"]]
    text = "".join(CsvStream("x.csv", ["a", "b", "c", "d", "e", "f", "g"], rows).chunks())
    [row] = list(csv.reader(io.StringIO(text[1:].split("\r\n", 1)[1])))
    assert row == ['\'=HYPERLINK("http://evil")', "'+84901", "'-1", "'@SUM(A1)", "7", "-3", "Nguyễn Thị Lan"]
