"""What the integrator reads (``GET /v1/dossiers/{id}``, ``GET /v1/calls/{id}``, ``GET /v1/calls``): a
dossier with its images' checks, decision, calls and evidence (seed 002 step 16), one call with its
history and media (seed 001), and the unit's calls a page at a time.

Files are handed out as pre-signed GET URLs (``URL_TTL_S``); making one costs no request. Another
unit's dossier or call answers as one that does not exist (``NOT_FOUND``, ``CALL_NOT_FOUND``); the list
only ever holds the unit's own calls. Nothing here writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from vkyc.domain.direction import Direction
from vkyc.domain.eligibility import NotEligible
from vkyc.domain.images import ROLES, ImageStatus
from vkyc.protocol import rest, v1
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.batch import get_many
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import Call, Dossier, DossierLog, LogModel
from vkyc.services.dossier_intake import DossierIntakeService, image_check
from vkyc.services.integrator_auth import Integrator
from vkyc.services.ports import Clock, utc_now

URL_TTL_S = 900
DECIDED = frozenset({"A", "R", "C", "D"})
MAX_QUERIES_PER_PAGE = 5
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Files(Protocol):
    url_ttl_s: int

    def url(self, key: str) -> str: ...


class Eligibility(Protocol):
    def check(self, dossier: Dossier) -> None: ...


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def summary(call: Call) -> v1.CallSummary:
    return v1.CallSummary(
        call_id=call.call_id,
        direction=Direction(call.direction),
        state=call.state,
        dossier_id=call.dossier_id,
        subscriber=call.subscriber,
        agent_id=call.agent_id,
        created_at=iso(call.created_at),
        answered_at=iso(call.answered_at),
        ended_at=iso(call.ended_at),
        end_reason=call.end_reason,
        decision=call.decision,
    )


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else round((end - start).total_seconds(), 3)


class IntegratorReads:
    def __init__(self, files: Files, eligibility: Eligibility, *, clock: Clock = utc_now) -> None:
        self.files = files
        self.eligibility = eligibility
        self.clock = clock
        self.dossiers = DossierRepository()
        self.calls = CallRepository()

    # -- GET /v1/dossiers/{id} ----------------------------------------------------------------------

    def dossier(self, integrator: Integrator, dossier_id: str) -> v1.DossierV1:
        dossier = DossierIntakeService.own(integrator, self.dossiers.find(dossier_id))
        return self.dossier_view(dossier)

    def dossier_view(self, dossier: Dossier) -> v1.DossierV1:
        """The whole view: a Query of the log (for a decided dossier), a Query and a BatchGetItem for
        its calls, the eligibility check's reads (cached configuration, the latest call)."""
        calls = self._calls_of(dossier.dossier_id)
        decision, evidence = self._decision(dossier, calls)
        not_eligible: str | None = None
        try:
            self.eligibility.check(dossier)
        except NotEligible as exc:
            not_eligible = exc.code
        customer = dossier.customer
        return v1.DossierV1(
            dossier_id=dossier.dossier_id,
            unit_id=dossier.unit_id,
            state=dossier.state,  # type: ignore[arg-type]
            version=dossier.version,
            customer=None
            if customer is None
            else v1.Customer(name=customer.name, id_number=customer.id_number),
            subscriber=dossier.subscriber,
            sub_type=dossier.sub_type,
            customer_type=dossier.customer_type,
            payment_type=dossier.payment_type,
            dealer_account=dossier.dealer_account,
            dealer_channel=dossier.dealer_channel,
            kyc_at_counter=bool(dossier.kyc_at_counter),
            note=dossier.note,
            images=self._images(dossier),
            eligible=not_eligible is None,
            not_eligible=not_eligible,
            decision=decision,
            calls=[summary(c) for c in calls],
            evidence=evidence,
            created_at=iso(dossier.created_at),
            updated_at=iso(dossier.updated_at),
        )

    def _images(self, dossier: Dossier) -> v1.Images:
        states = {}
        for role in ROLES:
            check = image_check(dossier.image_checks, role)
            given = getattr(dossier.images, f"{role.value}_key", None) if dossier.images else None
            if check is None:
                # Not tracked (written by another path than the intake): the image is as given.
                states[role.value] = _state(ImageStatus.VALID.value if given else ImageStatus.MISSING.value)
                if given:
                    states[role.value] = states[role.value].model_copy(update={"url": self.files.url(given)})
                continue
            rejection = None
            if check.rejected_code:
                rejection = v1.ImageRejection(
                    code=check.rejected_code,
                    message=check.rejected_detail or "",
                    at=iso(check.rejected_at) or "",
                )
            valid = check.status == ImageStatus.VALID.value and check.key
            states[role.value] = v1.ImageState(
                status="valid" if valid else "missing",
                url=self.files.url(check.key) if valid and check.key else None,
                content_type=check.content_type,
                size=check.size,
                width=check.width,
                height=check.height,
                sha256=check.sha256,
                face_found=check.face_found,
                uploaded_at=iso(check.uploaded_at),
                checked_at=iso(check.checked_at),
                checking_since=iso(check.pending_since),
                last_rejection=rejection,
            )
        return v1.Images(**states)

    def _calls_of(self, dossier_id: str) -> list[Call]:
        listed = self.calls.of_dossier(dossier_id)
        full = [c for c in get_many([Call(call_id=c.call_id) for c in listed[-100:]]) if isinstance(c, Call)]
        return sorted(full, key=lambda c: c.created_at, reverse=True)

    def _decision(
        self, dossier: Dossier, calls: Sequence[Call]
    ) -> tuple[v1.Decision | None, v1.Evidence | None]:
        if dossier.state not in DECIDED:
            return None, None
        entry = next(
            (
                e
                for e in reversed(self.dossiers.history(dossier.dossier_id))
                if e.to_state == dossier.state and e.from_state != e.to_state
            ),
            None,
        )
        if entry is None:
            return None, None
        call = next((c for c in calls if c.decision_version == entry.version), None)
        decision = v1.Decision(
            decision=entry.to_state,  # type: ignore[arg-type]
            reason=entry.reason,
            decided_by=entry.actor,
            decided_at=iso(entry.at) or "",
            call_id=call.call_id if call else None,
            snapshot_id=dossier.snapshot_key,
        )
        assert isinstance(entry, DossierLog)
        if call is None and not entry.evidence_key:
            return decision, None
        evidence = v1.Evidence(
            call_id=call.call_id if call else None,
            snapshots=self._snapshots(call) if call else [],
            recording=self._recording(call) if call else None,
            manifest_url=self.files.url(entry.evidence_key) if entry.evidence_key else None,
            manifest_sha256=entry.evidence_sha256,
            expires_at=self._urls_expire(),
        )
        return decision, evidence

    def _snapshots(self, call: Call) -> list[v1.SnapshotFile]:
        faces = set(call.face_snapshot_ids or ())
        found = []
        for key in sorted(call.snapshot_keys or ()):
            snapshot_id = key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            found.append(
                v1.SnapshotFile(
                    snapshot_id=snapshot_id, url=self.files.url(key), face_found=snapshot_id in faces
                )
            )
        return found

    def _recording(self, call: Call) -> v1.Recording | None:
        if not call.recording_key:
            return None
        return v1.Recording(
            url=self.files.url(call.recording_key),
            size=call.recording_size,
            duration_s=call.recording_duration_s,
            sha256=call.recording_sha256,
            incomplete=bool(call.recording_incomplete),
        )

    def _urls_expire(self) -> str:
        return iso(self.clock() + timedelta(seconds=self.files.url_ttl_s)) or ""

    # -- GET /v1/calls/{id} ------------------------------------------------------------------------

    def call(self, integrator: Integrator, call_id: str) -> v1.CallV1:
        call = self.calls.find(call_id)
        if call is None or call.unit_id != integrator.unit_id:
            raise ProtocolError("CALL_NOT_FOUND", "No such call in your unit.", call_id=call_id)
        return v1.CallV1(
            call=summary(call),
            unit_id=call.unit_id,
            serving_unit_id=call.serving_unit_id,
            ended_by=call.ended_by,
            duration_s=_seconds(call.answered_at, call.ended_at),
            waited_s=_seconds(call.created_at, call.answered_at or call.ended_at),
            version=call.version,
            timeline=[_timeline(entry) for entry in self.calls.history(call_id)],
            snapshots=self._snapshots(call),
            recording=self._recording(call),
            urls_expire_at=self._urls_expire(),
        )

    # -- GET /v1/calls -----------------------------------------------------------------------------

    def list_calls(self, integrator: Integrator, query: v1.CallsQuery) -> v1.CallsPage:
        """Newest first, from the most selective index: the dossier's, the subscriber's, else the
        unit's; each key read back in full (BatchGetItem) and kept only if it is the unit's and matches
        every filter. Up to ``MAX_QUERIES_PER_PAGE`` Queries fill a page."""
        since = query.from_ or EPOCH
        until = query.to or (self.clock() + timedelta(days=1))
        index: Any
        if query.dossier is not None:
            dossier = self.dossiers.find(query.dossier)
            if dossier is None or dossier.unit_id != integrator.unit_id:
                return v1.CallsPage(calls=[], next_cursor=None)
            index, hash_name, hash_value = Call.by_dossier, "dossier_id", query.dossier
        elif query.subscriber is not None:
            index, hash_name, hash_value = Call.by_subscriber, "subscriber", query.subscriber
        else:
            index, hash_name, hash_value = Call.by_unit_created, "unit_id", integrator.unit_id
        scope = _scope(integrator.unit_id, hash_name, hash_value, since, until, query)
        start = _decode(query.cursor, scope, hash_name, hash_value) if query.cursor else None
        found: list[Call] = []
        for _ in range(MAX_QUERIES_PER_PAGE):
            result = index.query(
                hash_value,
                range_key_condition=Call.created_at.between(since, until),
                scan_index_forward=False,
                limit=query.limit - len(found),
                last_evaluated_key=start,
            )
            keys = [item.call_id for item in result]
            start = result.last_evaluated_key
            items = get_many([Call(call_id=k) for k in keys]) if keys else []
            found += [c for c in items if isinstance(c, Call) and _matches(c, integrator, query)]
            if not start or len(found) >= query.limit:
                break
        found.sort(key=lambda c: c.created_at, reverse=True)
        return v1.CallsPage(
            calls=[summary(c) for c in found], next_cursor=_encode(start, scope) if start else None
        )


def _state(status: str) -> v1.ImageState:
    return v1.ImageState(
        status=status,  # type: ignore[arg-type]
        url=None,
        content_type=None,
        size=None,
        width=None,
        height=None,
        sha256=None,
        face_found=None,
        uploaded_at=None,
        checked_at=None,
        checking_since=None,
        last_rejection=None,
    )


def _timeline(entry: LogModel) -> rest.TimelineEntry:
    return rest.TimelineEntry(
        version=entry.version,
        at=iso(entry.at),
        from_state=entry.from_state,
        to_state=entry.to_state,
        event=entry.event,
        actor=entry.actor,
        reason=entry.reason,
    )


def _matches(call: Call, integrator: Integrator, query: v1.CallsQuery) -> bool:
    return (
        call.unit_id == integrator.unit_id
        and (query.subscriber is None or call.subscriber == query.subscriber)
        and (query.dossier is None or call.dossier_id == query.dossier)
    )


def _scope(
    unit_id: str, hash_name: str, hash_value: str, since: datetime, until: datetime, query: v1.CallsQuery
) -> str:
    """What a cursor belongs to: the unit, the index and every filter."""
    text = "|".join(
        [
            unit_id,
            hash_name,
            hash_value,
            since.isoformat(),
            until.isoformat(),
            query.subscriber or "",
            query.dossier or "",
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode(key: dict[str, Any], scope: str) -> str:
    plain = {"s": scope, "k": {name: value["S"] for name, value in key.items()}}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode().rstrip("=")


def _decode(cursor: str, scope: str, hash_name: str, hash_value: str) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        key = plain["k"]
        if plain.get("s") != scope:
            raise ValueError("scope")
        if set(key) != {"call_id", "created_at", hash_name} or not all(
            isinstance(v, str) for v in key.values()
        ):
            raise ValueError("keys")
    except (ValueError, TypeError, KeyError):
        raise ProtocolError(
            "BAD_MESSAGE", "cursor: not one this list returned for these filters (keep the same filters)."
        ) from None
    key[hash_name] = hash_value  # a cursor moves within this list only
    return {name: {"S": value} for name, value in key.items()}
