// The supervisor's hands on the floor (issue #16), kept apart from supervisor.js so other panels merge
// beside it: set an agent's status or log them out with a reason (supervisor.set_agent_status; the
// agent's page is told who and why, the agent's log keeps it), the dossiers waiting in each queue
// (GET /queues/waiting), and alerts: a caller waiting longer than settings.alert_wait_s, the day's
// service level below its target.
//
// supervisor.js owns the page's state and hands this module what it needs (wireSupervision).

import { onLangChange, t } from "./i18n.js";
import { api } from "./session.js";
import { $, clear, clock, duration, ErrorList, h } from "./ui.js";

const WAITING_DEBOUNCE_MS = 1000;

let ctx = null; // {session(), token(), me(), agents(), queues(), report(), serverToLocal(ms), unitName(id)}
let forceErrors;
let waitingErrors;
let forcing = null; // the board row of the agent being set
let waiting = null;
let waitingTimer = null;

export function wireSupervision(context) {
  ctx = context;
  forceErrors = new ErrorList($("#force-errors"), 1, { compact: true });
  waitingErrors = new ErrorList($("#waiting-errors"), 1);
  $("#force-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitForce();
  });
  $("#force-cancel").addEventListener("click", closeForce);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && forcing) closeForce();
  });
  onLangChange(() => {
    renderWaiting();
    renderAlerts();
    if (forcing) renderForce();
  });
}

// -- set an agent's status --------------------------------------------------------------------------------

/** The board's button for one agent: opens the dialog. */
export function forceButton(row) {
  // Ringing or in a call: never cut from the console (AGENT_BUSY); offline: nothing to set.
  const why = ["RINGING", "IN_CALL"].includes(row.status) ? "force.busy" : row.status === "OFFLINE" ? "force.offline" : null;
  return h(
    "button.small",
    { type: "button", dataset: { force: row.agent_id }, disabled: !!why, title: t(why || "force.open"), onclick: () => openForce(row) },
    t("force.open"),
  );
}

function openForce(row) {
  forcing = row;
  forceErrors.clear();
  $("#force-reason").value = "";
  $("#force-status").value = row.status === "AVAILABLE" ? "unavailable" : "available";
  renderForce();
  $("#force").classList.remove("hidden");
  $("#force-reason").focus();
}

function renderForce() {
  $("#force-who").textContent = t("force.who", { name: forcing.name || forcing.agent_id, status: t(`status.${forcing.status}`) });
  for (const option of $("#force-status").options) option.textContent = t(`force.status.${option.value}`);
}

function closeForce() {
  forcing = null;
  $("#force").classList.add("hidden");
}

async function submitForce() {
  const reason = $("#force-reason").value.trim();
  if (!reason) {
    forceErrors.show("BAD_MESSAGE", { text: () => t("force.reason_required") });
    return;
  }
  try {
    await ctx.session().request("supervisor.set_agent_status", {
      agent_id: forcing.agent_id,
      status: $("#force-status").value,
      reason,
    });
    closeForce();
  } catch (exc) {
    forceErrors.fromException(exc);
  }
}

// -- the dossiers waiting in each queue ------------------------------------------------------------------

/** Reload the waiting calls soon (after a monitor.queue push, at most once a second). */
export function waitingSoon() {
  if (waitingTimer) return;
  waitingTimer = setTimeout(() => {
    waitingTimer = null;
    refreshWaiting();
  }, WAITING_DEBOUNCE_MS);
}

export async function refreshWaiting() {
  if (!ctx || !ctx.token()) return;
  try {
    waiting = await api("/queues/waiting", { token: ctx.token() });
    waitingErrors.clear();
  } catch (exc) {
    waitingErrors.fromException(exc);
  }
  renderWaiting();
}

function renderWaiting() {
  const box = $("#waiting");
  if (!box) return;
  clear(box);
  if (!waiting) return;
  const rows = waiting.queues.flatMap((q) => q.calls.map((c) => ({ ...c, unit_id: q.unit_id })));
  if (!rows.length) {
    box.append(h("p.muted", {}, t("waiting.none")));
    return;
  }
  const list = h("ol.waiting-list", {});
  for (const c of rows) {
    list.append(
      h(
        "li",
        { dataset: { call: c.call_id, dossier: c.dossier_id || "" } },
        h("strong", {}, c.dossier_id || t("none")),
        ` · ${c.customer_name || t("none")} · ${ctx.unitName(c.unit_id)} · `,
        h("span.mono", {}, t("waiting.since", { time: clock(c.waiting_since) })),
      ),
    );
  }
  box.append(list);
}

// -- alerts -------------------------------------------------------------------------------------------

/** The alerts now (re-run every second by supervisor.js's clock). */
export function renderAlerts() {
  const box = $("#alerts");
  if (!box || !ctx) return;
  const settings = (ctx.me() && ctx.me().settings) || {};
  const limit = (settings.alert_wait_s || 60) * 1000;
  const now = Date.now();
  const alerts = [];
  for (const queue of ctx.queues()) {
    if (!queue.oldest_since_ms) continue;
    const waited = now - ctx.serverToLocal(queue.oldest_since_ms);
    if (waited > limit) {
      alerts.push({
        key: `wait:${queue.unit_id}`,
        text: t("alert.wait", { unit: ctx.unitName(queue.unit_id), time: duration(waited), limit: duration(limit) }),
      });
    }
  }
  const report = ctx.report();
  if (report && report.service_level_percent !== null && report.service_level_percent < report.sla_target_percent) {
    alerts.push({
      key: "sla",
      text: t("alert.sla", { value: report.service_level_percent, target: report.sla_target_percent }),
    });
  }
  const shown = [...box.children].map((el) => `${el.dataset.alert}|${el.textContent}`).join("\n");
  const wanted = alerts.map((a) => `${a.key}|${a.text}`).join("\n");
  if (shown === wanted) return; // unchanged: no flicker, no screen-reader repeat
  clear(box);
  for (const alert of alerts) box.append(h("div.alert", { role: "alert", dataset: { alert: alert.key } }, alert.text));
}
