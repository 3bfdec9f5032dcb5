// Silent monitoring (issue #16): the supervisor listens to a live call of a unit they serve.
//
// Contract: a receive-only RTCPeerConnection (audio, video, audio, video transceivers, direction
// recvonly: the customer's pair, then the agent's), whose
// complete offer goes out as the signed supervisor.monitor {call_id, sdp}; the server answers ack, then
// pushes media.answer {request_id, call_id, sdp} (or an error with the request_id). The media node sends
// the customer's and the agent's video and audio; the customer and the agent are not told. supervisor.monitor_stop
// {call_id} closes the node's side. Both are written to the call's event log with the supervisor's name.

import { onLangChange, t } from "./i18n.js";
import { gathered } from "./media.js";
import { $, ErrorList, h } from "./ui.js";

/** One listening of one call. onStream(who, stream) ("customer" or "agent") and onState(state) are
 * callbacks. */
export class Listening {
  constructor(session, callId, { onStream, onState, iceServers = [] }) {
    this.session = session;
    this.callId = callId;
    this.requestId = session.newRequestId();
    this.pc = new RTCPeerConnection({ iceServers });
    this.streams = { customer: new MediaStream(), agent: new MediaStream() };
    const whose = new Map();
    for (const who of ["customer", "agent"]) {
      for (const kind of ["audio", "video"]) whose.set(this.pc.addTransceiver(kind, { direction: "recvonly" }), who);
    }
    this.pc.addEventListener("track", (event) => {
      const who = whose.get(event.transceiver) || "customer";
      this.streams[who].addTrack(event.track);
      onStream(who, this.streams[who]);
    });
    this.pc.addEventListener("connectionstatechange", () => onState(this.pc.connectionState));
  }

  /** Offer, and send supervisor.monitor; the answer arrives as a push (see accept). */
  async start() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await gathered(this.pc);
    await this.session.request(
      "supervisor.monitor",
      { call_id: this.callId, sdp: this.pc.localDescription.sdp },
      { requestId: this.requestId },
    );
  }

  /** The push media.answer of this listening (true if it was ours). */
  accept(message) {
    if (message.request_id !== this.requestId) return false;
    this.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
    return true;
  }

  /** Video frames decoded so far (getStats), for the tests and the page's state. */
  async framesDecoded() {
    let frames = 0;
    (await this.pc.getStats()).forEach((entry) => {
      if (entry.type === "inbound-rtp" && entry.kind === "video") frames += entry.framesDecoded || 0;
    });
    return frames;
  }

  async stop() {
    try {
      this.pc.close();
    } catch {
      // closed already
    }
    await this.session.request("supervisor.monitor_stop", { call_id: this.callId });
  }
}

// -- the console's side (web/supervisor.html: the Listen button on a row in a call, the #listen panel) ----


let ctx = null; // { session: () => Session }
let listening = null; // the current Listening
let listenErrors = null;
let shown = { who: null, state: "listen.connecting" }; // re-rendered on a language switch

function render() {
  $("#listen-who").textContent = shown.who ? t("listen.who", shown.who) : "";
  $("#listen-state").textContent = t(shown.state);
}

function showState(key) {
  shown.state = key;
  render();
}

/** The row's Listen button: only for an agent in a call (an answered call: the call id is on the row). */
export function listenButton(row) {
  if (row.status !== "IN_CALL" || !row.call_id) return null;
  return h(
    "button.small",
    { type: "button", dataset: { listen: row.call_id }, title: t("listen.hint"), onclick: () => listen(row) },
    t("listen.open"),
  );
}

async function listen(row) {
  await stopListening();
  const session = ctx.session();
  if (!session) return;
  listenErrors.clear();
  $("#listen").classList.remove("hidden");
  shown = { who: { name: row.name || row.agent_id, call: row.call_id }, state: "listen.connecting" };
  render();
  const current = new Listening(session, row.call_id, {
    iceServers: (session.welcome && session.welcome.ice_servers) || [],
    onStream: (who, stream) => {
      if (listening === current) $(who === "agent" ? "#listen-agent-video" : "#listen-video").srcObject = stream;
    },
    onState: (state) => {
      if (listening !== current) return;
      showState(state === "connected" ? "listen.live" : state === "failed" ? "listen.failed" : "listen.connecting");
    },
  });
  listening = current;
  try {
    await current.start();
  } catch (exc) {
    if (listening === current) {
      listening = null;
      current.pc.close();
      showState("listen.failed");
      listenErrors.fromException(exc, { callId: row.call_id });
    }
  }
}

async function stopListening() {
  const current = listening;
  listening = null;
  $("#listen-video").srcObject = null;
  $("#listen-agent-video").srcObject = null;
  $("#listen").classList.add("hidden");
  if (!current) return;
  try {
    await current.stop();
  } catch {
    // the call ended meanwhile: the node closed its side already
  }
}

/** A push for the listening (media.answer, or an error with its request id): true if handled. */
export function onListenPush(message) {
  if (!listening || message.request_id !== listening.requestId) return false;
  if (message.action === "media.answer") {
    listening.accept(message);
  } else if (message.action === "error") {
    listenErrors.show(message.code, { callId: message.call_id, requestId: message.request_id, serverMessage: message.message });
    showState("listen.failed");
  }
  return true;
}

/** The call the agent row no longer shows (ended): the listening stops. */
export function listenedCallGone(liveCallIds) {
  if (listening && !liveCallIds.has(listening.callId)) stopListening();
}

export function wireListen(context) {
  ctx = context;
  listenErrors = new ErrorList($("#listen-errors"), 1);
  $("#listen-stop").addEventListener("click", () => stopListening());
  onLangChange(render);
}

/** For the tests: frames decoded by the current listening (0 when none). */
export async function listenFrames() {
  return listening ? listening.framesDecoded() : 0;
}
