"""The integrator API (``/v1``) and its webhooks (issue #12). Thin: the REST layer (``vkyc.api``)
authenticates the unit's API key and validates; one service call answers.

REST (``vkyc.api.integrator_endpoints``, documented in ``docs/openapi.json``): dossier intake
(``PUT /v1/dossiers/{id}``), image upload forms (``POST .../images``), the dossier with its decision and
evidence, calls by id and by filter, webhook subscriptions and their delivery log. Every ``POST`` runs
once per ``Idempotency-Key`` (``vkyc.services.idempotency``).

Streams: changes of ``dossiers``, ``calls`` and ``dossier_log`` become webhook deliveries
(``vkyc.services.webhook_fanout``) on the integrations queue.

Queue (``VKYC_INTEGRATIONS_QUEUE``): ``deliver`` jobs (one signed attempt each, retries re-enqueued:
``vkyc.services.webhook_delivery``), S3's notices of image uploads, and the image checker's verdicts
(``vkyc.services.dossier_intake``). The image check itself runs where OpenCV is (``python -m media_node
check-images``): this function carries no image library.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus

from chalice import Chalice
from chalice.app import DynamoDBEvent, SQSEvent

from functions.chalice_rest import mount
from vkyc import env
from vkyc.config import load_config
from vkyc.once import once

if TYPE_CHECKING:
    from pydantic import BaseModel

    from vkyc.adapters.jobs import JobQueue
    from vkyc.adapters.media_files import MediaFiles
    from vkyc.api.routes import Context, RestApi
    from vkyc.services.dossier_intake import DossierIntakeService
    from vkyc.services.integrator_reads import IntegratorReads
    from vkyc.services.webhook_delivery import WebhookSender
    from vkyc.services.webhook_fanout import WebhookFanout
    from vkyc.services.webhooks import WebhookService

    M = TypeVar("M", bound=BaseModel)

config = load_config("integrations")  # refuses to start without a required setting or secret
app = Chalice(app_name="vkyc-integrations")
log = logging.getLogger("vkyc.integrations")

# The services, the endpoints' models and the tables are imported at the first event that needs them,
# not at import: a cold start pays for Chalice only (docs/benchmarks.md).


@dataclass(frozen=True)
class Services:
    files: MediaFiles
    jobs: JobQueue
    intake: DossierIntakeService
    reads: IntegratorReads
    webhooks: WebhookService
    fanout: WebhookFanout
    sender: WebhookSender


@once
def services() -> Services:
    """This function's services, built once per container."""
    from vkyc.adapters.jobs import JobQueue
    from vkyc.adapters.media_files import MediaFiles
    from vkyc.adapters.webhook_http import WebhookPoster
    from vkyc.services.dossier_intake import DossierIntakeService
    from vkyc.services.eligibility import EligibilityService
    from vkyc.services.integrator_reads import IntegratorReads
    from vkyc.services.webhook_delivery import WebhookSender
    from vkyc.services.webhook_fanout import WebhookFanout
    from vkyc.services.webhooks import WebhookService

    files = MediaFiles()
    jobs = JobQueue(env.integrations_queue_name())
    return Services(
        files=files,
        jobs=jobs,
        intake=DossierIntakeService(files, JobQueue(env.image_check_queue_name())),
        reads=IntegratorReads(files, EligibilityService()),
        webhooks=WebhookService(jobs),
        fanout=WebhookFanout(jobs),
        sender=WebhookSender(jobs, WebhookPoster()),
    )


# -- REST: /v1 -----------------------------------------------------------------------------------------


@once
def rest_api() -> RestApi:
    """The /v1 endpoints bound to their handlers, built at the first request."""
    from vkyc.api import integrator_endpoints as v1_api
    from vkyc.api.routes import RestApi, RestRequest
    from vkyc.protocol import rest, v1
    from vkyc.services.auth import AuthService
    from vkyc.services.credentials import CredentialGuard
    from vkyc.services.idempotency import Idempotency, fingerprint
    from vkyc.services.integrator_auth import Integrator, IntegratorAuth

    keys = IntegratorAuth(CredentialGuard(AuthService()))
    idempotency = Idempotency()
    s = services()

    def integrator(request: RestRequest) -> Integrator:
        authorization, key = request.header("authorization"), request.header("x-api-key")
        return keys.integrator(authorization, key, request.source_ip)

    api = RestApi(authenticate_key=integrator)

    def once(call: Context, answer: type[M], action: Callable[[], M]) -> M:
        """Run a POST once per Idempotency-Key of the caller's unit."""
        body = call.body.model_dump(mode="json") if call.body is not None else None
        request_hash = fingerprint(call.endpoint.name, dict(call.request.path_params), body)
        unit = call.caller.unit_id
        return idempotency.run(unit, call.request.header("idempotency-key"), request_hash, answer, action)

    # -- dossiers

    @api.route(v1_api.DOSSIER_PUT)
    def dossier_put(call: Context) -> v1.DossierV1:
        dossier_id = call.params_as(rest.DossierPath).dossier_id
        stored = s.intake.put(call.caller, dossier_id, call.body_as(v1.DossierIntake))
        return s.reads.dossier_view(stored)

    @api.route(v1_api.DOSSIER_GET)
    def dossier_get(call: Context) -> v1.DossierV1:
        return s.reads.dossier(call.caller, call.params_as(rest.DossierPath).dossier_id)

    @api.route(v1_api.IMAGE_FORMS)
    def image_forms(call: Context) -> v1.ImageForms:
        dossier_id = call.params_as(rest.DossierPath).dossier_id
        body = call.body_as(v1.ImageFormsRequest)
        return once(call, v1.ImageForms, lambda: s.intake.forms(call.caller, dossier_id, body))

    # -- calls

    @api.route(v1_api.CALL_GET)
    def call_get(call: Context) -> v1.CallV1:
        return s.reads.call(call.caller, call.params_as(rest.CallPath).call_id)

    @api.route(v1_api.CALLS_LIST)
    def calls_list(call: Context) -> v1.CallsPage:
        return s.reads.list_calls(call.caller, call.query_as(v1.CallsQuery))

    # -- webhooks

    @api.route(v1_api.WEBHOOK_CREATE)
    def webhook_create(call: Context) -> v1.WebhookWithSecret:
        body = call.body_as(v1.WebhookCreate)
        return once(call, v1.WebhookWithSecret, lambda: s.webhooks.create(call.caller, body))

    @api.route(v1_api.WEBHOOKS_LIST)
    def webhooks_list(call: Context) -> v1.Webhooks:
        return s.webhooks.list(call.caller)

    @api.route(v1_api.WEBHOOK_GET)
    def webhook_get(call: Context) -> v1.Webhook:
        return s.webhooks.get(call.caller, call.params_as(v1.WebhookPath).webhook_id)

    @api.route(v1_api.WEBHOOK_UPDATE)
    def webhook_update(call: Context) -> v1.Webhook:
        webhook_id = call.params_as(v1.WebhookPath).webhook_id
        return s.webhooks.update(call.caller, webhook_id, call.body_as(v1.WebhookUpdate))

    @api.route(v1_api.WEBHOOK_DELETE)
    def webhook_delete(call: Context) -> v1.WebhookDeleted:
        return s.webhooks.delete(call.caller, call.params_as(v1.WebhookPath).webhook_id)

    @api.route(v1_api.WEBHOOK_ROTATE)
    def webhook_rotate(call: Context) -> v1.WebhookWithSecret:
        webhook_id = call.params_as(v1.WebhookPath).webhook_id
        return once(call, v1.WebhookWithSecret, lambda: s.webhooks.rotate(call.caller, webhook_id))

    @api.route(v1_api.DELIVERIES_LIST)
    def deliveries_list(call: Context) -> v1.Deliveries:
        webhook_id = call.params_as(v1.WebhookPath).webhook_id
        return s.webhooks.deliveries(call.caller, webhook_id, call.query_as(v1.DeliveriesQuery))

    @api.route(v1_api.DELIVERY_GET)
    def delivery_get(call: Context) -> v1.DeliveryDetail:
        path = call.params_as(v1.DeliveryPath)
        return s.webhooks.delivery(call.caller, path.webhook_id, path.delivery_id)

    @api.route(v1_api.DELIVERY_REDELIVER)
    def delivery_redeliver(call: Context) -> v1.Delivery:
        path = call.params_as(v1.DeliveryPath)
        return once(
            call, v1.Delivery, lambda: s.webhooks.redeliver(call.caller, path.webhook_id, path.delivery_id)
        )

    return api


mount(
    app,
    (
        "v1_dossier_put",
        "v1_dossier_get",
        "v1_image_forms",
        "v1_call_get",
        "v1_calls_list",
        "v1_webhook_create",
        "v1_webhooks_list",
        "v1_webhook_get",
        "v1_webhook_update",
        "v1_webhook_delete",
        "v1_webhook_rotate_secret",
        "v1_deliveries_list",
        "v1_delivery_get",
        "v1_delivery_redeliver",
    ),
    rest_api,
)


# -- streams: webhook events ---------------------------------------------------------------------------


def _stream(table: str) -> str:
    return os.environ.get(env.stream_arn_variable(table), f"arn:aws:dynamodb:::table/{table}/stream/unset")


def _images(event: DynamoDBEvent) -> list[dict[str, Any]]:
    return [{"NewImage": r.new_image, "OldImage": r.old_image} for r in event]


@app.on_dynamodb_record(stream_arn=_stream("dossiers"), batch_size=25, starting_position="LATEST")
def dossier_changes(event: DynamoDBEvent) -> None:
    services().fanout.records("dossiers", _images(event))


@app.on_dynamodb_record(stream_arn=_stream("calls"), batch_size=25, starting_position="LATEST")
def call_changes(event: DynamoDBEvent) -> None:
    services().fanout.records("calls", _images(event))


@app.on_dynamodb_record(stream_arn=_stream("dossier_log"), batch_size=25, starting_position="LATEST")
def dossier_log_changes(event: DynamoDBEvent) -> None:
    services().fanout.records("dossier_log", _images(event))


# -- the integrations queue ----------------------------------------------------------------------------


@app.on_sqs_message(queue=env.integrations_queue_name(), batch_size=5)
def integration_jobs(event: SQSEvent) -> None:
    failed = 0
    for record in event:
        # One record at a time: a failure must not hold up the others. Every job is idempotent, so the
        # batch's redelivery (SQS redelivers it whole) is harmless.
        try:
            _job(json.loads(record.body))
        except Exception:
            log.exception("integration job %s failed", record.body[:200])
            failed += 1
    if failed:
        raise RuntimeError(f"{failed} integration job(s) failed; SQS will retry them")


def _job(body: dict[str, Any]) -> None:
    from vkyc.services.webhooks import DELIVER

    if "Records" in body:  # S3's notice of uploads (ObjectCreated under uploads/)
        for record in body["Records"]:
            if not str(record.get("eventName", "")).startswith("ObjectCreated"):
                continue
            bucket = str((record["s3"].get("bucket") or {}).get("name", ""))
            if bucket != env.bucket_name():
                # The queue's policy trusts S3 for the account, not for one bucket: a notice of another
                # bucket names a key of ours it never wrote (an upload for no dossier is deleted).
                log.error("dropped an upload notice of bucket %r", bucket[:100])
                continue
            obj = record["s3"]["object"]
            services().intake.uploaded(unquote_plus(obj["key"]), int(obj.get("size", 0)))
        return
    kind = body.get("kind")
    if kind == DELIVER:
        services().sender.handle(body)
    elif kind == "image_checked":
        services().intake.checked(body)
    elif body.get("Event") == "s3:TestEvent":
        return  # S3 checks the queue when the notification is configured
    else:
        log.error("unknown integration job %r", body)
