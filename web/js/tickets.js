// The agent's missed-call tickets (seed 004; docs/tickets.md): the tickets the agent may work on
// (GET /tickets), refreshed every few seconds while logged in, each with a "call back" button that starts
// the call-back through the agent page's own flow (the page decides whether it may: idle, not busy).
//
// initTickets({ token, canCallBack, callBack }) — token(): the bearer token or null (logged out);
// canCallBack(): whether a call-back may start now; callBack(dossierId): start it (the page shows its
// errors). The panel is #tickets-panel in agent.html.

import { onLangChange, t } from "./i18n.js";
import { api } from "./session.js";
import { $, clear, dateTime, h } from "./ui.js";

const REFRESH_MS = 5000;

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
      const directions = (ticket.directions || []).map((d) => t(`tickets.direction.${d}`)).join(", ");
      list.append(
        h(
          "div.ticket",
          { dataset: { ticketId: ticket.ticket_id, dossierId: ticket.dossier_id || "", state: ticket.state } },
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
            `${ticket.dossier_id || ""} · ${t("tickets.calls", { count: ticket.call_ids.length })} (${directions})`,
          ),
          h("div.muted", {}, dateTime(Date.parse(ticket.updated_at))),
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
