// The agent page (web/agent.html): log in, set the status, answer the ringing popup, hold the video call
// next to the dossier, take the snapshot, decide, call customers back. Protocol: docs/protocol.md;
// the REST reads: docs/openapi.json.
//
// What survives a reload (sessionStorage "vkyc.agent", this tab only): the WebSocket address, the login
// token (the REST reads), the latest resume token, and the call or popup on screen. A reload resumes the
// session (?resume=), asks GET /me where the agent stands, and carries on: the popup with its countdown,
// the call with a fresh media.offer, or the wrap-up.
//
// window.vkyc exposes the page's state for support and the browser tests.

import { DECISIONS, decisionGate, explanations } from "./decisions.js";
import { applyTranslations, errorText, has, onLangChange, t } from "./i18n.js";
import { CallMedia, openCamera } from "./media.js";
import { api, Session, submitLogin } from "./session.js";
import { initTickets } from "./tickets.js";
import { closeAnswerPanel, openAnswerUrl } from "./answer_url.js";
import { $, Banners, clear, clock, duration, ErrorList, h, showConnection, warnIgnoredApi, wireLanguageButton } from "./ui.js";
import { callStarted, callStopped, currentQuality, nodeLinks, wireCallControls } from "./callcontrols.js";
import { clearSearch, closeViewer, openCompare, openPicture, refreshDay, searchDossiers, stopDay, wireWorkspace } from "./workspace.js";

const STORE = "vkyc.agent";
const WORKING = new Set(["RINGING", "IN_CALL", "WRAP_UP"]);
const SETTABLE = { AVAILABLE: "available", UNAVAILABLE: "unavailable", OFFLINE: "offline" };

const S = {
  session: null,
  token: null,
  wsUrl: null,
  me: null,
  settings: {},
  status: "OFFLINE",
  statusSince: Date.now(),
  statusChanges: 0, // how many times the status was set: a read of it sent before may be older
  statusReads: 0, // reads of the status over REST answered (window.vkyc, for the tests)
  phase: "login", // login | idle | ringing | callback | incall | wrapup
  offer: null,
  call: null,
  media: null,
  mediaState: "",
  mediaRequestId: null,
  snapshotRequestId: null,
  localStream: null,
  peerDeadline: null,
  ownDeadline: null,
  missed: false,
  busy: false,
  shownDossier: null, // {dossier, image_urls} in the side panel
};

let errors; // what belongs to no action of the agent's (the session, the camera, a server push)
let decideErrors; // beside the decision buttons: why the last decision was not recorded
// Each beside its action (issue #16), cleared by its next success: the status control, the ringing
// popup's accept/reject, the call's own buttons (snapshot, hang-up, media), the call-back.
let statusErrors;
let offerErrors;
let callErrors;
let callbackErrors;
let cancelErrors;
let confirmErrors;
let banners;

// -- storage ----------------------------------------------------------------------------------------------

function save() {
  if (!S.session) return;
  const stored = {
    wsUrl: S.wsUrl,
    token: S.token,
    resumeToken: S.session.resumeToken,
    offer: S.phase === "ringing" ? S.offer : null,
    call: S.call,
  };
  sessionStorage.setItem(STORE, JSON.stringify(stored));
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || "null");
  } catch {
    return null;
  }
}

function forget() {
  sessionStorage.removeItem(STORE);
}

// -- alerts: ringtone (WebAudio) and notification ---------------------------------------------------------

let audio = null;
let ringTimer = null;

function unlockAudio() {
  // Browsers let a page make sound only after a gesture: the context is made (or resumed) on one.
  try {
    if (!audio) audio = new AudioContext();
    else if (audio.state === "suspended") audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
}

function beep() {
  if (!audio || audio.state !== "running") return;
  const now = audio.currentTime;
  for (const [start, frequency] of [
    [0, 440],
    [0.45, 480],
  ]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, now + start);
    gain.gain.exponentialRampToValueAtTime(0.25, now + start + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + start + 0.4);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + start);
    osc.stop(now + start + 0.42);
  }
}

// The unit's uploaded ringtone (settings.ringtone, an admin's upload), loaded with the page's settings;
// the synthesized tone when there is none or it cannot play.
let ringtone = null;

function loadRingtone(url) {
  ringtone = null;
  if (!url) return;
  const element = new Audio();
  element.loop = true;
  element.preload = "auto";
  element.addEventListener("error", () => {
    if (ringtone === element) ringtone = null;
  });
  element.src = url;
  ringtone = element;
}

function ring(on) {
  clearInterval(ringTimer);
  ringTimer = null;
  if (ringtone) {
    ringtone.pause();
    ringtone.currentTime = 0;
  }
  if (!on) return;
  if (ringtone && ringtone.readyState >= 2) {
    ringtone.play().catch(() => {
      beep();
      ringTimer = setInterval(beep, 2000);
    });
    return;
  }
  beep();
  ringTimer = setInterval(beep, 2000);
}

function notifyIncoming(offer) {
  if (!S.settings.notify_incoming || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const note = new Notification(t("offer.title"), {
      body: t("offer.notification", { name: offer.dossier.customer_name || offer.dossier.dossier_id }),
      tag: offer.offer_id,
      requireInteraction: true,
    });
    note.onclick = () => {
      window.focus();
      note.close();
    };
    S.notification = note;
  } catch {
    // notifications unsupported here
  }
}

function askNotificationPermission() {
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
}

// -- session --------------------------------------------------------------------------------------------

async function startSession(query, wsUrl, token, stored) {
  const session = new Session(wsUrl, { clientName: "vkyc-web-agent/1" });
  S.session = session;
  S.wsUrl = wsUrl;
  S.token = token;
  session.addEventListener("push", (event) => onPush(event.detail.message));
  session.addEventListener("state", (event) => onConnState(event.detail));
  session.addEventListener("welcome", () => save());
  session.addEventListener("ended", (event) => onEnded(event.detail));
  await session.start(query);
  save();
  await syncWithServer(stored);
}

function onConnState({ state, deadline }) {
  showConnection(state);
  if (state === "reconnecting") {
    S.ownDeadline = deadline;
    tick();
  } else if (state === "connected" && S.ownDeadline) {
    S.ownDeadline = null;
    banners.remove("own");
    banners.flash("restored", "ok", () => t("conn.restored"));
    afterReconnect();
  }
}

async function afterReconnect() {
  // Replies owed on the old socket are lost: re-read where the agent stands, and renegotiate media.
  await readStatus();
  if (S.phase === "incall" && S.call) startMedia();
}

function onEnded({ reason }) {
  stopCall();
  ring(false);
  S.offer = null;
  S.call = null;
  forget();
  if (reason === "bye") showLogin(null); // logged out on purpose
  else if (reason === "ended:logged_out_by_supervisor") showLogin(() => t("conn.logged_out_by_supervisor"));
  else showLogin(reason === "replaced" ? () => t("conn.replaced") : () => t("conn.ended"));
}

async function syncWithServer(stored) {
  const me = await api("/me", { token: S.token });
  S.me = me;
  S.settings = me.settings || {};
  loadRingtone(S.settings.ringtone_url);
  $("#who").textContent = `${me.name} · ${me.principal_id}`;
  const agent = me.agent || { status: "OFFLINE", since_ms: Date.now() };
  setStatus(agent.status, agent.since_ms);
  S.phase = "idle";
  if ((agent.status === "IN_CALL" || agent.status === "WRAP_UP") && agent.call_id) {
    const kept = stored && stored.call && stored.call.call_id === agent.call_id ? stored.call : null;
    S.call = kept || { call_id: agent.call_id, dossier: null, connected: true, isCallback: agent.call_id.startsWith("cb-") };
    if (agent.status === "WRAP_UP") {
      S.call.ended = true;
      S.call.endedAt = S.call.endedAt || Date.now();
      S.phase = "wrapup";
    } else if (S.call.isCallback && !S.call.connected) {
      S.phase = "callback";
    } else {
      S.call.connected = true;
      S.phase = "incall";
    }
    const dossierId = (S.call.dossier && S.call.dossier.dossier_id) || agent.dossier_id;
    if (dossierId) showDossier(dossierId, S.call);
    if (S.phase === "incall") startMedia();
  } else if (agent.status === "RINGING" && stored && stored.offer && stored.offer.offer_id === agent.offer_id) {
    showOffer(stored.offer);
  } else {
    S.call = null;
  }
  save();
  render();
  refreshDay();
  if (agent.status === "AVAILABLE") ensureCamera({ quiet: true });
}

// -- status ---------------------------------------------------------------------------------------------

function setStatus(status, sinceMs) {
  S.status = status;
  S.statusSince = sinceMs ? sinceMs - (S.session ? S.session.clockOffsetMs : 0) : Date.now();
  S.statusChanges += 1;
  renderStatus();
}

function renderStatus() {
  const status = S.status;
  const badge = $("#status-badge");
  badge.dataset.status = status;
  badge.textContent = t(`status.${status}`);
  for (const button of document.querySelectorAll("[data-set-status]")) {
    button.setAttribute("aria-pressed", String(SETTABLE[status] === button.dataset.setStatus));
    // In after-call work (wrap-up with no call left) the agent says when they are ready.
    button.disabled = WORKING.has(status) && !(status === "WRAP_UP" && S.phase === "idle");
  }
  renderIdle();
}

async function changeStatus(wanted) {
  unlockAudio();
  try {
    const reply = await S.session.request("agent.set_status", { status: wanted });
    S.missed = false;
    banners.remove("forced");
    statusErrors.clear();
    callbackErrors.drop("AGENT_NOT_AVAILABLE"); // its cause is gone
    setStatus(reply.status, reply.since_ms);
    if (reply.status === "AVAILABLE") ensureCamera();
  } catch (exc) {
    statusErrors.fromException(exc);
  }
}

// -- camera ---------------------------------------------------------------------------------------------

async function ensureCamera({ quiet = false } = {}) {
  if (S.localStream && S.localStream.getTracks().every((track) => track.readyState === "live")) return S.localStream;
  try {
    S.localStream = await openCamera();
    $("#preview").srcObject = S.localStream;
    $("#local-video").srcObject = S.localStream;
    errors.drop("GET_USER_MEDIA_ERROR");
    return S.localStream;
  } catch (exc) {
    S.localStream = null;
    const name = (exc && exc.name) || "Error";
    const key = `gum.${name}`;
    const text = () => `${errorText("GET_USER_MEDIA_ERROR")} ${gumSentence(key, name)}`;
    if (!quiet || name !== "NotAllowedError") {
      errors.show("GET_USER_MEDIA_ERROR", { text, detail: name, callId: S.call ? S.call.call_id : null });
    }
    return null;
  }
}

function gumSentence(key, name) {
  const known = ["gum.NotAllowedError", "gum.NotFoundError", "gum.NotReadableError", "gum.OverconstrainedError", "gum.SecurityError"];
  return known.includes(key) ? t(key) : t("gum.other", { name });
}

// -- incoming call --------------------------------------------------------------------------------------

function showOffer(offer) {
  S.offer = offer;
  S.phase = "ringing";
  S.missed = false;
  setStatus("RINGING", null);
  const d = offer.dossier || {};
  const fields = $("#offer-fields");
  clear(fields);
  for (const [key, value] of [
    ["dossier.customer_name", d.customer_name],
    ["dossier.subscriber", d.subscriber],
    ["dossier.id", d.dossier_id],
    ["dossier.sub_type", d.sub_type],
    ["dossier.unit", d.unit_id],
  ]) {
    fields.append(h("dt", {}, t(key)), h("dd", {}, value || t("none")));
  }
  $("#accept").disabled = false;
  $("#reject").disabled = false;
  armReject(false);
  save();
  render();
  $("#accept").focus();
  ring(true);
  notifyIncoming(offer);
  tick();
}

function closeOffer() {
  ring(false);
  armReject(false);
  if (S.notification) {
    S.notification.close();
    S.notification = null;
  }
  S.offer = null;
}

async function accept() {
  if (!S.offer || S.busy) return;
  unlockAudio();
  S.busy = true;
  $("#accept").disabled = $("#reject").disabled = true;
  const offer = S.offer;
  try {
    const stream = await ensureCamera();
    if (!stream) return; // explained by the error card; the popup stays (reject, or fix and accept)
    let reply;
    try {
      reply = await S.session.request("offer.accept", { offer_id: offer.offer_id });
    } catch (exc) {
      offerErrors.fromException(exc, { callId: offer.call_id });
      if (exc.code !== "CONNECTION_LOST" && exc.code !== "TIMEOUT") {
        closeOffer();
        S.phase = "idle";
        render();
      }
      return;
    }
    closeOffer();
    offerErrors.clear();
    enterCall({ call_id: reply.call_id, dossier: offer.dossier, connected: true, isCallback: false });
  } finally {
    S.busy = false;
    $("#accept").disabled = $("#reject").disabled = false;
  }
}

async function reject() {
  if (!S.offer || S.busy) return;
  S.busy = true;
  const offer = S.offer;
  try {
    await S.session.request("offer.reject", { offer_id: offer.offer_id });
    offerErrors.clear();
  } catch (exc) {
    if (exc.code !== "OFFER_NOT_FOUND") offerErrors.fromException(exc, { callId: offer.call_id });
  } finally {
    S.busy = false;
  }
  closeOffer();
  S.phase = "idle";
  setStatus("AVAILABLE", null); // the protocol: AVAILABLE again after a reject
  save();
  render();
}

/** A reject from the keyboard asks to confirm (issue #16: one stray Esc must not turn a customer
 * away): the first Esc arms it and says so in the popup, a second Esc (or the button) rejects. */
function armReject(on) {
  S.rejectArmed = on;
  $("#reject-confirm").classList.toggle("hidden", !on);
}

// -- the call -------------------------------------------------------------------------------------------

function enterCall(call) {
  S.call = { snapshot: null, faceSnapshot: null, mediaUp: false, ended: false, decided: null, ...call, startedAt: Date.now() };
  decideErrors.clear();
  callErrors.clear();
  callbackErrors.clear();
  S.phase = "incall";
  setStatus("IN_CALL", null);
  if (call.dossier) showDossier(call.dossier.dossier_id, S.call);
  $("#snapshot-result").classList.add("hidden");
  save();
  render();
  startMedia();
  if (S.call.connected) openAnswerUrl(S.call.call_id, { token: S.token, errors });
}

async function startMedia() {
  const call = S.call;
  if (!call) return;
  const stream = await ensureCamera();
  if (!stream || S.call !== call || S.phase !== "incall") return;
  if (S.media) S.media.close();
  const media = new CallMedia(stream, {
    iceServers: (S.session && S.session.welcome && S.session.welcome.ice_servers) || [],
    onRemoteStream: (remote) => {
      if (S.media === media) $("#remote-video").srcObject = remote;
    },
    onState: (state) => {
      if (S.media === media) setMediaState(state);
    },
  });
  S.media = media;
  callStarted();
  setMediaState("connecting");
  let sdp;
  try {
    sdp = await media.offer();
  } catch (exc) {
    setMediaState("failed");
    callErrors.show("MEDIA_BAD_SDP", { callId: call.call_id, detail: String(exc) });
    return;
  }
  if (S.media !== media) return;
  const requestId = S.session.newRequestId();
  S.mediaRequestId = requestId;
  try {
    await S.session.request("media.offer", { call_id: call.call_id, sdp }, { requestId });
  } catch (exc) {
    if (S.media !== media) return;
    setMediaState("failed");
    if (exc.code !== "CONNECTION_LOST") callErrors.fromException(exc, { callId: call.call_id });
  }
}

function setMediaState(state) {
  S.mediaState = state;
  checkMediaUp();
  const text =
    state === "connected"
      ? t("call.media_connected")
      : state === "failed" || state === "closed"
        ? t("call.media_failed")
        : t("call.media_connecting");
  $("#media-state").textContent = text;
}

// The customer's media is up once the connected peer connection has decoded a frame of the customer's
// video (the node sends the agent nothing else): both links up. Kept with the call (a reload in
// wrap-up cannot see it again); A and C wait for it (decisions.js).
function checkMediaUp() {
  const call = S.call;
  if (!call || call.mediaUp || S.phase !== "incall" || S.mediaState !== "connected") return;
  if ($("#remote-video").videoWidth > 0) {
    call.mediaUp = true;
    save();
    renderDecision();
  }
}

function stopCall() {
  callStopped();
  if (S.media) S.media.close();
  S.media = null;
  S.mediaRequestId = null;
  S.snapshotRequestId = null;
  S.peerDeadline = null;
  banners.remove("peer");
  const remote = $("#remote-video");
  remote.srcObject = null;
}

async function hangup() {
  if (!S.call) return;
  try {
    const ended = await S.session.request("call.hangup", { call_id: S.call.call_id });
    onCallEnded(ended);
  } catch (exc) {
    callErrors.fromException(exc, { callId: S.call && S.call.call_id });
  }
}

function onCallEnded(message) {
  if (!S.call || message.call_id !== S.call.call_id) return;
  stopCall();
  const call = S.call;
  if (call.ended && S.phase === "wrapup") return;
  call.ended = true;
  call.endState = message.state;
  call.endReason = message.reason;
  call.endedAt = Date.now();
  if (call.decided) {
    finishCall();
    return;
  }
  if (!call.connected) {
    // A call-back nobody answered: nothing to decide, the agent is back where they were.
    banners.flash("ended", "info", () => t("call.ended", { reason: endReasonText(message.reason) }));
    S.call = null;
    S.phase = "idle";
    readStatus();
    save();
    render();
    return;
  }
  S.phase = "wrapup";
  setStatus("WRAP_UP", null);
  save();
  render();
}

function endReasonText(reason) {
  const key = `call.reason.end.${reason}`;
  const text = t(key);
  return text === key ? reason : text;
}

/** Read the agent's status over REST (``/me``) and show it, unless a status came meanwhile: the socket
 * (the reply to the agent's own change, a push, what follows from them) delivers in order, and what it
 * said after this read was sent is the newer word. The read itself may be answered later than that. */
async function readStatus() {
  const changes = S.statusChanges;
  try {
    const me = await api("/me", { token: S.token });
    if (me.agent && S.statusChanges === changes) setStatus(me.agent.status, me.agent.since_ms);
  } catch (exc) {
    errors.fromException(exc);
  } finally {
    S.statusReads += 1;
  }
}

function finishCall() {
  stopCall();
  closeAnswerPanel();
  const call = S.call;
  S.call = null;
  decideErrors.clear();
  callErrors.clear(); // they were about that call
  closeConfirm();
  S.phase = "idle";
  $("#reason").value = "";
  refreshDay();
  if (call && call.dossier) $("#callback-dossier").value = call.dossier.dossier_id;
  save();
  render();
}

// -- snapshot -------------------------------------------------------------------------------------------

function captureFrame() {
  const video = $("#remote-video");
  const canvas = $("#snapshot-canvas");
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#222";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (video.videoWidth) ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  // Kept with the call (sessionStorage): the thumbnail survives a reload, as the result does.
  if (S.call) S.call.snapshotThumb = canvas.toDataURL("image/jpeg", 0.7);
}

async function takeSnapshot() {
  if (!S.call) return;
  const button = $("#snapshot");
  button.disabled = true;
  button.textContent = t("call.snapshot.busy");
  captureFrame();
  const requestId = S.session.newRequestId();
  S.snapshotRequestId = requestId;
  try {
    await S.session.request("media.snapshot", { call_id: S.call.call_id }, { requestId });
  } catch (exc) {
    callErrors.fromException(exc, { callId: S.call && S.call.call_id });
    snapshotDone();
  }
}

function snapshotDone() {
  const button = $("#snapshot");
  button.disabled = false;
  button.textContent = t("call.snapshot");
}

function showSnapshot(result) {
  if (!S.call || result.call_id !== S.call.call_id) return;
  S.call.snapshot = result;
  if (result.face_found === true) S.call.faceSnapshot = result; // A's evidence, even if a later one is blank
  snapshotDone();
  callErrors.clear();
  save();
  renderSnapshot();
  renderDecision();
}

function renderSnapshot() {
  const result = S.call && S.call.snapshot;
  const box = $("#snapshot-result");
  if (!result) {
    box.classList.add("hidden");
    return;
  }
  box.classList.remove("hidden");
  const verdict = $("#snapshot-verdict");
  verdict.className = result.face_found ? "ok" : "warn";
  verdict.dataset.faceFound = String(result.face_found);
  verdict.textContent = result.face_found ? t("call.snapshot.face_ok") : t("call.snapshot.no_face");
  const blurred = result.sharpness < 50 ? ` ${t("call.snapshot.blurred")}` : "";
  $("#snapshot-details").textContent = t("call.snapshot.details", {
    id: result.snapshot_id,
    width: result.width,
    height: result.height,
    sharpness: Math.round(result.sharpness),
    time: clock(result.taken_at),
  }) + blurred;
  const canvas = $("#snapshot-canvas");
  const ctx = canvas.getContext("2d");
  const drawBox = () => {
    if (!result.face_box || !result.width || !result.height) return;
    const [x, y, w, hgt] = result.face_box;
    const sx = canvas.width / result.width;
    const sy = canvas.height / result.height;
    ctx.strokeStyle = "#3ccf6e";
    ctx.lineWidth = 3;
    ctx.strokeRect(x * sx, y * sy, w * sx, hgt * sy);
  };
  const thumb = S.call.snapshotThumb;
  if (thumb && canvas.dataset.thumb !== thumb.slice(-32)) {
    const picture = new Image();
    picture.onload = () => {
      ctx.drawImage(picture, 0, 0, canvas.width, canvas.height);
      canvas.dataset.thumb = thumb.slice(-32);
      drawBox();
    };
    picture.src = thumb;
  } else {
    drawBox();
  }
}

// -- decision -------------------------------------------------------------------------------------------

function reasonCodes(letter) {
  return ((S.settings.decision_reasons || {})[letter] || []).slice();
}

/** A decision is confirmed before it is sent (issue #16): the dialog names it, offers the decision's
 * reason codes (settings.decision_reasons) beside the free note, and shows the closing script to read
 * while the customer is still on the line. */
function decide(letter) {
  if (!S.call || S.busy) return;
  const note = $("#reason").value.trim();
  const call = S.call;
  if (decisionGate(call, S.settings)[letter].length) return; // greyed out, explained beside the buttons
  decideErrors.clear();
  if (letter !== "A" && !note && reasonCodes(letter).length === 0) {
    decideErrors.show("REASON_REQUIRED", { callId: call.call_id, text: () => t("decide.reason_required", { decision: letter }) });
    $("#reason").focus();
    return;
  }
  const select = $("#reason-code");
  clear(select);
  const codes = reasonCodes(letter);
  select.append(h("option", { value: "" }, t(letter === "A" ? "decide.no_code" : "decide.choose_code")));
  for (const code of codes) select.append(h("option", { value: code }, code));
  S.confirming = letter;
  renderConfirm();
  $("#confirm").classList.remove("hidden");
  (codes.length ? select : $("#confirm-yes")).focus();
}

function renderConfirm() {
  const letter = S.confirming;
  if (!letter || !S.call) return;
  const dossier = (S.call.dossier && S.call.dossier.dossier_id) || "";
  $("#confirm-what").textContent = t("confirm.what", { decision: t(`decide.${letter}`), dossier });
  const live = !S.call.ended;
  show("#confirm-closing", live && !!S.settings.closing_message);
  $("#confirm-closing-text").textContent = S.settings.closing_message || "";
  $(".reason-code").classList.toggle("hidden", reasonCodes(letter).length === 0);
  const note = $("#reason").value.trim();
  $("#confirm-note").textContent = note ? t("confirm.note", { note }) : "";
}

function closeConfirm() {
  S.confirming = null;
  $("#confirm").classList.add("hidden");
  $("#confirm-errors").replaceChildren();
}

async function confirmDecision() {
  const letter = S.confirming;
  const call = S.call;
  if (!letter || !call || S.busy) return;
  const code = $("#reason-code").value;
  const note = $("#reason").value.trim();
  const reason = [code, note].filter(Boolean).join(" — ");
  if (letter !== "A" && !reason) {
    confirmErrors.show("REASON_REQUIRED", { callId: call.call_id, text: () => t("decide.reason_required", { decision: letter }) });
    return;
  }
  closeConfirm();
  await sendDecision(call, letter, reason);
}

async function sendDecision(call, letter, reason) {
  const fields = { call_id: call.call_id, decision: letter, reason };
  if ($("#acw").checked) fields.after_call_work = true;
  const evidence = letter === "A" && call.faceSnapshot ? call.faceSnapshot : call.snapshot;
  if (evidence && evidence.snapshot_id) fields.snapshot_id = evidence.snapshot_id;
  S.busy = true;
  try {
    const reply = await S.session.request("call.decide", fields);
    call.decided = reply.dossier_state;
    const shown = S.shownDossier && S.shownDossier.dossier;
    if (shown && shown.dossier_id === reply.dossier_id) {
      shown.state = reply.dossier_state;
      renderDossier();
    }
    const withSnapshot = () => (fields.snapshot_id ? ` (${t("decide.with_snapshot", { id: fields.snapshot_id })})` : "");
    banners.flash("decided", "ok", () => t("decide.done", { dossier: reply.dossier_id, state: reply.dossier_state }) + withSnapshot(), 15000);
    finishCall();
    readStatus();
  } catch (exc) {
    // DECISION_NOT_ALLOWED included: the server changed nothing, the agent chooses again.
    decideErrors.fromException(exc, { callId: call.call_id });
  } finally {
    S.busy = false;
  }
}

/** Grey out the decisions the call does not allow yet (decisions.js) and say why, beside the buttons. */
function renderDecision() {
  const call = S.call;
  const gate = decisionGate(call, S.settings);
  for (const letter of DECISIONS) {
    const button = document.querySelector(`[data-decision="${letter}"]`);
    const why = gate[letter];
    button.disabled = why.length > 0;
    if (why.length) button.dataset.why = why.join(" ");
    else delete button.dataset.why;
  }
  const box = $("#decide-why");
  clear(box);
  const keys = call ? explanations(gate, !!call.ended) : [];
  for (const key of keys) box.append(h("p", { dataset: { why: key.split(".")[2] } }, t(key)));
  box.classList.toggle("hidden", keys.length === 0);
}

// -- call-back ------------------------------------------------------------------------------------------

async function findDossier(event) {
  event.preventDefault();
  const id = $("#callback-dossier").value.trim();
  if (!id) return;
  clearSearch();
  if (await searchDossiers(id)) return;
  await showDossier(id, null);
  $("#callback-start").classList.toggle("hidden", !S.shownDossier || S.phase !== "idle");
}

async function startCallback() {
  const shown = S.shownDossier;
  if (!shown || S.busy) return;
  unlockAudio();
  S.busy = true;
  try {
    const stream = await ensureCamera();
    if (!stream) return;
    const reply = await S.session.request("callback.start", { dossier_id: shown.dossier.dossier_id });
    S.call = {
      call_id: reply.call_id,
      dossier: shown.dossier,
      isCallback: true,
      connected: false,
      ended: false,
      decided: null,
      snapshot: null,
      expiresAt: reply.expires_at_ms - S.session.clockOffsetMs,
      mobileOnline: reply.mobile_online,
    };
    S.phase = "callback";
    callbackErrors.clear();
    setStatus("IN_CALL", null);
    save();
    render();
  } catch (exc) {
    callbackErrors.fromException(exc);
  } finally {
    S.busy = false;
  }
}

async function cancelCallback() {
  if (!S.call) return;
  try {
    const ended = await S.session.request("callback.cancel", { call_id: S.call.call_id });
    onCallEnded(ended);
  } catch (exc) {
    cancelErrors.fromException(exc, { callId: S.call && S.call.call_id });
  }
}

// -- dossier panel ----------------------------------------------------------------------------------------

async function showDossier(dossierId, call) {
  try {
    const body = await api(`/dossiers/${encodeURIComponent(dossierId)}`, { token: S.token });
    S.shownDossier = body;
    if (call && !call.dossier) call.dossier = body.dossier;
    if (!call) callbackErrors.clear();
  } catch (exc) {
    (call ? errors : callbackErrors).fromException(exc);
    if (!call) S.shownDossier = null;
    else S.shownDossier = { dossier: call.dossier || { dossier_id: dossierId }, image_urls: {} };
  }
  renderDossier();
}

function renderDossier() {
  const box = $("#dossier");
  const images = $("#dossier-images");
  clear(box);
  clear(images);
  const shown = S.shownDossier;
  if (!shown) {
    box.append(h("p.muted", {}, t("none")));
    return;
  }
  const d = shown.dossier;
  const state = d.state ? `${d.state} — ${t(`dossier.state.${d.state}`)}` : t("none");
  const fields = h("dl.fields", {});
  for (const [key, value] of [
    ["dossier.id", d.dossier_id],
    ["dossier.state", state],
    ["dossier.customer_name", d.customer_name],
    ["dossier.id_number", d.id_number],
    ["dossier.subscriber", d.subscriber],
    ["dossier.sub_type", d.sub_type],
    ["dossier.customer_type", valueText("dossier.customer_type", d.customer_type)],
    ["dossier.payment_type", valueText("dossier.payment_type", d.payment_type)],
    ["dossier.dealer_account", d.dealer_account],
    ["dossier.unit", d.unit_id],
  ]) {
    fields.append(h("dt", {}, t(key)), h("dd", { dataset: { field: key.split(".")[1] } }, value || t("none")));
  }
  box.append(fields);
  const urls = shown.image_urls || {};
  show("#compare", !!(urls.portrait || urls.id_front));
  for (const [kind, label] of [
    ["id_front", "dossier.id_front"],
    ["id_back", "dossier.id_back"],
    ["portrait", "dossier.portrait"],
  ]) {
    const url = urls[kind];
    const picture = url
      ? h("img", { src: url, alt: t(label), dataset: { image: kind }, onclick: () => openPicture(url, t(label)) })
      : h("div.noimg", { dataset: { image: kind } }, t("dossier.no_image"));
    images.append(h("figure", {}, picture, h("figcaption", {}, t(label))));
  }
}

/** Portrait, ID card front (its photo) and this call's snapshot side by side. */
function compare() {
  const urls = (S.shownDossier && S.shownDossier.image_urls) || {};
  const snapshot = S.call && S.call.snapshotThumb;
  openCompare([
    { kind: "portrait", src: urls.portrait, label: t("dossier.portrait") },
    { kind: "id_front", src: urls.id_front, label: t("dossier.id_front") },
    { kind: "snapshot", src: snapshot, label: t("compare.snapshot") },
  ]);
}

/** A stored code (prepaid, KHCN…) in words when i18n.js knows it, else as stored. */
function valueText(prefix, value) {
  return value && has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value;
}

// -- pushes ---------------------------------------------------------------------------------------------

const pushLog = []; // the last pushes' actions, for support and the tests (window.vkyc.pushes)

function onPush(message) {
  pushLog.push(message.action);
  if (pushLog.length > 200) pushLog.shift();
  switch (message.action) {
    case "call.offer":
      showOffer(message);
      break;
    case "offer.withdrawn":
      if (S.offer && S.offer.offer_id === message.offer_id) {
        closeOffer();
        S.phase = "idle";
        if (message.reason === "rang_out") S.missed = true;
        else setStatus("AVAILABLE", null); // after every reason but rang_out (then agent.status follows)
        const key = ["rang_out", "caller_hung_up"].includes(message.reason) ? message.reason : "other";
        banners.flash("withdrawn", "info", () => t(`offer.withdrawn.${key}`));
        save();
        render();
      }
      break;
    case "agent.status":
      setStatus(message.status, message.since_ms);
      if (message.by) {
        // Set by a supervisor (supervisor.set_agent_status): who and why, until the agent moves on.
        S.missed = false;
        banners.set("forced", "warn", () =>
          t("status.forced", { by: message.by, status: t(`status.${message.status}`), reason: message.reason || "" }),
        );
        renderIdle();
      }
      break;
    case "call.connected":
      if (S.call && S.call.call_id === message.call_id && !S.call.connected) {
        S.call.connected = true;
        enterCall(S.call);
      }
      break;
    case "call.ended":
      onCallEnded(message);
      break;
    case "peer.reconnecting":
      if (S.call && message.call_id === S.call.call_id) {
        S.peerDeadline = Date.now() + message.grace_s * 1000;
        tick();
      }
      break;
    case "peer.reconnected":
      if (S.call && message.call_id === S.call.call_id) {
        S.peerDeadline = null;
        banners.remove("peer");
        banners.flash("peer-back", "ok", () => t("call.peer_reconnected"));
      }
      break;
    case "peer.left":
      if (S.call && message.call_id === S.call.call_id) {
        S.peerDeadline = null;
        banners.set("peer", "warn", () => t("call.peer_left"));
      }
      break;
    case "media.answer":
      if (S.media && S.call && message.call_id === S.call.call_id && message.request_id === S.mediaRequestId) {
        S.media.accept(message.sdp).catch((exc) => {
          setMediaState("failed");
          callErrors.show("MEDIA_BAD_SDP", { callId: message.call_id, detail: String(exc) });
        });
      }
      break;
    case "media.links":
      if (S.call && message.call_id === S.call.call_id) nodeLinks(message);
      break;
    case "media.snapshot_taken":
      showSnapshot(message);
      break;
    case "error":
      if (message.code === "MEDIA_NODE_LOST" && S.phase === "incall" && S.call && message.call_id === S.call.call_id) {
        startMedia(); // another node takes the call
      } else if (message.request_id && message.request_id === S.mediaRequestId) setMediaState("failed");
      if (message.request_id && message.request_id === S.snapshotRequestId) snapshotDone();
      // An answer to the call's own requests (media, snapshot) goes beside the call's buttons.
      (message.request_id && [S.snapshotRequestId, S.mediaRequestId].includes(message.request_id) ? callErrors : errors).show(message.code, {
        callId: message.call_id || (S.call && S.call.call_id),
        requestId: message.request_id,
        serverMessage: message.message,
      });
      break;
    default:
      break; // a newer server's message: ignored, as the protocol asks
  }
}

// -- rendering ------------------------------------------------------------------------------------------

function show(selector, visible) {
  $(selector).classList.toggle("hidden", !visible);
}

function showLogin(message) {
  S.phase = "login";
  S.session = null;
  S.me = null;
  S.shownDossier = null;
  $("#who").textContent = "";
  showConnection(null);
  banners.remove("own");
  banners.remove("peer");
  if (message) banners.set("login", "warn", message);
  render();
  $("#login-form [name=username]").focus();
}

function renderIdle() {
  const text = $("#idle-text");
  if (!text) return;
  text.textContent =
    S.phase === "ringing"
      ? t("idle.ringing")
      : S.status === "WRAP_UP"
        ? t("idle.after_call_work")
      : S.missed
        ? t("idle.missed")
        : S.status === "AVAILABLE"
          ? t("idle.available")
          : t("idle.not_available");
}

function render() {
  const phase = S.phase;
  const loggedIn = phase !== "login";
  show("#login", !loggedIn);
  show("#work", loggedIn);
  show("#status-control", loggedIn);
  show("#logout", loggedIn);
  show("#offer", phase === "ringing");
  show("#idle", phase === "idle" || phase === "ringing");
  show("#call", phase === "incall" || phase === "wrapup");
  show("#callback-ringing", phase === "callback");
  show("#decision", phase === "incall" || phase === "wrapup");
  show("#callback", phase === "idle" || phase === "ringing");
  show("#myday", phase === "idle" || phase === "ringing");
  show("#callback-start", phase === "idle" && !!S.shownDossier && !S.busy);
  $("#stage").classList.toggle("over", phase === "wrapup");
  show("#stage-ended", phase === "wrapup");
  show("#snapshot", phase === "incall");
  show("#hangup", phase === "incall");
  show("#media-controls", phase === "incall");
  show("#greeting", phase === "incall");
  show("#closing", phase === "wrapup");
  $("#greeting-text").textContent = S.settings.greeting || "";
  $("#closing-text").textContent = S.settings.closing_message || "";
  $("#call-id").textContent = S.call ? `${t("call_id")}: ${S.call.call_id}` : "";
  if (loggedIn) {
    banners.remove("login");
    banners.remove("api");
  }
  renderIdle();
  renderSnapshot();
  renderDecision();
  if (S.mediaState) setMediaState(S.mediaState);
  tick();
}

/** Every countdown and clock on the page (4 times a second). */
function tick() {
  const now = Date.now();
  if (S.phase !== "login") $("#status-since").textContent = duration(now - S.statusSince);
  if (S.phase === "ringing" && S.offer) {
    const expires = S.offer.expires_at_ms - (S.session ? S.session.clockOffsetMs : 0);
    const left = Math.max(0, expires - now);
    $("#offer-countdown").textContent = t("offer.countdown", { seconds: Math.ceil(left / 1000) });
    $("#offer-bar").style.width = `${Math.min(100, (100 * left) / (S.offer.ring_timeout_s * 1000))}%`;
  }
  if (S.ownDeadline) {
    banners.set("own", "warn", () => t("conn.reconnecting", { seconds: Math.max(0, Math.ceil((S.ownDeadline - now) / 1000)) }));
  }
  if (S.peerDeadline) {
    banners.set("peer", "warn", () => t("call.peer_reconnecting", { seconds: Math.max(0, Math.ceil((S.peerDeadline - now) / 1000)) }));
  }
  if (S.phase === "callback" && S.call) {
    const left = Math.max(0, (S.call.expiresAt || now) - now);
    $("#callback-ringing-text").textContent = t("callback.ringing", { seconds: Math.ceil(left / 1000) });
    show("#callback-offline", S.call.mobileOnline === false);
  }
  if (S.phase === "wrapup" && S.call) {
    const reason = S.call.endReason ? endReasonText(S.call.endReason) : "";
    $("#stage-ended").textContent = t("call.ended", { reason }).replace(" ()", "");
    const limit = (S.settings.wrap_up_limit_s || 120) * 1000;
    const left = Math.max(0, (S.call.endedAt || now) + limit - now);
    $("#wrapup-text").textContent = t("call.wrapup", { seconds: Math.ceil(left / 1000) });
  } else if (S.phase === "incall") {
    $("#wrapup-text").textContent = "";
  }
}

// -- start ----------------------------------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  unlockAudio();
  askNotificationPermission();
  await submitLogin(event.target, "agent", errors, "login.wrong_page_agent", (grant) =>
    startSession({ token: grant.token }, grant.ws_url, grant.token, null),
  );
}

async function logout() {
  const session = S.session;
  stopDay();
  closeViewer();
  stopCall();
  forget();
  if (session) await session.bye();
  showLogin(null);
}

function onKey(event) {
  if (S.confirming && event.key === "Escape") {
    event.preventDefault();
    closeConfirm();
    return;
  }
  if (S.phase !== "ringing" || !S.offer) return;
  if (event.key === "Enter") {
    event.preventDefault();
    accept();
  } else if (event.key === "Escape") {
    event.preventDefault();
    if (S.rejectArmed) reject();
    else armReject(true);
  }
}

async function main() {
  errors = new ErrorList($("#errors"), 2);
  decideErrors = new ErrorList($("#decide-errors"), 1, { compact: true });
  statusErrors = new ErrorList($("#status-errors"), 1);
  offerErrors = new ErrorList($("#offer-errors"), 1);
  callErrors = new ErrorList($("#call-errors"), 2);
  callbackErrors = new ErrorList($("#callback-errors"), 1);
  cancelErrors = new ErrorList($("#callback-cancel-errors"), 1);
  confirmErrors = new ErrorList($("#confirm-errors"), 1, { compact: true });
  banners = new Banners($("#banners"));
  applyTranslations();
  await warnIgnoredApi(banners); // before a resume: the working screen then takes the banner away
  wireLanguageButton($("#lang"));
  onLangChange(() => {
    renderStatus(); // the status and its start are unchanged
    renderDossier();
    render();
    renderConfirm();
  });
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  for (const button of document.querySelectorAll("[data-set-status]")) {
    button.addEventListener("click", () => changeStatus(button.dataset.setStatus));
  }
  $("#accept").addEventListener("click", accept);
  $("#reject").addEventListener("click", reject);
  $("#hangup").addEventListener("click", hangup);
  $("#snapshot").addEventListener("click", takeSnapshot);
  $("#remote-video").addEventListener("resize", checkMediaUp); // the first frame gives it a size
  for (const button of document.querySelectorAll("[data-decision]")) {
    button.addEventListener("click", () => decide(button.dataset.decision));
  }
  $("#reason").addEventListener("input", () => decideErrors.drop("REASON_REQUIRED"));
  // After-call work is the agent's standing choice (this browser), not one call's.
  $("#acw").checked = localStorage.getItem("vkyc.acw") === "1";
  $("#acw").addEventListener("change", () => localStorage.setItem("vkyc.acw", $("#acw").checked ? "1" : "0"));
  $("#confirm-yes").addEventListener("click", confirmDecision);
  $("#confirm-no").addEventListener("click", closeConfirm);
  $("#reason-code").addEventListener("change", () => confirmErrors.clear());
  $("#compare").addEventListener("click", compare);
  wireCallControls({
    media: () => S.media,
    stream: () => S.localStream,
    setStream: (stream) => {
      $("#preview").srcObject = stream;
      $("#local-video").srcObject = stream;
    },
    onError: (exc) => callErrors.show("GET_USER_MEDIA_ERROR", { detail: (exc && exc.name) || String(exc), callId: S.call && S.call.call_id }),
  });
  wireWorkspace({
    token: () => S.token,
    canPick: () => S.phase === "idle",
    onPick: async (dossierId) => {
      await showDossier(dossierId, null);
      $("#callback-dossier").value = dossierId;
      show("#callback-start", S.phase === "idle" && !!S.shownDossier);
    },
  });
  $("#callback-form").addEventListener("submit", findDossier);
  $("#callback-start").addEventListener("click", startCallback);
  $("#callback-cancel").addEventListener("click", cancelCallback);
  initTickets({
    token: () => (S.session ? S.token : null),
    canCallBack: () => S.phase === "idle" && !S.busy,
    callBack: async (dossierId) => {
      await showDossier(dossierId, null);
      if (S.shownDossier) await startCallback();
    },
  });
  document.addEventListener("keydown", onKey);
  document.addEventListener("pointerdown", unlockAudio);
  setInterval(tick, 250);

  const stored = load();
  if (stored && stored.resumeToken && stored.wsUrl) {
    try {
      await startSession({ resume: stored.resumeToken }, stored.wsUrl, stored.token, stored);
      banners.flash("resumed", "ok", () => t("conn.resumed_after_reload"));
      return;
    } catch {
      forget();
      showLogin(() => t("conn.ended"));
      return;
    }
  }
  showLogin(null);
}

window.vkyc = {
  get phase() {
    return S.phase;
  },
  get status() {
    return S.status;
  },
  get statusReads() {
    return S.statusReads;
  },
  get call() {
    return S.call;
  },
  get session() {
    return S.session;
  },
  get mediaState() {
    return S.mediaState;
  },
  get pushes() {
    return [...pushLog];
  },
  stats: async () => (S.media ? S.media.stats() : null),
  get quality() {
    return currentQuality();
  },
  drop: () => S.session && S.session.drop(),
};

main();
