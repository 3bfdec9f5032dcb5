"""Read-only use cases of the REST API for the web client (``functions/reports``): who is logged in
and the settings their page shows, a dossier with its images, one call's history with its evidence,
and the calls-per-hour report with the service level.

Every use case takes the bearer token of ``POST /auth/login`` (``Authorization: Bearer <token>``) and
checks the caller's reach: an agent or supervisor of unit U sees the units U serves (the serving map,
``Unit.served_by``); an admin (unit ``*``) sees every unit. Failures are ``ProtocolError`` with a
catalogue code (``docs/errors.md``): ``AUTH_REQUIRED``, ``TOKEN_INVALID``, ``TOKEN_EXPIRED``,
``FORBIDDEN_ACTION`` (a role that may not ask), ``BAD_MESSAGE`` (a malformed parameter, named),
``UNIT_NOT_SERVED``, ``NOT_FOUND`` (dossier) and ``CALL_NOT_FOUND`` (also for a call outside the
caller's reach: ids are not probed). Nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from vkyc.domain.agent import AgentState
from vkyc.domain.call import CALL
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import Role
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import INBOUND, CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.offers import OfferRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call, LogModel
from vkyc.repositories.units import UnitView, list_units
from vkyc.repositories.users import find_user
from vkyc.services.auth import AuthService, Principal
from vkyc.services.dossier_calls import dossier_view
from vkyc.services.ports import Clock, utc_now

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
UNIT_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; ``AUTH_REQUIRED`` without one."""
    if not authorization:
        raise ProtocolError("AUTH_REQUIRED", "Send Authorization: Bearer <token> (from POST /auth/login).")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProtocolError("AUTH_REQUIRED", "The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def check_id(name: str, value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise ProtocolError("BAD_MESSAGE", f"{name}: 1 to 64 characters among A-Z a-z 0-9 _ . : -")
    return value


def check_params(params: Mapping[str, str] | None, allowed: set[str]) -> dict[str, str]:
    """The query parameters, refusing unknown ones (a typo must not silently change a report)."""
    given = dict(params or {})
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ProtocolError("BAD_MESSAGE", f"{unknown[0]}: unknown parameter; allowed: {sorted(allowed)}")
    return given


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
        principal = self.auth.principal_of(bearer_token(authorization))
        if principal.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise ProtocolError("FORBIDDEN_ACTION", f"Only {allowed} may ask this.")
        units = tuple(u for u in self.units() if principal.unit_id in ("*", u.served_by))
        return Caller(principal, units)

    def _unit_in_reach(self, caller: Caller, unit_id: str) -> None:
        if unit_id not in caller.unit_ids:
            raise ProtocolError("UNIT_NOT_SERVED", f"Unit {unit_id!r}.")

    # -- GET /me -----------------------------------------------------------------------------------

    def me(self, authorization: str | None) -> dict[str, Any]:
        """Who the token is, the units it reaches, the agent's status and current work (the call and
        its dossier: what a reloaded page resumes), and the settings the web client shows (greeting
        and closing scripts, notification, timers, SLA) or obeys (``approve_requires_face``: when the
        page may offer decision A)."""
        caller = self.caller(authorization)
        principal = caller.principal
        home = principal.unit_id if principal.unit_id != "*" else None
        settings = cached_settings(home)
        agent: dict[str, Any] | None = None
        name = principal.principal_id
        if principal.role is Role.AGENT:
            item = self.agents.find(principal.principal_id)
            if item is not None:
                name = item.name or name
                # The item keeps the ids of its last call and offer: they are current only while working.
                call_id = item.call_id if item.state in WORKING else None
                offer_id = item.offer_id if item.state == AgentState.RINGING.value else None
                call = self.calls.find(call_id) if call_id else None
                agent = {
                    "status": item.state,
                    "since_ms": _ms(item.updated_at),
                    "call_id": call_id,
                    "offer_id": offer_id,
                    "dossier_id": call.dossier_id if call is not None else None,
                }
        else:
            user = find_user(principal.principal_id)
            if user is not None:
                name = user.display_name
        return {
            "role": principal.role.value,
            "principal_id": principal.principal_id,
            "name": name,
            "unit_id": principal.unit_id,
            "units": [u.as_dict() for u in caller.units],
            "agent": agent,
            "server_time_ms": _ms(self.clock()),
            "settings": {
                "greeting": settings.greeting,
                "closing_message": settings.closing_message,
                "notify_incoming": settings.notify_incoming,
                "ring_timeout_s": settings.ring_timeout_s,
                "reconnect_grace_s": settings.reconnect_grace_s,
                "wrap_up_limit_s": settings.wrap_up_limit_s,
                "sla_target_percent": settings.sla_target_percent,
                "sla_answer_within_s": settings.sla_answer_within_s,
                "approve_requires_face": settings.approve_requires_face,
            },
        }

    # -- GET /dossiers/{dossier_id} ----------------------------------------------------------------

    def dossier(self, authorization: str | None, dossier_id: str) -> dict[str, Any]:
        """The dossier as the agent's panel shows it, with pre-signed URLs of the images that exist
        (``null`` for a key that names no object), and its calls (newest first)."""
        caller = self.caller(authorization)
        check_id("dossier_id", dossier_id)
        dossier = self.dossiers.find(dossier_id)
        if dossier is None:
            raise ProtocolError("NOT_FOUND", f"No dossier {dossier_id!r}.")
        self._unit_in_reach(caller, dossier.unit_id)
        view = dossier_view(dossier).model_dump(mode="json")
        urls = {kind: self._url_if_exists(key) for kind, key in view["images"].items()}
        calls = [
            {"call_id": c.call_id, "direction": c.direction, "state": c.state, "agent_id": c.agent_id}
            for c in reversed(self.calls.of_dossier(dossier_id))
        ]
        return {"dossier": view, "image_urls": urls, "calls": calls}

    def _url_if_exists(self, key: str | None) -> str | None:
        if not key or not self.files.exists(key):
            return None
        url: str = self.files.url(key)
        return url

    # -- GET /calls/{call_id} ----------------------------------------------------------------------

    def call(self, authorization: str | None, call_id: str) -> dict[str, Any]:
        """One call for a supervisor: its fields, its timeline (every transition of the call, the
        offers to agents), the snapshots taken and the recording, with pre-signed URLs."""
        caller = self.caller(authorization, frozenset({Role.SUPERVISOR}))
        check_id("call_id", call_id)
        call = self.calls.find(call_id)
        if call is None or (call.serving_unit_id or call.unit_id) not in caller.unit_ids:
            raise ProtocolError("CALL_NOT_FOUND", f"No call {call_id!r} among your units.", call_id=call_id)
        timeline = [self._event(entry) for entry in self.calls.history(call_id)]
        offers = [
            {
                "offer_id": o.offer_id,
                "agent_id": o.agent_id,
                "state": o.state,
                "at": _iso(o.created_at),
            }
            for o in self.offers.of_call(call_id)
        ]
        stored = self.files.listing(call_prefix(call_id))
        snapshots = [
            {
                "snapshot_id": f.key.rsplit("/", 1)[-1].removesuffix(".jpg"),
                "key": f.key,
                "url": self.files.url(f.key),
                "size": f.size,
                "stored_at": _iso(f.last_modified),
            }
            for f in stored
            if "/snapshots/" in f.key and f.key.endswith(".jpg")
        ]
        recording: dict[str, Any] | None = None
        for f in stored:
            if f.key == call_prefix(call_id) + RECORDING:
                info = self.files.read_json(call_prefix(call_id) + RECORDING_INFO)
                recording = {"key": f.key, "url": self.files.url(f.key), "size": f.size, "info": info}
        return {
            "call": self._call_fields(call),
            "timeline": timeline,
            "offers": offers,
            "snapshots": snapshots,
            "recording": recording,
        }

    @staticmethod
    def _event(entry: LogModel) -> dict[str, Any]:
        return {
            "version": entry.version,
            "at": _iso(entry.at),
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "event": entry.event,
            "actor": entry.actor,
            "reason": entry.reason,
        }

    @staticmethod
    def _call_fields(call: Call) -> dict[str, Any]:
        return {
            "call_id": call.call_id,
            "direction": call.direction,
            "state": call.state,
            "unit_id": call.unit_id,
            "serving_unit_id": call.serving_unit_id,
            "dossier_id": call.dossier_id,
            "agent_id": call.agent_id,
            "subscriber": call.subscriber,
            "created_at": _iso(call.created_at),
            "answered_at": _iso(call.answered_at),
            "ended_at": _iso(call.ended_at),
            "end_reason": call.end_reason,
            "ended_by": call.ended_by,
            "decision": call.decision,
        }

    # -- GET /reports/calls-per-hour -------------------------------------------------------------------

    def calls_per_hour(self, authorization: str | None, params: Mapping[str, str] | None) -> dict[str, Any]:
        """Inbound calls of one local day, hour by hour: answered, missed (ended without an answer),
        and answered within the SLA; the day's service level (answered within ``sla_answer_within_s``
        over answered + missed, in percent) against ``sla_target_percent``. ``unit_id`` (a caller's
        unit among the caller's reach; default: all of them) and ``date`` (``YYYY-MM-DD``, local to the
        settings' time zone; default: today). Calls still in progress are counted in neither."""
        caller = self.caller(authorization, frozenset({Role.SUPERVISOR}))
        given = check_params(params, {"unit_id", "date"})
        unit_id = given.get("unit_id")
        if unit_id is not None:
            if not UNIT_PATTERN.fullmatch(unit_id):
                raise ProtocolError("BAD_MESSAGE", "unit_id: 1 to 32 characters among A-Z a-z 0-9 _ -")
            self._unit_in_reach(caller, unit_id)
        home = caller.principal.unit_id if caller.principal.unit_id != "*" else None
        settings = cached_settings(home)
        zone = settings.zone()
        day = self._day(given.get("date"), zone)
        start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        until = start + timedelta(days=1) - timedelta(microseconds=1)
        units = [unit_id] if unit_id is not None else sorted(caller.unit_ids)
        within = timedelta(seconds=settings.sla_answer_within_s)
        hours = [{"hour": h, "answered": 0, "missed": 0, "answered_within_sla": 0} for h in range(24)]
        finals = {s.value for s in CALL.finals}
        for unit in units:
            for call in self.calls.of_unit(unit, start, until):
                if call.direction != INBOUND:
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
        return {
            "date": day.isoformat(),
            "time_zone": settings.timezone,
            "units": units,
            "hours": hours,
            "totals": {"answered": answered, "missed": missed, "answered_within_sla": in_sla},
            "service_level_percent": level,
            "sla_target_percent": settings.sla_target_percent,
            "sla_answer_within_s": settings.sla_answer_within_s,
        }

    def _day(self, text: str | None, zone: Any) -> date:
        if text is None:
            return self.clock().astimezone(zone).date()
        if not DATE_PATTERN.fullmatch(text):
            raise ProtocolError("BAD_MESSAGE", f"date: expected YYYY-MM-DD, got {text[:20]!r}")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ProtocolError("BAD_MESSAGE", f"date: {text!r} is not a day of the calendar") from None
