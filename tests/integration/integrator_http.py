"""Plain-HTTP helpers for the integrator API tests (``urllib`` only, as an integrator without our SDK
would write them): a ``/v1`` client, the multipart upload of a pre-signed S3 form, and a webhook
receiver (a real HTTP server in the test process) whose answers a test scripts: ``ok``, ``500``, a
``hang`` longer than the sender's timeout, and closing its port (connection refused)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class V1:
    """The integrator API with one unit's key (``Authorization: ApiKey``)."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, Any]]:
        sent = dict(headers or {})
        if "Authorization" not in sent and "x-api-key" not in sent:
            sent["Authorization"] = f"ApiKey {key or self.key}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        if method == "POST" and "Idempotency-Key" not in sent:
            sent["Idempotency-Key"] = str(uuid.uuid4())
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        status, answer = self.call(method, path, body, **kwargs)
        assert status == 200, (method, path, status, answer)
        return answer


def upload(form: dict[str, Any], data: bytes, content_type: str = "image/jpeg") -> tuple[int, bytes]:
    """POST ``data`` to S3 with a pre-signed form (multipart/form-data: the fields, then the file)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in form["fields"].items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="picture"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        form["url"],
        data=b"".join(parts),
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def documented_verifier() -> Any:
    """``verify_vkyc_signature`` exactly as docs/webhooks.md's Python snippet defines it."""
    text = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    section = text.split("### Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "docs/webhooks.md has a Python snippet"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    return namespace["verify_vkyc_signature"]
