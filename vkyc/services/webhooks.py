"""The integrator's webhook subscriptions and their delivery log (``/v1/webhooks``): subscribe a URL to
event types (the secret is shown once), change, pause, resume, delete, rotate the secret, read every
delivery and its attempts, and send one again.

A subscription of another unit answers ``WEBHOOK_NOT_FOUND`` as one that does not exist. A URL must be
public HTTPS (``vkyc.domain.webhooks.check_url``). Sending is ``vkyc.services.webhook_delivery``'s; what
becomes an event is ``vkyc.services.webhook_fanout``'s.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from vkyc import env
from vkyc.domain.webhooks import EventType, UrlRefused, check_url
from vkyc.protocol import v1
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.webhook_signing import new_secret
from vkyc.repositories import webhooks as repo
from vkyc.repositories.tables import WebhookDelivery, WebhookSubscription
from vkyc.services.integrator_auth import Integrator
from vkyc.services.integrator_reads import iso
from vkyc.services.ports import Clock, utc_now

MAX_SUBSCRIPTIONS = 10
ROTATION_OVERLAP = timedelta(hours=24)
DELIVER = "deliver"  # the integrations queue's job kind of a delivery attempt
REDELIVERABLE = ("dead", "held", "delivered", "cancelled", "retrying", "pending")


class Jobs(Protocol):
    def send(self, kind: str, payload: dict[str, Any], delay_s: int = 0) -> None: ...


def webhook_view(item: WebhookSubscription) -> v1.Webhook:
    return v1.Webhook(
        webhook_id=item.webhook_id,
        url=item.url,
        events=sorted(EventType(e) for e in item.events or ()),
        description=item.description,
        status="paused" if item.status == "paused" else "active",
        paused_at=iso(item.paused_at),
        paused_reason=item.paused_reason,
        failing_since=iso(item.failing_since),
        created_at=iso(item.created_at) or "",
        updated_at=iso(item.updated_at) or "",
        version=int(item.version or 1),
    )


def delivery_view(item: WebhookDelivery) -> v1.Delivery:
    return v1.Delivery(
        delivery_id=item.delivery_id,
        kind="notice" if item.kind == "notice" else "delivery",
        event_id=item.event_id,
        event_type=item.event_type,
        state=item.state,
        attempt_count=int(item.attempt_count or 0),
        last_status=item.last_status,
        created_at=iso(item.created_at) or "",
        next_attempt_at=iso(item.next_attempt_at),
        delivered_at=iso(item.delivered_at),
        notice=item.notice,
    )


def notice(subscription: WebhookSubscription, text: str, at: datetime) -> WebhookDelivery:
    """A line of the subscription's log for its owner (not an event: nothing is sent)."""
    return WebhookDelivery(
        "ntc_" + uuid.uuid4().hex,
        kind="notice",
        webhook_id=subscription.webhook_id,
        unit_id=subscription.unit_id,
        notice=text,
        state="notice",
        created_at=at,
    )


class WebhookService:
    def __init__(
        self,
        jobs: Jobs,
        *,
        allow_private: Callable[[], bool] = env.webhooks_allow_private,
        clock: Clock = utc_now,
        secrets: Callable[[], str] = new_secret,
    ) -> None:
        self.jobs = jobs
        self.allow_private = allow_private
        self.clock = clock
        self.secrets = secrets

    # -- subscriptions ------------------------------------------------------------------------------

    def create(self, integrator: Integrator, body: v1.WebhookCreate) -> v1.WebhookWithSecret:
        self._check_url(body.url)
        if len(repo.subscriptions_of(integrator.unit_id)) >= MAX_SUBSCRIPTIONS:
            raise ProtocolError("WEBHOOK_LIMIT_REACHED")
        now = self.clock()
        secret = self.secrets()
        item = WebhookSubscription(
            "wh_" + uuid.uuid4().hex,
            unit_id=integrator.unit_id,
            url=body.url,
            events={e.value for e in body.events},
            description=body.description or None,
            status="active",
            secret=secret,
            created_at=now,
            updated_at=now,
            version=1,
        )
        repo.create_subscription(item)
        return v1.WebhookWithSecret(webhook=webhook_view(item), secret=secret)

    def list(self, integrator: Integrator) -> v1.Webhooks:
        found = sorted(repo.subscriptions_of(integrator.unit_id), key=lambda s: s.created_at)
        return v1.Webhooks(webhooks=[webhook_view(item) for item in found])

    def get(self, integrator: Integrator, webhook_id: str) -> v1.Webhook:
        return webhook_view(self.own(integrator, webhook_id))

    def update(self, integrator: Integrator, webhook_id: str, body: v1.WebhookUpdate) -> v1.Webhook:
        item = self.own(integrator, webhook_id)
        changes: dict[str, Any] = {}
        if body.url is not None and body.url != item.url:
            self._check_url(body.url)
            changes["url"] = body.url
        if body.events is not None:
            changes["events"] = {e.value for e in body.events}
        if body.description is not None:
            changes["description"] = body.description or None
        if body.status == "active" and item.status != "active":
            changes.update(status="active", paused_at=None, paused_reason=None, failing_since=None)
        elif body.status == "paused" and item.status != "paused":
            changes.update(status="paused", paused_at=self.clock(), paused_reason="paused by its owner")
        if changes:
            self._update(item, changes)
        return webhook_view(item)

    def delete(self, integrator: Integrator, webhook_id: str) -> v1.WebhookDeleted:
        item = self.own(integrator, webhook_id)
        if not repo.delete_subscription(item):
            raise ProtocolError("STATE_CONFLICT", "The subscription changed meanwhile: read it and retry.")
        return v1.WebhookDeleted(webhook_id=webhook_id, deleted=True)

    def rotate(self, integrator: Integrator, webhook_id: str) -> v1.WebhookWithSecret:
        """A new secret; the old one keeps signing (as a second ``v1``) for ``ROTATION_OVERLAP``."""
        item = self.own(integrator, webhook_id)
        secret = self.secrets()
        now = self.clock()
        self._update(
            item,
            {
                "secret": secret,
                "previous_secret": item.secret,
                "previous_secret_until": now + ROTATION_OVERLAP,
            },
        )
        return v1.WebhookWithSecret(webhook=webhook_view(item), secret=secret)

    def own(self, integrator: Integrator, webhook_id: str) -> WebhookSubscription:
        item = repo.find_subscription(webhook_id)
        if item is None or item.unit_id != integrator.unit_id:
            raise ProtocolError("WEBHOOK_NOT_FOUND")
        return item

    def _update(self, item: WebhookSubscription, changes: dict[str, Any]) -> None:
        try:
            repo.update_subscription(item, changes, self.clock())
        except repo.StaleSubscription:
            raise ProtocolError(
                "STATE_CONFLICT", "The subscription changed meanwhile: read it and retry."
            ) from None

    def _check_url(self, url: str) -> None:
        try:
            check_url(url, allow_private=self.allow_private())
        except UrlRefused as exc:
            raise ProtocolError("WEBHOOK_URL_REFUSED", str(exc)) from None

    # -- the delivery log ----------------------------------------------------------------------------

    def deliveries(self, integrator: Integrator, webhook_id: str, query: v1.DeliveriesQuery) -> v1.Deliveries:
        self.own(integrator, webhook_id)
        try:
            page = repo.deliveries_of(webhook_id, limit=query.limit, cursor=query.cursor)
        except ValueError:
            raise ProtocolError("BAD_MESSAGE", "cursor: not one this list returned.") from None
        return v1.Deliveries(deliveries=[delivery_view(d) for d in page.items], next_cursor=page.cursor)

    def delivery(self, integrator: Integrator, webhook_id: str, delivery_id: str) -> v1.DeliveryDetail:
        item = self._own_delivery(integrator, webhook_id, delivery_id)
        return v1.DeliveryDetail(
            delivery=delivery_view(item),
            attempts=[
                v1.DeliveryAttempt(
                    number=a.number,
                    at=iso(a.at) or "",
                    status_code=a.status_code,
                    latency_ms=a.latency_ms,
                    error=a.error,
                    response_excerpt=a.response_excerpt,
                    redelivery=bool(a.redelivery),
                )
                for a in item.attempts or []
            ],
            event=json.loads(item.body) if item.body else None,
        )

    def redeliver(self, integrator: Integrator, webhook_id: str, delivery_id: str) -> v1.Delivery:
        """Back to ``pending`` and on the queue now, whatever became of it (the same event id)."""
        subscription = self.own(integrator, webhook_id)
        item = self._own_delivery(integrator, webhook_id, delivery_id)
        if subscription.status != "active":
            raise ProtocolError("STATE_CONFLICT", "The subscription is paused: resume it first.")
        if item.kind == "notice":
            raise ProtocolError("DELIVERY_NOT_FOUND", "A notice is not a delivery.")
        if not repo.set_state(item, "pending", only_from=REDELIVERABLE):
            raise ProtocolError("STATE_CONFLICT", "The delivery changed meanwhile: retry.")
        item.state, item.next_attempt_at = "pending", None
        self.jobs.send(DELIVER, {"delivery_id": delivery_id, "webhook_id": webhook_id, "redelivery": True})
        return delivery_view(item)

    def _own_delivery(self, integrator: Integrator, webhook_id: str, delivery_id: str) -> WebhookDelivery:
        self.own(integrator, webhook_id)
        item = repo.find_delivery(delivery_id)
        if item is None or item.webhook_id != webhook_id:
            raise ProtocolError("DELIVERY_NOT_FOUND")
        return item
