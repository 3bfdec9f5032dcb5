// Which decisions the agent page offers for the call on screen, and why it greys out the others.
//
// The server is the authority (call.decide answers DECISION_NOT_ALLOWED and changes nothing); the page
// greys out what would be refused, so the agent sees what is missing before clicking:
// - A (approve) and C (post-audit) let the subscriber in: the customer's media must have reached the
//   call. The node relays only the customer's video to the agent, so a decoded frame on a connected
//   peer connection means both links are up (the server's CONNECTED): call.mediaUp, set by agent.js.
// - A also needs, while settings.approve_requires_face is on (the default; an older server that does
//   not send it counts as on), a snapshot of this call with face_found true: call.faceSnapshot.
// - R needs an answered call (call.connected).
// - D (unreachable) is always offered.

export const DECISIONS = ["A", "R", "C", "D"];

/** Pure: {A: [why...], R: [...], C: [...], D: []}; an empty list means the decision is offered. Each
 * why is "media" (no customer video yet), "face" (no snapshot with a face) or "answered". */
export function decisionGate(call, settings) {
  const gate = { A: [], R: [], C: [], D: [] };
  if (!call) return gate;
  if (!call.connected) {
    for (const letter of ["A", "R", "C"]) gate[letter].push("answered");
  }
  if (!call.mediaUp) {
    gate.A.push("media");
    gate.C.push("media");
  }
  const faceNeeded = !settings || settings.approve_requires_face !== false;
  if (faceNeeded && !(call.faceSnapshot && call.faceSnapshot.face_found === true)) gate.A.push("face");
  return gate;
}

/** The text keys that explain a gate, most fundamental first, each once: what the agent must get
 * next (the customer's video before a snapshot of the face is worth asking for). `ended`: the call is
 * over, so what is missing can no longer come. */
export function explanations(gate, ended) {
  const first = new Set();
  for (const letter of DECISIONS) {
    if (gate[letter].length) first.add(gate[letter][0]);
  }
  const suffix = ended ? "_ended" : "";
  return [...first].map((why) => `decide.why.${why}${suffix}`);
}
