"""A small declarative REST layer, free of any web framework (``functions/chalice_rest.py`` is the Chalice
glue; a test or another runtime can call ``RestApi.handle`` directly).

Each ``Endpoint`` declares its method and path, its path parameters, query and body models, its answer
model, who may call it (a bearer token of some roles, the integrator API key, or anyone) and the error
codes it may answer beyond those the layer adds itself. ``docs/openapi.json`` is generated from the
declarations (``vkyc.api.openapi``). ``RestApi.handle`` runs one request through the same checks, in
this order, each answering its catalogue code:

1. the body's size (``PAYLOAD_TOO_LARGE``) and content type (``UNSUPPORTED_MEDIA_TYPE``);
2. the bearer token and its role (``AUTH_REQUIRED``, ``TOKEN_INVALID``, ``TOKEN_EXPIRED``,
   ``TOKEN_REVOKED``, ``ACCOUNT_DISABLED``, ``FORBIDDEN_ACTION``), or, for an endpoint of the integrator
   API key when the API has a key check (``authenticate_key``), the key (``AUTH_REQUIRED``,
   ``API_KEY_INVALID``, ``TOO_MANY_ATTEMPTS``);
3. path parameters, query parameters (unknown or repeated ones refused) and the body (``BAD_JSON``,
   ``BAD_MESSAGE`` naming the field);
4. the handler, whose answer must be an instance of the declared model.

Two variants an endpoint may declare:

* ``csv=True``: a request with ``Accept: text/csv`` gets the same data as CSV (content negotiation;
  the handler sees ``Context.wants_csv`` and returns a ``CsvStream``). The answer's ``chunks`` are
  generated row by row while the client (or the glue) reads them: the handler's rows come from an
  iterator (index pages), so memory stays bounded whatever the number of rows. UTF-8 with a byte-order
  mark, so that Excel shows Vietnamese. The checks above all run before the first row.
* ``roles`` together with ``api_key=True``: the integrator's key (``x-api-key`` or
  ``Authorization: ApiKey``) is accepted instead of a bearer token (``authenticate_key``, which returns
  the same kind of caller as ``authenticate``).

Every failure, of the checks or of the handler, goes through ``error_response``, the one place that
turns an exception into the catalogue body ``{code, message}`` with the code's HTTP status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from vkyc.protocol.errors import CATALOGUE, FieldErrors, ProtocolError, RetryLater
from vkyc.protocol.jsontext import parse_object
from vkyc.protocol.messages import Role
from vkyc.protocol.tabular import CsvStream
from vkyc.services.failures import as_protocol_error, field_errors

log = logging.getLogger("vkyc.api")

MAX_JSON_BODY_BYTES = 64 * 1024
JSON = "application/json"
CSV = "text/csv"
ALWAYS = ("INTERNAL_ERROR", "SERVICE_UNAVAILABLE")
BODY_CODES = ("BAD_JSON", "BAD_MESSAGE", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE")
BEARER_CODES = (
    "AUTH_REQUIRED",
    "TOKEN_INVALID",
    "TOKEN_EXPIRED",
    "TOKEN_REVOKED",
    "ACCOUNT_DISABLED",
    "FORBIDDEN_ACTION",
)
KEY_CODES = ("AUTH_REQUIRED", "API_KEY_INVALID", "TOO_MANY_ATTEMPTS")
IDEMPOTENCY_CODES = ("IDEMPOTENCY_KEY_REQUIRED", "IDEMPOTENCY_KEY_REUSED", "REQUEST_IN_PROGRESS")
NO_STORE = {"Cache-Control": "no-store"}
M = TypeVar("M", bound=BaseModel)


class AnswerError(Exception):
    """A handler's answer breaks its declared model: a bug, answered ``INTERNAL_ERROR``."""


@dataclass(frozen=True)
class Endpoint:
    """One operation of the REST API: the contract, not the code that serves it."""

    name: str  # unique: the OpenAPI operationId and the framework's view name
    method: str
    path: str  # with {name} parameters, as API Gateway and Chalice write them
    summary: str
    response: type[BaseModel]
    description: str = ""
    params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    roles: frozenset[Role] | None = None  # set: a bearer token of one of these roles is required
    api_key: bool = False  # the integrator's key: checked by the API's ``authenticate_key``, else the handler
    # How the key may be sent (OpenAPI security schemes): ``apiKey`` is the x-api-key header,
    # ``integratorKey`` the ``Authorization: ApiKey <key>`` header.
    key_schemes: tuple[str, ...] = ("apiKey",)
    idempotent: bool = False  # an ``Idempotency-Key`` header is required (the handler honours it)
    errors: tuple[str, ...] = ()  # codes the handler may answer, beyond those the layer adds
    max_body_bytes: int = MAX_JSON_BODY_BYTES
    tags: tuple[str, ...] = ()
    etag: bool = False  # answers an ``ETag`` header and takes ``If-Match`` (the admin API)
    csv: bool = False  # also answers text/csv (Accept), streamed

    def __post_init__(self) -> None:
        unknown = [code for code in self.errors if code not in CATALOGUE]
        if unknown:
            raise ValueError(f"{self.name}: codes {unknown} are not in the catalogue")

    def codes(self) -> tuple[str, ...]:
        """Every code this endpoint may answer, in catalogue order."""
        codes = set(self.errors) | set(ALWAYS)
        if self.body is not None:
            codes |= set(BODY_CODES)
        if self.params is not None or self.query is not None:
            codes.add("BAD_MESSAGE")
        if self.roles is not None:
            codes |= set(BEARER_CODES)
        if self.api_key:
            codes |= set(KEY_CODES)
        if self.idempotent:
            codes |= set(IDEMPOTENCY_CODES)
        if self.etag:
            codes.add("PRECONDITION_FAILED")
        return tuple(code for code in CATALOGUE if code in codes)


@dataclass(frozen=True)
class RestRequest:
    """One HTTP request as the layer needs it (the glue builds it from the framework's request)."""

    method: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes | None = None
    source_ip: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class RestResponse:
    """``body`` (JSON), or ``chunks``: text generated as it is read (a CSV answer), ``body`` empty."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    chunks: Iterator[str] | None = None


@dataclass(frozen=True)
class Context:
    """What a handler gets: the request, its validated parts, and who the bearer token is."""

    endpoint: Endpoint
    request: RestRequest
    caller: Any = None  # what the API's ``authenticate`` returned (roles endpoints only)
    params: BaseModel | None = None
    query: BaseModel | None = None
    body: BaseModel | None = None
    # Headers the handler adds to a successful answer (e.g. ``ETag``).
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def source_ip(self) -> str:
        return self.request.source_ip

    @property
    def wants_csv(self) -> bool:
        """The endpoint answers CSV and the client asked for it (``Accept: text/csv``)."""
        return self.endpoint.csv and accepts_csv(self.request.header("accept"))

    def body_as(self, model: type[M]) -> M:
        assert isinstance(self.body, model), f"{self.endpoint.name} declares no {model.__name__} body"
        return self.body

    def query_as(self, model: type[M]) -> M:
        assert isinstance(self.query, model), f"{self.endpoint.name} declares no {model.__name__} query"
        return self.query

    def params_as(self, model: type[M]) -> M:
        assert isinstance(self.params, model), f"{self.endpoint.name} declares no {model.__name__} params"
        return self.params


def accepts_csv(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for ``text/csv`` (listed, with a non-zero quality)."""
    for part in (accept or "").split(","):
        kind, *params = (p.strip().lower() for p in part.split(";"))
        if kind == CSV and not any(
            p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params
        ):
            return True
    return False


def presents_key(request: RestRequest) -> bool:
    """Whether a request carries an integrator key rather than a bearer token."""
    authorization = (request.header("authorization") or "").strip().lower()
    return authorization.startswith("apikey ") or (not authorization and bool(request.header("x-api-key")))


Handler = Callable[[Context], BaseModel | CsvStream]
Authenticate = Callable[[str | None, frozenset[Role]], Any]
AuthenticateKey = Callable[[RestRequest], Any]


class RestApi:
    """The endpoints one app serves, each bound to its handler.

    ``authenticate(authorization_header, roles)`` verifies a bearer token for endpoints with ``roles``
    and returns what handlers receive as ``Context.caller``; it raises the catalogue's codes.
    ``authenticate_key(request)`` does the same for the integrator API key of ``api_key`` endpoints
    (without it, such a handler checks the key itself).
    """

    def __init__(
        self, authenticate: Authenticate | None = None, authenticate_key: AuthenticateKey | None = None
    ) -> None:
        self.authenticate = authenticate
        self.authenticate_key = authenticate_key
        self.routes: dict[str, tuple[Endpoint, Handler]] = {}

    def route(self, endpoint: Endpoint) -> Callable[[Handler], Handler]:
        if endpoint.name in self.routes:
            raise ValueError(f"endpoint {endpoint.name} bound twice")
        if endpoint.roles is not None and self.authenticate is None:
            raise ValueError(f"{endpoint.name} needs a bearer token: give the RestApi an authenticate")
        if endpoint.roles is not None and endpoint.api_key and self.authenticate_key is None:
            raise ValueError(f"{endpoint.name} takes an API key: give the RestApi an authenticate_key")

        def bind(handler: Handler) -> Handler:
            self.routes[endpoint.name] = (endpoint, handler)
            return handler

        return bind

    def handle(self, name: str, request: RestRequest) -> RestResponse:
        """Answer one request of endpoint ``name``. Never raises."""
        endpoint, handler = self.routes[name]
        try:
            context = self._context(endpoint, request)
            try:
                answer = handler(context)
            except ValidationError as exc:
                # The client's input was validated above: a model that does not validate now is ours.
                raise AnswerError(f"{endpoint.name} built an invalid model: {exc}") from exc
            if isinstance(answer, CsvStream) and context.wants_csv:
                headers = {
                    **NO_STORE,
                    "Content-Type": f"{CSV}; charset=utf-8",
                    "Content-Disposition": f'attachment; filename="{answer.filename}"',
                }
                return RestResponse(200, {}, headers, chunks=answer.chunks())
            if not isinstance(answer, endpoint.response):
                raise AnswerError(
                    f"{endpoint.name} answered {type(answer).__name__}, not {endpoint.response}"
                )
            return RestResponse(
                200, answer.model_dump(mode="json", by_alias=True), {**NO_STORE, **context.response_headers}
            )
        except Exception as exc:
            return error_response(exc, endpoint)

    def _context(self, endpoint: Endpoint, request: RestRequest) -> Context:
        body_bytes = request.body or b""
        if len(body_bytes) > endpoint.max_body_bytes:
            limit = endpoint.max_body_bytes
            raise ProtocolError("PAYLOAD_TOO_LARGE", f"This endpoint takes at most {limit} bytes.")
        if endpoint.body is not None:
            given = (request.header("content-type") or JSON).split(";", 1)[0].strip().lower()
            if given != JSON:
                raise ProtocolError("UNSUPPORTED_MEDIA_TYPE", f"Got {given[:64]!r}; send {JSON}.")
        caller = None
        if endpoint.roles is not None and endpoint.api_key and presents_key(request):
            assert self.authenticate_key is not None
            caller = self.authenticate_key(request)
        elif endpoint.roles is not None:
            assert self.authenticate is not None
            caller = self.authenticate(request.header("authorization"), endpoint.roles)
        elif endpoint.api_key and self.authenticate_key is not None:
            caller = self.authenticate_key(request)
        params = _validated(endpoint.params, dict(request.path_params), "path")
        query = _validated(endpoint.query, _single_values(request.query), "query")
        if endpoint.query is None and request.query:
            name = sorted(request.query)[0]
            raise ProtocolError("BAD_MESSAGE", f"{name[:64]}: unknown parameter; this endpoint takes none.")
        body = None
        if endpoint.body is not None:
            body = _validated(endpoint.body, parse_object(body_bytes, what="body"), "body")
        return Context(endpoint, request, caller, params, query, body)


def error_response(exc: BaseException, endpoint: Endpoint | None = None) -> RestResponse:
    """The catalogue answer to ``exc``: ``{code, message}`` under the code's HTTP status, ``Retry-After``
    for a refusal that ends by itself. A bug (``INTERNAL_ERROR``) is logged with its traceback."""
    error = as_protocol_error(exc)
    where = endpoint.name if endpoint is not None else "rest"
    if error.code == "INTERNAL_ERROR" and error is not exc:
        log.error("%s failed", where, exc_info=exc)
    elif error.code == "SERVICE_UNAVAILABLE":
        log.warning("%s: a dependency is unavailable: %s", where, error.message, exc_info=exc)
    if endpoint is not None and error.code not in endpoint.codes():
        log.error("%s answered %s, which it does not declare (docs/openapi.json)", where, error.code)
    headers = dict(NO_STORE)
    if isinstance(error, RetryLater):
        headers["Retry-After"] = str(error.retry_after_s)
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if isinstance(error, FieldErrors):
        body["fields"] = error.fields
    return RestResponse(error.info.http_status, body, headers)


def _single_values(query: Mapping[str, list[str]]) -> dict[str, str]:
    for name, values in query.items():
        if len(values) > 1:
            raise ProtocolError("BAD_MESSAGE", f"{name[:64]}: given {len(values)} times; give it once.")
    return {name: values[0] for name, values in query.items() if values}


def _validated(model: type[M] | None, data: dict[str, Any], what: str) -> M | None:
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FieldErrors("BAD_MESSAGE", field_errors(exc, what)) from None
