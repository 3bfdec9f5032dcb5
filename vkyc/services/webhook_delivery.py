"""Sending webhook deliveries (the integrations queue's ``deliver`` jobs): one attempt per job, signed,
recorded, and retried through the queue, never by a Lambda that waits.

One job ``{delivery_id, webhook_id[, not_before][, redelivery]}``:

1. ``not_before`` still ahead (a backoff longer than SQS's 15-minute delay): the job is sent again with
   the rest of the wait, at most 15 minutes (a "hop": one SendMessage, no DynamoDB request);
2. the delivery and its subscription are read together (one BatchGetItem); a delivery already
   delivered or given up is left alone (a duplicate job), one whose subscription is gone is
   ``cancelled``, one whose subscription is paused is ``held``;
3. the body is POSTed, signed ``Vkyc-Signature: t=<now>,v1=<hmac>`` (``vkyc.protocol.webhook_signing``;
   two ``v1`` while a secret rotates), with ``Vkyc-Event-Id``, ``Vkyc-Event-Type``, ``Vkyc-Delivery-Id``
   and ``Vkyc-Attempt``;
4. the attempt (status code, latency, error, the start of the answer) is appended to the delivery's log
   (one UpdateItem, conditioned on the attempt count read: a duplicate job that raced this one records
   nothing more);
5. a 2xx: ``delivered`` (and the subscription failing no more). Anything else: ``retrying`` with the
   next attempt's time (``vkyc.domain.webhooks.RetryPolicy``: exponential with jitter, for at least
   24 h) and a delayed job; past the retry window: ``dead``, and the job goes to the dead-letter queue
   (re-deliverable through the API). The subscription's first failure since its last success is noted;
   failing ``pause_after_s`` (a day) without a success pauses it, and a notice in its log tells its owner.

A re-delivery through the API (``redelivery``) starts a new run: its failures count, and its retry
window runs, from the re-delivery.
"""

from __future__ import annotations

import logging
import math
import os
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from vkyc.domain.webhooks import RetryPolicy
from vkyc.protocol import webhook_signing
from vkyc.repositories import webhooks as repo
from vkyc.repositories.tables import DeliveryAttempt, WebhookDelivery, WebhookSubscription
from vkyc.services.ports import Clock, as_utc, utc_now
from vkyc.services.webhooks import DELIVER, notice

log = logging.getLogger("vkyc.webhooks")

SQS_MAX_DELAY_S = 900
OPEN_STATES = ("pending", "retrying")
DEFAULT_POLICY = RetryPolicy()
POLICY_VARIABLE = "VKYC_WEBHOOK_RETRY"


class Jobs(Protocol):
    def send(self, kind: str, payload: dict[str, Any], delay_s: int = 0) -> None: ...

    def dead_letter(self, kind: str, payload: dict[str, Any]) -> None: ...


class PostResult(Protocol):
    @property
    def status_code(self) -> int | None: ...

    @property
    def latency_ms(self) -> int: ...

    @property
    def error(self) -> str | None: ...

    @property
    def excerpt(self) -> str | None: ...

    @property
    def ok(self) -> bool: ...


class Poster(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult: ...


def configured_policy(environ: dict[str, str] | None = None) -> RetryPolicy:
    """``VKYC_WEBHOOK_RETRY`` (``first,max,retry_for,pause_after`` seconds; tests shorten it), else the
    shipped policy (10 s, 1 h, 24 h, 24 h). A value that does not parse is the shipped policy, logged."""
    text = (environ if environ is not None else os.environ).get(POLICY_VARIABLE, "").strip()
    if not text:
        return DEFAULT_POLICY
    try:
        return RetryPolicy.parse(text)
    except ValueError:
        log.error("%s=%r does not parse: the shipped policy applies", POLICY_VARIABLE, text)
        return DEFAULT_POLICY


class WebhookSender:
    def __init__(
        self,
        jobs: Jobs,
        poster: Poster,
        *,
        clock: Clock = utc_now,
        jitter: Callable[[], float] = random.random,
        policy: Callable[[], RetryPolicy] = configured_policy,
    ) -> None:
        self.jobs = jobs
        self.poster = poster
        self.clock = clock
        self.jitter = jitter
        self.policy = policy

    def handle(self, job: dict[str, Any]) -> str:
        """One ``deliver`` job (see the module docstring); returns what became of it (for logs and
        tests): ``hop``, ``skipped``, ``cancelled``, ``held``, ``delivered``, ``retrying``, ``dead``."""
        now = self.clock()
        not_before = job.get("not_before")
        if not_before is not None and float(not_before) - now.timestamp() >= 1:
            return self._hop(job, float(not_before) - now.timestamp())
        delivery, subscription = repo.delivery_with_subscription(
            str(job["delivery_id"]), str(job["webhook_id"])
        )
        if delivery is None or delivery.kind == "notice" or delivery.state not in OPEN_STATES:
            return "skipped"
        if delivery.next_attempt_at is not None and not job.get("redelivery"):
            wait = (as_utc(delivery.next_attempt_at) - now).total_seconds()
            if wait >= 1:  # an early duplicate of a job: the delivery's own time rules
                return self._hop({**job, "not_before": as_utc(delivery.next_attempt_at).timestamp()}, wait)
        if subscription is None:
            repo.set_state(delivery, "cancelled", only_from=OPEN_STATES)
            return "cancelled"
        if subscription.status != "active":
            repo.set_state(delivery, "held", only_from=OPEN_STATES)
            return "held"
        return self._attempt(delivery, subscription, now, redelivery=bool(job.get("redelivery")))

    def _hop(self, job: dict[str, Any], wait_s: float) -> str:
        self.jobs.send(DELIVER, job, min(SQS_MAX_DELAY_S, max(1, math.ceil(wait_s))))
        return "hop"

    def _attempt(
        self, delivery: WebhookDelivery, subscription: WebhookSubscription, now: datetime, *, redelivery: bool
    ) -> str:
        number = int(delivery.attempt_count or 0) + 1
        body = (delivery.body or "").encode("utf-8")
        signing = [subscription.secret]
        if (
            subscription.previous_secret
            and subscription.previous_secret_until
            and now < as_utc(subscription.previous_secret_until)
        ):
            signing.append(subscription.previous_secret)
        headers = {
            webhook_signing.HEADER: webhook_signing.header_value(signing, int(now.timestamp()), body),
            "Vkyc-Event-Id": delivery.event_id or "",
            "Vkyc-Event-Type": delivery.event_type or "",
            "Vkyc-Delivery-Id": delivery.delivery_id,
            "Vkyc-Attempt": str(number),
        }
        result = self.poster.post(subscription.url, body, headers)
        done = self.clock()
        attempt = DeliveryAttempt(
            number=number,
            at=done,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            response_excerpt=result.excerpt,
            redelivery=redelivery,
        )
        if result.ok:
            recorded = repo.record_attempt(delivery, repo.Outcome("delivered", attempt, delivered_at=done))
            if recorded and subscription.failing_since is not None:
                repo.note_success(subscription.webhook_id)
            return "delivered"
        return self._failed(delivery, subscription, attempt, done)

    def _failed(
        self,
        delivery: WebhookDelivery,
        subscription: WebhookSubscription,
        attempt: DeliveryAttempt,
        now: datetime,
    ) -> str:
        policy = self.policy()
        run = _current_run([*(delivery.attempts or []), attempt])
        run_start = as_utc(run[0].at) if run[0].redelivery else as_utc(delivery.created_at)
        next_at = policy.next_attempt(run_start, len(run), now, self.jitter())
        job = {"delivery_id": delivery.delivery_id, "webhook_id": delivery.webhook_id}
        if next_at is None:
            if not repo.record_attempt(delivery, repo.Outcome("dead", attempt, dead_at=now)):
                return "skipped"
            self.jobs.dead_letter(DELIVER, {**job, "event_id": delivery.event_id, "attempts": attempt.number})
            outcome = "dead"
        else:
            if not repo.record_attempt(delivery, repo.Outcome("retrying", attempt, next_attempt_at=next_at)):
                return "skipped"
            wait = (next_at - now).total_seconds()
            self.jobs.send(
                DELIVER,
                {**job, "not_before": next_at.timestamp()},
                min(SQS_MAX_DELAY_S, max(0, math.ceil(wait))),
            )
            outcome = "retrying"
        self._failing(subscription, now, policy)
        return outcome

    def _failing(self, subscription: WebhookSubscription, now: datetime, policy: RetryPolicy) -> None:
        if subscription.failing_since is None:
            repo.note_failure(subscription.webhook_id, now)
            return
        since = as_utc(subscription.failing_since)
        if policy.should_pause(since, now) and repo.pause(subscription.webhook_id, now, _why(since, policy)):
            text = (
                f"Paused: every delivery to {subscription.url} has failed since {since.isoformat()} "
                f"(for {timedelta(seconds=policy.pause_after_s)} without a success). Nothing is sent while "
                "it is paused; new events are held. Fix the receiver, resume the subscription "
                "(PATCH status active), then re-deliver what you need."
            )
            repo.create_delivery(notice(subscription, text, now))
            log.warning(
                "webhook %s of unit %s paused after failing since %s",
                subscription.webhook_id,
                subscription.unit_id,
                since,
            )


def _current_run(attempts: list[DeliveryAttempt]) -> list[DeliveryAttempt]:
    """The attempts since the latest re-delivery (all of them when there was none)."""
    start = 0
    for index, attempt in enumerate(attempts):
        if attempt.redelivery:
            start = index
    return attempts[start:]


def _why(since: datetime, policy: RetryPolicy) -> str:
    return f"deliveries failed for {timedelta(seconds=policy.pause_after_s)} (since {since.isoformat()})"
