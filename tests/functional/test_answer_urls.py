"""``GET /calls/{call_id}/answer-url``'s use case on moto: only the agent who answered the call gets its
URLs, filled with the call's fields (the hotline of its queue for an inbound call); a template that
does not render is ``REQUEST_ANSWER_URL_ERROR`` with the call id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.tables import Call, Hotline
from vkyc.services.answer_urls import AnswerUrls

ANSWERED = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def stored_call(**attrs) -> Call:
    fields = {
        "direction": "in",
        "unit_id": "6",
        "serving_unit_id": "1",
        "subscriber": "84901000101",
        "agent_id": "tdv1.kv1",
        "answered_at": ANSWERED,
        "state": "CONNECTED",
        "version": 4,
        "created_at": ANSWERED,
        "updated_at": ANSWERED,
        "last_request_id": "r",
    }
    call = Call(f"c-{uuid.uuid4().hex[:8]}", **{**fields, **attrs})
    call.save()
    return call


def test_the_agent_who_answered_gets_the_filled_urls(tables):
    queue_id = f"q-{uuid.uuid4().hex[:6]}"
    Hotline("19009999", unit_id="1", name="h", queue_id=queue_id).save()
    settings = CallSettings(
        popup_answer_url="https://crm.example/a?u={userId}&h={hotline}&o={isCallOut}&c={callId}",
        popup_answer_target="panel",
        incoming_iframe_url="https://crm.example/in",
    )
    urls = AnswerUrls(settings=lambda unit: settings)
    call = stored_call(queue_id=queue_id)
    answer = urls.for_agent("tdv1.kv1", call.call_id)
    assert answer.url == f"https://crm.example/a?u=tdv1.kv1&h=19009999&o=false&c={call.call_id}"
    assert answer.target == "panel" and answer.iframe_url.startswith("https://crm.example/in?userId=tdv1.kv1")
    back = stored_call(direction="out", hotline_id="19001001")
    assert "o=true" in (urls.for_agent("tdv1.kv1", back.call_id).url or "")
    assert urls.for_agent("tdv1.kv1", back.call_id).iframe_url is None  # no call-out iframe URL set


def test_other_agents_and_unanswered_calls_are_not_found_and_bad_templates_are_coded(tables):
    urls = AnswerUrls(settings=lambda unit: CallSettings(popup_answer_url="http://{hotline}/a"))
    call = stored_call()
    for agent, call_id in (("tdv2.kv1", call.call_id), ("tdv1.kv1", stored_call(answered_at=None).call_id)):
        with pytest.raises(ProtocolError) as refused:
            urls.for_agent(agent, call_id)
        assert refused.value.code == "CALL_NOT_FOUND"
    with pytest.raises(ProtocolError) as refused:
        urls.for_agent("tdv1.kv1", call.call_id)  # no hotline: the template gives no host
    assert (refused.value.code, refused.value.call_id) == ("REQUEST_ANSWER_URL_ERROR", call.call_id)
