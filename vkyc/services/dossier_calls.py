"""What inbound calls and call-backs do alike with the dossier they are about: the dossier's part of a
new call (one conditional write, so two calls of one dossier never start together), whether the agent
may decide it through a call (``vkyc.domain.decision``, one rule for both directions), and the view of
the dossier sent to the agent and the mobile."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from vkyc.adapters.media_files import MediaFiles
from vkyc.domain.agent import AgentState
from vkyc.domain.decision import DecisionFacts, DecisionRefused, check_decision
from vkyc.domain.direction import CALLBACK_PREFIX, Direction, rules_of
from vkyc.domain.dossier import DOSSIER, DossierEvent, DossierState
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import CallResult, DossierImagesView, DossierView, ResultMedia
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Dossier
from vkyc.repositories.transitions import Change, plan, plan_note


def new_call(
    dossier: Dossier, direction: Direction, serving_unit_id: str, at: datetime, **attrs: Any
) -> Call:
    """A new call of ``dossier`` in ``direction`` (not yet stored), with what it copies from the dossier
    (its unit, subscriber, customer type and SUB_TYPE: routing and reports read them on the call). A
    call-back's id starts with ``CALLBACK_PREFIX``."""
    prefix = CALLBACK_PREFIX if direction is Direction.OUTBOUND else ""
    return Call(
        call_id=prefix + str(uuid.uuid4()),
        direction=direction.value,
        unit_id=dossier.unit_id,
        serving_unit_id=serving_unit_id,
        dossier_id=dossier.dossier_id,
        subscriber=dossier.subscriber,
        customer_type=dossier.customer_type,
        sub_type=dossier.sub_type,
        created_at=at,
        **attrs,
    )


def call_placed(dossier: Dossier, call_id: str, actor: str, *, note: str) -> Change:
    """The dossier's part of a new call: submitted (N), retried (D) or noted (event ``note``), and
    pointing at its new latest call. Conditioned on the dossier's version, so two requests never both
    create a call."""
    attrs = {"last_call_id": call_id}
    if dossier.state == DossierState.NEW:
        return plan(dossier, DOSSIER, DossierEvent.SUBMIT, actor=actor, attrs=attrs)
    if dossier.state == DossierState.UNREACHABLE:
        return plan(dossier, DOSSIER, DossierEvent.RETRY, actor=actor, attrs=attrs)
    return plan_note(dossier, event=note, actor=actor, attrs=attrs)


HOLDING_STATES = frozenset({AgentState.IN_CALL.value, AgentState.WRAP_UP.value})


def check_decision_allowed(
    call: Call, agent: Agent, decision: str, reason: str, snapshot_id: str | None
) -> None:
    """Raise ``ProtocolError`` (with the call id) unless ``agent`` may decide ``call``'s dossier now (the
    rule and its codes: ``vkyc.domain.decision``). The serving unit's settings apply
    (``approve_requires_face``)."""
    settings = cached_settings(call.serving_unit_id or call.unit_id)
    facts = DecisionFacts(
        decision=DossierState(decision),
        reason=reason,
        held=agent.call_id == call.call_id and agent.state in HOLDING_STATES,
        answered=call.answered_at is not None,
        media_connected=call.media_connected_at is not None,
        unanswered_callback=call.state in rules_of(call.direction).unanswered_ends,
        snapshot_ids=frozenset(call.snapshot_ids or ()),
        face_snapshot_ids=frozenset(call.face_snapshot_ids or ()),
        snapshot_id=snapshot_id,
        approve_requires_face=settings.approve_requires_face,
    )
    try:
        check_decision(facts)
    except DecisionRefused as exc:
        raise ProtocolError(exc.code, str(exc), call_id=call.call_id) from None


def dossier_view(dossier: Dossier) -> DossierView:
    """The dossier as the agent's popup and the mobile's result show it (image keys, not images)."""
    images = dossier.images
    customer = dossier.customer
    return DossierView(
        dossier_id=dossier.dossier_id,
        unit_id=dossier.unit_id,
        state=dossier.state,
        subscriber=dossier.subscriber,
        sub_type=dossier.sub_type,
        customer_type=dossier.customer_type,
        payment_type=dossier.payment_type,
        customer_name=getattr(customer, "name", None),
        id_number=getattr(customer, "id_number", None),
        dealer_account=dossier.dealer_account,
        images=DossierImagesView(
            id_front=getattr(images, "id_front_key", None),
            id_back=getattr(images, "id_back_key", None),
            portrait=getattr(images, "portrait_key", None),
        ),
    )


def result_message(
    call_id: str, decision: str, reason: str, dossier: Dossier, snapshot_id: str | None
) -> dict[str, Any]:
    """``call.result`` for the mobile (seed 002 step 16): the decision with the evidence's references,
    fetchable (pre-signed URLs: ``result_media``) and the dossier's address in the integrator API."""
    view = dossier_view(dossier)
    result = CallResult(
        call_id=call_id,
        decision=decision,
        reason=reason,
        dossier=view,
        snapshot_id=snapshot_id,
        media=result_media(call_id, view, snapshot_id),
        dossier_href=f"/v1/dossiers/{dossier.dossier_id}",
    )
    return result.model_dump(mode="json")


_files: MediaFiles | None = None


def result_media(call_id: str, view: DossierView, snapshot_id: str | None) -> ResultMedia:
    """Pre-signed GET URLs of the dossier's images and the decision's snapshot (no request is made:
    pre-signing is local; a URL of an image the bucket lacks answers 404)."""
    global _files
    if _files is None:
        _files = MediaFiles()
    files = _files
    snapshot_key = f"calls/{call_id}/snapshots/{snapshot_id}.jpg" if snapshot_id else None
    expires = datetime.now(UTC) + timedelta(seconds=files.url_ttl_s)
    return ResultMedia(
        id_front=files.url(view.images.id_front) if view.images.id_front else None,
        id_back=files.url(view.images.id_back) if view.images.id_back else None,
        portrait=files.url(view.images.portrait) if view.images.portrait else None,
        snapshot=files.url(snapshot_key) if snapshot_key else None,
        expires_at=expires.isoformat().replace("+00:00", "Z"),
    )
