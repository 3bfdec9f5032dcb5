"""The CRM origins the agent page's answer-URL panel may frame, and whether a unit's panel URL is one.

The operator lists them (``VKYC_FRAME_ORIGINS`` for a local stack, the stack parameter ``FrameOrigins``
for a deployment); the pages' Content-Security-Policy lists exactly those as ``frame-src``
(``local/web_policy.py``), so the browser refuses to show any other origin in the panel. ``frame_origins``
reads and checks the list wherever it is given (the local stack, ``python -m local csp``,
``make deploy``, the admin API). An admin may still save a panel URL of another origin (the list is
the deployment's, which the admin cannot change, and the operator may add the origin later):
``unframeable`` says which of a unit's settings the panel could not show, so the admin API warns of it
(``ANSWER_URL_NOT_FRAMEABLE``) instead of the agent meeting ``REQUEST_ANSWER_URL_ERROR`` at call time.

Pure: imports nothing of vkyc's outside the domain.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from vkyc.domain.settings import CallSettings

FRAME_ORIGINS = "VKYC_FRAME_ORIGINS"
"""The environment variable of the CRM origins the pages may frame (comma or space separated)."""
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443}
PANEL_URL_SETTINGS = ("popup_answer_url", "incoming_iframe_url", "callout_iframe_url")
"""The settings whose URL the agent page may show in its panel (``popup_answer_url`` only when
``popup_answer_target`` is ``panel``; the iframe URLs always)."""
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_SCHEME_ONLY = re.compile(r"^[a-z][a-z0-9+.-]*:$")


class FrameOriginError(ValueError):
    """A frame origin the pages' policy will not take. ``code`` is stable (docs/security.md):
    ``FRAME_ORIGIN_INVALID`` (not a bare origin: a path, a query, credentials, a keyword such as
    ``'self'``, another scheme), ``FRAME_ORIGIN_WILDCARD`` (``*`` anywhere, or a scheme alone such as
    ``https:``), ``FRAME_ORIGIN_NOT_HTTPS`` (``http://`` to anything but the loopback of a local stack).
    The message starts with the code, then names the setting and the entry."""

    def __init__(self, code: str, source: str, entry: str, why: str) -> None:
        self.code = code
        self.entry = entry
        super().__init__(f"{code}: {source} entry {entry!r} {why}")


def frame_origin(entry: str, *, local: bool, source: str = FRAME_ORIGINS) -> str:
    """``entry`` as the origin ``scheme://host[:port]`` (host lower-case, a trailing ``/`` dropped), or
    ``FrameOriginError``. ``local``: ``http://`` is allowed to the loopback (``make up``, the tests);
    a deployment's pages are https and frame https only."""

    def refuse(code: str, why: str) -> FrameOriginError:
        return FrameOriginError(code, source, entry, why)

    if "*" in entry or _SCHEME_ONLY.match(entry.lower()):
        raise refuse("FRAME_ORIGIN_WILDCARD", "allows more than one site: name each CRM origin")
    try:
        parts = urlsplit(entry)
        port = parts.port
    except ValueError as exc:
        raise refuse("FRAME_ORIGIN_INVALID", f"is not an origin ({exc})") from None
    host = parts.hostname or ""
    bare = parts.path in ("", "/") and not (parts.query or parts.fragment or "?" in entry or "#" in entry)
    if parts.scheme not in ("http", "https") or not host or not bare:
        raise refuse("FRAME_ORIGIN_INVALID", "is not an origin: write https://host[:port], nothing after")
    if parts.username is not None or parts.password is not None:
        raise refuse("FRAME_ORIGIN_INVALID", "is not an origin: no user name or password")
    if not _HOST_NAME.match(host):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise refuse("FRAME_ORIGIN_INVALID", f"is not an origin: {host!r} is not a host name") from None
    if parts.scheme == "http" and not (local and host in LOOPBACK_NAMES):
        where = "the loopback of a local stack" if local else "nothing in a deployment (its pages are https)"
        raise refuse("FRAME_ORIGIN_NOT_HTTPS", f"is not https: http:// is allowed to {where}")
    netloc = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{netloc}" + (f":{port}" if port is not None else "")


def frame_origins(text: str, *, local: bool, source: str = FRAME_ORIGINS) -> tuple[str, ...]:
    """The origins of ``text`` (comma or space separated; empty: none), each checked by
    ``frame_origin``, in order, each once. Raises ``FrameOriginError`` on the first bad entry."""
    entries = [e for e in re.split(r"[\s,]+", text.strip()) if e]
    return tuple(dict.fromkeys(frame_origin(e, local=local, source=source) for e in entries))


def same_origin_key(url: str) -> str | None:
    """The origin of an http(s) URL as the browser compares it with a ``frame-src`` entry: scheme, host
    lower-case, port (the scheme's default port left out, so ``https://h:443`` is ``https://h``). None
    for anything else, and for a URL template with a ``{placeholder}`` before its path (its origin
    depends on the call)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme not in DEFAULT_PORTS or not host or "{" in parts.netloc:
        return None
    netloc = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{netloc}" + ("" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}")


@dataclass(frozen=True)
class Unframeable:
    """A setting whose URL the agent page would show in its panel, from an origin not allowed:
    ``origin`` as the browser compares it (a template with a placeholder in its host: as written)."""

    setting: str
    origin: str


def unframeable(settings: CallSettings, allowed: Iterable[str]) -> list[Unframeable]:
    """The settings of ``PANEL_URL_SETTINGS`` the panel shows (``popup_answer_url`` only with
    ``popup_answer_target`` ``panel``) whose URL's origin is none of ``allowed`` (origins as
    ``frame_origins`` gives them), in that order. Empty when the panel can show them all."""
    listed = {same_origin_key(origin) for origin in allowed} - {None}
    found = []
    for name in PANEL_URL_SETTINGS:
        url = getattr(settings, name)
        if url is None or (name == "popup_answer_url" and settings.popup_answer_target != "panel"):
            continue
        origin = same_origin_key(url)
        if origin is None or origin not in listed:
            parts = urlsplit(url.strip())
            found.append(Unframeable(name, origin or f"{parts.scheme}://{parts.netloc}"))
    return found
