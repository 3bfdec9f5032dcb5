"""Signaling: the WebSocket API of the mobile SDK, agents, supervisors and media nodes, and the REST
endpoints that issue their tokens. Thin: parse → one service call → reply. The protocol is in
``vkyc.protocol`` and ``docs/protocol.md``; errors in ``docs/errors.md``.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING

import boto3
from chalice import Chalice, Response
from chalice.app import SQSEvent, WebsocketDisconnectedError, WebsocketEvent

from functions.chalice_rest import mount
from vkyc import env
from vkyc.config import load_config
from vkyc.once import once

if TYPE_CHECKING:
    from vkyc.adapters.notifier import CallbackNotifier
    from vkyc.adapters.timers import SqsTimers
    from vkyc.api.routes import RestApi
    from vkyc.services.auth import AuthService
    from vkyc.services.limits import ConnectFailures
    from vkyc.wiring import SignalingGraph

config = load_config("signaling")  # refuses to start without a required setting or secret
app = Chalice(app_name="vkyc-signaling")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = boto3.Session()
log = logging.getLogger("vkyc.signaling")

# The service graph (and the pydantic models and PynamoDB tables under it) is built at the first
# event that needs it, not at import: a cold start pays for Chalice and boto3 only (docs/benchmarks.md).


@once
def notifier() -> CallbackNotifier:
    from vkyc.adapters.notifier import CallbackNotifier

    return CallbackNotifier(app.websocket_api.send, app.websocket_api.close, WebsocketDisconnectedError)


@once
def timers_queue() -> SqsTimers:
    from vkyc.adapters.timers import SqsTimers

    return SqsTimers()


@once
def auth() -> AuthService:
    from vkyc.services.auth import AuthService

    return AuthService()


@once
def connect_failures() -> ConnectFailures:
    from vkyc.services.limits import ConnectFailures

    return ConnectFailures()


@once
def graph() -> SignalingGraph:
    """Every use case of this function, built once per container."""
    from vkyc.adapters.media_bucket import MediaBucket
    from vkyc.services.eligibility import EligibilityService
    from vkyc.services.routing import DataRouter
    from vkyc.services.sessions import RENEW_AFTER_S
    from vkyc.wiring import build_signaling

    bucket = MediaBucket()
    return build_signaling(
        notifier(),
        timers_queue(),
        eligibility=EligibilityService(),
        router=DataRouter(),
        objects=bucket,
        evidence_store=bucket,
        auth=auth(),
        renew_after_s=int(os.environ.get("VKYC_RENEW_AFTER_S", RENEW_AFTER_S)),
    )


# -- WebSocket ---------------------------------------------------------------------------------------


@app.on_ws_connect()
def connect(event: WebsocketEvent) -> Response | None:
    raw = event.to_dict()
    query = raw.get("queryStringParameters") or {}
    source = str(((raw.get("requestContext") or {}).get("identity") or {}).get("sourceIp") or "")
    # API Gateway answers any non-2xx $connect with 403 and no body: the code goes to the log.
    if connect_failures().blocked_s(source):
        log.info("refused %s from %s: TOO_MANY_ATTEMPTS", event.connection_id, source)
        return Response(body={"code": "TOO_MANY_ATTEMPTS"}, status_code=403)
    from vkyc.protocol.errors import ProtocolError

    g = graph()
    try:
        g.run(g.sessions.connect(event.connection_id, token=query.get("token"), resume=query.get("resume")))
    except ProtocolError as exc:
        # A resume token of a session that has ended matched its digest: an honest page coming back
        # late, not a guess. Counting it would let a few such pages lock out an office behind one NAT.
        if exc.code != "SESSION_ENDED":
            connect_failures().failed(source)
        log.info("refused %s from %s: %s", event.connection_id, source, exc)
        return Response(body={"code": exc.code}, status_code=403)
    return None


@app.on_ws_message()
def message(event: WebsocketEvent) -> dict[str, object] | None:
    """The reply is this function's answer: the ``$default`` route is two-way (a route response:
    ``infra/template.py``), so API Gateway sends it to the socket without a ``@connections`` request.
    A reply with pushes that must follow it, or before hanging up, is posted instead, in order."""
    outcome = graph().signaling.on_message(event.connection_id, event.body)
    if not outcome.after and not outcome.close_after:
        return {"statusCode": 200, "body": json.dumps(outcome.reply, ensure_ascii=False)}
    notifier().send(event.connection_id, outcome.reply)
    for push in outcome.after:
        notifier().send(event.connection_id, push)
    if outcome.close_after:
        notifier().close(event.connection_id)
    return None


@app.on_ws_disconnect()
def disconnect(event: WebsocketEvent) -> None:
    g = graph()
    g.signaling.forget(event.connection_id)
    g.dispatcher.run(g.sessions.disconnect(event.connection_id))


# -- timers (SQS with DelaySeconds) ---------------------------------------------------------------------


def push_outside_socket_events() -> None:
    """Outside a WebSocket event (a timer, a REST call) Chalice does not know the API's endpoint: tell
    it (``VKYC_WS_API_ID`` / ``VKYC_WS_STAGE``, set at deploy time; locally by the stack)."""
    app.websocket_api.configure_from_api_id(
        os.environ["VKYC_WS_API_ID"], os.environ.get("VKYC_WS_STAGE", "api")
    )


@app.on_sqs_message(queue=env.timer_queue_name(), batch_size=10)
def timers(event: SQSEvent) -> None:
    push_outside_socket_events()
    failed = 0
    for record in event:
        # One record at a time: a failure must not hold up the timers after it. Handlers are
        # idempotent, so the retry of the batch (SQS redelivers it whole) is harmless.
        try:
            graph().fire(json.loads(record.body))
        except Exception:
            log.exception("timer %s failed", record.body[:200])
            if not _retry_soon(record.body):
                failed += 1
    if failed:
        raise RuntimeError(f"{failed} timer(s) failed; SQS will retry them")


TIMER_RETRIES = 4
"""A failed timer (e.g. it kept losing races under load) is sent again after 1, 2, 4 then 8 s before
SQS's own retry (the queue's visibility timeout, 30 s) takes over: a caller must not wait half a
minute for a ring or queue timeout that lost a race."""


def _retry_soon(body: str) -> bool:
    """Send a failed timer again with a short delay; False when its retries are spent (or the body is
    not a timer): then the batch fails and SQS redelivers it, then dead-letters it."""
    try:
        payload = json.loads(body)
        retry = int(payload.get("retry", 0))
        kind = str(payload.pop("kind"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return False
    if retry >= TIMER_RETRIES:
        return False
    try:
        timers_queue().schedule(kind, {**payload, "retry": retry + 1}, 2**retry)
    except Exception:
        log.exception("timer %s could not be sent again", body[:200])
        return False
    return True


# -- REST: tokens ----------------------------------------------------------------------------------------


def _ws_url() -> str:
    return os.environ.get("VKYC_WS_URL", "ws://127.0.0.1:3001")


@once
def rest_api() -> RestApi:
    """The token endpoints bound to their handlers, built at the first request."""
    from vkyc.api import endpoints
    from vkyc.api.routes import Context, RestApi
    from vkyc.protocol import rest
    from vkyc.services.auth import Grant, LoginRequest, MobileTokenRequest, NodeTokenRequest
    from vkyc.services.credentials import CredentialGuard

    guard = CredentialGuard(auth())
    api = RestApi(authenticate=auth().bearer)

    def granted(grant: Grant) -> rest.Grant:
        return rest.Grant.model_validate(grant.as_dict(_ws_url()))

    @api.route(endpoints.MOBILE_TOKEN)
    def mobile_token(call: Context) -> rest.Grant:
        api_key = call.request.header("x-api-key")
        return granted(guard.mobile_token(api_key, call.body_as(MobileTokenRequest), call.source_ip))

    @api.route(endpoints.LOGIN)
    def login(call: Context) -> rest.Grant:
        return granted(guard.login(call.body_as(LoginRequest), call.source_ip))

    @api.route(endpoints.LOGOUT)
    def logout(call: Context) -> rest.LoggedOut:
        push_outside_socket_events()  # the sessions it ends are told, and their sockets closed
        g = graph()
        return rest.LoggedOut(sessions_ended=g.run(g.accounts.logout(call.caller)))

    @api.route(endpoints.NODE_TOKEN)
    def node_token(call: Context) -> rest.Grant:
        return granted(guard.node_token(call.body_as(NodeTokenRequest), call.source_ip))

    return api


mount(app, ("mobile_token", "login", "logout", "node_token"), rest_api)
