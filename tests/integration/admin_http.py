"""A plain-HTTP client of the admin API (``/admin/v1``) for the integration tests, as a script of an
operator without our SDK would write it (``urllib`` only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tests.integration.signaling_client import rest


class AdminHttp:
    def __init__(self, base_url: str, username: str = "admin", password: str = "demo-admin-1") -> None:
        self.base_url = base_url
        status, grant = rest(base_url, "/auth/login", {"username": username, "password": password})
        assert status == 200, grant
        self.token = grant["token"]

    def call(
        self, method: str, path: str, body: Any = None, *, if_match: str | None = None, **query: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        url = self.base_url + "/admin/v1" + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if if_match:
            headers["If-Match"] = if_match
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read()), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}"), dict(error.headers)

    def settings(self, unit: int | None = None, **values: Any) -> dict[str, Any]:
        """Set ``values`` in a scope (global without ``unit``), with its current ETag."""
        query = {"unit": unit} if unit is not None else {}
        status, current, _ = self.call("GET", "/settings", **query)
        assert status == 200, current
        status, body, _ = self.call("PATCH", "/settings", {"set": values}, if_match=current["etag"], **query)
        assert status == 200, body
        return body

    def clear(self, unit: int | None, *names: str) -> None:
        query = {"unit": unit} if unit is not None else {}
        status, body, _ = self.call("PATCH", "/settings", {"clear": list(names)}, **query)
        assert status == 200, body
