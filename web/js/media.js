// The agent's side of the call's media: camera and microphone, one RTCPeerConnection to the media node.
//
// Contract (the media node behind signaling): after call.connected the agent sends a signed
// media.offer {call_id, sdp}; the server answers ack, then pushes media.answer {request_id, call_id,
// sdp} (or an error with the request_id). On a reconnect or a reload the agent sends a fresh
// media.offer for the same call. The node is aiortc: VP8 video and Opus audio, the ICE servers the
// session's welcome names (ice_servers: often none), and no trickle ICE: the offer goes out once ICE
// gathering is complete.

const GATHER_TIMEOUT_MS = 3000;

/** getUserMedia with what an agent needs; rejects with the DOMException (its .name says why). */
export async function openCamera(devices = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const error = new Error("navigator.mediaDevices is missing (the page is not in a secure context)");
    error.name = "SecurityError";
    throw error;
  }
  return navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, ...(devices.audio ? { deviceId: { exact: devices.audio } } : {}) },
    video: {
      width: { ideal: 640 },
      height: { ideal: 480 },
      frameRate: { ideal: 15 },
      ...(devices.video ? { deviceId: { exact: devices.video } } : {}),
    },
  });
}

function preferCodec(transceiver, kind, mimeType) {
  if (!window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities || !transceiver.setCodecPreferences) return;
  const codecs = RTCRtpReceiver.getCapabilities(kind)?.codecs || [];
  const first = codecs.filter((c) => c.mimeType.toLowerCase() === mimeType);
  if (!first.length) return;
  const rest = codecs.filter((c) => c.mimeType.toLowerCase() !== mimeType);
  transceiver.setCodecPreferences([...first, ...rest]);
}

/** Until ICE gathering is complete (the offer then carries every candidate), at most 3 s. */
export function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** One peer connection of one call. onRemoteStream(stream) and onState(state) are callbacks;
 * iceServers are the welcome's ice_servers (STUN/TURN; none needed when the media node is reachable). */
export class CallMedia {
  constructor(localStream, { onRemoteStream, onState, iceServers = [] }) {
    this.pc = new RTCPeerConnection({ iceServers });
    this.remote = new MediaStream();
    this.onState = onState || (() => {});
    this.pc.addEventListener("track", (event) => {
      this.remote.addTrack(event.track);
      if (onRemoteStream) onRemoteStream(this.remote);
    });
    this.pc.addEventListener("connectionstatechange", () => this.onState(this.pc.connectionState));
    for (const track of localStream.getTracks()) {
      const transceiver = this.pc.addTransceiver(track, { direction: "sendrecv", streams: [localStream] });
      preferCodec(transceiver, track.kind, track.kind === "video" ? "video/vp8" : "audio/opus");
    }
  }

  /** The complete offer SDP (all host candidates in it). */
  async offer() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await gathered(this.pc);
    return this.pc.localDescription.sdp;
  }

  async accept(answerSdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp: answerSdp });
  }

  /** Inbound and outbound video counters, for the page's indicator and the tests: what arrives from
   * the customer (packets received and lost, jitter, frames per second) and what the node says of the
   * agent's own stream (its RTCP reports: packets lost, round-trip time). */
  async stats() {
    const out = {
      framesDecoded: 0, framesReceived: 0, framesSent: 0, bytesReceived: 0, width: 0, height: 0,
      packetsReceived: 0, packetsLost: 0, jitter: 0, fps: 0, sentLost: 0, sentPackets: 0, rtt: null,
    };
    const report = await this.pc.getStats();
    report.forEach((entry) => {
      if (entry.type === "inbound-rtp" && entry.kind === "video") {
        out.framesDecoded += entry.framesDecoded || 0;
        out.framesReceived += entry.framesReceived || 0;
        out.bytesReceived += entry.bytesReceived || 0;
        out.width = entry.frameWidth || out.width;
        out.height = entry.frameHeight || out.height;
        out.packetsReceived += entry.packetsReceived || 0;
        out.packetsLost += Math.max(0, entry.packetsLost || 0);
        out.jitter = Math.max(out.jitter, entry.jitter || 0);
        out.fps = entry.framesPerSecond || out.fps;
      }
      if (entry.type === "outbound-rtp" && entry.kind === "video") {
        out.framesSent += entry.framesSent || 0;
        out.sentPackets += entry.packetsSent || 0;
      }
      if (entry.type === "remote-inbound-rtp" && entry.kind === "video") {
        out.sentLost += Math.max(0, entry.packetsLost || 0);
        if (typeof entry.roundTripTime === "number") out.rtt = entry.roundTripTime;
      }
    });
    return out;
  }

  /** Send `track` instead of the current track of its kind (another camera or microphone). */
  async replaceTrack(track) {
    for (const sender of this.pc.getSenders()) {
      if (sender.track && sender.track.kind === track.kind) await sender.replaceTrack(track);
    }
  }

  close() {
    try {
      this.pc.close();
    } catch {
      // closed already
    }
  }
}
