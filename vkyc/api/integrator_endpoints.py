"""The integrator API (``/v1``, ``functions/integrations``): every endpoint, declared once and part of
``vkyc.api.endpoints.ALL`` (hence of ``docs/openapi.json``).

Every endpoint takes the unit's API key, as ``Authorization: ApiKey <key>`` or ``x-api-key: <key>``; the
key decides the unit, and another unit's dossier, call or webhook answers as one that does not exist.
Every ``POST`` requires an ``Idempotency-Key``.
"""

from __future__ import annotations

from vkyc.api.routes import Endpoint
from vkyc.protocol import rest, v1

KEY = ("integratorKey", "apiKey")
_NOT_PROBED = "Another unit's {what} answers `{code}`, exactly as one that does not exist."

DOSSIER_PUT = Endpoint(
    name="v1_dossier_put",
    method="PUT",
    path="/v1/dossiers/{dossier_id}",
    summary="Create or update a dossier (seed 002 steps 1-10)",
    description="Creates the dossier in state N, or replaces its fields while it is N or W and no call of "
    "it is live. The same body again changes nothing and answers 200 (the version does not move). A "
    "different body on a decided dossier (A, R, C, D) is `DOSSIER_DECIDED`; during a call, "
    "`CALL_IN_PROGRESS`. Dossier ids are global: prefix yours with your unit; "
    + _NOT_PROBED.format(what="dossier id", code="NOT_FOUND"),
    params=rest.DossierPath,
    body=v1.DossierIntake,
    response=v1.DossierV1,
    api_key=True,
    key_schemes=KEY,
    errors=("NOT_FOUND", "DOSSIER_DECIDED", "CALL_IN_PROGRESS", "STATE_CONFLICT"),
    tags=("integrator: dossiers",),
)
DOSSIER_GET = Endpoint(
    name="v1_dossier_get",
    method="GET",
    path="/v1/dossiers/{dossier_id}",
    summary="A dossier: its state, the images' checks, the decision, its calls and the evidence",
    description="Evidence URLs are pre-signed (15 min): fetch them when you need them. "
    + _NOT_PROBED.format(what="dossier", code="NOT_FOUND"),
    params=rest.DossierPath,
    response=v1.DossierV1,
    api_key=True,
    key_schemes=KEY,
    errors=("NOT_FOUND",),
    tags=("integrator: dossiers",),
)
IMAGE_FORMS = Endpoint(
    name="v1_image_forms",
    method="POST",
    path="/v1/dossiers/{dossier_id}/images",
    summary="Pre-signed S3 upload forms for the ID card front, back and portrait",
    description="Each form uploads one JPEG or PNG (2 KB to 10 MB) straight to S3 within 15 minutes. "
    "After the upload the image is checked (it decodes, its size is plausible, the portrait shows a "
    "face); `GET /v1/dossiers/{id}` shows each image's status within seconds. A rejected upload changes "
    "nothing: the dossier keeps the image it had. A dossier whose images are not all `valid` cannot be "
    "called (`DOSSIER_IMAGES_REQUIRED`). " + _NOT_PROBED.format(what="dossier", code="NOT_FOUND"),
    params=rest.DossierPath,
    body=v1.ImageFormsRequest,
    response=v1.ImageForms,
    api_key=True,
    key_schemes=KEY,
    idempotent=True,
    errors=("NOT_FOUND", "DOSSIER_DECIDED", "CALL_IN_PROGRESS"),
    tags=("integrator: dossiers",),
)
CALL_GET = Endpoint(
    name="v1_call_get",
    method="GET",
    path="/v1/calls/{call_id}",
    summary="One call of the unit: history and media (seed 001)",
    description=_NOT_PROBED.format(what="call", code="CALL_NOT_FOUND"),
    params=rest.CallPath,
    response=v1.CallV1,
    api_key=True,
    key_schemes=KEY,
    errors=("CALL_NOT_FOUND",),
    tags=("integrator: calls",),
)
CALLS_LIST = Endpoint(
    name="v1_calls_list",
    method="GET",
    path="/v1/calls",
    summary="The unit's calls, newest first, by subscriber, dossier and time, a page at a time",
    description="A page may hold fewer than `limit` calls while more follow: go on while `next_cursor` is "
    "not null, with the same filters. A cursor belongs to its filters (another filter set: "
    "`BAD_MESSAGE`).",
    query=v1.CallsQuery,
    response=v1.CallsPage,
    api_key=True,
    key_schemes=KEY,
    tags=("integrator: calls",),
)
WEBHOOK_CREATE = Endpoint(
    name="v1_webhook_create",
    method="POST",
    path="/v1/webhooks",
    summary="Subscribe a URL to events; the answer shows the signing secret, once",
    description="At most 10 subscriptions per unit (`WEBHOOK_LIMIT_REACHED`). The URL must be public "
    "HTTPS (`WEBHOOK_URL_REFUSED`). Deliveries, signatures and retries: docs/webhooks.md.",
    body=v1.WebhookCreate,
    response=v1.WebhookWithSecret,
    api_key=True,
    key_schemes=KEY,
    idempotent=True,
    errors=("WEBHOOK_URL_REFUSED", "WEBHOOK_LIMIT_REACHED"),
    tags=("integrator: webhooks",),
)
WEBHOOKS_LIST = Endpoint(
    name="v1_webhooks_list",
    method="GET",
    path="/v1/webhooks",
    summary="The unit's webhook subscriptions (without their secrets)",
    response=v1.Webhooks,
    api_key=True,
    key_schemes=KEY,
    tags=("integrator: webhooks",),
)
WEBHOOK_GET = Endpoint(
    name="v1_webhook_get",
    method="GET",
    path="/v1/webhooks/{webhook_id}",
    summary="One webhook subscription: its status (paused after failing for a day) and failures",
    description=_NOT_PROBED.format(what="subscription", code="WEBHOOK_NOT_FOUND"),
    params=v1.WebhookPath,
    response=v1.Webhook,
    api_key=True,
    key_schemes=KEY,
    errors=("WEBHOOK_NOT_FOUND",),
    tags=("integrator: webhooks",),
)
WEBHOOK_UPDATE = Endpoint(
    name="v1_webhook_update",
    method="PATCH",
    path="/v1/webhooks/{webhook_id}",
    summary="Change a subscription's URL, events or description; pause or resume it",
    description="Resuming (`status: active`) clears the failure count; deliveries held while it was "
    "paused are listed with state `held` and may be re-delivered.",
    params=v1.WebhookPath,
    body=v1.WebhookUpdate,
    response=v1.Webhook,
    api_key=True,
    key_schemes=KEY,
    errors=("WEBHOOK_NOT_FOUND", "WEBHOOK_URL_REFUSED", "STATE_CONFLICT"),
    tags=("integrator: webhooks",),
)
WEBHOOK_DELETE = Endpoint(
    name="v1_webhook_delete",
    method="DELETE",
    path="/v1/webhooks/{webhook_id}",
    summary="Delete a subscription: nothing more is sent to it",
    params=v1.WebhookPath,
    response=v1.WebhookDeleted,
    api_key=True,
    key_schemes=KEY,
    errors=("WEBHOOK_NOT_FOUND", "STATE_CONFLICT"),
    tags=("integrator: webhooks",),
)
WEBHOOK_ROTATE = Endpoint(
    name="v1_webhook_rotate_secret",
    method="POST",
    path="/v1/webhooks/{webhook_id}/secret",
    summary="A new signing secret, shown once; the old one keeps signing too for 24 h",
    description="During those 24 h each delivery carries two `v1` signatures (the new secret's first), "
    "so receivers can switch without losing a delivery.",
    params=v1.WebhookPath,
    response=v1.WebhookWithSecret,
    api_key=True,
    key_schemes=KEY,
    idempotent=True,
    errors=("WEBHOOK_NOT_FOUND", "STATE_CONFLICT"),
    tags=("integrator: webhooks",),
)
DELIVERIES_LIST = Endpoint(
    name="v1_deliveries_list",
    method="GET",
    path="/v1/webhooks/{webhook_id}/deliveries",
    summary="A subscription's delivery log, newest first: each event, its state and attempts",
    description="Also holds the notices the sender writes for you (`kind: notice`), such as the "
    "subscription being paused after failing for a day. Kept 30 days.",
    params=v1.WebhookPath,
    query=v1.DeliveriesQuery,
    response=v1.Deliveries,
    api_key=True,
    key_schemes=KEY,
    errors=("WEBHOOK_NOT_FOUND",),
    tags=("integrator: webhooks",),
)
DELIVERY_GET = Endpoint(
    name="v1_delivery_get",
    method="GET",
    path="/v1/webhooks/{webhook_id}/deliveries/{delivery_id}",
    summary="One delivery: the event sent and every attempt (status code, latency, error)",
    params=v1.DeliveryPath,
    response=v1.DeliveryDetail,
    api_key=True,
    key_schemes=KEY,
    errors=("WEBHOOK_NOT_FOUND", "DELIVERY_NOT_FOUND"),
    tags=("integrator: webhooks",),
)
DELIVERY_REDELIVER = Endpoint(
    name="v1_delivery_redeliver",
    method="POST",
    path="/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    summary="Send a delivery again now (dead, held or delivered), with the same event id",
    description="The delivery is attempted again at once, then retried as a new one if it fails. The "
    "subscription must be active (resume it first).",
    params=v1.DeliveryPath,
    response=v1.Delivery,
    api_key=True,
    key_schemes=KEY,
    idempotent=True,
    errors=("WEBHOOK_NOT_FOUND", "DELIVERY_NOT_FOUND", "STATE_CONFLICT"),
    tags=("integrator: webhooks",),
)

V1 = (
    DOSSIER_PUT,
    DOSSIER_GET,
    IMAGE_FORMS,
    CALL_GET,
    CALLS_LIST,
    WEBHOOK_CREATE,
    WEBHOOKS_LIST,
    WEBHOOK_GET,
    WEBHOOK_UPDATE,
    WEBHOOK_DELETE,
    WEBHOOK_ROTATE,
    DELIVERIES_LIST,
    DELIVERY_GET,
    DELIVERY_REDELIVER,
)
