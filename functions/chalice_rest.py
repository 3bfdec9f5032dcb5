"""The Chalice glue of ``vkyc.api``: every endpoint an app serves becomes a Chalice route whose view
hands the request to ``RestApi.handle`` and returns its answer. Nothing else here decides anything.

The routes are registered at import from ``vkyc.api.route_table`` (names, methods, paths: no models);
the app's ``RestApi`` (its endpoints, their pydantic models, the services) is built by the accessor the
app gives, at the first request that needs it: a cold start pays for Chalice, not for every model.

Routes accept every content type (``*/*``): Chalice would otherwise answer a wrong ``Content-Type``
with its own 415 before our code runs; the layer checks it and answers the catalogue's
``UNSUPPORTED_MEDIA_TYPE``. A middleware rewrites the errors Chalice still answers by itself (a method
the path does not have, an exception outside the layer) into catalogue bodies. The source address is
API Gateway's ``requestContext.identity.sourceIp``, never ``X-Forwarded-For`` (any client can write
that header).

Cross-origin pages: when ``VKYC_WEB_ORIGIN`` names the pages' origin (a deployment serves them from
CloudFront, the API from API Gateway), every answer carries ``Access-Control-Allow-Origin`` for it and
each path answers the browser's preflight (``OPTIONS``) itself; unset (locally the pages and the API
share one origin), there is no CORS at all.

A streamed answer (CSV) is read to its end here: API Gateway's Lambda proxy integration takes one
buffered body (at most 6 MB), so what streams is the generation, row by row from the index pages, not
the transfer. A failure while generating becomes the catalogue error, as before the first row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Response
from chalice.app import Request

from vkyc.api.route_table import ROUTES

if TYPE_CHECKING:
    from vkyc.api.routes import RestApi, RestRequest, RestResponse

ANY_CONTENT_TYPE = ["*/*"]
# Chalice's own error bodies ({"Code": ..., "Message": ...}) by status, as catalogue codes.
CHALICE_ERRORS = {405: "METHOD_NOT_ALLOWED", 415: "UNSUPPORTED_MEDIA_TYPE", 500: "INTERNAL_ERROR"}
WEB_ORIGIN = "VKYC_WEB_ORIGIN"  # vkyc.config.WEB_ORIGIN
PREFLIGHT_MAX_AGE_S = 600


def mount(app: Chalice, names: Iterable[str], api: Callable[[], RestApi]) -> None:
    """Serve the endpoints ``names`` on ``app``; ``api()`` (called at each request: cache it) binds
    each of them to its handler."""
    origin = os.environ.get(WEB_ORIGIN, "").strip()
    methods: dict[str, list[str]] = {}
    for name in names:
        method, path = ROUTES[name]
        app.route(path, methods=[method], content_types=ANY_CONTENT_TYPE, name=name)(_view(app, api, name))
        methods.setdefault(path, []).append(method)
    if origin:
        for path, allowed in methods.items():
            app.route(path, methods=["OPTIONS"], name="preflight_" + re.sub(r"\W+", "_", path).strip("_"))(
                _preflight(origin, ", ".join(sorted({*allowed, "OPTIONS"})))
            )

    @app.middleware("http")
    def catalogue_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
        response = get_response(event)
        body = response.body
        if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "code" not in body:
            from vkyc.api.routes import RestResponse, error_response
            from vkyc.protocol.errors import ProtocolError

            code = CHALICE_ERRORS.get(response.status_code, "INTERNAL_ERROR")
            answer = error_response(ProtocolError(code))
            allow = {k: str(v) for k, v in response.headers.items() if k.lower() == "allow"}
            response = _response(RestResponse(answer.status, answer.body, {**answer.headers, **allow}))
        if origin:
            response.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
        return response


def _preflight(origin: str, methods: str) -> Callable[..., Response]:
    def preflight(**_: Any) -> Response:
        return Response(
            body="",
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": methods,
                # If-Match: the admin console's changes carry the ETag they were read with.
                "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Api-Key, If-Match",
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
                "Vary": "Origin",
            },
        )

    return preflight


def rest_request(request: Request, path_params: dict[str, str]) -> RestRequest:
    from vkyc.api.routes import RestRequest

    identity = (request.context or {}).get("identity") or {}
    query = request.query_params
    body = request.raw_body
    return RestRequest(
        method=request.method,
        path_params=path_params,
        query={name: query.getlist(name) for name in query} if query else {},
        headers={name.lower(): value for name, value in request.headers.items()},
        body=(body.encode() if isinstance(body, str) else body) or None,
        source_ip=str(identity.get("sourceIp") or ""),
    )


def _view(app: Chalice, api: Callable[[], RestApi], name: str) -> Callable[..., Response]:
    def view(**path_params: Any) -> Response:
        request = app.current_request
        assert request is not None, "only called inside a REST route"
        rest_api = api()
        answer = rest_api.handle(name, rest_request(request, {k: str(v) for k, v in path_params.items()}))
        if answer.chunks is not None:
            try:
                text = "".join(answer.chunks)
            except Exception as exc:
                from vkyc.api.routes import error_response

                return _response(error_response(exc, rest_api.routes[name][0]))
            return Response(
                body=text, status_code=answer.status, headers=dict[str, str | list[str]](answer.headers)
            )
        return _response(answer)

    view.__name__ = name
    return view


def _response(answer: RestResponse) -> Response:
    return Response(
        body=answer.body,
        status_code=answer.status,
        headers={"Content-Type": "application/json", **answer.headers},
    )
