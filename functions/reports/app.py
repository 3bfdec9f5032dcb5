"""Reports, admin and integrator REST API, and the supervisors' live board.

REST (documented in ``docs/openapi.json``; the web client's reads): ``GET /health``, ``GET /units``
(the units with their serving map), and, with ``Authorization: Bearer <token>`` from
``POST /auth/login``: ``GET /me`` (who, status, the page's settings), ``GET /dossiers/{dossier_id}``
(the dossier with pre-signed image URLs), ``GET /calls/{call_id}`` (supervisors: a call's timeline,
snapshots and recording) and ``GET /reports/calls-per-hour`` (supervisors: answered / missed per hour,
service level against its target). Thin: parse → one ``ReportsService`` call → reply; every failure
is a catalogue error ``{"code", "message"}`` with its HTTP status.

Streams: changes of the ``agents`` and ``calls`` tables become ``monitor.agent`` / ``monitor.queue``
pushes to the supervisors watching (``vkyc.services.reports_monitor``), through API Gateway's
``@connections`` of the WebSocket API named by ``VKYC_WS_API_ID`` / ``VKYC_WS_STAGE`` (locally the
stack points this app's ``websocket_api`` at the emulator).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import DynamoDBEvent, WebsocketDisconnectedError

from vkyc import env
from vkyc.adapters.media_files import MediaFiles
from vkyc.adapters.notifier import CallbackNotifier, NoPush, management_api_notifier
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories import units
from vkyc.services.reports import ReportsService
from vkyc.services.reports_monitor import MonitorService

app = Chalice(app_name="vkyc-reports")
log = logging.getLogger("vkyc.reports")

reports = ReportsService(MediaFiles())


def _notifier() -> CallbackNotifier | NoPush:
    return management_api_notifier(app.websocket_api, WebsocketDisconnectedError)


_monitor: MonitorService | None = None


def monitor() -> MonitorService:
    """Built on the first stream batch: by then the stack has pointed ``websocket_api`` somewhere."""
    global _monitor
    if _monitor is None:
        _monitor = MonitorService(_notifier())
    return _monitor


# -- REST ----------------------------------------------------------------------------------------------


def _request() -> Any:
    request = app.current_request
    assert request is not None, "only called inside a REST route"
    return request


def _answer(read: Callable[[str | None], dict[str, Any]]) -> Response:
    """Run one read with the request's Authorization header; a ``ProtocolError`` is its catalogue body."""
    try:
        body = read(_request().headers.get("authorization"))
    except ProtocolError as exc:
        return Response(body={"code": exc.code, "message": exc.message}, status_code=exc.info.http_status)
    return Response(body=body, status_code=200, headers={"Cache-Control": "no-store"})


@app.route("/health")
def health() -> dict[str, Any]:
    return {"status": "ok"}


@app.route("/units")
def list_units() -> dict[str, Any]:
    return {"units": [u.as_dict() for u in units.list_units()]}


@app.route("/me")
def me() -> Response:
    return _answer(reports.me)


@app.route("/dossiers/{dossier_id}")
def dossier(dossier_id: str) -> Response:
    return _answer(lambda auth: reports.dossier(auth, dossier_id))


@app.route("/calls/{call_id}")
def call(call_id: str) -> Response:
    return _answer(lambda auth: reports.call(auth, call_id))


@app.route("/reports/calls-per-hour")
def calls_per_hour() -> Response:
    params = _request().query_params
    return _answer(lambda auth: reports.calls_per_hour(auth, params))


# -- streams: the supervisors' live board --------------------------------------------------------------


@app.on_dynamodb_record(
    stream_arn=os.environ.get(
        env.stream_arn_variable("agents"), "arn:aws:dynamodb:::table/agents/stream/unset"
    ),
    batch_size=25,
    starting_position="LATEST",
)
def agent_changes(event: DynamoDBEvent) -> None:
    monitor().agents_changed([{"NewImage": r.new_image, "OldImage": r.old_image} for r in event])


@app.on_dynamodb_record(
    stream_arn=os.environ.get(
        env.stream_arn_variable("calls"), "arn:aws:dynamodb:::table/calls/stream/unset"
    ),
    batch_size=25,
    starting_position="LATEST",
)
def call_changes(event: DynamoDBEvent) -> None:
    monitor().calls_changed([{"NewImage": r.new_image, "OldImage": r.old_image} for r in event])
