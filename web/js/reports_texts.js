// The names a supervisor reads instead of codes in the reports: call states (inbound and call-back
// letters mean different things), events of a call's timeline, end reasons, decisions, actors. The
// texts themselves are in i18n.js.

import { t } from "./i18n.js";

function named(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

/** A call state in words: inbound and call-back letters mean different things. */
export function stateName(direction, state) {
  if (!state) return t("none");
  return named(`state.${direction === "out" ? "out" : "in"}.${state}`, state);
}

export function eventName(event) {
  return named(`event.${event}`, event);
}

/** A reason of the log: a known one in the reader's language ("call requested" -> reason.call_requested),
 * else as written (an agent's own reason for a decision). */
export function reasonName(reason) {
  return reason ? named(`reason.${reason.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`, reason) : "";
}

export function decisionName(decision) {
  return decision ? `${decision} — ${named(`decision.${decision}`, decision)}` : t("none");
}

export function offerStateName(state) {
  return named(`offer.${state}`, state);
}

/** A person for an actor id: an agent's name when known (names: id -> name), else the role's word. */
export function actorName(actor, names) {
  if (names && names.has(actor)) return names.get(actor);
  return named(`actor.${actor}`, actor);
}
