"""Reading a JSON object from the wire, WebSocket message or REST body alike, with bounded nesting.

``json.loads`` recurses once per level: a body of 3,000 ``[`` raises ``RecursionError`` (an uncoded
500 on REST, a lost socket in a naive router), and a depth just under the interpreter's limit is
still parsed and handed to pydantic. No message of the protocol nests deeper than a few levels, so
anything deeper than ``MAX_DEPTH`` is refused before parsing, with ``BAD_JSON`` naming the limit.

The depth is measured only when the text holds more brackets than ``MAX_DEPTH`` (``str.count`` runs in
C), so ordinary messages pay two counts and nothing else.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vkyc.protocol.errors import ProtocolError

MAX_DEPTH = 32
# A JSON string (brackets inside it do not count) or one bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (brackets inside strings ignored)."""
    depth = deepest = 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_object(text: str | bytes, *, what: str = "message", max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The JSON object in ``text``. Raises ``ProtocolError``: ``BAD_JSON`` (not UTF-8, not JSON, nested
    deeper than ``max_depth``) or ``BAD_MESSAGE`` (JSON, but not an object)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("BAD_JSON", f"The {what} is not UTF-8.") from None
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise ProtocolError("BAD_JSON", f"The {what} nests deeper than {max_depth} levels.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("BAD_JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError("BAD_MESSAGE", f"A {what} is a JSON object.")
    return value
