"""Read-only use cases of the REST API for the web client (``functions/reports``): who is logged in
and the settings their page shows, a dossier with its images, one call's history with its evidence,
and the calls-per-hour report with the service level.

``caller`` verifies the bearer token of ``POST /auth/login`` (``Authorization: Bearer <token>``) and
the caller's role (``AUTH_REQUIRED``, ``TOKEN_INVALID``, ``TOKEN_EXPIRED``, ``FORBIDDEN_ACTION``); the
REST layer (``vkyc.api``) calls it and validates the parameters (``BAD_MESSAGE``) before a use case
runs. Each use case then checks the caller's reach: an agent or supervisor of unit U sees the units U
serves (the serving map, ``Unit.served_by``); an admin (unit ``*``) sees every unit. A unit named in a
parameter outside the reach is ``UNIT_NOT_SERVED``; a dossier or call outside it is ``NOT_FOUND`` /
``CALL_NOT_FOUND``, exactly as one that does not exist (ids are not probed). Answers are the models of
``vkyc.protocol.rest``. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from vkyc.domain.agent import AgentState
from vkyc.domain.call import CALL
from vkyc.domain.direction import INBOUND, rules_of
from vkyc.protocol import rest
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import Role
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.auth_events import NO_UNIT, events_of
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.offers import OfferRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call, LogModel
from vkyc.repositories.units import UnitView, list_units
from vkyc.repositories.users import find_user
from vkyc.services.auth import AuthService, Principal
from vkyc.services.dossier_calls import dossier_view
from vkyc.services.ports import Clock, utc_now

STAFF = frozenset({Role.AGENT, Role.SUPERVISOR})
WORKING = frozenset({AgentState.RINGING.value, AgentState.IN_CALL.value, AgentState.WRAP_UP.value})
# Where the media node leaves a call's files in the media bucket (``media_node.config.KeyLayout``).
RECORDING = "recording.webm"
RECORDING_INFO = "recording.json"


def call_prefix(call_id: str) -> str:
    return f"calls/{call_id}/"


@dataclass(frozen=True)
class Caller:
    """A verified bearer token and the units it reaches."""

    principal: Principal
    units: tuple[UnitView, ...]

    @property
    def unit_ids(self) -> frozenset[str]:
        return frozenset(u.unit_id for u in self.units)

    @property
    def serving_unit_ids(self) -> frozenset[str]:
        """The units among its reach whose agents answer calls (queues live there)."""
        return frozenset(u.unit_id for u in self.units if u.served_by == u.unit_id and u.has_agents)


def _ms(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ReportsService:
    """The REST reads. ``files`` is a ``vkyc.adapters.media_files.MediaFiles`` (or a fake with
    ``listing``, ``exists``, ``read_json`` and ``url``)."""

    def __init__(
        self,
        files: Any,
        *,
        auth: AuthService | None = None,
        units: Callable[[], list[UnitView]] = list_units,
        clock: Clock = utc_now,
    ) -> None:
        self.files = files
        self.auth = auth or AuthService()
        self.units = units
        self.clock = clock
        self.agents = AgentRepository()
        self.calls = CallRepository()
        self.dossiers = DossierRepository()
        self.offers = OfferRepository()

    # -- who asks ----------------------------------------------------------------------------------

    def caller(self, authorization: str | None, roles: frozenset[Role] = STAFF) -> Caller:
        principal = self.auth.bearer(authorization, roles)
        units = tuple(u for u in self.units() if principal.unit_id in ("*", u.served_by))
        return Caller(principal, units)

    # -- GET /me -----------------------------------------------------------------------------------

    def me(self, caller: Caller) -> rest.Me:
        """Who the token is, the units it reaches, the agent's status and current work (the call and
        its dossier: what a reloaded page resumes), and the settings the web client shows (greeting
        and closing scripts, notification, timers, SLA) or obeys (``approve_requires_face``: when the
        page may offer decision A)."""
        principal = caller.principal
        home = principal.unit_id if principal.unit_id != "*" else None
        settings = cached_settings(home)
        agent: rest.AgentWork | None = None
        name = principal.principal_id
        if principal.role is Role.AGENT:
            item = self.agents.find(principal.principal_id)
            if item is not None:
                name = item.name or name
                # The item keeps the ids of its last call and offer: they are current only while working.
                call_id = item.call_id if item.state in WORKING else None
                offer_id = item.offer_id if item.state == AgentState.RINGING.value else None
                call = self.calls.find(call_id) if call_id else None
                agent = rest.AgentWork(
                    status=AgentState(item.state),
                    since_ms=_ms(item.updated_at) or 0,
                    call_id=call_id,
                    offer_id=offer_id,
                    dossier_id=call.dossier_id if call is not None else None,
                )
        else:
            user = find_user(principal.principal_id)
            if user is not None:
                name = user.display_name
        return rest.Me(
            role="agent" if principal.role is Role.AGENT else "supervisor",
            principal_id=principal.principal_id,
            name=name,
            unit_id=principal.unit_id,
            units=[rest.Unit(**u.as_dict()) for u in caller.units],
            agent=agent,
            server_time_ms=_ms(self.clock()) or 0,
            settings=rest.PageSettings(
                greeting=settings.greeting,
                closing_message=settings.closing_message,
                notify_incoming=settings.notify_incoming,
                ring_timeout_s=settings.ring_timeout_s,
                reconnect_grace_s=settings.reconnect_grace_s,
                wrap_up_limit_s=settings.wrap_up_limit_s,
                sla_target_percent=settings.sla_target_percent,
                sla_answer_within_s=settings.sla_answer_within_s,
                approve_requires_face=settings.approve_requires_face,
            ),
        )

    # -- GET /dossiers/{dossier_id} ----------------------------------------------------------------

    def dossier(self, caller: Caller, dossier_id: str) -> rest.DossierDetail:
        """The dossier as the agent's panel shows it, with pre-signed URLs of the images that exist
        (``null`` for a key that names no object), and its calls (newest first). ``NOT_FOUND`` for a
        dossier that does not exist or belongs to a unit outside the caller's reach."""
        dossier = self.dossiers.find(dossier_id)
        if dossier is None or dossier.unit_id not in caller.unit_ids:
            raise ProtocolError("NOT_FOUND", f"No dossier {dossier_id!r} among your units.")
        view = dossier_view(dossier)
        images = view.images
        return rest.DossierDetail(
            dossier=view,
            image_urls=rest.ImageUrls(
                id_front=self._url_if_exists(images.id_front),
                id_back=self._url_if_exists(images.id_back),
                portrait=self._url_if_exists(images.portrait),
            ),
            calls=[
                rest.DossierCall.model_validate(
                    {"call_id": c.call_id, "direction": c.direction, "state": c.state, "agent_id": c.agent_id}
                )
                for c in reversed(self.calls.of_dossier(dossier_id))
            ],
        )

    def _url_if_exists(self, key: str | None) -> str | None:
        if not key or not self.files.exists(key):
            return None
        url: str = self.files.url(key)
        return url

    # -- GET /calls/{call_id} ----------------------------------------------------------------------

    def call(self, caller: Caller, call_id: str) -> rest.CallDetail:
        """One call for a supervisor: its fields, its timeline (every transition of the call, the
        offers to agents), the snapshots taken and the recording, with pre-signed URLs.
        ``CALL_NOT_FOUND`` for a call that does not exist or belongs to a unit outside the reach."""
        call = self.calls.find(call_id)
        if call is None or (call.serving_unit_id or call.unit_id) not in caller.unit_ids:
            raise ProtocolError("CALL_NOT_FOUND", f"No call {call_id!r} among your units.", call_id=call_id)
        stored = self.files.listing(call_prefix(call_id))
        recording: rest.RecordingFile | None = None
        for f in stored:
            if f.key == call_prefix(call_id) + RECORDING:
                info = self.files.read_json(call_prefix(call_id) + RECORDING_INFO)
                recording = rest.RecordingFile(key=f.key, url=self.files.url(f.key), size=f.size, info=info)
        return rest.CallDetail(
            call=self._call_fields(call),
            timeline=[self._event(entry) for entry in self.calls.history(call_id)],
            offers=[
                rest.OfferEntry(
                    offer_id=o.offer_id, agent_id=o.agent_id, state=o.state, at=_iso(o.created_at)
                )
                for o in self.offers.of_call(call_id)
            ],
            snapshots=[
                rest.SnapshotFile(
                    snapshot_id=f.key.rsplit("/", 1)[-1].removesuffix(".jpg"),
                    key=f.key,
                    url=self.files.url(f.key),
                    size=f.size,
                    stored_at=_iso(f.last_modified),
                )
                for f in stored
                if "/snapshots/" in f.key and f.key.endswith(".jpg")
            ],
            recording=recording,
        )

    @staticmethod
    def _event(entry: LogModel) -> rest.TimelineEntry:
        return rest.TimelineEntry(
            version=entry.version,
            at=_iso(entry.at),
            from_state=entry.from_state,
            to_state=entry.to_state,
            event=entry.event,
            actor=entry.actor,
            reason=entry.reason,
        )

    @staticmethod
    def _call_fields(call: Call) -> rest.CallFields:
        return rest.CallFields(
            call_id=call.call_id,
            direction=call.direction,
            state=call.state,
            unit_id=call.unit_id,
            serving_unit_id=call.serving_unit_id,
            dossier_id=call.dossier_id,
            agent_id=call.agent_id,
            subscriber=call.subscriber,
            created_at=_iso(call.created_at),
            answered_at=_iso(call.answered_at),
            ended_at=_iso(call.ended_at),
            end_reason=call.end_reason,
            ended_by=call.ended_by,
            decision=call.decision,
        )

    # -- GET /reports/calls-per-hour -------------------------------------------------------------------

    def calls_per_hour(self, caller: Caller, query: rest.CallsPerHourQuery) -> rest.CallsPerHour:
        """Inbound calls of one local day, hour by hour: answered, missed (ended without an answer),
        and answered within the SLA; the day's service level (answered within ``sla_answer_within_s``
        over answered + missed, in percent) against ``sla_target_percent``. ``unit_id`` (a caller's
        unit among the caller's reach; default: all of them) and ``date`` (``YYYY-MM-DD``, local to the
        settings' time zone; default: today). Calls still in progress are counted in neither."""
        units = self._units_asked(caller, query.unit_id)
        settings = self._home_settings(caller)
        zone = settings.zone()
        day, start, until = self._day(query.date, zone)
        within = timedelta(seconds=settings.sla_answer_within_s)
        hours = [{"hour": h, "answered": 0, "missed": 0, "answered_within_sla": 0} for h in range(24)]
        finals = {s.value for s in CALL.finals}
        for unit in units:
            for call in self.calls.of_unit(unit, start, until):
                if rules_of(call.direction) is not INBOUND:
                    continue
                row = hours[call.created_at.astimezone(zone).hour]
                if call.answered_at is not None:
                    row["answered"] += 1
                    if call.answered_at - call.created_at <= within:
                        row["answered_within_sla"] += 1
                elif call.state in finals:
                    row["missed"] += 1
        answered = sum(h["answered"] for h in hours)
        missed = sum(h["missed"] for h in hours)
        in_sla = sum(h["answered_within_sla"] for h in hours)
        level = round(100.0 * in_sla / (answered + missed), 1) if answered + missed else None
        return rest.CallsPerHour(
            date=day.isoformat(),
            time_zone=settings.timezone,
            units=units,
            hours=[rest.HourRow(**h) for h in hours],
            totals=rest.Totals(answered=answered, missed=missed, answered_within_sla=in_sla),
            service_level_percent=level,
            sla_target_percent=settings.sla_target_percent,
            sla_answer_within_s=settings.sla_answer_within_s,
        )

    # -- GET /reports/auth-events ----------------------------------------------------------------------

    def auth_events(self, caller: Caller, query: rest.AuthEventsQuery) -> rest.AuthEvents:
        """The login audit trail of one local day (``date``, default today) of ``unit_id`` (default:
        every unit of the reach), newest first, at most ``limit``. ``*`` (events of no known unit) is
        in an admin's reach only."""
        if query.unit_id == NO_UNIT and caller.principal.unit_id != "*":
            raise ProtocolError("UNIT_NOT_SERVED", "Only admins read the events of no known unit.")
        units = [NO_UNIT] if query.unit_id == NO_UNIT else self._units_asked(caller, query.unit_id)
        settings = self._home_settings(caller)
        day, start, until = self._day(query.date, settings.zone())
        events: list[rest.AuthEventEntry] = []
        truncated = False
        for unit in units:
            found, more = events_of(unit, start, until, query.limit)
            truncated = truncated or more
            events += [rest.AuthEventEntry(**{**asdict(e), "at": _iso(e.at)}) for e in found]
        events.sort(key=lambda e: e.at, reverse=True)
        if len(events) > query.limit:
            events, truncated = events[: query.limit], True
        return rest.AuthEvents(
            date=day.isoformat(), time_zone=settings.timezone, units=units, events=events, truncated=truncated
        )

    # -- shared ------------------------------------------------------------------------------------

    def _units_asked(self, caller: Caller, unit_id: str | None) -> list[str]:
        """``[unit_id]`` if it is in the caller's reach (else ``UNIT_NOT_SERVED``), or all of the reach."""
        if unit_id is None:
            return sorted(caller.unit_ids)
        if unit_id not in caller.unit_ids:
            raise ProtocolError("UNIT_NOT_SERVED", f"Unit {unit_id!r}.")
        return [unit_id]

    @staticmethod
    def _home_settings(caller: Caller) -> Any:
        return cached_settings(caller.principal.unit_id if caller.principal.unit_id != "*" else None)

    def _day(self, text: str | None, zone: Any) -> tuple[date, datetime, datetime]:
        """The local day asked (default today) and its first and last instants, in UTC."""
        day = date.fromisoformat(text) if text is not None else self.clock().astimezone(zone).date()
        start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        return day, start, start + timedelta(days=1) - timedelta(microseconds=1)
