"""The popup answer URL (seed 004): the unit's URL template filled with the answered call's fields.

When an agent answers an inbound call, or a customer answers an agent's call-back, the agent page opens
the ``popup_answer_url`` setting, with (names of the replaced system, kept for integrators' CRMs):

| field | value |
|---|---|
| ``userId`` | the agent's id |
| ``hotline`` | the hotline of the call (the number dialled, or the one calling out) |
| ``customerNumber`` | the customer's subscriber number (``84…``) |
| ``isCallOut`` | ``true`` for a call-back, ``false`` for an inbound call |
| ``timeAnswer`` | when the call was answered, Unix time in milliseconds |
| ``callId`` | the call's id |

A template names the fields it wants as ``{placeholders}`` (``https://crm.example/a?c={callId}``),
URL-encoded when filled; a template without placeholders gets all six appended as query parameters.

Pure: imports nothing of vkyc's outside the domain.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlencode, urlsplit

FIELDS = ("userId", "hotline", "customerNumber", "isCallOut", "timeAnswer", "callId")


def answer_fields(
    *,
    user_id: str,
    hotline: str | None,
    customer_number: str | None,
    is_call_out: bool,
    time_answer: datetime | None,
    call_id: str,
) -> dict[str, str]:
    """The six fields as strings (absent ones empty)."""
    return {
        "userId": user_id,
        "hotline": hotline or "",
        "customerNumber": customer_number or "",
        "isCallOut": "true" if is_call_out else "false",
        "timeAnswer": "" if time_answer is None else str(int(time_answer.timestamp() * 1000)),
        "callId": call_id,
    }


def render(template: str, fields: Mapping[str, str]) -> str:
    """``template`` filled with ``fields`` (see the module docstring). Raises ``ValueError`` when the
    template names an unknown field, has unbalanced braces, or does not give an http(s) URL."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"bad URL template {template!r}: {exc}") from None
    unknown = sorted(set(names) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown placeholder(s) {unknown} in {template!r}")
    if names:
        url = template.format(**{name: quote(fields.get(name, ""), safe="") for name in FIELDS})
    else:
        query = urlencode({name: fields.get(name, "") for name in FIELDS})
        base, _, fragment = template.partition("#")
        url = base + ("&" if "?" in base else "?") + query + (f"#{fragment}" if fragment else "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{template!r} does not give an http(s) URL")
    return url
