"""Webhook subscriptions and their delivery log (``webhook_subscriptions``, ``webhook_deliveries``): the
only code that knows these tables' keys.

Writes are single conditional requests (no state machine of ours: a subscription and a delivery are
bookkeeping, not a process the domain decides), each conditioned on what makes it safe to repeat or
race: a delivery is created once (``attribute_not_exists``), an attempt is recorded once
(``attempt_count`` as read), a subscription changes only at the version read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.update import Action

from vkyc.repositories.batch import get_many
from vkyc.repositories.errors import RepositoryError
from vkyc.repositories.tables import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

DELIVERY_KEEP = timedelta(days=30)


class StaleSubscription(RepositoryError):
    """The subscription changed (or vanished) since it was read."""


def _conditional_failed(error: PutError | UpdateError | DeleteError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


# -- subscriptions -------------------------------------------------------------------------------------


def find_subscription(webhook_id: str) -> WebhookSubscription | None:
    if not webhook_id:
        return None
    try:
        return WebhookSubscription.get(webhook_id, consistent_read=True)
    except WebhookSubscription.DoesNotExist:
        return None


def subscriptions_of(unit_id: str) -> list[WebhookSubscription]:
    """A unit's subscriptions, without their secrets (GSI ``by_unit``, eventually consistent). One
    Query."""
    return list(WebhookSubscription.by_unit.query(unit_id))


def create_subscription(subscription: WebhookSubscription) -> None:
    """Store a new subscription; ``RepositoryError`` if its id exists. One PutItem."""
    try:
        subscription.save(condition=WebhookSubscription.webhook_id.does_not_exist())
    except PutError as error:
        if _conditional_failed(error):
            raise RepositoryError(f"webhook {subscription.webhook_id} exists") from None
        raise


def update_subscription(subscription: WebhookSubscription, changes: dict[str, Any], at: datetime) -> None:
    """Set (None: remove) ``changes`` on the subscription as read, at its version; the in-memory item
    follows. ``StaleSubscription`` when it changed meanwhile. One UpdateItem."""
    actions: list[Action] = [
        WebhookSubscription.version.set(subscription.version + 1),
        WebhookSubscription.updated_at.set(at),
    ]
    for name, value in changes.items():
        attribute = getattr(WebhookSubscription, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    try:
        subscription.update(actions, condition=WebhookSubscription.version == subscription.version)
    except UpdateError as error:
        if _conditional_failed(error):
            raise StaleSubscription(f"webhook {subscription.webhook_id} changed") from None
        raise


def put_subscription(subscription: WebhookSubscription) -> None:
    """Store the subscription whole, whatever was there (the local stack's demo subscription)."""
    subscription.save()


def delete_subscription(subscription: WebhookSubscription) -> bool:
    """Delete it at the version read; False when it changed or was already gone. One DeleteItem."""
    try:
        subscription.delete(condition=WebhookSubscription.version == subscription.version)
    except DeleteError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def note_failure(webhook_id: str, at: datetime) -> None:
    """The subscription's first failure since its last success (a no-op if one is noted). One
    UpdateItem, no version change: the sender must not make the owner's edits conflict."""
    try:
        WebhookSubscription(webhook_id=webhook_id).update(
            [WebhookSubscription.failing_since.set(at)],
            condition=WebhookSubscription.webhook_id.exists()
            & WebhookSubscription.failing_since.does_not_exist(),
        )
    except UpdateError as error:
        if not _conditional_failed(error):
            raise


def note_success(webhook_id: str) -> None:
    """A delivery succeeded: the subscription is failing no more. One UpdateItem (made only when it was)."""
    try:
        WebhookSubscription(webhook_id=webhook_id).update(
            [WebhookSubscription.failing_since.remove()],
            condition=WebhookSubscription.failing_since.exists(),
        )
    except UpdateError as error:
        if not _conditional_failed(error):
            raise


def pause(webhook_id: str, at: datetime, reason: str) -> bool:
    """Pause an active subscription; False if it was not active (paused already, deleted). One
    UpdateItem."""
    try:
        WebhookSubscription(webhook_id=webhook_id).update(
            [
                WebhookSubscription.status.set("paused"),
                WebhookSubscription.paused_at.set(at),
                WebhookSubscription.paused_reason.set(reason),
                WebhookSubscription.version.add(1),
                WebhookSubscription.updated_at.set(at),
            ],
            condition=WebhookSubscription.status == "active",
        )
    except UpdateError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


# -- deliveries ----------------------------------------------------------------------------------------


def log_key(created_at: datetime, delivery_id: str) -> str:
    return f"{created_at.isoformat()}#{delivery_id}"


def create_delivery(delivery: WebhookDelivery) -> bool:
    """Store a new delivery (or notice); False when it exists already (a repeated fan-out). One PutItem."""
    delivery.log_key = log_key(delivery.created_at, delivery.delivery_id)
    delivery.expires_at = delivery.created_at + DELIVERY_KEEP
    try:
        delivery.save(condition=WebhookDelivery.delivery_id.does_not_exist())
    except PutError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def find_delivery(delivery_id: str) -> WebhookDelivery | None:
    if not delivery_id:
        return None
    try:
        return WebhookDelivery.get(delivery_id, consistent_read=True)
    except WebhookDelivery.DoesNotExist:
        return None


def delivery_with_subscription(
    delivery_id: str, webhook_id: str
) -> tuple[WebhookDelivery | None, WebhookSubscription | None]:
    """Both items, strongly consistent, in one BatchGetItem."""
    found = get_many([WebhookDelivery(delivery_id=delivery_id), WebhookSubscription(webhook_id=webhook_id)])
    delivery, subscription = found
    assert delivery is None or isinstance(delivery, WebhookDelivery)
    assert subscription is None or isinstance(subscription, WebhookSubscription)
    return delivery, subscription


def mark_enqueued(delivery_ids: Sequence[str], at: datetime) -> None:
    """The deliveries' first attempt is on the queue (a repeated fan-out need not enqueue them again)."""
    for delivery_id in delivery_ids:
        WebhookDelivery(delivery_id=delivery_id).update([WebhookDelivery.enqueued_at.set(at)])


@dataclass(frozen=True)
class Outcome:
    """What an attempt changes on its delivery."""

    state: str
    attempt: DeliveryAttempt
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    dead_at: datetime | None = None


def record_attempt(delivery: WebhookDelivery, outcome: Outcome) -> bool:
    """Append the attempt and move the delivery to ``outcome.state``, if nobody recorded an attempt
    since it was read (``attempt_count``); False otherwise (a duplicate of this attempt ran too: at
    least once). One UpdateItem."""
    actions: list[Action] = [
        WebhookDelivery.attempts.set(WebhookDelivery.attempts.append([outcome.attempt])),
        WebhookDelivery.attempt_count.set(delivery.attempt_count + 1),
        WebhookDelivery.state.set(outcome.state),
        WebhookDelivery.last_status.set(outcome.attempt.status_code)
        if outcome.attempt.status_code is not None
        else WebhookDelivery.last_status.remove(),
    ]
    for attribute, value in (
        (WebhookDelivery.next_attempt_at, outcome.next_attempt_at),
        (WebhookDelivery.delivered_at, outcome.delivered_at),
        (WebhookDelivery.dead_at, outcome.dead_at),
    ):
        actions.append(attribute.remove() if value is None else attribute.set(value))
    try:
        delivery.update(actions, condition=WebhookDelivery.attempt_count == delivery.attempt_count)
    except UpdateError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def set_state(delivery: WebhookDelivery, state: str, *, only_from: Sequence[str]) -> bool:
    """Move the delivery to ``state`` if it is in one of ``only_from``; False otherwise. One UpdateItem."""
    try:
        delivery.update(
            [WebhookDelivery.state.set(state), WebhookDelivery.next_attempt_at.remove()],
            condition=WebhookDelivery.state.is_in(*only_from),
        )
    except UpdateError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


@dataclass(frozen=True)
class Page:
    items: list[WebhookDelivery]
    cursor: str | None


def deliveries_of(webhook_id: str, *, limit: int, cursor: str | None, newest_first: bool = True) -> Page:
    """One page of a subscription's log (GSI ``by_webhook``), newest first. ``cursor`` is the opaque
    position a previous page returned; ``ValueError`` when it is not one. One Query."""
    start: dict[str, Any] | None = None
    if cursor:
        start = _decode_cursor(cursor, webhook_id)
    result = WebhookDelivery.by_webhook.query(
        webhook_id, limit=limit, scan_index_forward=not newest_first, last_evaluated_key=start
    )
    items = list(result)
    last = result.last_evaluated_key
    return Page(items, _encode_cursor(last) if last else None)


def _encode_cursor(key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, webhook_id: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
        names = {"delivery_id", "webhook_id", "log_key"}
        if (
            not isinstance(plain, dict)
            or set(plain) != names
            or not all(isinstance(v, str) for v in plain.values())
        ):
            raise ValueError("not a cursor")
    except (ValueError, TypeError) as exc:
        raise ValueError("the cursor is not one this list returned") from exc
    # The position is within this subscription's log only, whatever the cursor says.
    plain["webhook_id"] = webhook_id
    return {name: {"S": value} for name, value in plain.items()}
