"""The agent's workspace for a shift (issue #16), in Chromium: my day (figures and the day's calls with a
search) follows each call; the dossier search finds a customer by any spelling of the number; an ID
card side opens large on a click and the portrait, ID card and snapshot open side by side; a decision
is confirmed with a reason code from the unit's list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import decide, dossier_with_images, go_available, login, wait_phase
from tests.integration.test_calls import caller, new_dossier
from vkyc.repositories.dossiers import DossierRepository

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def figure(page: Any, name: str) -> str:
    return str(page.inner_text(f"#myday-figures [data-figure={name}] strong"))


def test_my_day_counts_each_call_and_finds_it(open_page, stack):
    page = open_page("/agent.html", "tdv2.kv1")
    login(page, "tdv2.kv1", "#work")
    page.wait_for_selector("#myday-figures [data-figure=handled]")
    handled = int(figure(page, "handled"))
    missed = int(figure(page, "missed"))
    go_available(page)

    dossier_id = new_dossier()
    mobile = caller(stack, dossier_id)
    call_id = mobile.request("call.request")["call_id"]
    page.wait_for_selector("#offer", state="visible")
    page.click("#reject")  # nobody else is free: it comes back later (reoffer_after_s)
    wait_phase(page, "idle")
    page.wait_for_selector("#offer", state="visible", timeout=30_000)
    page.click("#accept")
    wait_phase(page, "incall")
    assert page.is_hidden("#myday"), "the call has the room"
    mobile.request("call.hangup", call_id=call_id)
    wait_phase(page, "wrapup")
    decide(page, "D", code=1)
    wait_phase(page, "idle")
    mobile.close()

    page.wait_for_selector(f'#myday-calls tr[data-call="{call_id}"]')
    assert int(figure(page, "handled")) == handled + 1
    assert int(figure(page, "missed")) == missed + 1, "the reject counts as not taken"
    assert figure(page, "aht") != "—"
    page.fill("#myday-q", dossier_id[-6:])
    assert page.eval_on_selector_all("#myday-calls tbody tr", "rows => rows.map(r => r.dataset.call)") == [
        call_id
    ]
    screenshot(page, "agent-my-day")
    page.fill("#myday-q", "no-such-call-anywhere")
    assert "Chưa có cuộc gọi" in page.inner_text("#myday-calls tbody")
    page.fill("#myday-q", "")
    page.click(f'#myday-calls tr[data-call="{call_id}"] a')
    page.wait_for_selector(f'#dossier [data-field=id]:text("{dossier_id}")')


def test_dossier_search_pictures_and_the_face_compare(open_page, stack):
    page = open_page("/agent.html", "tdv3.kv1")
    login(page, "tdv3.kv1", "#work")
    dossier_id = dossier_with_images()
    subscriber = DossierRepository().get(dossier_id).subscriber
    # The customer called once: the number finds the dossier, in the local spelling.
    mobile = caller(stack, dossier_id)
    call_id = mobile.request("call.request")["call_id"]
    mobile.request("call.cancel", call_id=call_id)
    mobile.close()
    page.fill("#callback-dossier", "0" + subscriber[2:])
    page.click("#callback-form button[type=submit]")
    found = page.wait_for_selector("#search-results [data-dossier], #dossier [data-field=id]")
    if found.get_attribute("data-dossier"):  # other dossiers of that number (earlier tests): pick ours
        page.click(f'#search-results [data-dossier="{dossier_id}"]')
    page.wait_for_selector(f'#dossier [data-field=id]:text("{dossier_id}")')

    page.wait_for_selector("#dossier-images img[data-image=id_front]")
    page.click("#dossier-images img[data-image=id_front]")
    big = page.wait_for_selector("#viewer img[data-viewer=single]")
    assert (
        big.bounding_box()["width"]
        > 2 * page.query_selector("#dossier-images img[data-image=id_front]").bounding_box()["width"]
    )
    page.keyboard.press("Escape")
    page.wait_for_selector("#viewer", state="hidden")

    page.click("#compare")
    page.wait_for_selector("#viewer [data-compare=portrait] img")
    kinds = page.eval_on_selector_all("#viewer figure", "fs => fs.map(f => f.dataset.compare)")
    assert kinds == ["portrait", "id_front", "snapshot"]
    boxes = [page.query_selector(f"#viewer [data-compare={k}]").bounding_box() for k in kinds]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"] and abs(boxes[0]["y"] - boxes[2]["y"]) < 2, (
        "side by side"
    )
    screenshot(page, "agent-compare")
    page.click("#viewer [data-close]")
    page.wait_for_selector("#viewer", state="hidden")
