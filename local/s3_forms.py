"""S3's POST-form policy, enforced locally: moto 5.2 stores whatever a browser-style POST upload sends,
under whatever key its form names, without reading the form's signed policy. The integrator API hands
out pre-signed forms (``POST /v1/dossiers/{id}/images``) whose policy pins the key, the content type
and a size range; AWS refuses anything else, and so does the local stack with this patch.

What is checked, as S3 does: the policy (base64 JSON) is present and not expired; every condition
holds (exact matches ``{"name": value}`` and ``["eq", "$name", value]``, ``["starts-with", "$name",
prefix]``, ``["content-length-range", min, max]`` on the file's size); every form field other than the
file, the policy, the signature fields and ``x-ignore-*`` is covered by a condition. Refusals are S3's
own XML errors (403 ``AccessDenied`` "Invalid according to Policy", 400 ``EntityTooSmall`` /
``EntityTooLarge``), and nothing is stored. Not checked: the signature itself (moto has no real keys).

Replaces ``moto.s3.responses.S3Response._bucket_response_post`` (moto ``WRITTEN_FOR``, the same pin as
``local.moto_patches``); ``apply()`` is idempotent and runs in the moto process (``MotoServer.start``).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from local.moto_patches import WRITTEN_FOR, check_version

check_version()

from moto.s3.responses import S3Response  # noqa: E402

__all__ = ["WRITTEN_FOR", "PolicyRefused", "apply", "check_form"]

_STOCK = S3Response._bucket_response_post
_NOT_CONDITIONED = {"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"}


class PolicyRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{code}: {message}")

    def xml(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{self.message}</Message></Error>"
        )


def check_form(form: dict[str, str], bucket: str, size: int, now: datetime) -> None:
    """Raise ``PolicyRefused`` unless the form's policy allows this upload (see the module docstring).
    ``form`` maps the form's field names (any case) to values; ``size`` is the file's."""
    fields = {name.lower(): value for name, value in form.items()}
    encoded = fields.get("policy")
    if not encoded:
        raise PolicyRefused(403, "AccessDenied", "Bucket POST must contain a field named 'policy'.")
    try:
        policy = json.loads(base64.b64decode(encoded))
        expires = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions = list(policy["conditions"])
    except (ValueError, KeyError, TypeError):
        raise PolicyRefused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if expires <= now:
        raise PolicyRefused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    for condition in conditions:
        if isinstance(condition, dict):
            for name, expected in condition.items():
                _require(values.get(name.lower()) == str(expected), condition)
                covered.add(name.lower())
            continue
        operator, *args = condition
        if operator == "content-length-range":
            low, high = int(args[0]), int(args[1])
            if size < low:
                raise PolicyRefused(
                    400, "EntityTooSmall", "Your proposed upload is smaller than the minimum."
                )
            if size > high:
                raise PolicyRefused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum size.")
            continue
        name = str(args[0]).lstrip("$").lower()
        covered.add(name)
        if operator == "eq":
            _require(values.get(name) == str(args[1]), condition)
        elif operator == "starts-with":
            _require(values.get(name, "").startswith(str(args[1])), condition)
        else:
            raise PolicyRefused(400, "InvalidPolicyDocument", f"Invalid Policy: unknown operator {operator}.")
    extra = [
        name
        for name in fields
        if name not in covered
        and name not in _NOT_CONDITIONED
        and not name.startswith(("x-ignore-", "x-amz-"))
    ]
    if extra:
        raise PolicyRefused(
            403,
            "AccessDenied",
            f"Invalid according to Policy: Extra input fields: {', '.join(sorted(extra))}",
        )


def _require(holds: bool, condition: Any) -> None:
    if not holds:
        raise PolicyRefused(
            403,
            "AccessDenied",
            f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}",
        )


def _checked_post(self: S3Response, request: Any, bucket_name: str) -> Any:
    # moto sets ``path`` with its query string only inside the stock handler; ``is_delete_keys`` reads it.
    self.path = self._get_path(request)
    if self.is_delete_keys():  # POST ?delete (DeleteObjects): not a form upload
        return _STOCK(self, request, bucket_name)
    form = {str(name): str(value) for name, value in (self.form_data or {}).items() if name != "file"}
    body = self.body if isinstance(self.body, bytes) else str(self.body or "").encode("utf-8")
    body = self.raw_body if isinstance(getattr(self, "raw_body", None), bytes) else body
    try:
        check_form(form, bucket_name, len(body), datetime.now(UTC))
    except PolicyRefused as refused:
        return refused.status, {"Content-Type": "application/xml"}, refused.xml()
    return _STOCK(self, request, bucket_name)


def apply() -> None:
    S3Response._bucket_response_post = _checked_post  # type: ignore[method-assign]
