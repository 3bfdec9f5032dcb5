"""The security headers of the static pages (``web/``): the Content-Security-Policy and two companions.

The pages load only their own files (no inline script or style, no eval) and talk to three places:
the REST API (the page's own origin under ``make up``; in production ``config.json``'s ``api``, plus
the origins a link may pick with ``?api=``), the WebSocket API (the login grant's ``ws_url``) and the
media bucket (pre-signed ``<img>`` and ``<video>`` URLs). They frame one kind of page: the unit's CRM,
in the agent's answer-URL panel (``web/js/answer_url.js``), from the origins the operator lists in
``VKYC_FRAME_ORIGINS`` (``frame-src``; none: ``'none'``). ``security_headers`` builds the headers from
exactly those; the local server sends them with every static file, so every browser test runs under
them, and ``python -m local csp`` prints them for the production deployment (CloudFront's response
headers policy; README "Security of the pages").

Why an explicit list rather than the origins of the units' answer-URL settings: the settings change at
run time through the admin API, the headers are fixed when the pages are served (CloudFront's policy
at deploy time), and an admin must not be able to widen the pages' policy. The operator who gives a
unit a panel URL adds its origin here; until then the admin API warns of it with the setting
(``ANSWER_URL_NOT_FRAMEABLE``, ``vkyc.domain.frame_origins``, which reads and checks the list).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SCHEMES = ("http", "https", "ws", "wss")


class WebConfigError(ValueError):
    pass


def origin(url: str) -> str:
    """``scheme://host[:port]`` of an absolute http(s)/ws(s) URL; ValueError for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"not an absolute http(s) or ws(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class WebConfig:
    """``web/config.json``: what the page reads (``web/js/config.js``) to find its REST API."""

    api: str = ""
    """Base URL of the REST API; empty: the page's own origin (``make up`` serves both)."""
    api_origins: tuple[str, ...] = ()
    """Other API origins a link may choose with ``?api=`` (e.g. a staging API)."""

    def connect_origins(self) -> list[str]:
        """The API origins beyond the page's own, as the policy's ``connect-src`` lists them."""
        found = [origin(self.api)] if self.api else []
        return found + [origin(entry) for entry in self.api_origins]


def load_web_config(path: Path) -> WebConfig:
    """Read and check ``config.json``; a missing file is the default (the page's own origin).
    Raises ``WebConfigError`` naming what is wrong (the page would silently ignore a bad entry)."""
    if not path.exists():
        return WebConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise WebConfigError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"api", "api_origins"}:
        raise WebConfigError(f"{path}: expected an object with 'api' and 'api_origins' only")
    api, origins = data.get("api") or "", data.get("api_origins") or []
    strings = isinstance(origins, list) and all(isinstance(o, str) for o in origins)
    if not isinstance(api, str) or not strings:
        raise WebConfigError(f"{path}: 'api' is a string and 'api_origins' a list of strings")
    config = WebConfig(api, tuple(origins))
    try:
        for entry in config.connect_origins():
            if not entry.startswith(("http://", "https://")):
                raise ValueError(f"{entry} is not an http(s) origin")
    except ValueError as exc:
        raise WebConfigError(f"{path}: {exc}") from None
    return config


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def content_security_policy(
    *, connect: Iterable[str] = (), media: Iterable[str] = (), frame: Iterable[str] = ()
) -> str:
    """The policy: own files only; ``connect`` (API and WebSocket origins) for fetch and WebSocket;
    ``media`` (the bucket's origin) for images and recordings; ``data:`` images for the snapshot's
    thumbnail and the empty favicon; ``frame`` (origins ``frame_origins`` checked, written as given)
    for the answer-URL panel's iframes, ``'none'`` without. ``form-action 'none'``: a form that
    JavaScript did not take (a script failed to load) must not submit the password anywhere, not even
    as a query string."""
    media_sources = _unique(origin(m) for m in media)
    frame_sources = _unique(frame) or ["'none'"]
    directives = [
        ("default-src", ["'none'"]),
        ("script-src", ["'self'"]),
        ("style-src", ["'self'"]),
        ("img-src", ["'self'", "data:", *media_sources]),
        ("media-src", ["'self'", *media_sources]),
        ("connect-src", ["'self'", *_unique(origin(c) for c in connect)]),
        ("frame-src", frame_sources),
        ("base-uri", ["'none'"]),
        ("form-action", ["'none'"]),
        ("frame-ancestors", ["'none'"]),
    ]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives)


def security_headers(
    config: WebConfig, *, ws_url: str, media_url: str, frame_origins: Iterable[str] = ()
) -> dict[str, str]:
    """Every header a static page is served with. ``ws_url``: the WebSocket API the login grants name;
    ``media_url``: where pre-signed media URLs point (the AWS endpoint locally; path-style S3 in
    production: ``https://s3.<region>.amazonaws.com``); ``frame_origins``: the CRM origins the
    answer-URL panel may frame (checked by ``frame_origins()``)."""
    policy = content_security_policy(
        connect=[*config.connect_origins(), ws_url], media=[media_url], frame=frame_origins
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
