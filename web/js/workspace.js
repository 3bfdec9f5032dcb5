// The agent's workspace around the call (issue #16), kept apart from agent.js so other panels merge
// beside it: the agent's own day (GET /me/calls: handled, missed, average handle time, the day's calls
// with a search), the dossier search (GET /dossiers?q=: an id or a subscriber number), and the picture
// viewer (an ID card side enlarged on click; portrait, ID photo and snapshot side by side).
//
// agent.js owns the page's state; it hands this module what it needs through wireWorkspace().

import { onLangChange, t } from "./i18n.js";
import { api } from "./session.js";
import { $, clear, clock, duration, ErrorList, h } from "./ui.js";

const DAY_EVERY_MS = 60000;

let ctx = null; // {token(), onPick(dossierId), canPick()}
let dayErrors;
let searchErrors;
let day = null;
let dayTimer = null;

/** Wire the panels; `context.token()` gives the bearer token, `context.onPick(id)` shows a dossier. */
export function wireWorkspace(context) {
  ctx = context;
  dayErrors = new ErrorList($("#myday-errors"), 1);
  searchErrors = new ErrorList($("#search-errors"), 1);
  $("#myday-form").addEventListener("submit", (event) => {
    event.preventDefault();
    refreshDay();
  });
  $("#myday-q").addEventListener("input", () => renderDay());
  $("#viewer").addEventListener("click", (event) => {
    if (event.target === $("#viewer") || event.target.closest("[data-close]")) closeViewer();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("#viewer").classList.contains("hidden")) {
      event.stopPropagation();
      closeViewer();
    }
  }, true);
  onLangChange(() => renderDay());
}

// -- my day ---------------------------------------------------------------------------------------------

/** Reload the agent's day (on login, after each call, every minute). */
export async function refreshDay() {
  if (!ctx || !ctx.token()) return;
  clearTimeout(dayTimer);
  dayTimer = setTimeout(refreshDay, DAY_EVERY_MS);
  try {
    day = await api("/me/calls", { token: ctx.token() });
    dayErrors.clear();
  } catch (exc) {
    dayErrors.fromException(exc);
  }
  renderDay();
}

export function stopDay() {
  clearTimeout(dayTimer);
  day = null;
}

function renderDay() {
  const figures = $("#myday-figures");
  const list = $("#myday-calls tbody");
  if (!figures || !list) return;
  clear(figures);
  clear(list);
  if (!day) return;
  const f = day.figures;
  const aht = f.average_handle_s === null ? t("none") : duration(f.average_handle_s * 1000);
  for (const [key, value, name] of [
    ["myday.handled", String(f.handled), "handled"],
    ["myday.missed", String(f.missed), "missed"],
    ["myday.aht", aht, "aht"],
  ]) {
    figures.append(h("div.figure", { dataset: { figure: name } }, h("strong", {}, value), h("span", {}, t(key))));
  }
  const wanted = $("#myday-q").value.trim().toLowerCase();
  const rows = day.calls.filter(
    (c) => !wanted || [c.call_id, c.dossier_id, c.subscriber].some((v) => (v || "").toLowerCase().includes(wanted)),
  );
  if (!rows.length) list.append(h("tr", {}, h("td.muted", { colSpan: 5 }, t("myday.no_calls"))));
  for (const c of rows) {
    const dossier = c.dossier_id
      ? h("a", { href: `#${c.dossier_id}`, onclick: (event) => {
          event.preventDefault();
          if (ctx.canPick()) ctx.onPick(c.dossier_id);
        } }, c.dossier_id)
      : t("none");
    list.append(
      h(
        "tr",
        { dataset: { call: c.call_id } },
        h("td.mono", {}, clock(c.created_at)),
        h("td", {}, t(c.direction === "out" ? "sup.field.direction.out" : "sup.field.direction.in")),
        h("td", {}, dossier),
        h("td", {}, c.answered_at ? t("myday.answered") : t("myday.not_answered")),
        h("td.mono", {}, c.handle_s === null ? t("none") : duration(c.handle_s * 1000)),
      ),
    );
  }
}

// -- dossier search -------------------------------------------------------------------------------------

/** Search by id or subscriber number. One hit (or an exact id): that dossier is shown; several: a list
 * to pick from; none: the caller falls back to the id as typed (its error says what is wrong). Returns
 * true when it took care of the query. */
export async function searchDossiers(query) {
  const box = clear($("#search-results"));
  if (query.length < 3) return false;
  let found;
  try {
    found = await api(`/dossiers?q=${encodeURIComponent(query)}`, { token: ctx.token() });
    searchErrors.clear();
  } catch (exc) {
    searchErrors.fromException(exc);
    return true;
  }
  const hits = found.dossiers;
  if (hits.length === 0) return false;
  const exact = hits.find((d) => d.dossier_id === query);
  if (exact || hits.length === 1) {
    await ctx.onPick((exact || hits[0]).dossier_id);
    return true;
  }
  box.append(h("p.muted", {}, t("search.several", { count: hits.length })));
  const list = h("ul.hits", {});
  for (const d of hits) {
    list.append(
      h(
        "li",
        {},
        h("button.link", { type: "button", dataset: { dossier: d.dossier_id }, onclick: () => ctx.onPick(d.dossier_id) },
          `${d.dossier_id} · ${d.customer_name || t("none")}`),
        d.state ? h("span.muted", {}, ` ${d.state} — ${t(`dossier.state.${d.state}`)}`) : null,
      ),
    );
  }
  box.append(list);
  return true;
}

export function clearSearch() {
  clear($("#search-results"));
}

// -- pictures ---------------------------------------------------------------------------------------------

/** Enlarge one picture (an ID card side, the portrait) over the page; Esc or a click outside closes. */
export function openPicture(src, label) {
  const body = clear($("#viewer-body"));
  body.className = "viewer-body single";
  body.append(h("figure", {}, h("img", { src, alt: label, dataset: { viewer: "single" } }), h("figcaption", {}, label)));
  $("#viewer").classList.remove("hidden");
}

/** Portrait, ID card photo side and the call's snapshot side by side, to compare the faces. */
export function openCompare(pictures) {
  const body = clear($("#viewer-body"));
  body.className = "viewer-body compare";
  for (const { src, label, kind } of pictures) {
    const picture = src ? h("img", { src, alt: label }) : h("div.noimg", {}, t("dossier.no_image"));
    body.append(h("figure", { dataset: { compare: kind } }, picture, h("figcaption", {}, label)));
  }
  $("#viewer").classList.remove("hidden");
}

export function closeViewer() {
  $("#viewer").classList.add("hidden");
  clear($("#viewer-body"));
}
