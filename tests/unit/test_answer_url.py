"""The popup answer URL's template (``vkyc.domain.answer_url``): the six fields, URL-encoded where the
template names them, appended when it names none; anything that does not give an http(s) URL refused."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from vkyc.domain.answer_url import FIELDS, answer_fields, render

FIELDS_OF_A_CALL = answer_fields(
    user_id="tdv1.kv1",
    hotline="19001001",
    customer_number="84901000101",
    is_call_out=True,
    time_answer=datetime(2026, 3, 10, 2, 0, 0, 500000, tzinfo=UTC),
    call_id="cb-1&x=2",
)


def test_the_six_fields_of_seed_004():
    assert tuple(FIELDS_OF_A_CALL) == FIELDS
    assert FIELDS_OF_A_CALL["isCallOut"] == "true" and FIELDS_OF_A_CALL["timeAnswer"] == "1773108000500"


def test_named_fields_are_filled_url_encoded():
    url = render("https://crm.example/a?c={callId}&u={userId}", FIELDS_OF_A_CALL)
    assert url == "https://crm.example/a?c=cb-1%26x%3D2&u=tdv1.kv1"
    assert parse_qs(urlsplit(url).query) == {"c": ["cb-1&x=2"], "u": ["tdv1.kv1"]}


def test_a_template_without_placeholders_gets_all_six_appended():
    for template, joiner in (("https://crm.example/a", "?"), ("https://crm.example/a?src=vkyc", "&")):
        url = render(template, FIELDS_OF_A_CALL)
        assert url.startswith(template + joiner)
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert {k: query[k] for k in FIELDS} == FIELDS_OF_A_CALL


@pytest.mark.parametrize(
    "template",
    [
        "https://crm.example/a?x={password}",
        "https://crm.example/{callId",
        "http://{hotline}/a",
        "ftp://x/{callId}",
    ],
)
def test_what_does_not_give_an_http_url_is_refused(template):
    fields = {**FIELDS_OF_A_CALL, "hotline": ""}
    with pytest.raises(ValueError):
        render(template, fields)
