// The admin console (web/admin.html): the switchboard configured through the admin API (/admin/v1,
// docs/openapi.json). One section per kind: a table with search and paging, a form whose server-side
// validation errors ("fields" of the error body) are shown beside each field, and the changes sent
// with the object's ETag (If-Match): someone else's change meanwhile answers PRECONDITION_FAILED.
// Settings show every effective value and its source, and the answer's warnings under their setting
// (e.g. ANSWER_URL_NOT_FRAMEABLE); the blacklist imports a CSV with a report per line; a new API key's
// secret is shown once, with a copy button; the audit log reads every change.
//
// The bearer token is kept in sessionStorage ("vkyc.admin"), so a reload keeps the admin logged in.

import { applyTranslations, errorText, has, onLangChange, t } from "./i18n.js";
import { apiBase } from "./session.js";
import { $, Banners, clear, copyable, dateTime, ErrorList, h, warnIgnoredApi, wireLanguageButton } from "./ui.js";

const STORE = "vkyc.admin";
const PAGE = 10;

const S = { token: null, me: null, section: "groups", offset: 0, q: "", unit: "", editing: null, notice: null };
let errors;
let banners;

class AdminError extends Error {
  constructor(code, message, status, fields) {
    super(message);
    this.code = code;
    this.serverMessage = message;
    this.status = status;
    this.fields = fields || [];
  }
}

/** One request of the admin API (or /auth/login); the answer's body, or an AdminError. */
async function call(method, path, { body, ifMatch, query, raw = false } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (S.token) headers.Authorization = `Bearer ${S.token}`;
  if (ifMatch) headers["If-Match"] = ifMatch;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== "" && value !== null && value !== undefined) params.set(name, value);
  }
  const url = (await apiBase()) + (raw ? "" : "/admin/v1") + path + (params.size ? `?${params}` : "");
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (exc) {
    throw new AdminError("NETWORK", String(exc), 0);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    throw new AdminError((data && data.code) || "INTERNAL_ERROR", data && data.message, response.status, data && data.fields);
  }
  return data;
}

function failed(exc, form) {
  if (exc && exc.code === "NETWORK") {
    errors.show("NETWORK", { text: t("error.network") });
  } else {
    errors.show(exc.code || "INTERNAL_ERROR", { serverMessage: exc.serverMessage || String(exc) });
  }
  if (form) showFieldErrors(form, exc.fields || []);
  if (exc && (exc.code === "TOKEN_EXPIRED" || exc.code === "TOKEN_REVOKED" || exc.code === "ACCOUNT_DISABLED")) {
    logout();
  }
}

// -- field specifications ------------------------------------------------------------------------------

const F = (name, type = "text", extra = {}) => ({ name, type, ...extra });

const KINDS = {
  units: {
    path: "/units",
    id: (item) => String(item.id),
    columns: ["id", "name", "serves"],
    fields: [F("id", "number", { key: true }), F("name"), F("serves", "numbers")],
  },
  groups: {
    path: "/groups",
    id: (item) => item.id,
    columns: ["id", "unit", "name", "customer_types", "sub_types", "dealer_channels"],
    fields: [
      F("id", "text", { key: true }),
      F("unit", "number"),
      F("name"),
      F("customer_types", "list"),
      F("sub_types", "list"),
      F("dealer_channels", "list"),
    ],
  },
  queues: {
    path: "/queues",
    id: (item) => item.id,
    columns: ["id", "unit", "name", "groups", "timeout_s"],
    fields: [
      F("id", "text", { key: true }),
      F("unit", "number"),
      F("name"),
      F("groups", "queue_groups"),
      F("timeout_s", "optnumber"),
      F("auto_ticket", "check"),
    ],
  },
  hotlines: {
    path: "/hotlines",
    id: (item) => item.number,
    columns: ["number", "unit", "name", "queue", "allow_call_out"],
    fields: [
      F("number", "text", { key: true }),
      F("unit", "number"),
      F("name"),
      F("queue"),
      F("allow_call_out", "check"),
      F("call_out_groups", "optlist"),
    ],
  },
  users: {
    path: "/users",
    id: (item) => item.username,
    columns: ["username", "name", "role", "unit", "groups", "disabled"],
    fields: [
      F("username", "text", { key: true }),
      F("name"),
      F("role", "select", { options: ["agent", "supervisor", "admin"] }),
      F("unit", "optnumber"),
      F("groups", "list"),
      F("password", "password", { createOnly: true }),
    ],
  },
  sub_type_policy: {
    path: "/sub-type-policy",
    id: (item) => item.sub_type,
    columns: ["sub_type", "name", "icc_profile", "khcn", "khdn"],
    fields: [F("sub_type", "text", { key: true }), F("name"), F("icc_profile"), F("khcn", "check"), F("khdn", "check")],
  },
};
const SECTIONS = [
  "units",
  "groups",
  "queues",
  "hotlines",
  "users",
  "api_keys",
  "sub_type_policy",
  "settings",
  "blacklist",
  "media_nodes",
  "audit",
];

function show(value) {
  if (value === null || value === undefined || value === "") return t("none");
  if (value === true) return "✓";
  if (value === false) return "—";
  if (Array.isArray(value)) {
    return value.map((v) => (typeof v === "object" ? `${v.group}:${v.priority}${v.overflow_after_s ? `+${v.overflow_after_s}s` : ""}` : v)).join(", ");
  }
  return String(value);
}

function toInput(field, value) {
  if (value === null || value === undefined) return "";
  if (field.type === "queue_groups") {
    return value.map((g) => [g.group, g.priority, g.overflow_after_s || ""].join(" ").trim()).join("\n");
  }
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

function fromInput(field, el) {
  const text = el.type === "checkbox" ? el.checked : el.value.trim();
  const words = (s) => s.split(/[\s,;]+/).filter(Boolean);
  switch (field.type) {
    case "check":
      return el.checked;
    case "number":
      return text === "" ? null : Number(text);
    case "optnumber":
      return text === "" ? null : Number(text);
    case "numbers":
      return words(text).map(Number);
    case "list":
      return words(text);
    case "optlist":
      return text === "" ? null : words(text);
    case "queue_groups":
      return text
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter((parts) => parts[0])
        .map(([group, priority, overflow]) => ({
          group,
          priority: priority ? Number(priority) : 1,
          overflow_after_s: overflow ? Number(overflow) : null,
        }));
    default:
      return text;
  }
}

function showFieldErrors(form, fields) {
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
  for (const problem of fields) {
    const parts = String(problem.field).split(".");
    const name = parts[0] === "set" || parts[0] === "clear" ? parts[1] : parts[0];
    const slot = form.querySelector(`[data-error="${CSS.escape(name)}"]`) || form.querySelector('[data-error="_form"]');
    if (!slot) continue;
    slot.textContent = (slot.textContent ? slot.textContent + " · " : "") + `${problem.field}: ${problem.message}`;
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (input) input.classList.add("invalid");
  }
}

// -- the generic sections -------------------------------------------------------------------------------

function toolbar({ onNew, withUnit = true, placeholder = "adm.search" } = {}) {
  const search = h("input", { type: "search", id: "search", value: S.q, placeholder: t(placeholder) });
  search.addEventListener("input", () => {
    // Typing waits for a pause; the console counts as busy meanwhile (a search is on its way).
    clearTimeout(searchTimer);
    document.body.dataset.busy = "1";
    searchTimer = setTimeout(() => {
      S.q = search.value;
      S.offset = 0;
      render();
    }, 250);
  });
  const unit = withUnit
    ? h("input", { type: "number", id: "unit-filter", min: 1, max: 999, value: S.unit, placeholder: t("adm.f.unit") })
    : null;
  if (unit) {
    unit.addEventListener("change", () => {
      S.unit = unit.value;
      S.offset = 0;
      render();
    });
  }
  return h(
    "div.toolbar",
    {},
    search,
    unit,
    h("span.spacer"),
    onNew ? h("button.primary", { type: "button", id: "new", onclick: onNew }, t("adm.new")) : null,
  );
}

function pager(total, onMove) {
  const from = total ? S.offset + 1 : 0;
  const to = Math.min(S.offset + PAGE, total);
  return h(
    "div.pager",
    {},
    h("span", { id: "page-info" }, t("adm.page", { from, to, total })),
    h("button.small", { type: "button", disabled: S.offset === 0, onclick: () => onMove(-PAGE) }, "‹"),
    h("button.small", { type: "button", disabled: S.offset + PAGE >= total, onclick: () => onMove(PAGE) }, "›"),
  );
}

function move(step) {
  S.offset = Math.max(0, S.offset + step);
  render();
}

function table(columns, rows, actions) {
  return h(
    "table.list",
    { id: "rows" },
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", {}, t(`adm.f.${c}`))), h("th"))),
    h(
      "tbody",
      {},
      ...rows.map((row) =>
        h(
          "tr",
          { dataset: { id: row.id } },
          ...row.cells.map((cell) => h("td", {}, cell)),
          h("td.actions", {}, ...actions(row)),
        ),
      ),
    ),
  );
}

async function renderKind(work, name) {
  const kind = KINDS[name];
  const page = await call("GET", kind.path, { query: { q: S.q, unit: S.unit, offset: S.offset, limit: PAGE } });
  const rows = page.items.map(({ etag, item }) => ({
    id: kind.id(item),
    etag,
    item,
    cells: kind.columns.map((c) => show(item[c])),
  }));
  const list = h(
    "div.panel",
    {},
    h("h2", {}, t(`adm.section.${name}`)),
    toolbar({ onNew: () => openForm(name, null) }),
    table(kind.columns, rows, (row) => rowActions(name, row)),
    pager(page.total, move),
  );
  const side = h("div.panel", { id: "side" });
  work.append(list, side);
  if (S.notice) side.append(S.notice);
  else if (S.editing && S.editing.kind === name) openForm(name, S.editing.row);
  else side.append(h("p.muted", {}, t("adm.pick")));
}

function rowActions(name, row) {
  const kind = KINDS[name];
  const buttons = [h("button.small", { type: "button", dataset: { action: "edit" }, onclick: () => openForm(name, row) }, t("adm.edit"))];
  if (name === "groups") {
    // A group's members are the accounts that list it: the users section, searched by the group's id.
    const members = () => {
      Object.assign(S, { section: "users", q: row.id, unit: "", offset: 0, editing: null, notice: null });
      render();
    };
    buttons.unshift(h("button.small", { type: "button", dataset: { action: "members" }, onclick: members }, t("adm.members")));
  }
  if (name === "users") {
    const disabled = row.item.disabled;
    buttons.push(
      h(
        "button.small",
        { type: "button", dataset: { action: disabled ? "enable" : "disable" }, onclick: () => userAction(row, disabled ? "enable" : "disable") },
        t(disabled ? "adm.enable" : "adm.disable"),
      ),
      h("button.small", { type: "button", dataset: { action: "password" }, onclick: () => userAction(row, "password", {}) }, t("adm.reset_password")),
    );
  }
  buttons.push(
    h(
      "button.small.bad",
      {
        type: "button",
        dataset: { action: "delete" },
        onclick: async () => {
          if (!confirm(t("adm.confirm_delete", { id: row.id }))) return;
          try {
            await call("DELETE", `${kind.path}/${encodeURIComponent(row.id)}`, { ifMatch: row.etag });
            banners.flash("saved", "ok", t("adm.deleted", { id: row.id }));
            S.editing = null;
            render();
          } catch (exc) {
            failed(exc);
          }
        },
      },
      t("adm.delete"),
    ),
  );
  return buttons;
}

async function userAction(row, action, body) {
  try {
    const answer = await call("POST", `/users/${encodeURIComponent(row.id)}/${action}`, { body, ifMatch: row.etag });
    if (answer.deferred) banners.flash("saved", "info", t("adm.deferred"));
    else banners.flash("saved", "ok", t("adm.saved"));
    S.notice = answer.password ? secretBox(t("adm.password_once"), answer.password) : null;
    render();
  } catch (exc) {
    failed(exc);
  }
}

function secretBox(title, secret) {
  return h("div.secret", { id: "secret" }, h("strong", {}, title), copyable(t("adm.secret"), secret), h("span.muted", {}, t("adm.secret_once")));
}

function openForm(name, row) {
  const kind = KINDS[name];
  const side = $("#side");
  S.notice = null;
  S.editing = row ? { kind: name, row } : null;
  clear(side);
  const form = h("form.edit", { id: "edit-form", novalidate: true });
  for (const field of kind.fields) {
    if (field.createOnly && row) continue;
    const id = `f-${field.name}`;
    let input;
    if (field.type === "check") {
      input = h("input", { type: "checkbox", name: field.name, id, checked: row ? Boolean(row.item[field.name]) : false });
    } else if (field.type === "select") {
      input = h("select", { name: field.name, id }, ...field.options.map((o) => h("option", { value: o, selected: row && row.item[field.name] === o }, o)));
    } else if (field.type === "queue_groups") {
      input = h("textarea", { name: field.name, id, rows: 3, value: row ? toInput(field, row.item[field.name]) : "" });
    } else {
      input = h("input", {
        name: field.name,
        id,
        type: field.type === "password" ? "password" : "text",
        value: row ? toInput(field, row.item[field.name]) : "",
        readOnly: Boolean(row && field.key),
      });
    }
    const hint = has(`adm.hint.${field.type}`) ? h("span.hint", {}, t(`adm.hint.${field.type}`)) : null;
    const label = field.type === "check" ? "label.check" : "label";
    form.append(h(label, { for: id }, h("span", {}, t(`adm.f.${field.name}`)), input, hint), h("div.field-error", { dataset: { error: field.name } }));
  }
  form.append(
    h("div.field-error", { dataset: { error: "_form" } }),
    h("div.row", {}, h("button.primary", { type: "submit", id: "save" }, t(row ? "adm.save" : "adm.create")), h("button", { type: "button", onclick: () => closeForm() }, t("adm.cancel"))),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(name, row, form);
  });
  side.append(h("h2", {}, row ? t("adm.editing", { id: row.id }) : t("adm.creating")), form);
}

function closeForm() {
  S.editing = null;
  S.notice = null;
  render();
}

async function save(name, row, form) {
  const kind = KINDS[name];
  const body = {};
  for (const field of kind.fields) {
    const el = form.elements[field.name];
    if (!el) continue;
    const value = fromInput(field, el);
    if (field.type === "password" && !value) continue;
    body[field.name] = value;
  }
  try {
    let answer;
    if (row) {
      const sent = name === "users" ? { name: body.name, role: body.role, unit: body.unit, groups: body.groups } : body;
      answer = await call("PUT", `${kind.path}/${encodeURIComponent(row.id)}`, { body: sent, ifMatch: row.etag });
    } else {
      answer = await call("POST", kind.path, { body });
    }
    errors.clear();
    banners.flash("saved", "ok", t("adm.saved"));
    S.editing = null;
    S.notice = answer.password ? secretBox(t("adm.password_once"), answer.password) : null;
    render();
  } catch (exc) {
    failed(exc, form);
  }
}

// -- API keys -------------------------------------------------------------------------------------------

async function renderKeys(work) {
  const page = await call("GET", "/api-keys", { query: { q: S.q, unit: S.unit, offset: S.offset, limit: PAGE } });
  const columns = ["key_id", "unit", "name", "created_at", "revoked_at"];
  const rows = page.items.map(({ etag, item }) => ({
    id: item.id,
    etag,
    item,
    cells: [item.id, item.unit, item.name, dateTime(item.created_at), item.revoked_at ? dateTime(item.revoked_at) : t("none")],
  }));
  const actions = (row) => [
    h("button.small", { type: "button", dataset: { action: "rotate" }, onclick: () => keyAction(row, "rotate", { overlap_s: 24 * 3600 }) }, t("adm.rotate")),
    h("button.small.bad", { type: "button", dataset: { action: "revoke" }, onclick: () => keyAction(row, "revoke") }, t("adm.revoke")),
  ];
  const form = h(
    "form.edit",
    { id: "edit-form", novalidate: true },
    h("label", {}, h("span", {}, t("adm.f.unit")), h("input", { name: "unit", type: "number", min: 1, max: 999 })),
    h("div.field-error", { dataset: { error: "unit" } }),
    h("label", {}, h("span", {}, t("adm.f.name")), h("input", { name: "name" })),
    h("div.field-error", { dataset: { error: "name" } }),
    h("div.field-error", { dataset: { error: "_form" } }),
    h("button.primary", { type: "submit", id: "save" }, t("adm.create_key")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await call("POST", "/api-keys", { body: { unit: Number(form.elements.unit.value) || null, name: form.elements.name.value.trim() } });
      S.notice = secretBox(t("adm.key_once"), answer.secret);
      render();
    } catch (exc) {
      failed(exc, form);
    }
  });
  const side = h("div.panel", { id: "side" }, h("h2", {}, t("adm.new_key")), S.notice, form);
  work.append(
    h("div.panel", {}, h("h2", {}, t("adm.section.api_keys")), toolbar(), table(columns, rows, actions), pager(page.total, move)),
    side,
  );
}

async function keyAction(row, action, body) {
  try {
    const answer = await call("POST", `/api-keys/${row.id}/${action}`, { body, ifMatch: row.etag });
    S.notice = answer.secret ? secretBox(t("adm.key_once"), answer.secret) : null;
    banners.flash("saved", "ok", t("adm.saved"));
    render();
  } catch (exc) {
    failed(exc);
  }
}

// -- settings --------------------------------------------------------------------------------------------

function scopeSelect(onChange) {
  const select = h("select", { id: "scope" }, h("option", { value: "" }, t("adm.scope.global")), ...S.me.reach.map((u) => h("option", { value: u, selected: String(u) === S.unit }, t("adm.scope.unit", { unit: u }))));
  if (!S.unit && !S.me.system) S.unit = String(S.me.reach[0]);
  select.value = S.unit;
  select.addEventListener("change", () => {
    S.unit = select.value;
    onChange();
  });
  return select;
}

function settingWarning(warning) {
  return h(
    "div.field-warning",
    { role: "status", dataset: { warning: warning.setting, code: warning.code } },
    h("strong", {}, `${t("adm.warning")}: `),
    errorText(warning.code, warning.detail),
    h("span.muted", {}, ` (${warning.detail})`),
  );
}

async function renderSettings(work) {
  const view = await call("GET", "/settings", { query: { unit: S.unit } });
  const form = h("form.edit.settings", { id: "settings-form", novalidate: true });
  const body = h("tbody");
  // Valid values that will not work as meant (e.g. a panel URL the agent page may not frame): saved,
  // and shown under their setting until they change (docs/errors.md "Warnings").
  const warned = {};
  for (const warning of view.warnings || []) (warned[warning.setting] ||= []).push(warning);
  for (const [name, { value, source }] of Object.entries(view.effective)) {
    if (name === "blacklist") continue; // its own section
    const stored = name in view.stored;
    let input;
    if (typeof value === "boolean") {
      input = h("select", { name }, h("option", { value: "" }, "—"), h("option", { value: "true", selected: stored && view.stored[name] === true }, "true"), h("option", { value: "false", selected: stored && view.stored[name] === false }, "false"));
    } else {
      input = h("input", { name, value: stored && view.stored[name] !== null ? String(view.stored[name]) : "", placeholder: show(value) });
    }
    input.dataset.kind = typeof value === "number" ? "number" : typeof value === "boolean" ? "boolean" : "text";
    input.dataset.stored = stored ? "1" : "";
    body.append(
      h(
        "tr",
        { dataset: { setting: name } },
        h("td", {}, h("code", {}, name)),
        h("td", {}, show(value), " ", h("span.source", { dataset: { source } }, t(`adm.source.${source}`))),
        h("td", {}, input, h("div.field-error", { dataset: { error: name } }), ...(warned[name] || []).map(settingWarning)),
      ),
    );
  }
  form.append(
    h("table.list", {}, h("thead", {}, h("tr", {}, h("th", {}, t("adm.setting")), h("th", {}, t("adm.effective")), h("th", {}, t("adm.override")))), body),
    h("div.field-error", { dataset: { error: "_form" } }),
    h("div.row", {}, h("button.primary", { type: "submit", id: "save" }, t("adm.save")), h("span.muted", {}, t("adm.settings_hint"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const set = {};
    const clearNames = [];
    for (const input of form.querySelectorAll("[data-kind]")) {
      const text = input.value.trim();
      const wasStored = input.dataset.stored === "1";
      const before = wasStored ? view.stored[input.name] : undefined;
      if (text === "") {
        if (wasStored) clearNames.push(input.name);
        continue;
      }
      const value = text === "null" ? null : input.dataset.kind === "number" ? Number(text) : input.dataset.kind === "boolean" ? text === "true" : text;
      if (!wasStored || before !== value) set[input.name] = value;
    }
    try {
      await call("PATCH", "/settings", { body: { set, clear: clearNames }, query: { unit: S.unit }, ifMatch: view.etag });
      errors.clear();
      banners.flash("saved", "ok", t("adm.saved"));
      render();
    } catch (exc) {
      failed(exc, form);
    }
  });
  work.classList.add("wide");
  work.append(h("div.panel", {}, h("h2", {}, t("adm.section.settings")), h("div.toolbar", {}, scopeSelect(render)), form));
}

// -- blacklist -------------------------------------------------------------------------------------------

async function renderBlacklist(work) {
  const view = await call("GET", "/blacklist", { query: { unit: S.unit } });
  const shown = view.numbers.filter((n) => n.includes(S.q.replace(/\D/g, "")));
  const rows = shown.slice(S.offset, S.offset + PAGE).map((number) => ({ id: number, cells: [number] }));
  const remove = (row) => [
    h(
      "button.small.bad",
      {
        type: "button",
        onclick: async () => {
          try {
            await call("DELETE", `/blacklist/${row.id}`, { query: { unit: S.unit }, ifMatch: view.etag });
            render();
          } catch (exc) {
            failed(exc);
          }
        },
      },
      t("adm.remove"),
    ),
  ];
  const add = h("form.row", { id: "add-form" }, h("input", { name: "number", placeholder: "0901234567" }), h("button", { type: "submit" }, t("adm.add")), h("div.field-error", { dataset: { error: "number" } }));
  add.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await call("POST", "/blacklist", { body: { number: add.elements.number.value }, query: { unit: S.unit }, ifMatch: view.etag });
      render();
    } catch (exc) {
      failed(exc, add);
    }
  });
  const csv = h("textarea", { name: "csv", id: "csv", rows: 6, placeholder: "number\n0901234567" });
  const file = h("input", { type: "file", id: "csv-file", accept: ".csv,text/csv,text/plain" });
  file.addEventListener("change", async () => {
    if (file.files[0]) csv.value = await file.files[0].text();
  });
  const replace = h("input", { type: "checkbox", name: "replace", id: "csv-replace" });
  const report = h("div.report", { id: "report" });
  const importForm = h(
    "form.edit",
    { id: "import-form" },
    file,
    csv,
    h("label.check", { for: "csv-replace" }, replace, h("span", {}, t("adm.replace"))),
    h("div.field-error", { dataset: { error: "csv" } }),
    h("div.field-error", { dataset: { error: "_form" } }),
    h("button.primary", { type: "submit", id: "import" }, t("adm.import")),
    report,
  );
  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const done = await call("POST", "/blacklist/import", { body: { csv: csv.value, replace: replace.checked }, query: { unit: S.unit }, ifMatch: view.etag });
      S.notice = importReport(done);
      render();
    } catch (exc) {
      failed(exc, importForm);
    }
  });
  const exportButton = h(
    "button",
    {
      type: "button",
      id: "export",
      onclick: async () => {
        const answer = await call("GET", "/blacklist/export", { query: { unit: S.unit } });
        const link = h("a", { href: URL.createObjectURL(new Blob([answer.csv], { type: "text/csv" })), download: "blacklist.csv" });
        document.body.append(link);
        link.click();
        link.remove();
      },
    },
    t("adm.export"),
  );
  if (S.notice) report.append(S.notice);
  const list = h(
    "div.panel",
    {},
    h("h2", {}, t("adm.section.blacklist")),
    h("div.toolbar", {}, scopeSelect(render), h("input", { type: "search", id: "search", value: S.q, placeholder: t("adm.search"), onchange: (e) => { S.q = e.target.value; S.offset = 0; render(); } }), h("span.spacer"), exportButton),
    add,
    table(["number"], rows, remove),
    pager(shown.length, move),
  );
  work.append(list, h("div.panel", { id: "side" }, h("h2", {}, t("adm.import_title")), importForm));
}

function importReport(done) {
  return h(
    "div",
    { id: "import-result" },
    h("p", {}, t("adm.imported", { added: done.added, total: done.total, problems: done.report.length })),
    done.report.length
      ? h(
          "table.list",
          {},
          h("thead", {}, h("tr", {}, h("th", {}, t("adm.line")), h("th", {}, t("adm.text")), h("th", {}, t("adm.problem")))),
          h("tbody", {}, ...done.report.map((r) => h("tr", { dataset: { line: r.line } }, h("td", {}, r.line), h("td", {}, h("code", {}, r.text)), h("td.problem", { title: r.detail }, t(`adm.problem.${r.problem}`))))),
        )
      : null,
  );
}

// -- media nodes, audit ---------------------------------------------------------------------------------

async function renderNodes(work) {
  const { nodes } = await call("GET", "/media-nodes");
  const rows = nodes.map((n) => ({
    id: n.node_id,
    item: n,
    cells: [n.node_id, n.address, `${n.load}/${n.capacity}`, n.assigned, dateTime(n.heartbeat_at), show(n.live), show(n.draining)],
  }));
  const actions = (row) => [
    h(
      "button.small",
      {
        type: "button",
        onclick: async () => {
          try {
            await call("POST", `/media-nodes/${encodeURIComponent(row.id)}/${row.item.draining ? "undrain" : "drain"}`);
            render();
          } catch (exc) {
            failed(exc);
          }
        },
      },
      t(row.item.draining ? "adm.undrain" : "adm.drain"),
    ),
  ];
  work.classList.add("wide");
  work.append(h("div.panel", {}, h("h2", {}, t("adm.section.media_nodes")), table(["node_id", "address", "load", "assigned", "heartbeat_at", "live", "draining"], rows, actions)));
}

async function renderAudit(work) {
  const filters = S.audit || (S.audit = { kind: "", object_id: "", actor: "", from: "", to: "" });
  const log = await call("GET", "/audit", { query: { ...filters, offset: S.offset, limit: PAGE } });
  const json = (value) => (value === null || value === undefined ? "" : JSON.stringify(value));
  const rows = log.entries.map((e) => ({ id: e.at, cells: [dateTime(e.at), e.actor, e.unit, e.kind, e.object_id, e.action, json(e.before), json(e.after)] }));
  const inputs = ["kind", "object_id", "actor"].map((name) => h("input", { name, value: filters[name], placeholder: t(`adm.f.${name}`) }));
  const dates = ["from", "to"].map((name) => h("input", { name, type: "date", value: filters[name], title: t(`adm.f.${name}`) }));
  const form = h("form.toolbar", { id: "audit-form" }, ...inputs, ...dates, h("button", { type: "submit" }, t("adm.filter")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const el of form.elements) if (el.name) filters[el.name] = el.value.trim();
    S.offset = 0;
    render();
  });
  const columns = ["at", "actor", "unit", "kind", "object_id", "action", "before", "after"];
  const tableEl = table(columns, rows, () => []);
  for (const tr of tableEl.querySelectorAll("tbody tr")) {
    tr.children[6].className = "json";
    tr.children[7].className = "json";
  }
  work.classList.add("wide");
  work.append(h("div.panel", {}, h("h2", {}, t("adm.section.audit")), form, tableEl, pager(log.total, move)));
}

// -- frame ------------------------------------------------------------------------------------------------

function nav() {
  const kinds = clear($("#kinds"));
  for (const name of SECTIONS) {
    kinds.append(
      h(
        "button",
        {
          type: "button",
          dataset: { section: name },
          "aria-current": String(name === S.section),
          onclick: () => {
            S.section = name;
            S.offset = 0;
            S.q = "";
            S.unit = "";
            S.editing = null;
            S.notice = null;
            render();
          },
        },
        t(`adm.section.${name}`),
      ),
    );
  }
}

let rendering = 0;
let searchTimer = null; // a search typed in a list, not yet asked for

/** Draw the current section. body[data-busy] is set until the last render asked for is on screen. */
async function render() {
  // Anything drawn now supersedes a search typed before it: left pending, it would redraw the next
  // section (with the old section's words) under the admin's hands, an open form with it.
  clearTimeout(searchTimer);
  nav();
  const ticket = ++rendering;
  document.body.dataset.busy = "1";
  const work = h("div.work", { id: "work", dataset: { section: S.section, scope: S.unit || "global" } });
  try {
    if (S.section in KINDS) await renderKind(work, S.section);
    else if (S.section === "api_keys") await renderKeys(work);
    else if (S.section === "settings") await renderSettings(work);
    else if (S.section === "blacklist") await renderBlacklist(work);
    else if (S.section === "media_nodes") await renderNodes(work);
    else await renderAudit(work);
  } catch (exc) {
    failed(exc);
  }
  if (ticket !== rendering) return; // a later render won
  $("#work").replaceWith(work);
  delete document.body.dataset.busy;
}

async function start() {
  S.me = await call("GET", "/me");
  $("#who").textContent = `${S.me.username} · ${S.me.system ? t("adm.system") : t("adm.scope.unit", { unit: S.me.unit })}`;
  $("#login").classList.add("hidden");
  $("#console").classList.remove("hidden");
  $("#logout").classList.remove("hidden");
  banners.remove("api");
  await render();
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  errors.clear();
  try {
    const body = { username: form.username.value.trim(), password: form.password.value };
    if (form.new_password.value) body.new_password = form.new_password.value;
    const grant = await call("POST", "/auth/login", { body, raw: true });
    S.token = grant.token;
    sessionStorage.setItem(STORE, JSON.stringify({ token: grant.token }));
    form.password.value = "";
    form.new_password.value = "";
    $("#new-password-row").classList.add("hidden");
    await start();
  } catch (exc) {
    if (exc.code === "PASSWORD_CHANGE_REQUIRED") $("#new-password-row").classList.remove("hidden");
    if (exc.code === "ADMIN_REQUIRED") {
      S.token = null;
      sessionStorage.removeItem(STORE);
    }
    failed(exc);
  } finally {
    button.disabled = false;
  }
}

function logout() {
  S.token = null;
  sessionStorage.removeItem(STORE);
  $("#console").classList.add("hidden");
  $("#logout").classList.add("hidden");
  $("#login").classList.remove("hidden");
  $("#who").textContent = "";
}

async function main() {
  errors = new ErrorList($("#errors"));
  banners = new Banners($("#banners"));
  applyTranslations();
  wireLanguageButton($("#lang"));
  onLangChange(() => {
    if (S.me) render();
  });
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", async () => {
    await call("POST", "/auth/logout", { raw: true }).catch(() => null);
    logout();
  });
  await warnIgnoredApi(banners);
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
  } catch {
    saved = null;
  }
  if (saved && saved.token) {
    S.token = saved.token;
    try {
      await start();
      return;
    } catch (exc) {
      logout();
    }
  }
  $("#login").classList.remove("hidden");
}

main();
