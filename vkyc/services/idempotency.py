"""``Idempotency-Key`` for every ``POST`` of the integrator API: a retry of a request gets the first
request's answer, and the key can never be spent on another request.

A key is scoped to the unit and kept 24 h. The request is identified by the endpoint, its path
parameters and its validated body in canonical JSON (RFC 8785), so whitespace or key order does not
make a retry a different request. With the key:

* unused: the request runs; a success is kept and is the answer to every retry; a failure frees the
  key (the client may retry the same request with it);
* used by the same request, finished: its answer is given again, nothing runs;
* used by the same request, still running: ``REQUEST_IN_PROGRESS`` (409; a holder silent for
  ``STALE_AFTER`` is presumed dead and the key taken over);
* used by another request: ``IDEMPOTENCY_KEY_REUSED`` (409), and nothing runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from vkyc.protocol.canonical import canonical_json
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories import idempotency
from vkyc.services.ports import Clock, utc_now

M = TypeVar("M", bound=BaseModel)
STALE_AFTER = timedelta(seconds=60)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def fingerprint(endpoint: str, params: dict[str, Any], body: dict[str, Any] | None) -> str:
    """The sha256 (hex) of what identifies a request."""
    return hashlib.sha256(canonical_json({"endpoint": endpoint, "params": params, "body": body})).hexdigest()


class Idempotency:
    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock

    def run(
        self, unit_id: str, key: str | None, request_hash: str, answer: type[M], action: Callable[[], M]
    ) -> M:
        """``action()``'s answer, run at most once per (unit, key) (see the module docstring)."""
        if key is None or not _KEY.fullmatch(key):
            raise ProtocolError("IDEMPOTENCY_KEY_REQUIRED")
        now = self.clock()
        held = idempotency.claim(unit_id, key, request_hash, now, stale_before=now - STALE_AFTER)
        if held is not None:
            if held.request_hash != request_hash:
                raise ProtocolError("IDEMPOTENCY_KEY_REUSED")
            if held.state != "done" or held.response is None:
                raise ProtocolError("REQUEST_IN_PROGRESS")
            return answer.model_validate(held.response)
        try:
            result = action()
        except BaseException:
            idempotency.release(unit_id, key, request_hash)
            raise
        idempotency.complete(unit_id, key, request_hash, result.model_dump(mode="json"))
        return result
