// The agent's own media during a call (issue #16), beside the call's buttons: mute the microphone,
// choose the camera and the microphone (the new device's track replaces the old one in the call at
// once, no renegotiation), and the network indicator for both sides: the customer's (what arrives:
// packet loss, jitter, frames per second, and the media node's view of the customer's link,
// media.links) and the agent's own (the node's RTCP reports of what it receives: loss, round trip).
//
// agent.js hands in how to reach the call's media and the local stream (wireCallControls).

import { t, onLangChange } from "./i18n.js";
import { openCamera } from "./media.js";
import { $, clear, h } from "./ui.js";

const QUALITY_EVERY_MS = 2000;

let ctx = null; // {media(), stream(), setStream(stream)}
let muted = false;
let links = null; // the node's last media.links of this call
let last = null; // the previous stats sample, for rates
let timer = null;
let quality = { level: "unknown", customer: null, own: null };

export function wireCallControls(context) {
  ctx = context;
  $("#mute").addEventListener("click", () => setMuted(!muted));
  $("#camera-select").addEventListener("change", (event) => switchDevice("video", event.target.value));
  $("#mic-select").addEventListener("change", (event) => switchDevice("audio", event.target.value));
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", () => listDevices());
  }
  onLangChange(() => {
    renderMute();
    renderQuality();
    listDevices();
  });
}

/** A call starts: unmuted, devices listed, the indicator sampling. */
export function callStarted() {
  links = null;
  last = null;
  setMuted(false);
  listDevices();
  clearInterval(timer);
  timer = setInterval(sample, QUALITY_EVERY_MS);
  quality = { level: "unknown", customer: null, own: null };
  renderQuality();
}

export function callStopped() {
  clearInterval(timer);
  timer = null;
}

/** The node's media.links push for the call on screen. */
export function nodeLinks(message) {
  links = message.links;
  sample();
}

function setMuted(on) {
  muted = on;
  const stream = ctx && ctx.stream();
  if (stream) for (const track of stream.getAudioTracks()) track.enabled = !on;
  renderMute();
}

function renderMute() {
  const button = $("#mute");
  button.setAttribute("aria-pressed", String(muted));
  button.textContent = t(muted ? "call.unmute" : "call.mute");
}

async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return;
  }
  const stream = ctx && ctx.stream();
  for (const [kind, select, key] of [
    ["videoinput", $("#camera-select"), "call.camera"],
    ["audioinput", $("#mic-select"), "call.microphone"],
  ]) {
    const track = stream && (kind === "videoinput" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0]);
    const current = track && track.getSettings ? track.getSettings().deviceId : "";
    clear(select);
    const found = devices.filter((d) => d.kind === kind);
    found.forEach((device, index) => {
      const label = device.label || `${t(key)} ${index + 1}`;
      select.append(h("option", { value: device.deviceId, selected: device.deviceId === current }, label));
    });
    select.disabled = found.length < 2;
    select.title = t(key);
  }
}

async function switchDevice(kind, deviceId) {
  const stream = ctx.stream();
  if (!stream || !deviceId) return;
  let fresh;
  try {
    fresh = await openCamera(kind === "video" ? { video: deviceId } : { audio: deviceId });
  } catch (exc) {
    ctx.onError(exc);
    return;
  }
  const track = kind === "video" ? fresh.getVideoTracks()[0] : fresh.getAudioTracks()[0];
  for (const other of fresh.getTracks()) if (other !== track) other.stop();
  for (const old of kind === "video" ? stream.getVideoTracks() : stream.getAudioTracks()) {
    stream.removeTrack(old);
    old.stop();
  }
  stream.addTrack(track);
  if (kind === "audio") track.enabled = !muted;
  const media = ctx.media();
  if (media) await media.replaceTrack(track);
  ctx.setStream(stream);
}

/** good | fair | poor from a loss fraction and a delay (s); unknown without traffic. */
export function grade(lossFraction, delayS) {
  if (lossFraction === null) return "unknown";
  if (lossFraction > 0.08 || delayS > 0.4) return "poor";
  if (lossFraction > 0.02 || delayS > 0.15) return "fair";
  return "good";
}

const ORDER = ["unknown", "good", "fair", "poor"];

async function sample() {
  const media = ctx && ctx.media();
  if (!media) return;
  let stats;
  try {
    stats = await media.stats();
  } catch {
    return;
  }
  const previous = last || { packetsReceived: 0, packetsLost: 0, sentPackets: 0, sentLost: 0 };
  last = stats;
  const received = stats.packetsReceived - previous.packetsReceived;
  const lost = stats.packetsLost - previous.packetsLost;
  const customerLoss = received + lost > 0 ? lost / (received + lost) : null;
  const sent = stats.sentPackets - previous.sentPackets;
  const sentLost = stats.sentLost - previous.sentLost;
  const ownLoss = sent > 0 ? Math.max(0, sentLost) / sent : null;
  let customer = grade(customerLoss, stats.jitter);
  if (links && links.mobile !== "up") customer = "poor"; // the node no longer gets the customer's media
  const own = grade(ownLoss, stats.rtt || 0);
  quality = {
    level: ORDER[Math.max(ORDER.indexOf(customer), ORDER.indexOf(own))],
    customer,
    own,
    detail: { customerLoss, jitter: stats.jitter, fps: stats.fps, ownLoss, rtt: stats.rtt, links },
  };
  renderQuality();
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${(100 * value).toFixed(1)}%`;
}

function renderQuality() {
  const badge = $("#quality");
  badge.dataset.level = quality.level;
  badge.dataset.customer = quality.customer || "unknown";
  badge.dataset.own = quality.own || "unknown";
  badge.textContent = t("call.network", { level: t(`call.network.${quality.level}`) });
  const d = quality.detail;
  badge.title = d
    ? t("call.network.detail", {
        customer: t(`call.network.${quality.customer}`),
        own: t(`call.network.${quality.own}`),
        loss: percent(d.customerLoss),
        jitter: Math.round((d.jitter || 0) * 1000),
        fps: Math.round(d.fps || 0),
        ownLoss: percent(d.ownLoss),
        rtt: d.rtt === null ? "—" : Math.round(d.rtt * 1000),
      })
    : t("call.network.unknown");
}

/** For support and the tests (window.vkyc.quality). */
export function currentQuality() {
  return { ...quality };
}
