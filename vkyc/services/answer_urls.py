"""``GET /calls/{call_id}/answer-url``: the popup answer URL and the iframe URL of an answered call,
rendered by the server (``vkyc.domain.answer_url``) for the agent who answered it.

How the page knows the URL cannot be opened (``REQUEST_ANSWER_URL_ERROR``, with the call id): the server
refuses a template that does not render to an http(s) URL (the settings validate templates when they
are written, so this is a setting written around the checks, or an unknown field); the page reports
the rest: a new tab the browser blocked, a panel whose page did not load (``web/js/answer_url.js``).
Whether the third party's page answered an HTTP error cannot be seen from the agent's browser (a
cross-origin frame or tab hides it) and the server does not fetch it (it would act on the CRM twice).
"""

from __future__ import annotations

from collections.abc import Callable

from vkyc.domain.answer_url import answer_fields, render
from vkyc.domain.direction import Direction, direction_of
from vkyc.domain.settings import CallSettings
from vkyc.protocol import rest
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call, Hotline


def hotline_of(call: Call) -> str | None:
    """The call's hotline: the one it called out on, else the serving unit's hotline of its queue."""
    if call.hotline_id:
        return call.hotline_id
    if not call.queue_id:
        return None
    for hotline in Hotline.scan(Hotline.queue_id == call.queue_id):  # a small configuration table
        return hotline.hotline_id
    return None


class AnswerUrls:
    def __init__(self, *, settings: Callable[[str], CallSettings] = cached_settings) -> None:
        self.settings = settings
        self.calls = CallRepository()

    def for_agent(self, agent_id: str, call_id: str) -> rest.AnswerUrls:
        """The URLs of ``call_id`` for the agent who answered it; ``CALL_NOT_FOUND`` for any other call
        (another agent's, not answered yet), ``REQUEST_ANSWER_URL_ERROR`` for a template that does not
        render."""
        call = self.calls.find(call_id)
        if call is None or call.agent_id != agent_id or call.answered_at is None:
            raise ProtocolError("CALL_NOT_FOUND", f"No answered call {call_id!r} of yours.", call_id=call_id)
        settings = self.settings(call.serving_unit_id or call.unit_id)
        outbound = direction_of(call.direction) is Direction.OUTBOUND
        fields = answer_fields(
            user_id=agent_id,
            hotline=hotline_of(call),
            customer_number=call.subscriber,
            is_call_out=outbound,
            time_answer=call.answered_at,
            call_id=call.call_id,
        )
        iframe = settings.callout_iframe_url if outbound else settings.incoming_iframe_url
        try:
            url = render(settings.popup_answer_url, fields) if settings.popup_answer_url else None
            iframe_url = render(iframe, fields) if iframe else None
        except ValueError as exc:
            raise ProtocolError("REQUEST_ANSWER_URL_ERROR", str(exc), call_id=call_id) from None
        return rest.AnswerUrls(
            call_id=call.call_id, url=url, target=settings.popup_answer_target.value, iframe_url=iframe_url
        )
