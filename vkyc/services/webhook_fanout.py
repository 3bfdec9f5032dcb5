"""From the tables' change streams to webhook deliveries (``functions/integrations``' stream handlers).

For a batch of stream records of one table: the events they are (``vkyc.domain.webhooks.events_of``),
completed where the changed item lacks something (a decision's reason and time are on its log entry; an
evidence entry's unit is its dossier's), then, for each subscription of the event's unit that takes
that event type, one delivery: created once (its id derives from the event and the subscription, so a
record the stream repeats creates nothing new) and put on the integrations queue for its first attempt
(``vkyc.services.webhook_delivery``). A paused subscription's deliveries are created ``held``: listed,
not sent, re-deliverable once it is resumed.

Requests per event: the unit's subscriptions (one Query per unit and batch), a decision's log entry
(one GetItem) or an evidence entry's dossier (one GetItem), one PutItem per delivery, and one
SendMessageBatch per ten deliveries. A repeated record costs the same and sends its deliveries to the
queue again (at least once: the sender skips what is delivered).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer

from vkyc.domain.webhooks import Event, EventType, events_of, parse_time
from vkyc.protocol.canonical import canonical_json
from vkyc.repositories import webhooks as repo
from vkyc.repositories.call_media import decision_entry
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import WebhookDelivery, WebhookSubscription
from vkyc.services.ports import Clock, utc_now
from vkyc.services.webhooks import DELIVER

log = logging.getLogger("vkyc.webhooks")
_deserializer = TypeDeserializer()


class Jobs(Protocol):
    def send_many(self, kind: str, payloads: list[dict[str, Any]]) -> None: ...


def plain_image(image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stream image (DynamoDB's typed JSON) as Python values; numbers as int where whole."""
    if image is None:
        return None
    plain = {name: _deserializer.deserialize(value) for name, value in image.items()}
    return {name: _number(value) for name, value in plain.items()}


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def delivery_id(event_id: str, webhook_id: str) -> str:
    """The one delivery of an event to a subscription."""
    return "dlv_" + hashlib.sha256(f"{event_id}|{webhook_id}".encode()).hexdigest()[:32]


class WebhookFanout:
    def __init__(
        self,
        jobs: Jobs,
        *,
        clock: Clock = utc_now,
        subscriptions_of: Callable[[str], list[WebhookSubscription]] = repo.subscriptions_of,
    ) -> None:
        self.jobs = jobs
        self.clock = clock
        self.subscriptions_of = subscriptions_of
        self.dossiers = DossierRepository()

    def records(self, table: str, records: Sequence[Mapping[str, Any]]) -> int:
        """Handle one batch of stream records of ``table`` (``{"NewImage", "OldImage"}`` in DynamoDB's
        JSON); returns how many deliveries were put on the queue."""
        events: list[Event] = []
        for record in records:
            events += events_of(
                table, plain_image(record.get("OldImage")), plain_image(record.get("NewImage"))
            )
        if not events:
            return 0
        completed = [e for e in (self._complete(e) for e in events) if e is not None]
        subscriptions: dict[str, list[WebhookSubscription]] = {}
        queued: list[dict[str, Any]] = []
        for event in completed:
            assert event.unit_id is not None
            if event.unit_id not in subscriptions:
                subscriptions[event.unit_id] = self.subscriptions_of(event.unit_id)
            for subscription in subscriptions[event.unit_id]:
                if event.type.value not in (subscription.events or ()):
                    continue
                queued += self._deliver(event, subscription)
        self.jobs.send_many(DELIVER, queued)
        return len(queued)

    def _deliver(self, event: Event, subscription: WebhookSubscription) -> list[dict[str, Any]]:
        held = subscription.status != "active"
        created_at = parse_time(event.occurred_at) or self.clock()
        item = WebhookDelivery(
            delivery_id(event.event_id, subscription.webhook_id),
            kind="delivery",
            webhook_id=subscription.webhook_id,
            unit_id=subscription.unit_id,
            event_id=event.event_id,
            event_type=event.type.value,
            body=canonical_json(event.body()).decode("utf-8"),
            state="held" if held else "pending",
            attempts=[],
            attempt_count=0,
            created_at=created_at,
        )
        created = repo.create_delivery(item)
        if not created:
            log.info(
                "delivery %s of %s exists (a repeated record): queued again", item.delivery_id, event.event_id
            )
        if held:
            return []
        return [{"delivery_id": item.delivery_id, "webhook_id": subscription.webhook_id}]

    def _complete(self, event: Event) -> Event | None:
        """Fill what the changed item does not carry; None if the event is about something gone."""
        if event.type is EventType.DOSSIER_DECIDED:
            entry = decision_entry(event.resource_id, event.version)
            if entry is None:
                return event
            data = {
                **event.data,
                "reason": entry.reason,
                "decided_by": entry.actor,
                "decided_at": _iso(entry.at),
            }
            return replace(event, data=data)
        if event.type is EventType.EVIDENCE_READY and event.unit_id is None:
            dossier = self.dossiers.find(event.resource_id)
            if dossier is None:
                return None
            return replace(event, unit_id=dossier.unit_id)
        return event


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat().replace("+00:00", "Z")
