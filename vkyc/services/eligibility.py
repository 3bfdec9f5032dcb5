"""Eligibility of a dossier for a video call, with its facts read from the tables (issue #4 item 1).

The rules and their order are ``vkyc.domain.eligibility``; this service gathers what they need: the
dossier's facts, the SUB_TYPE policy and the settings of the dossier's unit (both cached per process for
60 s), the subscriber's successful calls today (only when a daily cap is set) and whether the dossier's
latest call is still live.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from vkyc.domain import eligibility
from vkyc.domain.direction import is_live_call
from vkyc.domain.eligibility import DossierFacts
from vkyc.domain.images import ROLES, ImageStatus
from vkyc.domain.policy import SubTypePolicy
from vkyc.domain.settings import CallSettings
from vkyc.repositories.call_counts import successful_inbound_calls
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.policy import policy_rows
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Dossier
from vkyc.services.ports import Clock, utc_now


def facts_of(dossier: Dossier) -> DossierFacts:
    """What eligibility needs of a stored dossier."""
    return DossierFacts(
        dossier_id=dossier.dossier_id,
        state=dossier.state,
        kyc_at_counter=bool(dossier.kyc_at_counter),
        sub_type=dossier.sub_type,
        customer_type=dossier.customer_type,
        payment_type=dossier.payment_type,
        subscriber=dossier.subscriber,
        images_not_valid=images_not_valid(dossier),
    )


def images_not_valid(dossier: Dossier) -> tuple[str, ...] | None:
    """The roles whose image has no accepted upload, or None when the dossier's images are not tracked
    (``Dossier.image_checks`` absent: not created through the integrator API)."""
    checks = dossier.image_checks
    if checks is None:
        return None
    return tuple(
        role.value
        for role in ROLES
        if getattr(getattr(checks, role.value, None), "status", None) != ImageStatus.VALID.value
    )


class EligibilityService:
    """``check(dossier)``: may a call be placed for it now? (``InboundCalls``'s ``Eligibility`` port.)

    DynamoDB requests per check, in this order (each read only if the checks before it passed):

    * policy: 0 when cached, else 1 Scan;
    * settings of the dossier's unit: 0 when cached, else 2 Queries (global scope, unit scope);
    * successful calls today: 1 Query (``Select=COUNT``, GSI ``by_subscriber``) only when the unit has
      a daily cap and the dossier a subscriber, else 0;
    * live call: 1 GetItem of the dossier's latest call (``Dossier.last_call_id``), only when it has
      one; a dossier's first call costs nothing here.

    So with warm caches, no cap and a first call a check costs no request; at most 5 when both caches
    are cold, the cap is set and the dossier was called before. A dossier refused for its state, the
    counter flag, the blacklist or the policy costs only the configuration reads (0 when warm).

    Two simultaneous requests for one dossier both pass this check; the call's creation is
    conditioned on the dossier's version (and sets ``last_call_id``), so only one call is created.
    """

    def __init__(
        self,
        *,
        calls: CallRepository | None = None,
        policy: Callable[[], Mapping[str, SubTypePolicy]] = policy_rows,
        settings: Callable[[str], CallSettings] = cached_settings,
        count_successful: Callable[[str, datetime], int] = successful_inbound_calls,
        clock: Clock = utc_now,
    ) -> None:
        self.calls = calls or CallRepository()
        self.policy = policy
        self.settings = settings
        self.count_successful = count_successful
        self.clock = clock

    def check(self, dossier: Dossier) -> None:
        """Return if a call may be placed for ``dossier`` now; raise ``NotEligible`` (with the catalogue
        code of the first rule that applies, see ``vkyc.domain.eligibility``) if not.

        Raises ``ValueError`` for a dossier whose state is not a dossier state, and what the
        configuration reads raise (e.g. ``pydantic.ValidationError`` for a stored setting that no longer
        validates).
        """
        facts = facts_of(dossier)
        policy = self.policy()
        settings = self.settings(dossier.unit_id)
        # Refuse on the dossier and configuration alone before spending requests on calls.
        eligibility.check_dossier(facts, policy, settings)
        eligibility.check(
            facts,
            policy,
            settings,
            successful_calls_today=self._successful_today(facts, settings),
            live_call=self._has_live_call(dossier),
        )

    def _successful_today(self, facts: DossierFacts, settings: CallSettings) -> int | None:
        # Counted only when it can change the answer: no request is spent without a cap.
        if settings.daily_success_cap_per_subscriber is None or facts.subscriber is None:
            return None
        since = eligibility.day_start(self.clock(), settings.zone())
        return self.count_successful(facts.subscriber, since)

    def _has_live_call(self, dossier: Dossier) -> bool:
        # Calls of a dossier follow one another: only its latest can still be live.
        latest = self.calls.find(dossier.last_call_id or "")
        return latest is not None and is_live_call(latest.direction, latest.state)
