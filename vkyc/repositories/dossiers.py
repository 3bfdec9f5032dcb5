"""Dossiers (hồ sơ) and their transition log. The machine is ``vkyc.domain.dossier.DOSSIER``."""

from __future__ import annotations

from datetime import datetime

from vkyc.domain.dossier import DOSSIER, DossierEvent
from vkyc.repositories.stateful import StatefulRepository
from vkyc.repositories.tables import CustomerInfo, Dossier, DossierImageChecks, DossierImages, DossierLog
from vkyc.repositories.transitions import Change, already_applied, commit


class DossierRepository:
    """Get, create and transition dossiers; read their log. Every write is one TransactWriteItems."""

    def __init__(self) -> None:
        self._items = StatefulRepository(Dossier)

    def find(self, dossier_id: str) -> Dossier | None:
        return self._items.find(dossier_id)

    def get(self, dossier_id: str) -> Dossier:
        """Raises ``NotFound``."""
        return self._items.get(dossier_id)

    def create(
        self,
        dossier_id: str,
        *,
        unit_id: str,
        request_id: str,
        actor: str,
        subscriber: str | None = None,
        sub_type: str | None = None,
        customer_type: str | None = None,
        payment_type: str | None = None,
        kyc_at_counter: bool = False,
        customer: CustomerInfo | None = None,
        images: DossierImages | None = None,
        dealer_account: str | None = None,
        dealer_channel: str | None = None,
        image_checks: DossierImageChecks | None = None,
        note: str | None = None,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> Dossier:
        """Store a new dossier in state N. Raises ``AlreadyExists`` if the id is taken by another request;
        a retry with the same ``request_id`` returns the dossier.

        ``customer_type`` is ``KHCN`` / ``KHDN``, ``payment_type`` ``prepaid`` / ``postpaid``
        (``vkyc.domain.policy``); ``subscriber`` normalized (``84…``). ``note`` is the dossier's own
        free text; ``reason`` only explains the creation in the log. ``image_checks`` makes the dossier
        track its images (the integrator API's dossiers: ``vkyc.services.dossier_intake``).
        """
        dossier = Dossier(
            dossier_id,
            unit_id=unit_id,
            subscriber=subscriber,
            sub_type=sub_type,
            customer_type=customer_type,
            payment_type=payment_type,
            kyc_at_counter=kyc_at_counter,
            customer=customer,
            images=images,
            dealer_account=dealer_account,
            dealer_channel=dealer_channel,
            image_checks=image_checks,
            note=note or None,
        )
        return self._items.create(dossier, DOSSIER, request_id=request_id, actor=actor, reason=reason, at=at)

    def plan(
        self,
        dossier: Dossier,
        event: DossierEvent,
        *,
        actor: str,
        reason: str | None = None,
        decided_by: str | None = None,
        snapshot_key: str | None = None,
    ) -> Change:
        """Plan ``event`` for a transaction with other items (``transitions.commit``)."""
        attrs = {
            name: value
            for name, value in (("decided_by", decided_by), ("snapshot_key", snapshot_key))
            if value is not None
        }
        return self._items.plan(dossier, DOSSIER, event, actor=actor, reason=reason, attrs=attrs)

    def transition(
        self,
        dossier: Dossier,
        event: DossierEvent,
        *,
        request_id: str,
        actor: str,
        reason: str | None = None,
        decided_by: str | None = None,
        snapshot_key: str | None = None,
        at: datetime | None = None,
    ) -> Dossier:
        """Apply ``event`` to the dossier as read; record who (``actor``) and why (``reason``).

        Raises ``IllegalTransition`` (nothing written) or ``TransitionConflict``. A retry of a committed
        request (the dossier carries its ``request_id``) returns the dossier without writing.
        """
        if already_applied(dossier, request_id):
            return dossier
        commit(
            self.plan(
                dossier, event, actor=actor, reason=reason, decided_by=decided_by, snapshot_key=snapshot_key
            ),
            request_id=request_id,
            at=at,
        )
        return dossier

    def history(self, dossier_id: str) -> list[DossierLog]:
        """Every transition of the dossier (creation first), oldest first; empty if it does not exist."""
        return list(DossierLog.query(dossier_id, consistent_read=True))
