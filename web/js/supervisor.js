// The supervisor console (web/supervisor.html): the live board of the agents and queues of the units the
// supervisor serves (monitor.snapshot, then monitor.agent / monitor.queue pushes over the WebSocket),
// the live tiles (monitor.tiles), a call lookup by id (GET /calls/{call_id}: timeline in the reader's
// language with names, snapshots, recording), and the reports (web/js/reports.js).
//
// A reload resumes the session like the agent page does (sessionStorage "vkyc.supervisor").

import { has, applyTranslations, onLangChange, t } from "./i18n.js";
import { Reports } from "./reports.js";
import { api, Session, submitLogin } from "./session.js";
import { listenButton, listenedCallGone, listenFrames, onListenPush, wireListen } from "./listen.js";
import { forceButton, refreshWaiting, renderAlerts, waitingSoon, wireSupervision } from "./supervision.js";
import { $, Banners, clear, dateTime, duration, ErrorList, h, showConnection, warnIgnoredApi, wireLanguageButton } from "./ui.js";

const STORE = "vkyc.supervisor";

const S = {
  session: null,
  token: null,
  wsUrl: null,
  me: null,
  agents: new Map(),
  queues: new Map(),
  lookup: null,
  reconnecting: false,
};

let errors;
let lookupErrors; // beside the lookup form, cleared by the next lookup found
let reportErrors; // beside the report form
let banners;
let reports;

/** agent id -> name, from the board (the agents of the units served). */
function agentNames() {
  return new Map([...S.agents.values()].map((row) => [row.agent_id, row.name]));
}

function save() {
  if (!S.session) return;
  sessionStorage.setItem(STORE, JSON.stringify({ wsUrl: S.wsUrl, token: S.token, resumeToken: S.session.resumeToken }));
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || "null");
  } catch {
    return null;
  }
}

function serverToLocal(ms) {
  return ms - (S.session ? S.session.clockOffsetMs : 0);
}

// -- session --------------------------------------------------------------------------------------------

async function startSession(query, wsUrl, token) {
  const session = new Session(wsUrl, { clientName: "vkyc-web-supervisor/1" });
  S.session = session;
  S.wsUrl = wsUrl;
  S.token = token;
  session.addEventListener("push", (event) => onPush(event.detail.message));
  session.addEventListener("welcome", () => save());
  session.addEventListener("state", (event) => onConnState(event.detail));
  session.addEventListener("ended", (event) => {
    sessionStorage.removeItem(STORE);
    const reason = event.detail.reason;
    showLogin(reason === "bye" ? null : reason === "replaced" ? () => t("conn.replaced") : () => t("conn.ended"));
  });
  await session.start(query);
  save();
  S.me = await api("/me", { token });
  $("#who").textContent = `${S.me.name} · ${S.me.principal_id}`;
  showConsole();
  await snapshot();
  reports.init(S.me);
  await reports.load();
  $("#reports").dataset.ready = "true"; // the first load is done: what a test waits for
  refreshWaiting();
}

function onConnState({ state, deadline }) {
  showConnection(state);
  if (state === "reconnecting") {
    S.reconnecting = deadline;
  } else if (state === "connected" && S.reconnecting) {
    S.reconnecting = false;
    banners.remove("own");
    banners.flash("restored", "ok", () => t("conn.restored"));
    snapshot();
  }
}

async function snapshot() {
  try {
    const board = await S.session.request("monitor.snapshot");
    S.agents = new Map(board.agents.map((row) => [row.agent_id, row]));
    S.queues = new Map((board.queues || []).map((row) => [row.unit_id, row]));
    reports.setTiles(board.tiles);
    renderBoard();
  } catch (exc) {
    errors.fromException(exc);
  }
}

function onPush(message) {
  if (message.action === "monitor.agent") {
    S.agents.set(message.agent.agent_id, message.agent);
    renderBoard();
  } else if (message.action === "monitor.queue") {
    S.queues.set(message.queue.unit_id, message.queue);
    renderBoard();
    waitingSoon();
  } else if (message.action === "monitor.tiles") {
    reports.onTiles(message.tiles);
  } else if (onListenPush(message)) {
    // the listening's answer or error (listen.js)
  } else if (message.action === "error") {
    errors.show(message.code, { callId: message.call_id, requestId: message.request_id, serverMessage: message.message });
  }
}

// -- names (issue #16: people, units and queues by name, states in words) --------------------------------

/** "Name" of a unit the supervisor serves (GET /me), else its id. */
function unitName(unitId) {
  const unit = ((S.me && S.me.units) || []).find((u) => u.unit_id === unitId);
  return unit ? unit.name : unitId;
}

/** An agent's name from the live board, with the account in the title; else the account. */
function agentLabel(agentId) {
  if (!agentId) return t("none");
  if (has(`actor.${agentId}`)) return t(`actor.${agentId}`);
  const row = S.agents.get(agentId);
  return row && row.name ? row.name : agentId;
}

/** A word when i18n.js knows the key, else the stored value (data, not a text of ours). */
function known(key, fallback) {
  return has(key) ? t(key) : fallback;
}

function callStateText(direction, state) {
  if (!state) return t("call.state.none");
  return known(`call.state.${direction === "out" ? "out" : "in"}.${state}`, state);
}

// -- board ----------------------------------------------------------------------------------------------

function renderBoard() {
  const body = $("#agents tbody");
  clear(body);
  const rows = [...S.agents.values()].sort((a, b) => a.unit_id.localeCompare(b.unit_id) || a.name.localeCompare(b.name));
  if (!rows.length) body.append(h("tr", {}, h("td.muted", { colSpan: 6 }, t("sup.no_agents"))));
  for (const row of rows) {
    const call = row.call_id
      ? h("a", { href: `#${row.call_id}`, title: row.call_id, onclick: (event) => {
          event.preventDefault();
          $("#lookup-id").value = row.call_id;
          lookup(row.call_id);
        } }, row.call_id)
      : t("none");
    body.append(
      h(
        "tr",
        { dataset: { agent: row.agent_id, status: row.status } },
        h("td", {}, h("div", {}, row.name), h("div.muted.mono", {}, row.agent_id)),
        h("td", { title: row.unit_id }, unitName(row.unit_id)),
        h("td", {}, h("span.badge", { dataset: { status: row.status } }, t(`status.${row.status}`))),
        h("td.mono", { dataset: { since: serverToLocal(row.since_ms) } }, duration(Date.now() - serverToLocal(row.since_ms))),
        h("td.call", {}, call, listenButton(row)),
        h("td", {}, forceButton(row)),
      ),
    );
  }
  listenedCallGone(new Set(rows.filter((row) => row.status === "IN_CALL").map((row) => row.call_id)));
  const queues = $("#queues tbody");
  clear(queues);
  for (const row of [...S.queues.values()].sort((a, b) => a.unit_id.localeCompare(b.unit_id))) {
    const since = row.oldest_since_ms ? serverToLocal(row.oldest_since_ms) : null;
    queues.append(
      h(
        "tr",
        { dataset: { unit: row.unit_id, waiting: row.waiting } },
        h("td", { title: row.unit_id }, unitName(row.unit_id)),
        h("td", {}, String(row.waiting)),
        h("td.mono", { dataset: since ? { since } : {} }, since ? duration(Date.now() - since) : t("none")),
      ),
    );
  }
}

function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("td[data-since]")) {
    cell.textContent = duration(now - Number(cell.dataset.since));
  }
  renderAlerts();
  if (S.reconnecting) {
    banners.set("own", "warn", () => t("conn.reconnecting", { seconds: Math.max(0, Math.ceil((S.reconnecting - now) / 1000)) }));
  }
}

// -- call lookup ----------------------------------------------------------------------------------------

async function lookup(callId) {
  const box = $("#lookup");
  try {
    S.lookup = await api(`/calls/${encodeURIComponent(callId)}`, { token: S.token });
  } catch (exc) {
    S.lookup = null;
    clear(box);
    lookupErrors.fromException(exc, { callId });
    return;
  }
  lookupErrors.clear();
  renderLookup();
}

function renderLookup() {
  const box = $("#lookup");
  clear(box);
  const found = S.lookup;
  if (!found) return;
  const c = found.call;
  const units = new Map(((S.me && S.me.units) || []).map((u) => [u.unit_id, u.name]));
  const fields = h("dl.fields", { dataset: { call: c.call_id } });
  const direction = c.direction === "out" ? t("sup.field.direction.out") : t("sup.field.direction.in");
  for (const [key, value, raw] of [
    ["call_id", c.call_id],
    ["sup.field.state", callStateText(c.direction, c.state), c.state],
    ["sup.field.direction", direction],
    ["rep.col.unit", units.has(c.unit_id) ? `${units.get(c.unit_id)} (${c.unit_id})` : c.unit_id],
    ["sup.field.dossier", c.dossier_id],
    ["rep.col.subscriber", c.subscriber],
    ["sup.field.agent", c.agent_id ? agentLabel(c.agent_id) : null],
    ["sup.field.created", dateTime(c.created_at)],
    ["sup.field.answered", dateTime(c.answered_at)],
    ["sup.field.ended", dateTime(c.ended_at)],
    ["sup.field.end_reason", c.end_reason ? known(`call.reason.end.${c.end_reason}`, c.end_reason) : null],
    ["sup.field.decision", c.decision ? `${c.decision} — ${known(`dossier.state.${c.decision}`, "")}` : null],
  ]) {
    fields.append(h("dt", {}, t(key)), h("dd", { dataset: { field: key, raw: raw || "" } }, value || t("none")));
  }
  box.append(fields);

  const timeline = h("ol.timeline", { id: "timeline" });
  for (const entry of found.timeline) {
    const from = entry.from_state ? callStateText(c.direction, entry.from_state) : t("call.state.none");
    const parts = [
      `${from} → ${callStateText(c.direction, entry.to_state)}`,
      known(`call.event.${entry.event}`, entry.event),
      agentLabel(entry.actor),
    ];
    if (entry.reason) parts.push(known(`call.reason.${entry.reason}`, known(`call.reason.end.${entry.reason}`, entry.reason)));
    timeline.append(
      h(
        "li",
        { dataset: { state: entry.to_state, event: entry.event } },
        h("span.mono", {}, dateTime(entry.at)),
        h("span", {}, parts.join(" · ")),
      ),
    );
  }
  box.append(h("div", {}, h("h3", {}, t("sup.lookup.timeline")), timeline));

  if (found.offers.length) {
    const offers = found.offers.map((o) => `${agentLabel(o.agent_id)} (${known(`offer.state.${o.state}`, o.state)})`).join(", ");
    box.append(h("div", {}, h("h3", {}, t("sup.lookup.offers")), h("p", {}, offers)));
  }

  const media = h("div.lookup-media", {});
  const shots = h("div", {}, h("h3", {}, t("sup.lookup.snapshots")));
  if (found.snapshots.length) {
    for (const shot of found.snapshots) {
      shots.append(h("img", { src: shot.url, alt: shot.snapshot_id, title: shot.snapshot_id, dataset: { snapshot: shot.snapshot_id } }));
    }
  } else {
    shots.append(h("p.muted", {}, t("sup.lookup.no_snapshot")));
  }
  const recording = h("div", {}, h("h3", {}, t("sup.lookup.recording")));
  if (found.recording) {
    recording.append(h("video", { src: found.recording.url, controls: true, preload: "metadata", id: "recording" }));
  } else {
    recording.append(h("p.muted", {}, t("sup.lookup.no_recording")));
  }
  media.append(shots, recording);
  box.append(media);
}

// -- screens --------------------------------------------------------------------------------------------

function showLogin(message) {
  $("#login").classList.remove("hidden");
  $("#console").classList.add("hidden");
  $("#logout").classList.add("hidden");
  $("#who").textContent = "";
  delete $("#reports").dataset.ready;
  showConnection(null);
  banners.remove("own");
  if (message) banners.set("login", "warn", message);
}

function showConsole() {
  banners.remove("login");
  banners.remove("api");
  $("#login").classList.add("hidden");
  $("#console").classList.remove("hidden");
  $("#logout").classList.remove("hidden");
}

async function login(event) {
  event.preventDefault();
  await submitLogin(event.target, "supervisor", errors, "login.wrong_page_supervisor", (grant) =>
    startSession({ token: grant.token }, grant.ws_url, grant.token),
  );
}

async function logout() {
  const session = S.session;
  sessionStorage.removeItem(STORE);
  S.session = null;
  if (session) await session.bye();
  showLogin(null);
}

async function main() {
  errors = new ErrorList($("#errors"), 2);
  lookupErrors = new ErrorList($("#lookup-errors"), 1);
  reportErrors = new ErrorList($("#report-errors"), 1);
  banners = new Banners($("#banners"));
  applyTranslations();
  await warnIgnoredApi(banners); // before a resume: the working screen then takes the banner away
  wireLanguageButton($("#lang"));
  reports = new Reports({
    token: () => S.token,
    errors: reportErrors,
    names: agentNames,
    openCall: (callId) => {
      $("#lookup-id").value = callId;
      lookup(callId);
      $("#lookup").scrollIntoView({ block: "nearest" });
    },
  });
  reports.bind();
  onLangChange(() => {
    renderBoard();
    renderLookup();
    reports.render();
  });
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#lookup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("#lookup-id").value.trim();
    if (id) lookup(id);
  });
  wireListen({ session: () => S.session });
  wireSupervision({
    session: () => S.session,
    token: () => S.token,
    me: () => S.me,
    queues: () => [...S.queues.values()],
    report: () => reports.serviceLevel(),
    serverToLocal,
    unitName,
  });
  setInterval(() => {
    tick();
    reports.renderTiles();
  }, 1000);

  const stored = load();
  if (stored && stored.resumeToken) {
    try {
      await startSession({ resume: stored.resumeToken }, stored.wsUrl, stored.token);
      return;
    } catch {
      sessionStorage.removeItem(STORE);
      showLogin(() => t("conn.ended"));
      return;
    }
  }
  showLogin(null);
}

window.vkycSupervisor = {
  get agents() {
    return [...S.agents.values()];
  },
  get queues() {
    return [...S.queues.values()];
  },
  get tiles() {
    return reports ? [...reports.tiles.values()] : [];
  },
  get summary() {
    return reports ? reports.summary : null;
  },
  get session() {
    return S.session;
  },
  listenFrames,
};

main();
