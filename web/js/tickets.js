// The agent's missed-call tickets (seed 004; docs/tickets.md): the tickets the agent may work on
// (GET /tickets), refreshed every few seconds while logged in, each with a "call back" button that starts
// the call-back through the agent page's own flow (the page decides whether it may: idle, not busy).
//
// A ticket's card says which customer, its state, its day (the serving unit's local day: the merge of
// missed calls resets at midnight there, docs/tickets.md) and every call it gathers, each with its
// direction, so the agent knows what the customer tried before calling back.
//
// initTickets({ token, canCallBack, callBack }) — token(): the bearer token or null (logged out);
// canCallBack(): whether a call-back may start now; callBack(dossierId): start it (the page shows its
// errors). The panel is #tickets-panel in agent.html.

import { onLangChange, t } from "./i18n.js";
import { api } from "./session.js";
import { $, clear, dateTime, h, locale } from "./ui.js";

const REFRESH_MS = 5000;
// A call-back's id starts with this (docs/architecture.md, "for clients that want to tell them apart").
const CALLBACK_PREFIX = "cb-";

/** The ticket's day ("2026-03-10", already the serving unit's local day) in the page's language; no
 * time zone may move it to another day. */
function dayText(day) {
  const [year, month, date] = String(day || "").split("-").map(Number);
  if (!year || !month || !date) return day || t("none");
  return new Date(Date.UTC(year, month - 1, date)).toLocaleDateString(locale(), { timeZone: "UTC" });
}

function callItem(callId) {
  const direction = callId.startsWith(CALLBACK_PREFIX) ? "out" : "in";
  return h(
    "li",
    { dataset: { callId, direction } },
    h("span", {}, t(`tickets.direction.${direction}`)),
    " ",
    h("code", {}, callId),
  );
}

export function initTickets({ token, canCallBack, callBack }) {
  const panel = $("#tickets-panel");
  const list = $("#tickets");
  if (!panel || !list) return null;
  let tickets = [];
  let loading = false;

  async function refresh() {
    const bearer = token();
    panel.classList.toggle("hidden", !bearer);
    if (!bearer || loading) return;
    loading = true;
    try {
      const body = await api("/tickets", { token: bearer });
      tickets = body.tickets || [];
      panel.dataset.loaded = "true";
    } catch {
      // A failed refresh keeps the last list; the next one tries again (the page shows connection state).
    } finally {
      loading = false;
    }
    render();
  }

  function render() {
    clear(list);
    if (!tickets.length) {
      list.append(h("p.muted", {}, t("tickets.empty")));
      return;
    }
    const allowed = canCallBack();
    for (const ticket of tickets) {
      list.append(
        h(
          "div.ticket",
          {
            dataset: {
              ticketId: ticket.ticket_id,
              dossierId: ticket.dossier_id || "",
              state: ticket.state,
              day: ticket.day,
            },
          },
          h(
            "div",
            {},
            h("strong", {}, ticket.subscriber || ticket.dossier_id || "—"),
            " ",
            h("span.badge", { dataset: { ticketState: ticket.state } }, t(`tickets.state.${ticket.state}`)),
          ),
          h(
            "div.muted",
            {},
            `${ticket.dossier_id || ""} · ${t("tickets.calls", { count: ticket.call_ids.length })}`,
          ),
          h(
            "div",
            {},
            h("strong.ticket-day", {}, t("tickets.day", { day: dayText(ticket.day) })),
            ticket.queue_ids && ticket.queue_ids.length
              ? h("span.muted", {}, ` · ${t("tickets.queues", { queues: ticket.queue_ids.join(", ") })}`)
              : null,
          ),
          h("ul.ticket-calls", { title: t("tickets.gathers") }, (ticket.call_ids || []).map(callItem)),
          h(
            "div.row",
            {},
            h(
              "button",
              {
                type: "button",
                className: "primary",
                disabled: !allowed || !ticket.dossier_id,
                onclick: () => canCallBack() && callBack(ticket.dossier_id),
              },
              t("tickets.call_back"),
            ),
            h("span.muted", {}, dateTime(Date.parse(ticket.updated_at))),
          ),
        ),
      );
    }
  }

  // Whether a call-back may start changes with the page's phase: keep the buttons in step between refreshes.
  function gate() {
    const allowed = canCallBack();
    for (const button of list.querySelectorAll("button")) {
      button.disabled = !allowed || !button.closest(".ticket").dataset.dossierId;
    }
  }

  $("#tickets-refresh").addEventListener("click", refresh);
  onLangChange(render);
  setInterval(refresh, REFRESH_MS);
  setInterval(gate, 500);
  refresh();
  return { refresh, render };
}
