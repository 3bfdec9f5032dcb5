// The vkyc protocol's session layer for the browser: the JavaScript twin of sdk/client.py.
//
// 1. Connect to ws_url?token=<token> (a fresh session) or ?resume=<resume_token> (the same session
//    again: a dropped socket, a page reload). A browser cannot see the HTTP status of a refused
//    upgrade: a socket that closes before it opened while the REST API answers is taken as refused.
// 2. The first message is session.hello (unsigned); session.welcome brings the session key, the resume
//    token (a new one each time: keep the latest), last_seq and the timers.
// 3. Every later message is {action, request_id, seq, ts, ...fields, mac}: seq counts up from
//    last_seq + 1, ts is the clock corrected by the welcome's server_time_ms, mac signs the canonical
//    form (signing.js). A reply carries the request_id; an error reply rejects with ServerError.
//    Anything else is a push ("push" event), including a message whose request_id matches no pending
//    request (media.answer follows the ack of its media.offer with the same request_id).
// 4. ping every heartbeat_interval_s (no pong within 10 s: the socket is dead); a dropped socket is
//    re-opened with the resume token, backing off 0.05 → 1 s, until reconnect_grace_s has passed;
//    after renew_after_s the socket is renewed the same way (API Gateway closes sockets after 2 h).
// 5. session.replaced / session.ended pushes, a refused resume or the grace running out end the
//    session ("ended" event); bye() logs out.
//
// Events (EventTarget): "state" {state: connecting|connected|reconnecting|ended, deadline},
// "welcome" {welcome}, "push" {message}, "ended" {reason, message}.

import { apiChoice } from "./config.js";
import { t } from "./i18n.js";
import { importSessionKey, sign } from "./signing.js";

export const PROTOCOL = 1;
const RESUME_BACKOFF_MS = [50, 100, 200, 500, 1000];
const PONG_TIMEOUT_MS = 10000;
const REQUEST_TIMEOUT_MS = 15000;
const CONNECT_TIMEOUT_MS = 10000;

export class ServerError extends Error {
  constructor(code, message, requestId = null, callId = null) {
    super(`${code}: ${message}`);
    this.code = code;
    this.serverMessage = message;
    this.requestId = requestId;
    this.callId = callId;
  }
}

/** A REST failure: code from the catalogue (or NETWORK), HTTP status, the server's message. */
export class ApiError extends Error {
  constructor(code, message, status = 0) {
    super(`${code}: ${message}`);
    this.code = code;
    this.serverMessage = message;
    this.status = status;
  }
}

/** Where the REST API is: config.json's API or the page's own origin (make up serves both), or a
 * link's ?api= when its origin is allowed (config.js). */
export async function apiBase() {
  return (await apiChoice()).base;
}

export async function api(path, { method = "GET", body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const url = (await apiBase()) + path;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (exc) {
    throw new ApiError("NETWORK", String(exc));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError((data && data.code) || "INTERNAL_ERROR", (data && data.message) || response.statusText, response.status);
  }
  return data;
}

async function restReachable() {
  try {
    const response = await fetch((await apiBase()) + "/health", { cache: "no-store" });
    return response.ok;
  } catch {
    return false;
  }
}

class ConnectFailed extends Error {
  constructor(opened, detail) {
    super(detail);
    this.opened = opened;
    // A browser hides a refused upgrade's status; a socket that closed unopened while REST answers is
    // taken as a refusal. One still opening after CONNECT_TIMEOUT_MS is a slow server, not a refusal.
    this.timedOut = detail === "timeout";
  }
}

let counter = 0;

// The login form of either page: POST /auth/login, then `start(grant)` when the grant's role is the
// page's, the button busy all along (a second click cannot open a second session); otherwise shows
// why (a wrong page or the server's error).
export async function submitLogin(form, role, errors, wrongPageKey, start) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  button.textContent = t("login.busy");
  errors.clear();
  try {
    const grant = await api("/auth/login", {
      method: "POST",
      body: { username: form.username.value.trim(), password: form.password.value },
    });
    if (grant.role !== role) {
      errors.show("FORBIDDEN_ACTION", { text: () => t(wrongPageKey) });
      return;
    }
    form.password.value = "";
    await start(grant);
  } catch (exc) {
    errors.fromException(exc);
  } finally {
    button.disabled = false;
    button.textContent = t("login.submit");
  }
}

export class Session extends EventTarget {
  constructor(wsUrl, { clientName = "vkyc-web/1" } = {}) {
    super();
    this.wsUrl = wsUrl;
    this.clientName = clientName;
    this.state = "idle";
    this.welcome = null;
    this.resumeToken = null;
    this.lastSeq = 0;
    this.clockOffsetMs = 0;
    this.reconnects = 0;
    this.prefix = Math.random().toString(16).slice(2, 10);
    this._key = null;
    this._ws = null;
    this._pending = new Map();
    this._waiters = [];
    this._timers = {};
    this._endedWith = null;
    this._chain = Promise.resolve();
  }

  // -- opening --------------------------------------------------------------------------------------

  /** Start with {token} (fresh) or {resume} (a reload). Resolves with the welcome. */
  async start({ token, resume }) {
    this._setState("connecting");
    const query = token ? { token } : { resume };
    let link;
    try {
      link = await this._connect(query);
    } catch (exc) {
      const refused = !exc.opened && (await restReachable());
      this._end(refused ? "refused" : "unreachable", exc.message);
      throw exc instanceof ServerError ? exc : new ServerError(refused ? "SESSION_ENDED" : "NETWORK", exc.message);
    }
    await this._attach(link.ws, link.welcome);
    return link.welcome;
  }

  newRequestId() {
    counter += 1;
    return `${this.prefix}-${counter}`;
  }

  nowMs() {
    return Date.now() + this.clockOffsetMs;
  }

  _connect(query) {
    const url = new URL(this.wsUrl);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url.toString());
      } catch (exc) {
        reject(new ConnectFailed(false, String(exc)));
        return;
      }
      let opened = false;
      let done = false;
      const helloId = this.newRequestId();
      const timer = setTimeout(() => fail("timeout"), CONNECT_TIMEOUT_MS);
      const fail = (detail, error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close();
        } catch {
          // already closed
        }
        reject(error || new ConnectFailed(opened, detail));
      };
      ws.onopen = () => {
        opened = true;
        ws.send(JSON.stringify({ action: "session.hello", request_id: helloId, protocol: PROTOCOL, client: this.clientName }));
      };
      ws.onerror = () => fail("socket error");
      ws.onclose = (event) => fail(`socket closed (${event.code})`);
      ws.onmessage = (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return;
        }
        if (message.request_id !== helloId) {
          this._emitPush(message); // a push that raced the welcome
          return;
        }
        if (message.action === "error") {
          fail("hello refused", new ServerError(message.code, message.message, message.request_id, message.call_id));
          return;
        }
        done = true;
        clearTimeout(timer);
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        resolve({ ws, welcome: message });
      };
    });
  }

  async _attach(ws, welcome) {
    this._key = await importSessionKey(welcome.session_key);
    if (this.welcome) this.reconnects += 1;
    this.welcome = welcome;
    this.resumeToken = welcome.resume_token;
    this.lastSeq = Math.max(this.lastSeq, welcome.last_seq);
    this.clockOffsetMs = welcome.server_time_ms - Date.now();
    this._ws = ws;
    ws.onmessage = (event) => this._onFrame(ws, event.data);
    ws.onclose = () => this._onLost(ws);
    ws.onerror = () => {};
    this._startTimers();
    this._setState("connected");
    this.dispatchEvent(new CustomEvent("welcome", { detail: { welcome } }));
    for (const wake of this._waiters.splice(0)) wake();
  }

  // -- requests -------------------------------------------------------------------------------------

  /** Send a signed message; resolves with its reply, rejects with ServerError (error reply, lost
   * connection: CONNECTION_LOST, timeout: TIMEOUT, ended session: SESSION_ENDED). */
  async request(action, fields = {}, { timeoutMs = REQUEST_TIMEOUT_MS, requestId = this.newRequestId() } = {}) {
    return new Promise((resolve, reject) => {
      // Signing is asynchronous: messages are signed and sent one at a time, so seq goes out in order.
      const turn = this._chain.then(async () => {
        await this._ready();
        this.lastSeq += 1;
        const message = await sign(this._key, { action, request_id: requestId, seq: this.lastSeq, ts: this.nowMs(), ...fields });
        const ws = this._ws;
        if (!ws) throw new ServerError("CONNECTION_LOST", `not connected for ${action}`, requestId);
        const timer = setTimeout(() => {
          this._pending.delete(requestId);
          reject(new ServerError("TIMEOUT", `no reply to ${action} within ${timeoutMs / 1000} s`, requestId));
        }, timeoutMs);
        this._pending.set(requestId, { resolve, reject, timer, ws, action });
        ws.send(JSON.stringify(message));
      });
      turn.catch((exc) => {
        const pending = this._pending.get(requestId);
        if (pending) {
          clearTimeout(pending.timer);
          this._pending.delete(requestId);
        }
        reject(exc instanceof ServerError ? exc : new ServerError("CONNECTION_LOST", String(exc), requestId));
      });
      this._chain = turn.catch(() => {});
    });
  }

  _ready() {
    if (this._endedWith) return Promise.reject(new ServerError("SESSION_ENDED", this._endedWith.reason));
    if (this._ws && this.state === "connected") return Promise.resolve();
    return new Promise((resolve, reject) => {
      this._waiters.push(() => (this._endedWith ? reject(new ServerError("SESSION_ENDED", this._endedWith.reason)) : resolve()));
    });
  }

  _onFrame(ws, data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (message.action === "pong") this._pongAt = Date.now();
    const pending = message.request_id ? this._pending.get(message.request_id) : undefined;
    if (pending) {
      this._pending.delete(message.request_id);
      clearTimeout(pending.timer);
      if (message.action === "error") {
        pending.reject(new ServerError(message.code, message.message, message.request_id, message.call_id));
      } else {
        pending.resolve(message);
      }
      return;
    }
    if (ws !== this._ws && (message.action === "session.replaced" || message.action === "session.ended")) return;
    this._emitPush(message);
    if (message.action === "session.replaced") this._end("replaced", message.message);
    else if (message.action === "session.ended") this._end(`ended:${message.reason}`, message.reason);
  }

  _emitPush(message) {
    this.dispatchEvent(new CustomEvent("push", { detail: { message } }));
  }

  // -- losing and resuming the socket -----------------------------------------------------------------

  /** Support and tests: lose the socket as a network drop would (no bye); the session resumes. */
  drop() {
    if (this._ws) {
      const ws = this._ws;
      ws.onclose = null;
      ws.close();
      this._onLost(ws);
    }
  }

  _onLost(ws) {
    if (ws !== this._ws) return;
    this._ws = null;
    this._stopTimers();
    for (const [id, pending] of this._pending) {
      if (pending.ws === ws) {
        clearTimeout(pending.timer);
        this._pending.delete(id);
        pending.reject(new ServerError("CONNECTION_LOST", `the socket dropped after ${pending.action}`, id));
      }
    }
    if (this._endedWith || this._closing) return;
    this._resume();
  }

  async _resume() {
    const graceMs = ((this.welcome && this.welcome.reconnect_grace_s) || 15) * 1000;
    const deadline = Date.now() + graceMs;
    this._setState("reconnecting", deadline);
    let attempt = 0;
    while (!this._endedWith) {
      if (Date.now() >= deadline) {
        this._end("grace_expired", "could not reconnect within the grace");
        return;
      }
      try {
        const link = await this._connect({ resume: this.resumeToken });
        if (this._endedWith) {
          link.ws.close();
          return;
        }
        await this._attach(link.ws, link.welcome);
        return;
      } catch (exc) {
        if (exc instanceof ServerError) {
          this._end("resume_refused", exc.message);
          return;
        }
        if (!exc.opened && !exc.timedOut && (await restReachable())) {
          this._end("resume_refused", "the server refused the resume token");
          return;
        }
      }
      const delay = RESUME_BACKOFF_MS[Math.min(attempt, RESUME_BACKOFF_MS.length - 1)];
      attempt += 1;
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    }
  }

  _startTimers() {
    this._stopTimers();
    const heartbeatMs = (this.welcome.heartbeat_interval_s || 60) * 1000;
    this._pongAt = Date.now();
    this._timers.heartbeat = setInterval(() => this._heartbeat(), heartbeatMs);
    const renewMs = (this.welcome.renew_after_s || 6600) * 1000;
    this._timers.renew = setTimeout(() => this._renew(), renewMs);
  }

  _stopTimers() {
    clearInterval(this._timers.heartbeat);
    clearTimeout(this._timers.renew);
    clearTimeout(this._timers.pong);
  }

  _heartbeat() {
    const ws = this._ws;
    if (!ws) return;
    const sentAt = Date.now();
    this.request("ping").catch(() => {});
    this._timers.pong = setTimeout(() => {
      if (this._ws === ws && this._pongAt < sentAt) {
        // No pong: the link is dead even if the browser has not noticed. Resume on a new socket.
        ws.onclose = null;
        try {
          ws.close();
        } catch {
          // ignore
        }
        this._onLost(ws);
      }
    }, PONG_TIMEOUT_MS);
  }

  async _renew() {
    const old = this._ws;
    if (!old || this._endedWith) return;
    if (this._pending.size) {
      this._timers.renew = setTimeout(() => this._renew(), 1000);
      return;
    }
    try {
      const link = await this._connect({ resume: this.resumeToken });
      old.onclose = null; // the server closes the old socket itself
      await this._attach(link.ws, link.welcome);
      try {
        old.close();
      } catch {
        // already closed
      }
    } catch {
      this._timers.renew = setTimeout(() => this._renew(), 30000);
    }
  }

  // -- ending ---------------------------------------------------------------------------------------

  /** Log out: session.bye, then the server closes the socket. */
  async bye() {
    if (this._endedWith || !this._ws) {
      this._end("bye", "logged out");
      return;
    }
    this._closing = true;
    try {
      await this.request("session.bye", {}, { timeoutMs: 3000 });
    } catch {
      // logging out anyway
    }
    this._end("bye", "logged out");
  }

  _end(reason, message) {
    if (this._endedWith) return;
    this._endedWith = { reason, message };
    this._stopTimers();
    for (const [id, pending] of this._pending) {
      clearTimeout(pending.timer);
      pending.reject(new ServerError("SESSION_ENDED", reason, id));
    }
    this._pending.clear();
    if (this._ws) {
      const ws = this._ws;
      this._ws = null;
      ws.onclose = null;
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
    this._setState("ended");
    for (const wake of this._waiters.splice(0)) wake();
    this.dispatchEvent(new CustomEvent("ended", { detail: { reason, message } }));
  }

  get ended() {
    return this._endedWith;
  }

  _setState(state, deadline = null) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, deadline } }));
  }
}
