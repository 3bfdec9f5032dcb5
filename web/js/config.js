// The page's deployment config and the choice of the REST API the page talks to.
//
// web/config.json is written by the deployment (make up serves the tracked default):
//   {"api": "<base URL of the REST API>" or "" for the page's own origin,
//    "api_origins": ["<origin a link may choose with ?api=>", ...]}
// A link's ?api=<url> is followed only when the URL's origin is the page's own, config.api's, or one of
// api_origins. Anything else is ignored (the page then says so): the login form posts the password to
// this API, so a link must not be able to name where it goes. The server's Content-Security-Policy
// (connect-src) lists the same origins; README "Security of the pages".

const CONFIG_URL = "config.json";

function httpUrl(text) {
  let url;
  try {
    url = new URL(text); // absolute only: "//host" and "/path" throw without a base
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.username || url.password) return null;
  return url;
}

function base(url) {
  return (url.origin + url.pathname).replace(/\/+$/, "");
}

/**
 * Pure: {base, ignored} for the page's query string `search`, its origin and the config. `base` is the
 * REST API's base URL without a trailing slash; `ignored` is the ?api= value that was refused, or null.
 */
export function chooseApi(search, pageOrigin, config) {
  const configured = config && config.api ? httpUrl(config.api) : null;
  const fallback = configured ? base(configured) : pageOrigin;
  const allowed = new Set([pageOrigin]);
  if (configured) allowed.add(configured.origin);
  for (const entry of (config && Array.isArray(config.api_origins) && config.api_origins) || []) {
    const url = typeof entry === "string" ? httpUrl(entry) : null;
    if (url) allowed.add(url.origin);
  }
  const given = new URLSearchParams(search).get("api");
  if (!given) return { base: fallback, ignored: null };
  const url = httpUrl(given);
  if (url && allowed.has(url.origin)) return { base: base(url), ignored: null };
  return { base: fallback, ignored: given };
}

let loaded = null;

/** config.json, fetched once; {} when it is missing or not a JSON object. */
export function loadConfig() {
  if (!loaded) {
    loaded = fetch(CONFIG_URL, { cache: "no-store" })
      .then((response) => (response.ok ? response.json() : {}))
      .then((data) => (data && typeof data === "object" && !Array.isArray(data) ? data : {}))
      .catch(() => ({}));
  }
  return loaded;
}

let choice = null;

/** This page's API: chooseApi over location and config.json, decided once per page load. */
export function apiChoice() {
  if (!choice) choice = loadConfig().then((config) => chooseApi(location.search, location.origin, config));
  return choice;
}
