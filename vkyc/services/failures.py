"""Any failure of a use case as the catalogue error a client is told: the one mapping.

``as_protocol_error`` turns what a use case or the layers under it may raise into a ``ProtocolError``:
a catalogue error as is; pydantic's ``ValidationError`` as ``BAD_MESSAGE`` naming the field; a domain
refusal (``NotEligible``, ``IllegalTransition``, ``DecisionRefused``: any ``DomainError`` whose code is
in the catalogue) or a lost race (``TransitionConflict``) as its code; DynamoDB or S3 unreachable,
throttling or missing (a table, the bucket) as ``SERVICE_UNAVAILABLE``;
anything else as ``INTERNAL_ERROR`` (the caller logs it: it is a bug). REST answers it as
``{code, message}`` (``vkyc.api.routes.error_response``); the WebSocket as the ``error`` message
``error_message`` builds, for a reply or a push.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from pydantic import ValidationError

from vkyc.domain.machine import DomainError
from vkyc.protocol.errors import CATALOGUE, ProtocolError
from vkyc.protocol.messages import Error
from vkyc.repositories.errors import TransitionConflict

# AWS error codes that mean "the service, not the request": retrying later may work.
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalFailure",
        "SlowDown",
        "ResourceNotFoundException",  # a table that is not there: a deployment fault, not the client's
        "NoSuchBucket",
    }
)


def describe_validation(exc: ValidationError, what: str = "message") -> str:
    """The first problem, naming its field (e.g. ``seq: Input should be greater than or equal to 1``)."""
    errors = exc.errors()
    where = ".".join(str(part) for part in errors[0]["loc"]) or what
    more = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {errors[0]['msg']}{more}"


def unavailable_reason(exc: BaseException) -> str | None:
    """Why ``exc`` means an AWS dependency is out of reach (e.g. ``dynamodb: EndpointConnectionError``),
    or None when it does not. Looks through the exception's causes (PynamoDB wraps botocore's)."""
    for cause in _chain(exc):
        if isinstance(cause, BotoConnectionError | HTTPClientError):
            return type(cause).__name__
        if isinstance(cause, ClientError):
            code = str(cause.response.get("Error", {}).get("Code", ""))
            status = int(cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in UNAVAILABLE_CODES or status >= 500:
                return code or f"HTTP {status}"
    return None


def as_protocol_error(exc: BaseException) -> ProtocolError:
    """The catalogue error a client is told for ``exc`` (``INTERNAL_ERROR`` for a bug)."""
    if isinstance(exc, ProtocolError):
        return exc
    if isinstance(exc, ValidationError):
        return ProtocolError("BAD_MESSAGE", describe_validation(exc))
    if isinstance(exc, DomainError) and exc.code in CATALOGUE:  # an eligibility refusal, an illegal move
        return ProtocolError(exc.code, str(exc))
    if isinstance(exc, TransitionConflict):
        return ProtocolError("STATE_CONFLICT", str(exc))
    reason = unavailable_reason(exc)
    if reason is not None:
        return ProtocolError("SERVICE_UNAVAILABLE", f"({reason})")
    return ProtocolError("INTERNAL_ERROR")


def error_message(error: ProtocolError, request_id: str | None = None) -> dict[str, Any]:
    """The WebSocket ``error`` message of ``error``: the reply to ``request_id``, or a push (None)."""
    return Error(
        code=error.code, message=error.message, request_id=request_id, call_id=error.call_id
    ).model_dump(mode="json")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        cause = getattr(current, "cause", None)
        todo += [current.__cause__, current.__context__, cause if isinstance(cause, BaseException) else None]
