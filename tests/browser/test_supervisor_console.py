"""The supervisor's console for a shift (issue #16), in Chromium: set an agent unavailable or log them
out with a reason (the agent's page says who and why; the agent's log keeps it), the dossiers waiting
in each queue, and alerts for a caller waiting too long and a service level below target."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import go_available, login, wait_status
from tests.integration.test_calls import caller, new_dossier, unit_settings
from vkyc.repositories.agents import AgentRepository

pytestmark = pytest.mark.usefixtures("stack_tables", "quiet_unit_1")


def test_a_supervisor_sets_an_agent_unavailable_then_logs_them_out(open_page):
    agent = open_page("/agent.html", "tdv2.kv1")
    login(agent, "tdv2.kv1", "#work")
    go_available(agent)
    supervisor = open_page("/supervisor.html", "gs.kv1")
    login(supervisor, "gs.kv1", "#console")
    supervisor.wait_for_selector('tr[data-agent="tdv2.kv1"][data-status=AVAILABLE]')

    supervisor.click('button[data-force="tdv2.kv1"]')
    supervisor.wait_for_selector("#force", state="visible")
    supervisor.click("#force-yes")  # no reason: refused on the page
    supervisor.wait_for_selector("#force-errors .error-card")
    supervisor.select_option("#force-status", "unavailable")
    supervisor.fill("#force-reason", "Họp đột xuất với trưởng ca")
    screenshot(supervisor, "supervisor-set-status")
    supervisor.click("#force-yes")
    supervisor.wait_for_selector("#force", state="hidden")
    supervisor.wait_for_selector('tr[data-agent="tdv2.kv1"][data-status=UNAVAILABLE]')

    wait_status(agent, "UNAVAILABLE")
    banner = agent.wait_for_selector(".banner[data-key=forced]")
    assert "gs.kv1" in banner.inner_text() and "Họp đột xuất với trưởng ca" in banner.inner_text()
    last = AgentRepository().history("tdv2.kv1")[-1]
    assert (last.actor, last.reason) == ("gs.kv1", "forced by gs.kv1: Họp đột xuất với trưởng ca")

    supervisor.click('button[data-force="tdv2.kv1"]')
    supervisor.select_option("#force-status", "offline")
    supervisor.fill("#force-reason", "Hết ca")
    supervisor.click("#force-yes")
    supervisor.wait_for_selector('tr[data-agent="tdv2.kv1"][data-status=OFFLINE]')
    banner = agent.wait_for_selector(".banner[data-key=login]")
    assert "Giám sát viên đã đăng xuất bạn" in banner.inner_text()
    assert agent.is_visible("#login")


def test_waiting_dossiers_and_alerts(open_page, stack):
    with unit_settings("1", alert_wait_s=1, sla_target_percent=100.0):
        supervisor = open_page("/supervisor.html", "gs.kv1")
        login(supervisor, "gs.kv1", "#console")
        dossier_id = new_dossier()
        mobile = caller(stack, dossier_id)  # every agent of unit 1 is on a break: it waits
        call_id = mobile.request("call.request")["call_id"]
        supervisor.wait_for_selector(f'#waiting li[data-dossier="{dossier_id}"]')
        alert = supervisor.wait_for_selector('.alert[data-alert="wait:1"]')
        assert "ngưỡng" in alert.inner_text()
        screenshot(supervisor, "supervisor-alerts")
        mobile.request("call.cancel", call_id=call_id)  # a missed call: below a 100 % target
        mobile.close()
        supervisor.wait_for_selector(f'#waiting li[data-dossier="{dossier_id}"]', state="detached")
        supervisor.wait_for_selector('.alert[data-alert="wait:1"]', state="detached")
        supervisor.click("#report-form button[type=submit]")
        sla = supervisor.wait_for_selector(".alert[data-alert=sla]")
        assert "100" in sla.inner_text()
