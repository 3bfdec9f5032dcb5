// The supervisor console's reports (web/supervisor.html): the live tiles (monitor.tiles pushes), the
// filters, the summary's figures and SVG charts (GET /reports/summary), the agents table
// (GET /reports/agents), the call list with its own filters and pages (GET /reports/calls; a row opens
// the call's lookup), the calls ended by an error (GET /reports/errors), and a CSV button for each
// (the same request with Accept: text/csv, saved as a file). When the range includes today, a tiles push
// refreshes the summary a moment later: the charts move without a click.

import { barList, seriesChart, serviceLevelGauge } from "./charts.js";
import { t } from "./i18n.js";
import { decisionName, reasonName, stateName } from "./reports_texts.js";
import { api, apiBase } from "./session.js";
import { $, clear, dateTime, duration, h } from "./ui.js";

const REFRESH_AFTER_MS = 1500;
const STATES = ["AVAILABLE", "UNAVAILABLE", "RINGING", "IN_CALL", "WRAP_UP", "OFFLINE"];
const SUMMARY_FIGURES = [
  "queued", "answered", "abandoned", "abandoned_in_queue", "abandoned_ringing", "no_agent", "missed_offers",
  "rejected_offers", "service_level_percent", "abandon_rate_percent", "answer_rate_percent",
  "avg_speed_of_answer_s", "avg_abandon_time_s", "longest_wait_s", "avg_talk_s", "avg_wrap_up_s",
  "avg_handle_s", "occupancy_percent", "callbacks_placed", "callbacks_answered", "decided",
];
const END_REASONS = [
  "completed", "caller_hung_up", "no_agent", "grace_expired", "mobile_left", "agent_left", "media_failed",
  "media_node_lost", "swept", "no_call_arrived", "agent_cancelled", "no_answer", "declined", "device_not_registered",
];
const CALL_STATES = ["N", "W", "A", "R", "M", "E", "T", "CONNECTED", "RECONNECTING", "FINISHED", "C", "F", "I"];

/** The browser's day: only until the tiles name the units' (near midnight the two differ). */
function localDay() {
  const when = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
}

function shown(value) {
  return value === null || value === undefined ? "—" : String(value);
}

function option(value, text) {
  return h("option", { value }, text);
}

/** params with each field's value (selector -> parameter name) that is not empty. */
function withFields(params, fields) {
  for (const [selector, name] of Object.entries(fields)) {
    const value = $(selector).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function without(params, names) {
  for (const name of names) params.delete(name);
  return params;
}

export class Reports {
  /** token(): the bearer token; errors: an ErrorList; openCall(id): the lookup; names(): agent id -> name. */
  constructor({ token, errors, openCall, names }) {
    this.token = token;
    this.errors = errors;
    this.openCall = openCall;
    this.names = names;
    this.me = null;
    this.tiles = new Map();
    this.summary = null;
    this.agents = null;
    this.calls = [];
    this.cursor = null;
    this.failed = null;
    this.refreshTimer = null;
  }

  // -- setup ------------------------------------------------------------------------------------------

  init(me) {
    this.me = me;
    this.fillChoices();
    for (const id of ["#report-from", "#report-to"]) {
      const field = $(id);
      if (!field.value) {
        field.value = this.today();
        field.dataset.defaulted = "true";
        field.addEventListener("input", () => delete field.dataset.defaulted, { once: true });
      }
    }
  }

  /** The forms and buttons, wired at page load: a submit before the console is set up must not reach
   * the browser (a form would navigate, which the CSP's form-action refuses); it waits for the login. */
  bind() {
    $("#report-form").onsubmit = (event) => {
      event.preventDefault();
      if (this.me) this.load();
    };
    // Another unit shows its figures at once: no click needed (issue #16). Typed filters wait for "Xem".
    $("#report-unit").onchange = () => {
      if (this.me && $("#report-form").checkValidity()) this.load();
    };
    $("#calls-form").onsubmit = (event) => {
      event.preventDefault();
      if (this.me) this.loadCalls(false);
    };
    $("#calls-more").onclick = () => this.me && this.loadCalls(true);
    for (const button of document.querySelectorAll("[data-csv]")) {
      button.onclick = () => this.me && this.download(button.dataset.csv);
    }
  }

  fillChoices() {
    const fill = (select, entries) => {
      const chosen = select.value;
      clear(select);
      select.append(option("", t("rep.any")));
      for (const [value, text] of entries) select.append(option(value, text));
      select.value = chosen;
    };
    const units = (this.me && this.me.units) || [];
    fill($("#report-unit"), units.map((u) => [u.unit_id, `${u.unit_id} — ${u.name}`]));
    const bucket = $("#report-bucket");
    const chosenBucket = bucket.value || "hour";
    clear(bucket);
    for (const b of ["15min", "hour", "day", "week", "month"]) bucket.append(option(b, t(`rep.bucket.${b}`)));
    bucket.value = chosenBucket;
    fill($("#report-direction"), [["in", t("rep.direction.in")], ["out", t("rep.direction.out")]]);
    fill($("#report-ctype"), [["KHCN", "KHCN"], ["KHDN", "KHDN"]]);
    fill($("#calls-state"), CALL_STATES.map((s) => [s, `${s} — ${stateName("CFI".includes(s) ? "out" : "in", s)}`]));
    const names = this.names();
    fill($("#report-agent"), [...names.entries()].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => [id, name]));
    fill($("#calls-reason"), END_REASONS.map((r) => [r, reasonName(r)]));
    fill($("#calls-decision"), ["A", "R", "C", "D"].map((d) => [d, decisionName(d)]));
  }

  filters() {
    const params = new URLSearchParams({ from: $("#report-from").value || this.today(), to: $("#report-to").value || this.today() });
    return withFields(params, {
      "#report-unit": "unit_id",
      "#report-queue": "queue_id",
      "#report-group": "group_id",
      "#report-agent": "agent_id",
      "#report-direction": "direction",
      "#report-subtype": "sub_type",
      "#report-ctype": "customer_type",
      "#report-channel": "dealer_channel",
    });
  }

  callFilters() {
    const params = without(this.filters(), ["group_id", "sub_type", "customer_type"]);
    return withFields(params, {
      "#calls-subscriber": "subscriber",
      "#calls-dossier": "dossier_id",
      "#calls-state": "state",
      "#calls-reason": "end_reason",
      "#calls-decision": "decision",
    });
  }

  /** The parameters of one report: the filters, less those it does not take. */
  paramsOf(which) {
    if (which === "calls") return this.callFilters();
    const params = this.filters();
    if (which === "summary") params.set("bucket", $("#report-bucket").value || "hour");
    if (which === "agents") return without(params, ["queue_id", "direction", "sub_type", "customer_type", "dealer_channel"]);
    if (which === "errors") return without(params, ["queue_id", "group_id", "agent_id", "sub_type", "customer_type", "dealer_channel"]);
    return params;
  }

  /** Today as the server counts it: the tiles' date (the serving unit's time zone), else the browser's. */
  today() {
    for (const row of this.tiles.values()) if (row.date) return row.date;
    return localDay();
  }

  includesToday() {
    const today = this.today();
    return $("#report-from").value <= today && today <= $("#report-to").value;
  }

  // -- loading ----------------------------------------------------------------------------------------

  async get(path, params) {
    return api(`${path}?${params}`, { token: this.token() });
  }

  async load() {
    // Loads may overlap (a changed filter, then a click): only the latest one's answers are shown.
    const turn = (this.loadTurn = (this.loadTurn || 0) + 1);
    $("#reports").dataset.loading = "true";
    const [s, a, e] = await Promise.allSettled(
      ["summary", "agents", "errors"].map((which) => this.get(`/reports/${which}`, this.paramsOf(which))),
    );
    if (turn !== this.loadTurn) return;
    for (const result of [s, a, e]) if (result.status === "rejected") this.errors.fromException(result.reason);
    this.summary = s.status === "fulfilled" ? s.value : null;
    this.agents = a.status === "fulfilled" ? a.value : null;
    this.failed = e.status === "fulfilled" ? e.value : null;
    this.render();
    await this.loadCalls(false);
    if (turn === this.loadTurn) delete $("#reports").dataset.loading;
  }

  async loadCalls(more) {
    const params = this.callFilters();
    if (more && this.cursor) params.set("cursor", this.cursor);
    const turn = (this.callsTurn = (this.callsTurn || 0) + 1); // a later list wins over a slower one
    try {
      const page = await this.get("/reports/calls", params);
      if (turn !== this.callsTurn) return;
      this.calls = more ? [...this.calls, ...page.calls] : page.calls;
      this.cursor = page.next_cursor;
    } catch (exc) {
      if (turn !== this.callsTurn) return;
      this.errors.fromException(exc);
      if (!more) this.calls = [];
      this.cursor = null;
    }
    this.renderCalls();
  }

  /** A push said today's counters moved: refresh the summary if it shows today (debounced). */
  onTiles(row) {
    this.tiles.set(row.unit_id, row);
    this.renderTiles();
    if (!this.summary || !this.includesToday() || this.refreshTimer) return;
    this.refreshTimer = setTimeout(async () => {
      this.refreshTimer = null;
      try {
        this.summary = await this.get("/reports/summary", this.paramsOf("summary"));
        this.renderSummary();
      } catch (exc) {
        this.errors.fromException(exc);
      }
    }, REFRESH_AFTER_MS);
  }

  /** Today's service level of the unit furthest below its target, for the supervisor's alerts (null when
   * every unit meets its target or has no call yet): {service_level_percent, sla_target_percent, unit_id}. */
  serviceLevel() {
    let worst = null;
    for (const row of this.tiles.values()) {
      const level = row.service_level_percent;
      if (level === null || level === undefined || level >= row.sla_target_percent) continue;
      if (!worst || level - row.sla_target_percent < worst.service_level_percent - worst.sla_target_percent) {
        worst = { service_level_percent: level, sla_target_percent: row.sla_target_percent, unit_id: row.unit_id };
      }
    }
    return worst;
  }

  setTiles(rows) {
    this.tiles = new Map((rows || []).map((row) => [row.unit_id, row]));
    const today = this.today();
    for (const id of ["#report-from", "#report-to"]) {
      const field = $(id);
      if (field.dataset.defaulted === "true") field.value = today;
    }
    this.renderTiles();
  }

  async download(which) {
    const params = this.paramsOf(which);
    try {
      const response = await fetch(`${await apiBase()}/reports/${which}?${params}`, {
        headers: { Accept: "text/csv", Authorization: `Bearer ${this.token()}` },
        cache: "no-store",
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        this.errors.show(body.code || "INTERNAL_ERROR", { serverMessage: body.message });
        return;
      }
      const disposition = response.headers.get("Content-Disposition") || "";
      const match = /filename="([^"]+)"/.exec(disposition);
      const url = URL.createObjectURL(await response.blob());
      const link = h("a", { href: url, download: match ? match[1] : `${which}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (exc) {
      this.errors.fromException(exc);
    }
  }

  // -- rendering --------------------------------------------------------------------------------------

  render() {
    this.fillChoices();
    this.renderTiles();
    this.renderSummary();
    this.renderAgents();
    this.renderErrors();
    this.renderCalls();
  }

  renderTiles() {
    const box = clear($("#tiles"));
    for (const row of [...this.tiles.values()].sort((a, b) => a.unit_id.localeCompare(b.unit_id))) {
      const oldest = row.oldest_since_ms ? duration(Date.now() - row.oldest_since_ms) : "—";
      const agents = STATES.filter((s) => row.agents[s]).map((s) => `${t(`status.${s}`)} ${row.agents[s]}`).join(" · ") || "—";
      const tile = (key, value, note) =>
        h("div.tile", { dataset: { tile: key } }, h("div.tile-label", {}, t(`tile.${key}`)), h("div.tile-value", {}, value), note ? h("div.tile-note", {}, note) : null);
      box.append(
        h(
          "div.tiles-unit",
          { dataset: { unit: row.unit_id, queued: row.queued, answered: row.answered } },
          tile("sl", row.service_level_percent === null || row.service_level_percent === undefined ? "—" : `${row.service_level_percent}%`, t("tile.target", { target: row.sla_target_percent, seconds: row.sla_answer_within_s })),
          tile("answered", `${row.answered} / ${row.queued}`),
          tile("abandoned", String(row.abandoned)),
          tile("asa", row.avg_speed_of_answer_s === null || row.avg_speed_of_answer_s === undefined ? "—" : `${row.avg_speed_of_answer_s} s`),
          tile("waiting", String(row.waiting)),
          tile("longest", `${oldest} / ${row.longest_wait_today_s === null || row.longest_wait_today_s === undefined ? "—" : `${row.longest_wait_today_s} s`}`),
          tile("agents", agents),
        ),
      );
    }
  }

  renderSummary() {
    const figuresBox = clear($("#summary-figures"));
    const chart = clear($("#chart"));
    const sl = clear($("#sl"));
    const states = clear($("#states-chart"));
    const decisions = clear($("#decisions-chart"));
    const found = this.summary;
    if (!found) return;
    const totals = found.totals;
    const list = h("dl.figures", { dataset: { scope: found.scope } });
    for (const name of SUMMARY_FIGURES) {
      list.append(h("dt", {}, t(`fig.${name}`)), h("dd", { dataset: { figure: name } }, shown(totals[name])));
    }
    list.append(h("dt", {}, t("fig.evidence_complete_percent")), h("dd", { dataset: { figure: "evidence" } }, shown(totals.evidence.complete_percent)));
    figuresBox.append(list);
    chart.append(
      seriesChart(
        found.series.map((b) => ({ label: b.label, answered: b.figures.answered + b.figures.callbacks_answered, abandoned: b.figures.abandoned, no_agent: b.figures.no_agent })),
        { title: t("rep.chart_title"), answered: t("fig.answered"), abandoned: t("rep.abandoned"), no_agent: t("rep.no_agent") },
      ),
    );
    const level = totals.service_level_percent;
    const text = level === null ? t("sup.report.sl_none") : t("sup.report.sl_value", { value: level, seconds: found.sla_answer_within_s, target: found.sla_target_percent });
    sl.append(h("p", { id: "sl-text" }, text), serviceLevelGauge(level, found.sla_target_percent, text));
    const time = totals.agent_time_s;
    states.append(
      barList(
        STATES.filter((s) => time[s] !== null).map((s) => ({ key: s, label: t(`status.${s}`), value: time[s] || 0, text: duration((time[s] || 0) * 1000) })),
        t("rep.states_title"),
      ),
    );
    decisions.append(
      barList(
        ["A", "R", "C", "D"].map((d) => ({ key: d, label: decisionName(d), value: totals.decisions[d], text: `${totals.decisions[d]} (${shown(totals.decision_rates_percent[d])}%)` })),
        t("rep.decisions_title"),
      ),
    );
  }

  renderAgents() {
    const body = clear($("#agents-report tbody"));
    const rows = (this.agents && this.agents.agents) || [];
    if (!rows.length) body.append(h("tr", {}, h("td.muted", { colSpan: 12 }, t("rep.none"))));
    for (const row of rows) {
      body.append(
        h(
          "tr",
          { dataset: { agent: row.agent_id } },
          h("td", {}, h("div", {}, row.name), h("div.muted.mono", {}, row.agent_id)),
          h("td", {}, h("span.badge", { dataset: { status: row.status } }, t(`status.${row.status}`))),
          h("td", {}, String(row.answered)),
          h("td", {}, `${row.missed_offers} / ${row.rejected_offers}`),
          h("td", {}, shown(row.answer_rate_percent)),
          h("td", {}, shown(row.avg_talk_s)),
          h("td", {}, shown(row.avg_wrap_up_s)),
          h("td", {}, shown(row.avg_handle_s)),
          h("td", {}, `${row.decisions.A}/${row.decisions.R}/${row.decisions.C}/${row.decisions.D}`),
          h("td", {}, shown(row.evidence_complete_percent)),
          h("td", {}, shown(row.occupancy_percent)),
          h("td.small", {}, STATES.map((s) => `${t(`status.${s}`)} ${duration((row.time_s[s] || 0) * 1000)}`).join(" · ")),
        ),
      );
    }
  }

  renderCalls() {
    const body = clear($("#calls-table tbody"));
    if (!this.calls.length) body.append(h("tr", {}, h("td.muted", { colSpan: 9 }, t("rep.none"))));
    for (const row of this.calls) {
      const evidence = row.evidence.recording && row.evidence.face_snapshot && row.evidence.bundle;
      body.append(
        h(
          "tr.clickable",
          { dataset: { call: row.call_id, subscriber: row.subscriber || "" }, onclick: () => this.openCall(row.call_id) },
          h("td", {}, dateTime(row.created_at)),
          h("td", {}, row.unit_name || row.unit_id),
          h("td", {}, row.agent_name || row.agent_id || "—"),
          h("td.mono", {}, row.subscriber || "—"),
          h("td", {}, h("span", { title: row.state }, stateName(row.direction, row.state)), row.end_reason ? h("div.muted", {}, reasonName(row.end_reason)) : null),
          h("td", {}, shown(row.wait_s)),
          h("td", {}, shown(row.talk_s)),
          h("td", {}, row.decision ? decisionName(row.decision) : "—"),
          h("td", {}, row.decision ? t(evidence ? "rep.evidence.full" : "rep.evidence.partial") : "—"),
        ),
      );
    }
    $("#calls-more").classList.toggle("hidden", !this.cursor);
  }

  renderErrors() {
    const body = clear($("#errors-report tbody"));
    const groups = (this.failed && this.failed.groups) || [];
    if (!groups.length) body.append(h("tr", {}, h("td.muted", { colSpan: 4 }, t("rep.none"))));
    for (const group of groups) {
      const ids = group.call_ids.map((id) => h("a.mono", { href: `#${id}`, onclick: (event) => { event.preventDefault(); this.openCall(id); } }, id.slice(0, 8)));
      body.append(
        h(
          "tr",
          { dataset: { reason: group.end_reason } },
          h("td", {}, stateName(group.call_ids.some((id) => id.startsWith("cb-")) ? "out" : "in", group.state)),
          h("td", {}, reasonName(group.end_reason), group.code ? h("div.muted.mono", {}, group.code) : null),
          h("td", {}, String(group.count)),
          h("td.ids", {}, ...ids.flatMap((a) => [a, " "])),
        ),
      );
    }
  }
}
