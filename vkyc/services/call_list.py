"""The call list (``GET /reports/calls``): a range's calls newest first, filtered, page by page, from the
calls' indexes (``vkyc.repositories.call_lists``), never a Scan.

The index follows the most selective filter: a dossier's calls (``by_dossier``), a subscriber's
(``by_subscriber``), an agent's (``by_agent``), else each unit's (``by_unit_created``, the units merged
by time). A page reads at most ``limit`` index entries per unit (per index otherwise): its cost does not
grow with the table. The cursor is where the page stopped (a creation time and a call id), so the
next page starts below it; a page may hold fewer rows than ``limit`` when filters skipped entries.
The CSV is every page in turn, generated row by row.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from vkyc.domain.buckets import ms
from vkyc.domain.direction import Direction, direction_of
from vkyc.domain.settings import normalize_msisdn
from vkyc.protocol import report_rest as r
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.tabular import CsvStream
from vkyc.repositories import call_lists, directory
from vkyc.repositories.call_lists import Index
from vkyc.repositories.tables import Call
from vkyc.services.report_scope import LIST_MAX_DAYS, ReportCaller, Scope, resolve

CSV_PAGE = 500
LAST_ID = "\U0010ffff"  # above every call id: "every call of that instant"


@dataclass(frozen=True)
class Position:
    created_at: str  # as stored
    call_id: str

    def encode(self) -> str:
        raw = f"{self.created_at}\n{self.call_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(text: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            created_at, call_id = raw.split("\n")
            datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%S.%f%z")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ProtocolError("BAD_MESSAGE", "cursor: not a cursor of this list.") from None
        return Position(created_at, call_id)


def _key(call: Call) -> tuple[str, str]:
    return call_lists.stamp(call.created_at), call.call_id


class CallList:
    def page(self, caller: ReportCaller, query: r.CallsQuery) -> r.CallList:
        scope = resolve(caller, query, max_days=LIST_MAX_DAYS, counters=False)
        calls, cursor = self._page(scope, query, query.limit, query.cursor)
        return r.CallList(
            **{"from": query.from_},
            to=query.to,
            time_zone=scope.settings.timezone,
            units=scope.unit_ids,
            calls=[self._row(scope, c) for c in calls],
            next_cursor=cursor,
        )

    def csv(self, caller: ReportCaller, query: r.CallsQuery) -> CsvStream:
        scope = resolve(caller, query, max_days=LIST_MAX_DAYS, counters=False)
        header = [n for n in r.CallRow.model_fields if n != "evidence"]
        header += [f"evidence.{n}" for n in r.CallEvidence.model_fields]

        def rows() -> Iterator[list[object]]:
            cursor = query.cursor
            while True:
                calls, cursor = self._page(scope, query, CSV_PAGE, cursor)
                for call in calls:
                    yield list(_flat_row(self._row(scope, call)).values())
                if cursor is None:
                    return

        return CsvStream(f"calls_{query.from_}_{query.to}.csv", header, rows())

    # -- pages ------------------------------------------------------------------------------------------

    def _sources(self, scope: Scope, query: r.CallsQuery) -> tuple[list[tuple[Index, str]], dict[str, str]]:
        equals: dict[str, str] = {}
        for name in ("queue_id", "direction", "state", "end_reason", "decision", "dealer_channel"):
            value = getattr(query, name)
            if value is not None:
                equals[name] = value
        if query.dossier_id is not None:
            sources: list[tuple[Index, str]] = [("by_dossier", query.dossier_id)]
        elif query.subscriber is not None:
            try:
                sources = [("by_subscriber", normalize_msisdn(query.subscriber))]
            except ValueError:
                raise ProtocolError("BAD_MESSAGE", "subscriber: not a subscriber number.") from None
        elif query.agent_id is not None:
            return [("by_agent", query.agent_id)], equals
        else:
            return [("by_unit_created", unit) for unit in scope.unit_ids], equals
        if query.agent_id is not None:
            equals["agent_id"] = query.agent_id
        return sources, equals

    def _page(
        self, scope: Scope, query: r.CallsQuery, limit: int, cursor: str | None
    ) -> tuple[list[Call], str | None]:
        below = Position.decode(cursor) if cursor else None
        upper = call_lists.stamp(scope.end - timedelta(microseconds=1))
        if below is not None:
            upper = min(upper, below.created_at)
        sources, equals = self._sources(scope, query)
        one_of = {"unit_id": scope.unit_ids} if sources[0][0] != "by_unit_created" else None
        found: list[Call] = []
        boundary: str | None = None
        for index, value in sources:
            page = call_lists.page(
                index, value, scope.start, upper, limit=limit, equals=equals, one_of=one_of
            )
            found += [c for c in page.calls if below is None or _key(c) < (below.created_at, below.call_id)]
            if page.last_examined is not None:
                boundary = page.last_examined if boundary is None else max(boundary, page.last_examined)
        # Below the boundary some index was not read yet: only what lies above it is complete.
        known = sorted(
            (c for c in found if boundary is None or _key(c)[0] > boundary), key=_key, reverse=True
        )
        if len(known) > limit:
            last = known[limit - 1]
            return known[:limit], Position(*_key(last)).encode()
        if boundary is not None:
            return known, Position(boundary, LAST_ID).encode()
        return known, None

    # -- rows -------------------------------------------------------------------------------------------

    def _row(self, scope: Scope, call: Call) -> r.CallRow:
        units = {u.unit_id: u.name for u in scope.units}
        queues = directory.queues()
        agent_name = None
        if call.agent_id:
            for unit in {u.served_by for u in scope.units}:
                named = directory.agents_of(unit).get(call.agent_id)
                if named is not None:
                    agent_name = named.name
        inbound = direction_of(call.direction) is Direction.INBOUND
        waited_to = call.answered_at or (call.ended_at if inbound else None)
        return r.CallRow(
            call_id=call.call_id,
            created_at=call.created_at.astimezone(scope.zone).isoformat(),
            direction=call.direction,
            state=call.state,
            unit_id=call.unit_id,
            unit_name=units.get(call.unit_id),
            queue_id=call.queue_id,
            queue_name=queues[call.queue_id].name if call.queue_id in queues else None,
            agent_id=call.agent_id,
            agent_name=agent_name,
            subscriber=call.subscriber,
            dossier_id=call.dossier_id,
            sub_type=call.sub_type,
            customer_type=call.customer_type,
            dealer_channel=call.dealer_channel,
            answered_at=_local(call.answered_at, scope),
            ended_at=_local(call.ended_at, scope),
            end_reason=call.end_reason,
            ended_by=call.ended_by,
            decision=call.decision,
            wait_s=_seconds(call.created_at, waited_to),
            talk_s=_seconds(call.answered_at, call.ended_at),
            evidence=r.CallEvidence(
                recording=bool(call.recording_key),
                face_snapshot=bool(call.face_snapshot_ids),
                bundle=call.evidence_built_at is not None,
            ),
        )


def _local(when: datetime | None, scope: Scope) -> str | None:
    return None if when is None else when.astimezone(scope.zone).isoformat()


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0, ms(end) - ms(start)) / 1000, 1)


def _flat_row(row: r.CallRow) -> dict[str, object]:
    data = row.model_dump()
    evidence = data.pop("evidence")
    return data | {f"evidence.{k}": v for k, v in evidence.items()}
