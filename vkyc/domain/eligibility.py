"""May a video call be placed for this dossier now? Decided before anything rings (issue #4).

``check`` raises ``NotEligible`` with one catalogue code, or returns. The checks run in this order and
the first that applies is the answer:

1. dossier state ``A`` → ``DOSSIER_ALREADY_APPROVED``
2. dossier state ``R`` → ``DOSSIER_REJECTED``
3. dossier state ``C`` → ``DOSSIER_IN_POST_AUDIT``
4. flagged "KYC at the counter required" → ``KYC_AT_COUNTER_REQUIRED``
5. subscriber on the blacklist → ``SUBSCRIBER_BLACKLISTED``
6. SUB_TYPE policy: not classifiable → ``UNKNOWN_SUB_TYPE``; no call needed → ``VIDEO_CALL_NOT_REQUIRED``
7. the ID card's front or back or the portrait is missing or failed its check → ``DOSSIER_IMAGES_REQUIRED``
8. daily cap of successful calls reached → ``DAILY_CALL_LIMIT_REACHED``
9. another call of the dossier is live → ``CALL_IN_PROGRESS``

States ``N``, ``W`` and ``D`` pass steps 1-3 (``D``, unreachable, may be retried: spec/domain.md).

Why this order: the most final answer wins, so that a client is never told "try again later" about a
dossier that can never be called.

* The dossier's own state comes first: a decided dossier (``A``, ``R``) or one under back-office review
  (``C``) needs no call whatever else is true, and "already approved" is what the dealer must hear.
* The counter flag is a decision about this dossier that forbids video verification outright.
* The blacklist is an administrative prohibition on the number, independent of the package: it wins
  over the policy so a blacklisted number is reported as such even for a package needing no call.
* The policy says whether a call is needed at all. It depends on configuration only (no per-call data).
* The images come after the policy: a dossier that needs no call must not be told to upload pictures.
  They come before the transient refusals because they are the integrator's to fix, once, and a retry
  later would not help until it does. Only dossiers whose images are tracked (``DossierFacts.
  images_not_valid`` is not None: every dossier created through ``PUT /v1/dossiers``) are checked; one
  written by another path (the demo loader, an import) carries its images as given.
* The cap and the live call are transient ("tomorrow", "finish the other call"): last, so they never
  hide a permanent refusal. The cap comes before the live call because it holds for the whole day,
  while a live call ends within minutes.

Steps 1-7 need only the dossier and configuration; ``check_dossier`` runs them alone, so a service can
refuse before spending requests on counting calls (steps 8-9).

Pure: imports nothing of vkyc's outside the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo

from vkyc.domain.dossier import DossierState
from vkyc.domain.machine import DomainError
from vkyc.domain.policy import (
    CustomerType,
    PaymentType,
    SubTypePolicy,
    UnknownSubType,
    video_call_required,
)
from vkyc.domain.settings import CallSettings

DOSSIER_ALREADY_APPROVED = "DOSSIER_ALREADY_APPROVED"
DOSSIER_REJECTED = "DOSSIER_REJECTED"
DOSSIER_IN_POST_AUDIT = "DOSSIER_IN_POST_AUDIT"
KYC_AT_COUNTER_REQUIRED = "KYC_AT_COUNTER_REQUIRED"
SUBSCRIBER_BLACKLISTED = "SUBSCRIBER_BLACKLISTED"
UNKNOWN_SUB_TYPE = "UNKNOWN_SUB_TYPE"
VIDEO_CALL_NOT_REQUIRED = "VIDEO_CALL_NOT_REQUIRED"
DOSSIER_IMAGES_REQUIRED = "DOSSIER_IMAGES_REQUIRED"
DAILY_CALL_LIMIT_REACHED = "DAILY_CALL_LIMIT_REACHED"
CALL_IN_PROGRESS = "CALL_IN_PROGRESS"

REFUSAL_CODES: frozenset[str] = frozenset(
    {
        DOSSIER_ALREADY_APPROVED,
        DOSSIER_REJECTED,
        DOSSIER_IN_POST_AUDIT,
        KYC_AT_COUNTER_REQUIRED,
        SUBSCRIBER_BLACKLISTED,
        UNKNOWN_SUB_TYPE,
        VIDEO_CALL_NOT_REQUIRED,
        DOSSIER_IMAGES_REQUIRED,
        DAILY_CALL_LIMIT_REACHED,
        CALL_IN_PROGRESS,
    }
)
"""Every code ``NotEligible`` carries; each is in the error catalogue (``vkyc.protocol.errors``)."""

ELIGIBLE_STATES: frozenset[DossierState] = frozenset(
    {DossierState.NEW, DossierState.WAITING, DossierState.UNREACHABLE}
)
"""Dossier states in which a call may be placed (``D`` is a retry)."""

_STATE_REFUSALS: dict[DossierState, tuple[str, str]] = {
    DossierState.APPROVED: (DOSSIER_ALREADY_APPROVED, "is already approved; no video call is needed"),
    DossierState.REJECTED: (DOSSIER_REJECTED, "was rejected, which is final"),
    DossierState.POST_AUDIT: (DOSSIER_IN_POST_AUDIT, "is in post-audit; the back office reviews it"),
}


class NotEligible(DomainError):
    """No call may be placed for the dossier now. ``code`` (one of ``REFUSAL_CODES``) says why, for
    clients; the message says it for people."""

    def __init__(self, code: str, message: str) -> None:
        if code not in REFUSAL_CODES:
            raise ValueError(f"not an eligibility code: {code!r}")
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class DossierFacts:
    """What eligibility needs of a dossier, as stored (strings; validated by ``check``).

    ``state``: a ``DossierState`` letter. ``customer_type``: ``KHCN`` / ``KHDN``. ``payment_type``:
    ``prepaid`` / ``postpaid`` (``TT`` / ``TS`` accepted). ``subscriber``: the MSISDN, ``None`` when the
    dossier has none (then neither the blacklist nor the cap can apply to it). ``images_not_valid``: the
    image roles (``id_front``, ``id_back``, ``portrait``) without an accepted upload, in that order, or
    None when the dossier's images are not tracked (not created through the integrator API).
    """

    dossier_id: str
    state: str
    kyc_at_counter: bool
    sub_type: str | None
    customer_type: str | None
    payment_type: str | None
    subscriber: str | None
    images_not_valid: tuple[str, ...] | None = None


def check_dossier_state(facts: DossierFacts) -> None:
    """Steps 1-4: what the dossier alone decides (its state, the counter flag). A call-back checks
    these too: an agent cannot verify by video a dossier that is decided, in review or for the counter.
    Raises ``NotEligible``; ``ValueError`` for a state that is not a dossier state letter."""
    state = DossierState(facts.state)
    refusal = _STATE_REFUSALS.get(state)
    if refusal is not None:
        code, why = refusal
        raise NotEligible(code, f"Dossier {facts.dossier_id} {why}.")
    if facts.kyc_at_counter:
        raise NotEligible(
            KYC_AT_COUNTER_REQUIRED,
            f"Dossier {facts.dossier_id} is flagged 'KYC at the counter required': "
            "the customer must be verified at a counter.",
        )


def check_dossier(facts: DossierFacts, policy: Mapping[str, SubTypePolicy], settings: CallSettings) -> None:
    """Steps 1-7 of the module's order: what the dossier and the configuration alone decide.

    ``policy`` is the SUB_TYPE table keyed by SUB_TYPE (``vkyc.domain.policy.policy_index``).
    Raises ``NotEligible``; ``ValueError`` if ``facts.state`` is not a dossier state letter (corrupt data,
    not a refusal the client could act on).
    """
    check_dossier_state(facts)
    if facts.subscriber is not None and settings.is_blacklisted(facts.subscriber):
        raise NotEligible(SUBSCRIBER_BLACKLISTED, f"Subscriber {facts.subscriber} is on the blacklist.")
    if not _call_required(facts, policy):
        raise NotEligible(
            VIDEO_CALL_NOT_REQUIRED,
            f"No video call is required for dossier {facts.dossier_id} "
            f"({facts.payment_type}, SUB_TYPE {facts.sub_type}, {facts.customer_type}).",
        )
    if facts.images_not_valid:
        raise NotEligible(
            DOSSIER_IMAGES_REQUIRED,
            f"Dossier {facts.dossier_id} has no accepted {', '.join(facts.images_not_valid)} image: "
            "upload it (POST /v1/dossiers/{id}/images) and wait for its check.",
        )


def check(
    facts: DossierFacts,
    policy: Mapping[str, SubTypePolicy],
    settings: CallSettings,
    successful_calls_today: int | None,
    live_call: bool,
) -> None:
    """Whether a call may be placed for the dossier now: returns, or raises ``NotEligible`` with the code
    of the first check that applies, in the module's order.

    ``successful_calls_today``: the subscriber's successful inbound calls since local midnight, or
    ``None`` when not counted, which is allowed only when it cannot matter (no cap in ``settings``, or no
    subscriber); otherwise ``ValueError``, since skipping the count would silently lift the cap.
    ``live_call``: whether another call of the dossier is live (``vkyc.domain.direction.is_live_call``).
    """
    check_dossier(facts, policy, settings)
    cap = settings.daily_success_cap_per_subscriber
    if cap is not None and facts.subscriber is not None:
        if successful_calls_today is None:
            raise ValueError("a daily cap is set: successful_calls_today must be counted")
        if successful_calls_today >= cap:
            raise NotEligible(
                DAILY_CALL_LIMIT_REACHED,
                f"Subscriber {facts.subscriber} already had {successful_calls_today} successful "
                f"call(s) today; the limit is {cap} per day.",
            )
    if live_call:
        raise NotEligible(
            CALL_IN_PROGRESS, f"Another call of dossier {facts.dossier_id} is waiting, ringing or connected."
        )


def _call_required(facts: DossierFacts, policy: Mapping[str, SubTypePolicy]) -> bool:
    # A dossier the policy cannot classify (no or unknown SUB_TYPE, customer or payment type) is
    # UNKNOWN_SUB_TYPE: never a silent "not required" (see vkyc.domain.policy), and the catalogue's
    # advice for it ("correct the dossier") fits a missing type as well.
    try:
        payment = PaymentType(facts.payment_type or "")
    except ValueError:
        raise NotEligible(
            UNKNOWN_SUB_TYPE,
            f"Dossier {facts.dossier_id} has no valid payment type ({facts.payment_type!r}): "
            "expected prepaid (TT) or postpaid (TS).",
        ) from None
    if payment is PaymentType.POSTPAID:
        return False  # postpaid never needs a call, whatever its SUB_TYPE or customer type
    try:
        customer = CustomerType(facts.customer_type or "")
    except ValueError:
        raise NotEligible(
            UNKNOWN_SUB_TYPE,
            f"Dossier {facts.dossier_id} has no valid customer type ({facts.customer_type!r}): "
            "expected KHCN or KHDN.",
        ) from None
    if not facts.sub_type:
        raise NotEligible(UNKNOWN_SUB_TYPE, f"Dossier {facts.dossier_id} has no SUB_TYPE.")
    try:
        return video_call_required(policy, facts.sub_type, customer, payment)
    except UnknownSubType as exc:
        raise NotEligible(UNKNOWN_SUB_TYPE, f"{exc}.") from None


def day_start(now: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of the local midnight (in ``zone``) that began the day of ``now`` (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)
