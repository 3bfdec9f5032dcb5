"""The web client's texts (``web/js/i18n.js``), read without a browser: every error and warning code a
page can meet has a sentence in Vietnamese and English, and every text key the pages name exists in both
languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from media_node.errors import CODES as MEDIA_CODES
from vkyc.protocol.errors import CATALOGUE, WARNINGS
from vkyc.protocol.schema import SEED_003_CODES

WEB = Path(__file__).resolve().parents[2] / "web"
I18N = (WEB / "js" / "i18n.js").read_text(encoding="utf-8")


def error_entries() -> dict[str, dict[str, str]]:
    body = I18N.split("export const ERRORS = {", 1)[1].split("\n};", 1)[0]
    entries: dict[str, dict[str, str]] = {}
    for code, block in re.findall(r"^  ([A-Z0-9_]+): \{\n(.*?)^  \},", body, re.M | re.S):
        entries[code] = dict(re.findall(r'^\s+(vi|en): "((?:[^"\\]|\\.)+)",$', block, re.M))
    return entries


def text_bodies() -> list[str]:
    # Every text lives in i18n.js's TEXTS (tests/unit/test_web_texts.py keeps it so).
    return [I18N.split("const TEXTS = {", 1)[1].split("\n};", 1)[0]]


def text_keys() -> set[str]:
    return {key for body in text_bodies() for key in re.findall(r'^  "([a-z0-9_.A-Z]+)": \[', body, re.M)}


ERRORS = error_entries()
KEYS = text_keys()


@pytest.mark.parametrize(
    "code", sorted(set(CATALOGUE) | set(WARNINGS) | set(MEDIA_CODES) | set(SEED_003_CODES))
)
def test_every_error_code_is_a_sentence_in_both_languages(code):
    entry = ERRORS.get(code, {})
    assert entry.get("vi") and entry.get("en"), f"{code}: add it to ERRORS in web/js/i18n.js"
    assert entry["vi"] != entry["en"]


def test_every_text_has_two_languages():
    for body in text_bodies():
        for key, pair in re.findall(r'^  "([^"]+)": \[(.*?)\],$', body, re.M | re.S):
            assert len(re.findall(r'"(?:[^"\\]|\\.)*"', pair)) == 2, key


@pytest.mark.parametrize("page", ["agent.html", "supervisor.html", "admin.html"])
def test_every_key_a_page_names_exists(page):
    html = (WEB / page).read_text(encoding="utf-8")
    named = set(re.findall(r'data-i18n(?:-placeholder|-title|-aria)?="([^"]+)"', html))
    assert named and named <= KEYS, sorted(named - KEYS)


@pytest.mark.parametrize(
    "script", ["agent.js", "supervisor.js", "ui.js", "admin.js", "reports.js", "reports_texts.js"]
)
def test_every_literal_key_a_script_uses_exists(script):
    source = (WEB / "js" / script).read_text(encoding="utf-8")
    used = set(re.findall(r'\bt\("([a-z][a-z0-9_.A-Z]+)"', source))
    assert used <= KEYS, sorted(used - KEYS)


def test_every_explanation_of_a_greyed_out_decision_exists():
    # decisions.js builds these keys: "decide.why." + why + ("_ended" once the call is over).
    source = (WEB / "js" / "decisions.js").read_text(encoding="utf-8")
    whys = set(re.findall(r'\.push\("([a-z]+)"\)', source))
    assert whys == {"answered", "media", "face"}
    assert {f"decide.why.{why}{end}" for why in whys for end in ("", "_ended")} <= KEYS
