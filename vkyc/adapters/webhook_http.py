"""One HTTP POST of a webhook delivery, with what the delivery log records of it.

The receiver's host name is resolved here and every address it resolves to must be public (unless the
deployment allows private ones: ``vkyc.env.webhooks_allow_private``), and the connection goes to the
address that was checked (a second resolution could answer otherwise: DNS rebinding). Redirects are
not followed (a 3xx is a failed attempt: the subscription's URL is the one to fix). At most
``EXCERPT_BYTES`` of the answer are read. Never raises for the receiver's faults: they are outcomes.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from vkyc import env
from vkyc.domain.webhooks import UrlRefused, check_url, is_public

EXCERPT_BYTES = 512
USER_AGENT = "vkyc-webhooks/1"


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no HTTP answer came
    latency_ms: int
    error: str | None  # why it failed (None on a 2xx)
    excerpt: str | None  # the start of the answer's body

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class WebhookPoster:
    """``allow_private`` and ``timeout_s`` are read at each delivery (the environment's, by default:
    ``VKYC_WEBHOOK_ALLOW_PRIVATE``, ``VKYC_WEBHOOK_TIMEOUT_S``, 10 s)."""

    def __init__(
        self,
        *,
        allow_private: Callable[[], bool] = env.webhooks_allow_private,
        timeout_s: Callable[[], float] = lambda: float(os.environ.get("VKYC_WEBHOOK_TIMEOUT_S", "10")),
    ) -> None:
        self._allow_private = allow_private
        self._timeout_s = timeout_s

    @property
    def allow_private(self) -> bool:
        return self._allow_private()

    @property
    def timeout_s(self) -> float:
        return self._timeout_s()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        started = time.monotonic()

        def failed(error: str, status: int | None = None, excerpt: str | None = None) -> PostResult:
            return PostResult(status, int((time.monotonic() - started) * 1000), error, excerpt)

        allow_private, timeout_s = self.allow_private, self.timeout_s
        parts = urlsplit(url)
        try:
            check_url(url, allow_private=allow_private)
            host = parts.hostname or ""
            address = self._address(host, parts.port, allow_private)
        except UrlRefused as exc:
            return failed(f"refused: {exc}")
        except OSError as exc:
            return failed(f"cannot resolve {parts.hostname}: {exc}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_type = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        connection = connection_type(host, parts.port, address, timeout_s)
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "Content-Length": str(len(body)),
                    **headers,
                },
            )
            response = connection.getresponse()
            excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace") or None
            status = response.status
        except TimeoutError:
            return failed(f"timeout after {timeout_s:g} s")
        except ConnectionRefusedError:
            return failed("connection refused")
        except (OSError, http.client.HTTPException) as exc:
            return failed(f"{type(exc).__name__}: {exc}"[:300])
        finally:
            connection.close()
        latency = int((time.monotonic() - started) * 1000)
        if 200 <= status < 300:
            return PostResult(status, latency, None, excerpt)
        why = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        return PostResult(status, latency, why, excerpt)

    @staticmethod
    def _address(host: str, port: int | None, allow_private: bool) -> str:
        """An address of ``host`` deliveries may go to; ``UrlRefused`` if any it resolves to may not."""
        found = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in found]
        if not addresses:
            raise OSError("no address")
        if not allow_private:
            for text in addresses:
                if not is_public(ipaddress.ip_address(text.split("%", 1)[0])):
                    raise UrlRefused(f"{host} resolves to {text}, which is not a public address")
        return addresses[0]
