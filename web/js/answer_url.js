// The popup answer URL (seed 004; vkyc.domain.answer_url): once a call is answered, the page asks the
// server for the unit's answer URL filled with the call's fields (GET /calls/{id}/answer-url) and opens
// it in a new tab or in the #answer-panel iframe (the unit's popup_answer_target setting), with the
// incoming / call-out iframe URL in the panel too.
//
// REQUEST_ANSWER_URL_ERROR (with the call id) when it cannot be opened: the server refused the template,
// the browser blocked the new tab (the panel then shows a link to open it by hand), the page's
// Content-Security-Policy refused the frame (frame-src lists only the origins of the operator's
// VKYC_FRAME_ORIGINS), or the frame did not load within LOAD_TIMEOUT_MS. Whether the third party answered an HTTP error cannot be seen
// from here (the frame or tab is another origin). Each call's URL is opened once, even across a reload.

import { t } from "./i18n.js";
import { api } from "./session.js";
import { $, clear, h } from "./ui.js";

const LOAD_TIMEOUT_MS = 10000;
const OPENED_KEY = "vkyc.answer_url.opened";

function alreadyOpened(callId) {
  const opened = JSON.parse(sessionStorage.getItem(OPENED_KEY) || "[]");
  if (opened.includes(callId)) return true;
  sessionStorage.setItem(OPENED_KEY, JSON.stringify([callId, ...opened].slice(0, 20)));
  return false;
}

function frame(url, onFailure) {
  const iframe = h("iframe", {
    src: url,
    title: t("answer.title"),
    referrerPolicy: "no-referrer",
    sandbox: "allow-scripts allow-forms allow-same-origin allow-popups",
  });
  let failed = false;
  const failOnce = () => {
    if (!failed) onFailure();
    failed = true;
  };
  const timer = setTimeout(failOnce, LOAD_TIMEOUT_MS);
  // A frame the page's Content-Security-Policy refuses (frame-src) still fires "load" (of an empty
  // document): the policy's own report is how the page knows.
  const target = new URL(url).origin;
  const onViolation = (event) => {
    if (!event.violatedDirective.startsWith("frame-src")) return;
    if (event.blockedURI && !event.blockedURI.startsWith(target)) return;
    clearTimeout(timer);
    document.removeEventListener("securitypolicyviolation", onViolation);
    failOnce();
  };
  document.addEventListener("securitypolicyviolation", onViolation);
  iframe.addEventListener("load", () => clearTimeout(timer));
  iframe.addEventListener("error", () => {
    clearTimeout(timer);
    failOnce();
  });
  return iframe;
}

/** Open the answer URL of ``callId`` (answered just now); errors go to ``errors`` (an ErrorList). */
export async function openAnswerUrl(callId, { token, errors }) {
  if (!callId || !token || alreadyOpened(callId)) return;
  const panel = $("#answer-panel");
  const body = $("#answer-body");
  const fail = (extra = {}) => errors.show("REQUEST_ANSWER_URL_ERROR", { callId, ...extra });
  let urls;
  try {
    urls = await api(`/calls/${encodeURIComponent(callId)}/answer-url`, { token });
  } catch (exc) {
    errors.fromException(exc, { callId });
    return;
  }
  clear(body);
  let shown = false;
  if (urls.url && urls.target === "tab") {
    const opened = window.open(urls.url, "_blank");
    if (opened) {
      opened.opener = null;
    } else {
      fail();
      body.append(h("a", { href: urls.url, target: "_blank", rel: "noopener noreferrer" }, t("answer.open_link")));
      shown = true;
    }
  } else if (urls.url) {
    body.append(frame(urls.url, () => fail()));
    shown = true;
  }
  if (urls.iframe_url) {
    body.append(frame(urls.iframe_url, () => fail()));
    shown = true;
  }
  panel.classList.toggle("hidden", !shown);
}

/** The call is over: the panel goes. */
export function closeAnswerPanel() {
  const panel = $("#answer-panel");
  if (panel) {
    panel.classList.add("hidden");
    clear($("#answer-body"));
  }
}
