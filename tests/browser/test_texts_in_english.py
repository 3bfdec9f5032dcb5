"""Every screen of the pages in English, in Chromium (issue #16): no Vietnamese word of ours and no
untranslated key (a text key shown as itself) on the login screen, the idle page, the ringing popup,
the call, the wrap-up and the supervisor console. What stays Vietnamese is data: people's names, the
dossier's fields, the unit's greeting script, unit names, and the language button ("Tiếng Việt")."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.helpers import decide, go_available, login, wait_phase
from tests.integration.test_calls import caller, new_dossier

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")

VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)
KEY_SHOWN = re.compile(r"^[a-z]+(?:\.[a-zA-Z_]+)+$")

# Data, not texts of ours (see the module docstring).
DATA = [
    "#lang",
    "#who",
    "#offer-fields dd",
    "#dossier dd",
    "#greeting-text",
    "#closing-text",
    "#reason",
    "#agents td:nth-child(1)",
    "#agents td:nth-child(2)",
    "#queues td:nth-child(1)",
    "#report-unit",
    "#report-agent",  # the agents' names
    "#agents-report td:nth-child(1)",
    "#calls-table tbody td:nth-child(2)",  # the call list's unit and agent: names
    "#calls-table tbody td:nth-child(3)",
    "#reason-code option:not([value=''])",  # the unit's reason codes, as its admin wrote them
]

COLLECT = """(data) => {
  const skip = data.flatMap((s) => [...document.querySelectorAll(s)]);
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !el || el.closest('script, style')) continue;
    if (!el.checkVisibility() || skip.some((s) => s.contains(el))) continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (!el.checkVisibility() || skip.some((s) => s.contains(el))) continue;
    for (const name of ['placeholder', 'title', 'aria-label']) {
      if (el.getAttribute(name)) out.push(el.getAttribute(name));
    }
  }
  return out;
}"""


def english_only(page: Any, screen: str) -> None:
    texts = page.evaluate(COLLECT, DATA)
    vietnamese = [text for text in texts if VIETNAMESE.search(text)]
    keys = [text for text in texts if KEY_SHOWN.match(text)]
    assert not vietnamese, f"{screen}: Vietnamese in the English page: {vietnamese}"
    assert not keys, f"{screen}: untranslated keys: {keys}"


def in_english(page: Any) -> None:
    page.add_init_script("localStorage.setItem('vkyc.lang', 'en')")
    page.reload()


def test_every_agent_screen_is_english_in_english(open_page, stack):
    page = open_page("/agent.html", "tdv2.kv1")
    in_english(page)
    page.wait_for_selector("#login", state="visible")
    english_only(page, "login")
    login(page, "tdv2.kv1", "#work")
    english_only(page, "idle, not available")
    go_available(page)
    english_only(page, "idle, available")

    mobile = caller(stack, new_dossier())
    call_id = mobile.request("call.request")["call_id"]
    page.wait_for_selector("#offer", state="visible")
    english_only(page, "ringing")
    page.keyboard.press("Escape")
    page.wait_for_selector("#reject-confirm", state="visible")
    english_only(page, "ringing, reject to confirm")
    page.click("#accept")
    wait_phase(page, "incall")
    page.wait_for_selector("#call-errors .error-card")  # no media node here: the media error, in English
    english_only(page, "in call")
    mobile.request("call.hangup", call_id=call_id)
    wait_phase(page, "wrapup")
    english_only(page, "wrap-up")
    decide(page, "R")
    page.wait_for_selector("#confirm .error-card")
    english_only(page, "wrap-up, confirming")
    page.click("#confirm-no")
    decide(page, "D", "Customer could not hear")
    wait_phase(page, "idle")
    english_only(page, "decided")
    mobile.close()


def test_the_supervisor_console_is_english_in_english(open_page):
    page = open_page("/supervisor.html", "gs.kv1")
    in_english(page)
    page.wait_for_selector("#login", state="visible")
    english_only(page, "supervisor login")
    login(page, "gs.kv1", "#console")
    page.wait_for_selector("#chart svg")
    english_only(page, "supervisor console")
