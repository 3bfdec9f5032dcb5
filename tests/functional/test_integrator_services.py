"""The integrator API's use cases on moto, without HTTP: the calls list a page at a time (newest first,
only the unit's, cursors bound to their filters), ``Idempotency-Key`` (replay, reuse, a request still
running, a failure freeing the key), the dossier intake's update rules, and image verdicts that arrive
late or for a dossier decided meanwhile."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vkyc.domain.call import CALL, CallEvent
from vkyc.domain.dossier import DossierEvent
from vkyc.protocol import v1
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import Call
from vkyc.services.dossier_intake import DossierIntakeService
from vkyc.services.idempotency import Idempotency
from vkyc.services.integrator_auth import Integrator
from vkyc.services.integrator_reads import IntegratorReads

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Files:
    url_ttl_s = 900

    def __init__(self) -> None:
        self.deleted: list[str] = []

    def url(self, key: str) -> str:
        return f"https://bucket.example/{key}"

    def upload_form(self, key: str, content_type: str, min_bytes: int, max_bytes: int, ttl_s: int):
        return "https://bucket.example", {"key": key, "Content-Type": content_type}

    def delete(self, key: str) -> None:
        self.deleted.append(key)


class Jobs:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, kind: str, payload: dict[str, Any], delay_s: int = 0) -> None:
        self.sent.append((kind, payload))


class Eligible:
    def check(self, dossier: Any) -> None:
        return None


INTAKE = v1.DossierIntake(
    customer=v1.Customer(name="Lê Văn Cường", id_number="001090011111"),
    subscriber="0901000555",
    sub_type="MC",
    customer_type="KHCN",
    payment_type="prepaid",
    dealer_account="dbh.x",
)


@pytest.fixture
def unit(tables) -> Integrator:
    return Integrator(f"u{uuid.uuid4().hex[:6]}", "test")


def a_call(unit_id: str, dossier_id: str, subscriber: str, minutes: int) -> str:
    call = Call(
        f"c-{uuid.uuid4().hex[:10]}",
        direction="in",
        unit_id=unit_id,
        dossier_id=dossier_id,
        subscriber=subscriber,
    )
    calls = CallRepository()
    calls.create(call, CALL, request_id=uuid.uuid4().hex, actor="t", at=T0 + timedelta(minutes=minutes))
    calls.transition(call, CALL, CallEvent.CALLER_HANGUP, request_id=uuid.uuid4().hex, actor="t")
    return call.call_id


def in_order(pages: list[list[str]]) -> list[str]:
    return [call_id for page in pages for call_id in page]


def all_pages(reads: IntegratorReads, who: Integrator, **query: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = reads.list_calls(who, v1.CallsQuery(**query, cursor=cursor))
        pages.append([c.call_id for c in page.calls])
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_the_calls_list_pages_newest_first_through_the_units_calls_only(unit):
    reads = IntegratorReads(Files(), Eligible(), clock=lambda: T0 + timedelta(days=1))
    mine = [a_call(unit.unit_id, "D-1", "84900000001", m) for m in range(7)]
    others = [a_call(unit.unit_id + "x", "D-9", "84900000001", m) for m in range(3)]
    pages = all_pages(reads, unit, limit=3)
    assert [len(p) for p in pages if p] == [3, 3, 1]
    assert in_order(pages) == list(reversed(mine))
    by_subscriber = in_order(all_pages(reads, unit, subscriber="0900000001", limit=2))
    assert by_subscriber == list(reversed(mine)) and not set(others) & set(by_subscriber)
    window_query = {"from": T0 + timedelta(minutes=2), "to": T0 + timedelta(minutes=4)}
    window = in_order(all_pages(reads, unit, limit=10, **window_query))
    assert window == list(reversed(mine[2:5]))


def test_a_cursor_is_bound_to_its_filters(unit):
    reads = IntegratorReads(Files(), Eligible(), clock=lambda: T0 + timedelta(days=1))
    for minute in range(3):
        a_call(unit.unit_id, "D-2", "84900000002", minute)
    cursor = reads.list_calls(unit, v1.CallsQuery(limit=1)).next_cursor
    assert cursor
    with pytest.raises(ProtocolError) as refused:
        reads.list_calls(unit, v1.CallsQuery(limit=1, subscriber="84900000002", cursor=cursor))
    assert refused.value.code == "BAD_MESSAGE"
    with pytest.raises(ProtocolError):
        reads.list_calls(Integrator(unit.unit_id + "x", "t"), v1.CallsQuery(limit=1, cursor=cursor))


# -- Idempotency-Key ---------------------------------------------------------------------------------


def test_a_key_runs_its_request_once_and_replays_the_answer(unit):
    runs: list[int] = []

    def action() -> v1.WebhookDeleted:
        runs.append(1)
        return v1.WebhookDeleted(webhook_id=f"w{len(runs)}", deleted=True)

    once = Idempotency(clock=lambda: T0)
    first = once.run(unit.unit_id, "key-1", "hash-a", v1.WebhookDeleted, action)
    again = once.run(unit.unit_id, "key-1", "hash-a", v1.WebhookDeleted, action)
    assert first == again and len(runs) == 1
    with pytest.raises(ProtocolError) as reused:
        once.run(unit.unit_id, "key-1", "hash-b", v1.WebhookDeleted, action)
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED" and len(runs) == 1
    other_unit = once.run(unit.unit_id + "x", "key-1", "hash-b", v1.WebhookDeleted, action)
    assert other_unit.webhook_id == "w2", "a key is scoped to its unit"


def test_a_retry_while_the_first_runs_is_told_to_wait_and_a_failure_frees_the_key(unit):
    started, release = threading.Event(), threading.Event()
    once = Idempotency(clock=lambda: T0)

    def slow() -> v1.WebhookDeleted:
        started.set()
        release.wait(10)
        return v1.WebhookDeleted(webhook_id="slow", deleted=True)

    worker = threading.Thread(target=once.run, args=(unit.unit_id, "key-2", "h", v1.WebhookDeleted, slow))
    worker.start()
    started.wait(10)
    with pytest.raises(ProtocolError) as running:
        once.run(unit.unit_id, "key-2", "h", v1.WebhookDeleted, slow)
    assert running.value.code == "REQUEST_IN_PROGRESS"
    release.set()
    worker.join(10)

    def failing() -> v1.WebhookDeleted:
        raise ProtocolError("STATE_CONFLICT")

    with pytest.raises(ProtocolError):
        once.run(unit.unit_id, "key-3", "h", v1.WebhookDeleted, failing)
    retried = once.run(
        unit.unit_id,
        "key-3",
        "h",
        v1.WebhookDeleted,
        lambda: v1.WebhookDeleted(webhook_id="ok", deleted=True),
    )
    assert retried.webhook_id == "ok"


def test_a_holder_silent_past_the_stale_limit_is_taken_over(unit):
    from vkyc.repositories import idempotency

    assert idempotency.claim(unit.unit_id, "key-4", "h", T0, stale_before=T0 - timedelta(seconds=60)) is None
    later = Idempotency(clock=lambda: T0 + timedelta(minutes=5))
    answer = later.run(
        unit.unit_id, "key-4", "h", v1.WebhookDeleted, lambda: v1.WebhookDeleted(webhook_id="z", deleted=True)
    )
    assert answer.webhook_id == "z"


# -- intake ------------------------------------------------------------------------------------------


def test_the_intake_creates_then_updates_only_what_differs_and_only_while_open(unit):
    intake = DossierIntakeService(Files(), Jobs(), clock=lambda: T0)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    created = intake.put(unit, dossier_id, INTAKE)
    assert (created.state, created.version, created.image_checks.portrait.status) == ("N", 1, "missing")
    assert intake.put(unit, dossier_id, INTAKE).version == 1
    changed = intake.put(unit, dossier_id, INTAKE.model_copy(update={"sub_type": "ZP"}))
    assert (changed.sub_type, changed.version) == ("ZP", 2)
    assert DossierRepository().history(dossier_id)[-1].event == "updated"
    with pytest.raises(ProtocolError) as foreign:
        intake.put(Integrator(unit.unit_id + "x", "t"), dossier_id, INTAKE)
    assert foreign.value.code == "NOT_FOUND"
    repo = DossierRepository()
    dossier = repo.get(dossier_id)
    call_id = f"c-{uuid.uuid4().hex[:8]}"
    CallRepository().create(
        Call(call_id, direction="in", unit_id=unit.unit_id, dossier_id=dossier_id),
        CALL,
        request_id=uuid.uuid4().hex,
        actor="t",
    )
    from vkyc.repositories.transitions import commit, plan_note

    commit(
        plan_note(dossier, event="note", actor="t", attrs={"last_call_id": call_id}),
        request_id=uuid.uuid4().hex,
    )
    with pytest.raises(ProtocolError) as busy:
        intake.put(unit, dossier_id, INTAKE)
    assert busy.value.code == "CALL_IN_PROGRESS"
    dossier = repo.get(dossier_id)
    repo.transition(dossier, DossierEvent.SUBMIT, request_id=uuid.uuid4().hex, actor="t")
    repo.transition(dossier, DossierEvent.REJECT, request_id=uuid.uuid4().hex, actor="t", reason="r")
    with pytest.raises(ProtocolError) as decided:
        intake.put(unit, dossier_id, INTAKE)
    assert decided.value.code == "DOSSIER_DECIDED"
    assert repo.get(dossier_id).sub_type == "ZP"


def test_two_simultaneous_creations_of_one_id_make_one_dossier(unit):
    intake = DossierIntakeService(Files(), Jobs(), clock=lambda: T0)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(intake.put(unit, dossier_id, INTAKE)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 4
    assert [e.event for e in DossierRepository().history(dossier_id)] == ["create"]


def _verdict(key: str, ok: bool = True, code: str | None = None) -> dict[str, Any]:
    return {
        "key": key,
        "ok": ok,
        "code": code,
        "detail": "x",
        "content_type": "image/jpeg",
        "size": 5000,
        "width": 480,
        "height": 300,
    }


def test_a_verdict_for_an_upload_a_newer_one_replaced_changes_nothing_and_its_file_goes(unit):
    files, jobs = Files(), Jobs()
    intake = DossierIntakeService(files, jobs, clock=lambda: T0)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    intake.put(unit, dossier_id, INTAKE)
    older = f"uploads/{dossier_id}/id_front/a1.jpg"
    newer = f"uploads/{dossier_id}/id_front/b2.jpg"
    assert intake.uploaded(older, 5000) and intake.uploaded(newer, 5000)
    assert [payload["key"] for _, payload in jobs.sent] == [older, newer]
    assert intake.checked(_verdict(older)) == "superseded" and files.deleted == [older]
    assert intake.checked(_verdict(newer)) == "accepted"
    stored = DossierRepository().get(dossier_id)
    assert (stored.image_checks.id_front.key, stored.images.id_front_key) == (newer, newer)
    rejected = f"uploads/{dossier_id}/id_front/c3.jpg"
    intake.uploaded(rejected, 5000)
    assert intake.checked(_verdict(rejected, ok=False, code="IMAGE_NOT_DECODABLE")) == "rejected"
    stored = DossierRepository().get(dossier_id)
    assert (
        stored.image_checks.id_front.key == newer
        and stored.image_checks.id_front.rejected_code == "IMAGE_NOT_DECODABLE"
    )
    assert files.deleted == [older, rejected]


def test_an_upload_for_a_decided_dossier_is_discarded(unit):
    files, jobs = Files(), Jobs()
    intake = DossierIntakeService(files, jobs, clock=lambda: T0)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    intake.put(unit, dossier_id, INTAKE)
    repo = DossierRepository()
    dossier = repo.get(dossier_id)
    repo.transition(dossier, DossierEvent.SUBMIT, request_id=uuid.uuid4().hex, actor="t")
    repo.transition(dossier, DossierEvent.APPROVE, request_id=uuid.uuid4().hex, actor="t")
    key = f"uploads/{dossier_id}/portrait/z.jpg"
    assert intake.uploaded(key, 5000) is False
    assert files.deleted == [key] and not jobs.sent
    assert repo.get(dossier_id).version == dossier.version
