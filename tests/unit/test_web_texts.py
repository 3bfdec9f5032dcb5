"""A review of every text of the pages, read without a browser (issue #16): the English side of every
text and error is English (no Vietnamese letter), the Vietnamese side is translated (not the English
copied), uses the contact center's words (điện thoại viên, never giao dịch viên) and Vietnamese
quotes, and no page or script writes a Vietnamese sentence outside ``web/js/i18n.js``.
``tests/browser/test_texts_in_english.py`` does the same on the screens themselves."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
I18N = (WEB / "js" / "i18n.js").read_text(encoding="utf-8")
VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)
STRING = r'"((?:[^"\\]|\\.)*)"'

# Texts that are the same in both languages on purpose.
SAME_IN_BOTH = {"none", "call.snapshot.details", "call.camera"}
# The language button names the other language in that language.
VIETNAMESE_IN_ENGLISH = {"lang.switch"}


def texts() -> dict[str, tuple[str, str]]:
    body = I18N.split("const TEXTS = {", 1)[1].split("\n};", 1)[0]
    found: dict[str, tuple[str, str]] = {}
    for key, pair in re.findall(r'^  "([^"]+)": \[(.*?)\],$', body, re.M | re.S):
        vi, en = re.findall(STRING, pair)
        found[key] = (vi, en)
    return found


def errors() -> dict[str, dict[str, str]]:
    body = I18N.split("export const ERRORS = {", 1)[1].split("\n};", 1)[0]
    return {
        code: dict(re.findall(r"^\s+(vi|en): " + STRING + ",$", block, re.M))
        for code, block in re.findall(r"^  ([A-Z0-9_]+): \{\n(.*?)^  \},", body, re.M | re.S)
    }


TEXTS = texts()
ERRORS = errors()


def test_the_review_reads_every_text():
    assert len(TEXTS) > 200 and len(ERRORS) > 80


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_a_text_is_english_in_english_and_translated_in_vietnamese(key):
    vi, en = TEXTS[key]
    if key not in VIETNAMESE_IN_ENGLISH:
        assert not VIETNAMESE.search(en), f"{key}: Vietnamese in the English text {en!r}"
    if key not in SAME_IN_BOTH and re.search(r"[a-z]{3}", en):
        assert vi != en, f"{key}: not translated ({vi!r})"


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_an_error_sentence_is_english_in_english(code):
    assert not VIETNAMESE.search(ERRORS[code]["en"]), code


def vietnamese_sentences() -> list[tuple[str, str]]:
    return [(key, vi) for key, (vi, _) in TEXTS.items()] + [(code, e["vi"]) for code, e in ERRORS.items()]


@pytest.mark.parametrize(("key", "vi"), vietnamese_sentences())
def test_the_vietnamese_uses_the_contact_centers_words(key, vi):
    assert "«" not in vi and "»" not in vi, f"{key}: French quotes; use “ ”"
    assert "giao dịch viên" not in vi.lower(), f"{key}: the agents are điện thoại viên (TĐV)"
    # Words of English the Vietnamese texts must not carry (the seed's 'video call' greeting).
    assert not re.search(r"\b(video call|prepaid|postpaid|snapshot)\b", vi, re.I), key


class _Visible(HTMLParser):
    """Text a page writes itself, outside the elements whose text i18n.js fills (data-i18n)."""

    VOID = {"meta", "link", "input", "br", "img", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.literal: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        self.stack.append(any(name == "data-i18n" for name, _ in attrs) or tag in {"script", "style"})

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not any(self.stack):
            self.literal.append(data.strip())


@pytest.mark.parametrize("page", ["agent.html", "supervisor.html"])
def test_a_page_writes_no_text_that_is_not_translated(page):
    parser = _Visible()
    parser.feed((WEB / page).read_text(encoding="utf-8"))
    # The brand and symbols only: anything else must come from i18n.js through data-i18n.
    assert set(parser.literal) <= {"vkyc", "\u00d7", "—"}, parser.literal
    html = (WEB / page).read_text(encoding="utf-8")
    assert re.search(r"<title data-i18n=", html), "the tab's title follows the language too"
    for attribute in re.findall(r'\s(?:placeholder|title|aria-label|alt)="([^"]*)"', html):
        assert not re.search(r"[A-Za-z]{3}", attribute), f"a fixed attribute text {attribute!r} in {page}"


@pytest.mark.parametrize("script", sorted(p.name for p in (WEB / "js").glob("*.js") if p.name != "i18n.js"))
def test_no_script_writes_vietnamese_outside_i18n(script):
    source = (WEB / "js" / script).read_text(encoding="utf-8")
    code = "\n".join(line.split("//", 1)[0] for line in source.splitlines())  # comments may
    for literal in re.findall(r'"((?:[^"\\\n]|\\.)*)"|`([^`]*)`', code):
        text = literal[0] or literal[1]
        assert not VIETNAMESE.search(text), f"{script}: {text!r} belongs in i18n.js"


# Keys the scripts build from data (a status, a state, an event): each value they can meet has its text.
BUILT_KEYS = {
    "status": ["AVAILABLE", "UNAVAILABLE", "OFFLINE", "RINGING", "IN_CALL", "WRAP_UP"],
    "dossier.state": ["N", "W", "A", "R", "C", "D"],
    "offer.state": ["PENDING", "ACCEPTED", "REJECTED", "MISSED", "CANCELLED", "RESCINDED"],
    "call.state.in": ["N", "W", "A", "R", "M", "E", "T", "CONNECTED", "RECONNECTING", "FINISHED"],
    "call.state.out": ["N", "A", "C", "F", "E", "T", "I", "CONNECTED", "RECONNECTING"],
    "call.event": [
        "offer",
        "accept",
        "reject",
        "ring_timeout",
        "requeue",
        "caller_hangup",
        "no_agent",
        "no_call_timeout",
        "media_connected",
        "party_dropped",
        "party_resumed",
        "grace_expired",
        "end",
        "sweep",
        "decline",
        "cancel",
        "device_not_registered",
        "create",
        "decided",
    ],
    "call.reason.end": [
        "completed",
        "no_agent",
        "grace_expired",
        "mobile_left",
        "agent_left",
        "media_failed",
        "media_node_lost",
        "swept",
    ],
}


def test_every_key_built_from_a_state_or_event_exists():
    from vkyc.domain.agent import AgentState
    from vkyc.domain.call import CallEvent, CallState, EndReason
    from vkyc.domain.callback import CallbackEvent, CallbackState
    from vkyc.domain.offer import OfferState

    # The lists above follow the domain: a new state or event fails here until it has its words.
    assert {s.value for s in AgentState} <= set(BUILT_KEYS["status"])
    assert {s.value for s in CallState} == set(BUILT_KEYS["call.state.in"])
    assert {s.value for s in CallbackState} | {"CONNECTED", "RECONNECTING"} >= set(
        BUILT_KEYS["call.state.out"]
    )
    assert {s.value for s in OfferState} == set(BUILT_KEYS["offer.state"])
    assert {e.value for e in CallEvent} | {e.value for e in CallbackEvent} <= set(BUILT_KEYS["call.event"])
    assert {r.value for r in EndReason} <= set(BUILT_KEYS["call.reason.end"])
    missing = [
        f"{prefix}.{v}"
        for prefix, values in BUILT_KEYS.items()
        for v in values
        if f"{prefix}.{v}" not in TEXTS
    ]
    assert not missing, missing
