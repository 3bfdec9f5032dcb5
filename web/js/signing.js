// Message signing of the vkyc protocol (docs/protocol.md section 5), with WebCrypto.
//
// canonical(message): the RFC 8785 (JCS) text of the message without its top-level "mac"
// (canonical.js), encoded as UTF-8. mac = base64url (no padding) of HMAC-SHA256 of those bytes under
// the 32-byte session key. Same as vkyc/protocol/signing.py; the browser tests check every vector of
// docs/protocol/canonical-vectors.json, the guide's two among them.

import { canonicalJson } from "./canonical.js";

export function canonical(message) {
  const body = {};
  for (const [k, v] of Object.entries(message)) if (k !== "mac") body[k] = v;
  return canonicalJson(body);
}

export function b64urlEncode(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64urlDecode(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const raw = atob(padded);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** A CryptoKey for HMAC-SHA256 from the welcome's base64url session key. */
export async function importSessionKey(sessionKeyB64url) {
  return crypto.subtle.importKey(
    "raw",
    b64urlDecode(sessionKeyB64url),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

export async function mac(key, message) {
  const data = new TextEncoder().encode(canonical(message));
  return b64urlEncode(await crypto.subtle.sign("HMAC", key, data));
}

/** The message with its mac (seq and ts already set by the caller). */
export async function sign(key, message) {
  return { ...message, mac: await mac(key, message) };
}
