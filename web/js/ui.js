// Small DOM helpers shared by the agent page and the supervisor console: element building, the error
// cards (a human sentence, the code, the call id to copy), banners, durations, the header's language
// switch.

import { apiChoice } from "./config.js";
import { errorText, lang, onLangChange, t, toggleLang } from "./i18n.js";

export const $ = (selector, root = document) => root.querySelector(selector);

/** h("div.card", {onclick}, child, "text"): an element with classes, attributes/properties and children. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name in el && name !== "list") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** "m:ss" or "h:mm:ss" for a number of milliseconds. */
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

export function locale() {
  return lang() === "vi" ? "vi-VN" : "en-GB";
}

export function clock(when) {
  if (when === null || when === undefined) return t("none");
  return new Date(when).toLocaleTimeString(locale(), { hour12: false });
}

export function dateTime(when) {
  if (!when) return t("none");
  return new Date(when).toLocaleString(locale(), { hour12: false });
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  if (button) {
    button.textContent = t("copied");
    setTimeout(() => (button.textContent = t("copy")), 1500);
  }
}

export function copyable(label, value) {
  if (!value) return null;
  const button = h("button.small", { type: "button", onclick: () => copyText(value, button) }, t("copy"));
  return h("span.copyable", {}, `${label}: `, h("code", { dataset: { copy: value } }, value), " ", button);
}

/**
 * Error cards in `container`: each shows the human sentence for `code` (errors in i18n.js), the code,
 * and the call id and request id with a copy button. At most `keep` cards; newest first.
 *
 * An error belongs to the action that caused it (issue #16): each action has its list beside its
 * button, cleared by the action's next success (`clear()`), and every card expires after `expireMs`
 * (0: never), so no old error is left on screen for the next customer.
 */
export class ErrorList {
  /** `compact`: the sentence and one line of ids as text (no copy or dismiss buttons), for a list
   * inside a panel where the call id is on screen already (the decision panel). */
  constructor(container, keep = 3, { compact = false, expireMs = 30000 } = {}) {
    this.container = container;
    this.keep = keep;
    this.compact = compact;
    this.expireMs = expireMs;
    this.items = [];
    onLangChange(() => this.render());
  }

  /** `text` may be a function (re-run on a language switch) or a fixed sentence. */
  show(code, { callId = null, requestId = null, detail = null, text = null, serverMessage = null } = {}) {
    const item = { code, callId, requestId, detail, text, serverMessage, id: Math.random() };
    this.items.unshift(item);
    this.items.length = Math.min(this.items.length, this.keep);
    if (this.expireMs) setTimeout(() => this.dismiss(item.id), this.expireMs);
    this.render();
  }

  /** An exception of session.js (ServerError / ApiError) or anything else. */
  fromException(exc, extra = {}) {
    if (exc && exc.code) {
      const code = exc.code;
      if (code === "NETWORK" || code === "CONNECTION_LOST" || code === "TIMEOUT") {
        this.show(code, { text: () => t("error.network"), requestId: exc.requestId, ...extra });
      } else {
        this.show(code, { callId: exc.callId, requestId: exc.requestId, serverMessage: exc.serverMessage, ...extra });
      }
    } else {
      this.show("INTERNAL_ERROR", { detail: String(exc), ...extra });
    }
  }

  clear() {
    this.items = [];
    this.render();
  }

  render() {
    clear(this.container);
    for (const item of this.items) {
      const sentence = (typeof item.text === "function" ? item.text() : item.text) || errorText(item.code, item.serverMessage);
      if (this.compact) {
        const ids = [item.code, item.callId, item.requestId].filter(Boolean).join(" · ");
        this.container.append(
          h(
            "div.error-card.compact",
            { role: "alert", dataset: { code: item.code } },
            h("div.sentence", {}, sentence, item.detail ? h("span.muted", {}, ` (${item.detail})`) : null),
            h("div.ids", {}, h("code", {}, ids)),
          ),
        );
        continue;
      }
      const card = h(
        "div.error-card",
        { role: "alert", dataset: { code: item.code } },
        h("div.sentence", {}, sentence, item.detail ? h("span.muted", {}, ` (${item.detail})`) : null),
        h(
          "button.small.dismiss",
          { type: "button", "aria-label": t("close"), onclick: () => this.dismiss(item.id) },
          "×",
        ),
        h(
          "div.ids",
          {},
          h("span", {}, `${t("error.code")}: `, h("code", {}, item.code)),
          copyable(t("call_id"), item.callId),
          copyable(t("request_id"), item.requestId),
        ),
      );
      this.container.append(card);
    }
  }

  dismiss(id) {
    const before = this.items.length;
    this.items = this.items.filter((item) => item.id !== id);
    if (this.items.length !== before) this.render();
  }

  /** Forget the cards of these codes (the cause is gone, e.g. the camera opened after all). */
  drop(...codes) {
    this.items = this.items.filter((item) => !codes.includes(item.code));
    this.render();
  }
}

/** Named banners (one per key) in `container`: set(key, kind, text) / remove(key). `text` is a function
 * returning the sentence (run again when the language changes, so an open banner follows it) or a
 * fixed string. */
export class Banners {
  constructor(container) {
    this.container = container;
    this.items = new Map();
    this.texts = new Map();
    onLangChange(() => {
      for (const [key, text] of this.texts) this.items.get(key).textContent = text();
    });
  }

  set(key, kind, text) {
    let el = this.items.get(key);
    if (!el) {
      el = h("div.banner", { role: "status", dataset: { key } });
      this.items.set(key, el);
      this.container.append(el);
    }
    el.className = `banner ${kind}`;
    const render = typeof text === "function" ? text : () => text;
    this.texts.set(key, render);
    el.textContent = render();
    return el;
  }

  remove(key) {
    const el = this.items.get(key);
    if (el) el.remove();
    this.items.delete(key);
    this.texts.delete(key);
  }

  /** A banner that disappears by itself. */
  flash(key, kind, text, ms = 6000) {
    this.set(key, kind, text);
    clearTimeout(this[`_timer_${key}`]);
    this[`_timer_${key}`] = setTimeout(() => this.remove(key), ms);
  }
}

// The header's connection indicator: a dot (styled by data-state) and the word for it, in the language
// on screen (renamed on a switch). showConnection(null): no session, no word.
let connState = null;
export function showConnection(state) {
  connState = state;
  const conn = $("#conn");
  conn.dataset.state = state || "idle";
  conn.textContent = !state
    ? ""
    : t(state === "connected" ? "conn.connected" : state === "ended" ? "conn.ended_short" : state === "reconnecting" ? "conn.reconnecting_short" : "conn.connecting");
}
onLangChange(() => {
  if (document.querySelector("#conn")) showConnection(connState);
});

/** The login screen's warning (banner "api") when the link's ?api= named a server that is not allowed. */
export async function warnIgnoredApi(banners) {
  const { ignored } = await apiChoice();
  if (ignored) banners.set("api", "warn", t("api.ignored", { url: ignored }));
}

export function wireLanguageButton(button) {
  button.addEventListener("click", () => toggleLang());
}
