"""The integrator's dossiers (seed 002 steps 1-11): ``PUT /v1/dossiers/{id}`` creates or updates one,
``POST /v1/dossiers/{id}/images`` hands out pre-signed S3 forms for its three pictures, and each upload
is checked before the dossier takes it.

The life of an upload:

1. the integrator POSTs the file to S3 with the form (key ``uploads/<dossier>/<role>/<nonce>.<ext>``;
   S3 enforces the key, the type and the size range of the form's policy);
2. S3 notifies the integrations queue; ``uploaded`` notes the upload as being checked on the dossier
   and hands a job to the image checker (``media_node.image_check``, where OpenCV is: the Lambda
   functions carry no image library);
3. the checker's verdict comes back on the integrations queue; ``checked`` makes an accepted upload the
   dossier's image (what the agent sees), or records the rejection with its code and deletes the
   upload: a rejected upload never replaces the image the dossier had.

Every change of a dossier is a versioned, logged write (``transitions``: a note, or the creation), so a
concurrent call request, conditioned on the version it read, never builds on a stale dossier. A dossier
of another unit answers ``NOT_FOUND``, as one that does not exist.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol

from vkyc.domain.direction import is_live_call
from vkyc.domain.dossier import DossierState
from vkyc.domain.images import (
    MAX_BYTES,
    MIN_BYTES,
    REJECTION_CODES,
    ROLES,
    ImageRole,
    ImageStatus,
    parse_upload_key,
    upload_key,
)
from vkyc.protocol import v1
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.conflicts import Commit, Settled, retry_on_conflict
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.tables import CustomerInfo, Dossier, DossierImageChecks, DossierImages, ImageCheck
from vkyc.repositories.transitions import plan_note
from vkyc.services.integrator_auth import Integrator
from vkyc.services.ports import Clock, utc_now

log = logging.getLogger("vkyc.intake")

FORM_TTL_S = 900
OPEN_STATES = frozenset({DossierState.NEW.value, DossierState.WAITING.value})
ATTEMPTS = 5  # a write that lost a race to another writer of the dossier is read and tried again
CHECK_JOB = "check_image"


class UploadForms(Protocol):
    def upload_form(
        self, key: str, content_type: str, min_bytes: int, max_bytes: int, ttl_s: int
    ) -> tuple[str, dict[str, str]]: ...

    def delete(self, key: str) -> None: ...


class Jobs(Protocol):
    def send(self, kind: str, payload: dict[str, Any], delay_s: int = 0) -> None: ...


def _attributes(intake: v1.DossierIntake) -> dict[str, Any]:
    """The dossier's attributes an intake sets."""
    return {
        "subscriber": intake.subscriber,
        "sub_type": intake.sub_type,
        "customer_type": intake.customer_type,
        "payment_type": intake.payment_type,
        "dealer_account": intake.dealer_account,
        "dealer_channel": intake.dealer_channel,
        "kyc_at_counter": intake.kyc_at_counter,
        "note": intake.note or None,
        "customer": CustomerInfo(name=intake.customer.name, id_number=intake.customer.id_number),
    }


def _comparable(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (an intake's, or the same names read off a dossier) as compared for "the same body"."""
    customer = values["customer"]
    return {
        **values,
        "kyc_at_counter": bool(values["kyc_at_counter"]),
        "note": values["note"] or None,
        "customer": None if customer is None else (customer.name, customer.id_number),
    }


def _stored(dossier: Dossier) -> dict[str, Any]:
    return _comparable({name: getattr(dossier, name) for name in _ATTRIBUTES})


_ATTRIBUTES = (
    "subscriber",
    "sub_type",
    "customer_type",
    "payment_type",
    "dealer_account",
    "dealer_channel",
    "kyc_at_counter",
    "note",
    "customer",
)


def image_check(checks: DossierImageChecks | None, role: ImageRole) -> ImageCheck | None:
    return None if checks is None else getattr(checks, role.value, None)


def copied_checks(dossier: Dossier) -> DossierImageChecks:
    """A fresh copy of the dossier's image checks to change (the item read stays as it was until the
    write commits). A dossier that did not track its images starts tracking them with the images it
    already names taken as given (``valid``, never checked)."""
    copy = DossierImageChecks()
    images = dossier.images
    for role in ROLES:
        current = image_check(dossier.image_checks, role)
        if current is not None:
            setattr(copy, role.value, ImageCheck(**current.attribute_values))
        elif dossier.image_checks is None and getattr(images, f"{role.value}_key", None):
            key = getattr(images, f"{role.value}_key")
            setattr(copy, role.value, ImageCheck(status=ImageStatus.VALID.value, key=key))
        else:
            setattr(copy, role.value, ImageCheck(status=ImageStatus.MISSING.value))
    return copy


class DossierIntakeService:
    def __init__(
        self,
        files: UploadForms,
        jobs: Jobs,
        *,
        clock: Clock = utc_now,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.files = files
        self.jobs = jobs
        self.clock = clock
        self.nonce = nonce
        self.dossiers = DossierRepository()
        self.calls = CallRepository()

    # -- PUT /v1/dossiers/{id} --------------------------------------------------------------------

    def put(self, integrator: Integrator, dossier_id: str, intake: v1.DossierIntake) -> Dossier:
        """Create the dossier (state N, its images tracked and missing) or update its fields (see the
        module docstring and ``vkyc.api.integrator_endpoints.DOSSIER_PUT``); the dossier as stored."""
        wanted = _comparable(_attributes(intake))

        def put(dossier: Dossier | None) -> Commit[Dossier] | Settled[Dossier]:
            if dossier is None:
                # A conflict (AlreadyExists): created meanwhile by a concurrent PUT: update it instead.
                return Commit(lambda: self._create(integrator, dossier_id, intake))
            self.own(integrator, dossier)
            if _stored(dossier) == wanted:
                return Settled(dossier)
            self._refuse_changes(dossier)
            change = plan_note(
                dossier,
                event="updated",
                actor=integrator.actor,
                reason="updated through the integrator API",
                attrs=_attributes(intake),
            )
            return Commit.of(change, request_id=uuid.uuid4().hex, at=self.clock(), result=dossier)

        def kept_changing(_: Exception) -> NoReturn:
            raise ProtocolError("STATE_CONFLICT", f"Dossier {dossier_id} kept changing: retry.")

        return retry_on_conflict(
            lambda: self.dossiers.find(dossier_id), put, attempts=ATTEMPTS, lost=kept_changing
        )

    def _create(self, integrator: Integrator, dossier_id: str, intake: v1.DossierIntake) -> Dossier:
        missing = DossierImageChecks(
            **{role.value: ImageCheck(status=ImageStatus.MISSING.value) for role in ROLES}
        )
        return self.dossiers.create(
            dossier_id,
            unit_id=integrator.unit_id,
            request_id=uuid.uuid4().hex,
            actor=integrator.actor,
            reason="submitted through the integrator API",
            at=self.clock(),
            image_checks=missing,
            **_attributes(intake),
        )

    @staticmethod
    def own(integrator: Integrator, dossier: Dossier | None) -> Dossier:
        """The dossier if it is the integrator's unit's; else ``NOT_FOUND`` (ids are not probed)."""
        if dossier is None or dossier.unit_id != integrator.unit_id:
            raise ProtocolError("NOT_FOUND", "No such dossier in your unit.")
        return dossier

    def _refuse_changes(self, dossier: Dossier) -> None:
        """``DOSSIER_DECIDED`` unless it is N or W, ``CALL_IN_PROGRESS`` while a call of it is live."""
        if dossier.state not in OPEN_STATES:
            raise ProtocolError("DOSSIER_DECIDED", f"Dossier {dossier.dossier_id} is {dossier.state}.")
        latest = self.calls.find(dossier.last_call_id or "")
        if latest is not None and is_live_call(latest.direction, latest.state):
            raise ProtocolError("CALL_IN_PROGRESS", f"Call {latest.call_id} of dossier {dossier.dossier_id}.")

    # -- POST /v1/dossiers/{id}/images ------------------------------------------------------------

    def forms(self, integrator: Integrator, dossier_id: str, request: v1.ImageFormsRequest) -> v1.ImageForms:
        """One pre-signed form per image asked for. Nothing is stored: the upload is what counts."""
        dossier = self.own(integrator, self.dossiers.find(dossier_id))
        self._refuse_changes(dossier)
        expires = self.clock() + timedelta(seconds=FORM_TTL_S)
        forms = []
        for wanted in request.images:
            key = upload_key(dossier_id, wanted.role, self.nonce(), wanted.content_type)
            url, fields = self.files.upload_form(key, wanted.content_type, MIN_BYTES, MAX_BYTES, FORM_TTL_S)
            forms.append(
                v1.ImageForm(
                    role=wanted.role,
                    content_type=wanted.content_type,
                    url=url,
                    fields=fields,
                    min_bytes=MIN_BYTES,
                    max_bytes=MAX_BYTES,
                    expires_at=_iso(expires),
                )
            )
        return v1.ImageForms(forms=forms)

    # -- S3 told us of an upload; the checker's verdict ---------------------------------------------

    def uploaded(self, key: str, size: int) -> bool:
        """An object landed under ``uploads/``: note it on its dossier as being checked and ask the
        checker. An upload for no open dossier is deleted. False when nothing was asked."""
        parsed = parse_upload_key(key)
        if parsed is None:
            log.warning("ignored an upload outside the layout: %s", key[:300])
            return False
        now = self.clock()

        def note(dossier: Dossier, checks: DossierImageChecks) -> None:
            check = image_check(checks, parsed.role)
            assert check is not None
            check.pending_key, check.pending_since = key, now

        if not self._note(
            parsed.dossier_id, note, event="image_uploaded", reason=f"{parsed.role.value} {key}"
        ):
            self.files.delete(key)
            return False
        self.jobs.send(
            CHECK_JOB,
            {"key": key, "dossier_id": parsed.dossier_id, "role": parsed.role.value, "size": size},
        )
        return True

    def checked(self, verdict: dict[str, Any]) -> str:
        """Apply the checker's verdict on an upload: ``accepted``, ``rejected`` (recorded, the upload
        deleted) or ``superseded`` (a newer upload of the same image is pending, or the dossier is no
        longer open: the upload is deleted and nothing changes)."""
        key = str(verdict["key"])
        parsed = parse_upload_key(key)
        if parsed is None:
            return "superseded"
        now = self.clock()
        accepted = bool(verdict.get("ok"))
        code = str(verdict.get("code") or "")
        if not accepted and code not in REJECTION_CODES:
            raise ValueError(f"verdict of {key}: unknown code {code!r}")
        role = parsed.role

        def apply(dossier: Dossier, checks: DossierImageChecks) -> None:
            check = image_check(checks, role)
            assert check is not None
            if check.pending_key != key:
                raise _Superseded()
            check.pending_key = check.pending_since = None
            if accepted:
                check.status = ImageStatus.VALID.value
                check.key = key
                check.content_type = verdict.get("content_type")
                check.size = _int(verdict.get("size"))
                check.width, check.height = _int(verdict.get("width")), _int(verdict.get("height"))
                check.sha256 = verdict.get("sha256")
                check.face_found = verdict.get("face_found")
                check.uploaded_at = _time(verdict.get("uploaded_at")) or now
                check.checked_at = now
            else:
                check.rejected_key, check.rejected_code = key, code
                check.rejected_detail = str(verdict.get("detail") or "")[:500]
                check.rejected_at = now

        try:
            written = self._note(
                parsed.dossier_id,
                apply,
                event="image_accepted" if accepted else "image_rejected",
                reason=f"{role.value} {key}" + ("" if accepted else f": {code}"),
                images_role=role if accepted else None,
                image_key=key,
            )
        except _Superseded:
            written = False
        if not written:
            self.files.delete(key)
            return "superseded"
        if not accepted:
            self.files.delete(key)
            return "rejected"
        return "accepted"

    def _note(
        self,
        dossier_id: str,
        change: Callable[[Dossier, DossierImageChecks], None],
        *,
        event: str,
        reason: str,
        images_role: ImageRole | None = None,
        image_key: str | None = None,
    ) -> bool:
        """Change the image checks of an open dossier by one versioned, logged write; False when the
        dossier does not exist or is no longer N or W."""

        def note(dossier: Dossier | None) -> Commit[bool] | Settled[bool]:
            if dossier is None or dossier.state not in OPEN_STATES:
                return Settled(False)
            checks = copied_checks(dossier)
            change(dossier, checks)
            attrs: dict[str, Any] = {"image_checks": checks}
            if images_role is not None:
                images = DossierImages(**(dossier.images.attribute_values if dossier.images else {}))
                setattr(images, f"{images_role.value}_key", image_key)
                attrs["images"] = images
            planned = plan_note(dossier, event=event, actor="image-check", reason=reason, attrs=attrs)
            return Commit.of(planned, request_id=uuid.uuid4().hex, at=self.clock(), result=True)

        def kept_changing(_: Exception) -> NoReturn:
            raise TransitionConflict("dossier", dossier_id, None, 0)

        return retry_on_conflict(
            lambda: self.dossiers.find(dossier_id), note, attempts=ATTEMPTS, lost=kept_changing
        )


class _Superseded(Exception):
    pass


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
