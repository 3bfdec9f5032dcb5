"""The little of HTTP/1.1 the emulator needs: request heads, bodies by Content-Length, responses."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

MAX_HEAD_BYTES = 16 * 1024


class BadRequest(Exception):
    pass


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    _lower: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name, value in self.headers:
            key = name.lower()
            self._lower[key] = f"{self._lower[key]},{value}" if key in self._lower else value

    def header(self, name: str, default: str = "") -> str:
        return self._lower.get(name.lower(), default)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def keep_alive(self) -> bool:
        connection = self.header("connection").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


async def read_request(reader: asyncio.StreamReader, max_body: int) -> Request | None:
    """Read one request; None when the peer closed before sending anything."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise BadRequest("connection closed mid-request") from None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    if len(head) > MAX_HEAD_BYTES:
        raise BadRequest("request head too large")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"malformed request line {lines[0][:80]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    request = Request(parts[0], parts[1], parts[2], headers)
    if request.header("transfer-encoding"):
        raise BadRequest("chunked request bodies are not supported; send Content-Length")
    length_text = request.header("content-length", "0")
    if not length_text.isdigit():
        raise BadRequest("bad Content-Length")
    length = int(length_text)
    if length > max_body:
        raise PayloadTooLarge(length)
    if length:
        request.body = await reader.readexactly(length)
    return request


class PayloadTooLarge(Exception):
    def __init__(self, length: int) -> None:
        super().__init__(f"body of {length} bytes")
        self.length = length


def response(
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    keep_alive: bool = True,
) -> bytes:
    reason = HTTPStatus(status).phrase
    all_headers = {"Content-Length": str(len(body)), "Connection": "keep-alive" if keep_alive else "close"}
    all_headers.update(headers or {})
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in all_headers.items())
    return head.encode("latin-1") + b"\r\n" + body


def json_response(
    status: int, payload: object, headers: dict[str, str] | None = None, keep_alive: bool = True
) -> bytes:
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return response(status, json.dumps(payload).encode(), all_headers, keep_alive)
