"""Reads of the agent's workspace (issue #16), for the agent page: the agent's own day (figures and
call history with a search) and a dossier search. Read-only; the caller is a ``reports.Caller``
verified by ``ReportsService.caller``; reach as in ``vkyc.services.reports`` (the units the caller's
unit serves; a dossier outside it is never listed).

Costs: ``my_day`` is one Query per unit of the reach (GSI ``by_unit_created``) and one Query of the
agent's status log from the newest entry back to the day's start; ``search_dossiers`` one GetItem
(an id) or one Query (GSI ``by_subscriber``, the 50 newest calls) and two BatchGetItem.
"""

from __future__ import annotations

from datetime import UTC, datetime

from vkyc.domain.agent import AgentEvent
from vkyc.domain.direction import INBOUND, rules_of
from vkyc.domain.settings import normalize_msisdn
from vkyc.protocol import rest
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import Role
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.batch import get_many
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.tables import Call, Dossier
from vkyc.services.reports import Caller, ReportsService

SEARCH_LIMIT = 20
RECENT_CALLS = 50
# The agent's status log: an offer that ends without the agent taking it.
NOT_TAKEN = frozenset({AgentEvent.REJECT.value, AgentEvent.RING_TIMEOUT.value})


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _handle_s(call: Call) -> float | None:
    if call.answered_at is None or call.ended_at is None:
        return None
    return round((call.ended_at - call.answered_at).total_seconds(), 1)


class WorkspaceService:
    def __init__(self, reports: ReportsService) -> None:
        self.reports = reports
        self.agents = AgentRepository()
        self.calls = CallRepository()
        self.dossiers = DossierRepository()

    def my_day(self, caller: Caller, query: rest.MyCallsQuery) -> rest.MyDay:
        """The agent's own local day (``date``, default today): ``handled`` (calls answered: inbound
        accepted, call-backs answered), ``missed`` (offers rejected or rung out, from the status log),
        ``average_handle_s`` (answer to end, over the handled calls that ended), and the day's calls
        newest first, those matching ``q`` only. ``FORBIDDEN_ACTION`` for a supervisor."""
        if caller.principal.role is not Role.AGENT:
            raise ProtocolError("FORBIDDEN_ACTION", "Only agents have calls of their own.")
        agent_id = caller.principal.principal_id
        settings = self.reports._home_settings(caller)
        day, start, until = self.reports._day(query.date, settings.zone())
        mine = [
            call
            for unit in sorted(caller.unit_ids)
            for call in self.calls.of_unit(unit, start, until)
            if call.agent_id == agent_id
        ]
        mine.sort(key=lambda c: c.created_at, reverse=True)
        handled = [c for c in mine if c.answered_at is not None]
        durations = [d for d in (_handle_s(c) for c in handled) if d is not None]
        missed = sum(
            1 for entry in self.agents.log_between(agent_id, start, until) if entry.event in NOT_TAKEN
        )
        wanted = (query.q or "").lower()
        shown = [
            c
            for c in mine
            if not wanted
            or any(wanted in (value or "").lower() for value in (c.call_id, c.dossier_id, c.subscriber))
        ]
        return rest.MyDay(
            date=day.isoformat(),
            time_zone=settings.timezone,
            figures=rest.MyFigures(
                handled=len(handled),
                missed=missed,
                average_handle_s=round(sum(durations) / len(durations), 1) if durations else None,
            ),
            calls=[
                rest.MyCall(
                    call_id=c.call_id,
                    direction="in" if rules_of(c.direction) is INBOUND else "out",
                    state=c.state,
                    dossier_id=c.dossier_id,
                    subscriber=c.subscriber,
                    created_at=_iso(c.created_at),
                    answered_at=_iso(c.answered_at),
                    ended_at=_iso(c.ended_at),
                    end_reason=c.end_reason,
                    handle_s=_handle_s(c),
                )
                for c in shown
            ],
        )

    def waiting(self, caller: Caller) -> rest.WaitingQueues:
        """The calls waiting for an agent in each serving unit of the caller's reach, oldest first,
        with their dossier and customer (supervisors: which dossiers wait in which queue)."""
        queues: list[rest.WaitingQueue] = []
        for unit in sorted(caller.serving_unit_ids):
            ids = [c.call_id for c in self.calls.waiting(unit)][:100]
            calls = [c for c in get_many([Call(i) for i in ids]) if isinstance(c, Call)]
            dossiers = {
                d.dossier_id: d
                for d in get_many([Dossier(c.dossier_id) for c in calls if c.dossier_id])
                if isinstance(d, Dossier)
            }
            rows = []
            for call in calls:
                dossier = dossiers.get(call.dossier_id or "")
                customer = dossier.customer if dossier is not None else None
                rows.append(
                    rest.WaitingCall(
                        call_id=call.call_id,
                        dossier_id=call.dossier_id,
                        customer_name=customer.name if customer is not None else None,
                        subscriber=call.subscriber,
                        waiting_since=_iso(call.created_at),
                    )
                )
            queues.append(rest.WaitingQueue(unit_id=unit, calls=rows))
        return rest.WaitingQueues(queues=queues)

    def search_dossiers(self, caller: Caller, query: rest.DossierSearchQuery) -> rest.DossierSearch:
        """Dossiers of the caller's reach by id (exact) or by subscriber number (any spelling): those
        the subscriber's most recent calls name, the most recently called first. Nothing outside the
        reach is listed, so a search tells nothing about other units."""
        found: dict[str, tuple[Dossier, datetime | None]] = {}
        exact = self.dossiers.find(query.q)
        if exact is not None:
            found[exact.dossier_id] = (exact, None)
        try:
            subscriber = normalize_msisdn(query.q)
        except ValueError:
            subscriber = None
        if subscriber is not None:
            ids = self.calls.recent_of_subscriber(subscriber, RECENT_CALLS)
            calls = [c for c in get_many([Call(call_id) for call_id in ids]) if isinstance(c, Call)]
            last: dict[str, datetime] = {}
            for call in calls:
                if call.dossier_id and call.dossier_id not in last:
                    last[call.dossier_id] = call.created_at
            keys = [Dossier(dossier_id) for dossier_id in list(last)[:100]]
            for item in get_many(keys):
                if isinstance(item, Dossier):
                    found.setdefault(item.dossier_id, (item, last.get(item.dossier_id)))
        hits = [(dossier, at) for dossier, at in found.values() if dossier.unit_id in caller.unit_ids]
        hits.sort(key=lambda pair: pair[1] or datetime.max.replace(tzinfo=UTC), reverse=True)
        return rest.DossierSearch(
            dossiers=[
                rest.DossierHit(
                    dossier_id=d.dossier_id,
                    unit_id=d.unit_id,
                    state=d.state,
                    customer_name=d.customer.name if d.customer is not None else None,
                    subscriber=d.subscriber,
                    last_call_at=_iso(at),
                )
                for d, at in hits[:SEARCH_LIMIT]
            ]
        )
