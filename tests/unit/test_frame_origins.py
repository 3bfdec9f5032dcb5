"""Which of a unit's URLs the agent page's panel could not show (``vkyc.domain.frame_origins``): origins
compared as the browser compares a ``frame-src`` entry; only what the panel shows is looked at. (The
operator's list itself is read and checked by ``frame_origins``: tests/unit/test_web_policy.py.)"""

from __future__ import annotations

import pytest

from vkyc.domain.frame_origins import Unframeable, same_origin_key, unframeable
from vkyc.domain.settings import AnswerTarget, CallSettings

CRM = "https://crm.example.vn"


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://crm.example.vn/a?c={callId}", CRM),
        ("https://CRM.Example.vn:443/a", CRM),  # the default port is the origin without one
        ("https://crm.example.vn:8443/a", "https://crm.example.vn:8443"),
        ("http://127.0.0.1:8088/crm", "http://127.0.0.1:8088"),
        ("http://[::1]:80/", "http://[::1]"),
        ("https://{hotline}.crm.example.vn/a", None),  # depends on the call
        ("ftp://files.example.vn/a", None),
        ("https://crm.example.vn:99999/a", None),
    ],
)
def test_an_origin_is_compared_as_the_browser_compares_it(url, key):
    assert same_origin_key(url) == key


def test_a_panel_url_of_a_listed_origin_is_frameable_and_any_other_is_named():
    panel = CallSettings(
        popup_answer_url=f"{CRM}/answer?c={{callId}}", popup_answer_target=AnswerTarget.PANEL
    )
    assert unframeable(panel, [CRM]) == []
    assert unframeable(panel, ["https://crm.example.vn:443"]) == []
    assert unframeable(panel, ["https://other.example.vn"]) == [Unframeable("popup_answer_url", CRM)]
    assert unframeable(panel, []) == [Unframeable("popup_answer_url", CRM)]


def test_only_what_the_panel_shows_is_looked_at():
    elsewhere = "https://other.example.vn/x"
    assert (
        unframeable(CallSettings(popup_answer_url=elsewhere, popup_answer_target=AnswerTarget.TAB), [CRM])
        == []
    )
    assert unframeable(CallSettings(), []) == []  # no URL at all
    iframes = CallSettings(
        incoming_iframe_url=elsewhere, callout_iframe_url=f"{CRM}/out", webphone_embed_url=elsewhere
    )
    assert unframeable(iframes, [CRM]) == [Unframeable("incoming_iframe_url", "https://other.example.vn")]


def test_a_template_whose_host_depends_on_the_call_is_never_frameable_and_is_named_as_written():
    panel = CallSettings(
        popup_answer_url="https://{hotline}.crm.example.vn/a", popup_answer_target=AnswerTarget.PANEL
    )
    assert unframeable(panel, [CRM]) == [Unframeable("popup_answer_url", "https://{hotline}.crm.example.vn")]
