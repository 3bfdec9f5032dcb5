"""May this agent decide this dossier through this call? The one rule, for both directions.

A decision lets a subscriber in (``A`` approved, ``C`` approved now and audited later) or keeps them
out (``R`` rejected, ``D`` unreachable). An approval that no one earned is the worst failure vkyc can
have, so the decision is bound to evidence that the agent saw the customer:

1. The call must be the one the agent is holding now (``agent.call_id``, the agent IN_CALL or in
   WRAP_UP after it). A call that rang at the agent and was cancelled, a call of yesterday, another
   agent's call: refused (``DECISION_NOT_ALLOWED``).
2. ``R``, ``C`` and ``D`` need a reason (``REASON_REQUIRED``).
3. ``A`` and ``C`` need a call that was answered *and* whose media reached both parties (the media node
   reported both links up: a recording of the two exists). ``R`` needs an answered call. ``D`` is the
   one decision also allowed on a call-back the agent placed that was not answered (``T``: no answer or
   declined; ``I``: no registered device), because "we could not reach the customer" is its meaning.
   Otherwise ``DECISION_NOT_ALLOWED``.
4. With the setting ``approve_requires_face`` (default on), ``A`` also needs a snapshot of this call in
   which the media node found a face; when the agent names the snapshot the decision rests on, that one
   (``FACE_SNAPSHOT_REQUIRED``). A snapshot the agent names must be one of this call's
   (``DECISION_NOT_ALLOWED``), whatever the decision.

The checks run in this order; the first that applies is the answer. Pure: the services read the call,
the agent and the settings, build ``DecisionFacts`` and call ``check_decision``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from vkyc.domain.dossier import DossierState
from vkyc.domain.machine import DomainError

DECISION_NOT_ALLOWED = "DECISION_NOT_ALLOWED"
FACE_SNAPSHOT_REQUIRED = "FACE_SNAPSHOT_REQUIRED"
REASON_REQUIRED = "REASON_REQUIRED"

LETS_IN: frozenset[DossierState] = frozenset({DossierState.APPROVED, DossierState.POST_AUDIT})
"""Decisions that let the subscriber in: they need the customer seen (media connected)."""


class DecisionRefused(DomainError):
    """The decision is not allowed; ``code`` is one of the module's codes (all in the catalogue)."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        super().__init__(detail)


@dataclass(frozen=True)
class DecisionFacts:
    """What the rule needs to know about one attempt to decide."""

    decision: DossierState
    reason: str
    held: bool
    """The call is the one the agent holds now (``agent.call_id``, agent IN_CALL or WRAP_UP)."""
    answered: bool
    """The customer answered (inbound: the agent accepted; call-back: the mobile accepted)."""
    media_connected: bool
    """The media node reported both parties' links up at least once during the call."""
    unanswered_callback: bool
    """A call-back this agent placed that ended without an answer (``T`` or ``I``)."""
    snapshot_ids: Collection[str]
    """Every snapshot taken during the call."""
    face_snapshot_ids: Collection[str]
    """The snapshots in which the media node found a face."""
    snapshot_id: str | None
    """The snapshot the agent names as the decision's evidence, if any."""
    approve_requires_face: bool


def check_decision(facts: DecisionFacts) -> None:
    """Return if the decision is allowed; raise ``DecisionRefused`` (see the module docstring)."""
    if not facts.held:
        raise DecisionRefused(DECISION_NOT_ALLOWED, "This is not the call you are holding now.")
    if facts.decision is not DossierState.APPROVED and not facts.reason.strip():
        raise DecisionRefused(REASON_REQUIRED, f"Decision {facts.decision.value}.")
    if facts.decision in LETS_IN:
        if not (facts.answered and facts.media_connected):
            raise DecisionRefused(
                DECISION_NOT_ALLOWED,
                f"{facts.decision.value} needs a call in which you and the customer saw each other.",
            )
    elif facts.decision is DossierState.REJECTED:
        if not facts.answered:
            raise DecisionRefused(DECISION_NOT_ALLOWED, "R needs a call the customer answered.")
    elif facts.decision is DossierState.UNREACHABLE:
        if not (facts.answered or facts.unanswered_callback):
            raise DecisionRefused(
                DECISION_NOT_ALLOWED, "D needs an answered call, or a call-back nobody answered."
            )
    else:  # N and W are not decisions
        raise DecisionRefused(DECISION_NOT_ALLOWED, f"{facts.decision.value} is not a decision.")
    if facts.snapshot_id is not None and facts.snapshot_id not in facts.snapshot_ids:
        raise DecisionRefused(DECISION_NOT_ALLOWED, f"Snapshot {facts.snapshot_id} is not of this call.")
    if facts.decision is DossierState.APPROVED and facts.approve_requires_face:
        faces = set(facts.face_snapshot_ids)
        named = facts.snapshot_id
        if not faces:
            raise DecisionRefused(FACE_SNAPSHOT_REQUIRED, "No snapshot of this call shows a face.")
        if named is not None and named not in faces:
            raise DecisionRefused(FACE_SNAPSHOT_REQUIRED, f"Snapshot {named} shows no face.")
