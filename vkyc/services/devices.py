"""A mobile's device registration (``registerDevice``): what makes a customer reachable by call-back.

One registration per subscriber number per unit, the first one of a subscriber counted against the
unit's licence limit (setting ``device_licence_limit``, ``vkyc.repositories.devices``). A device that
registers while a call-back rings for its subscriber gets it: the call-back is re-addressed to its
session (a note in its history) and ``callback.incoming`` follows the reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vkyc.domain.callback import CallbackState
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import CallbackIncoming, DeviceRegistered, DeviceUnregistered
from vkyc.repositories import devices
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.callouts import ringing_callbacks
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Dossier, WsConnection
from vkyc.repositories.transitions import commit, plan_note
from vkyc.services.callbacks import incoming_message
from vkyc.services.effects import Done
from vkyc.services.ports import Clock, as_utc, utc_now


@dataclass(frozen=True)
class Registered:
    """What ``register`` answers: the reply, and the call-backs still ringing for this subscriber, to
    push after it."""

    reply: DeviceRegistered
    incoming: list[CallbackIncoming]


class Devices:
    def __init__(
        self, *, settings: Callable[[str], CallSettings] = cached_settings, clock: Clock = utc_now
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.calls = CallRepository()
        self.agents = AgentRepository()
        self.dossiers = DossierRepository()
        self.sessions = SessionRepository()

    def register(self, connection: WsConnection, device_id: str, request_id: str) -> Done[Registered]:
        """Register this mobile's device for the subscriber of its session's dossier, in the dossier's
        unit; a call-back still ringing for that subscriber is re-addressed to this session and pushed
        (``callback.incoming``) after the reply.

        Raises ProtocolError: CALL_NOT_FOUND (the session has no dossier), NOT_FOUND (no dossier, or
        one without a subscriber number), DEVICE_LIMIT_REACHED (a new subscriber over the unit's limit).
        """
        dossier = self._session_dossier(connection)
        assert dossier.subscriber  # _session_dossier refuses a dossier without one
        limit = self.settings(dossier.unit_id).device_licence_limit
        try:
            registration = devices.register(
                dossier.unit_id,
                dossier.subscriber,
                device_id=device_id,
                session_id=connection.session_id,
                registered_by=connection.principal_id,
                limit=limit,
                at=self.clock(),
            )
        except devices.LicenceLimitReached as exc:
            raise ProtocolError("DEVICE_LIMIT_REACHED", f"The limit is {exc.limit}.") from None
        reply = DeviceRegistered(
            request_id=request_id,
            device_id=device_id,
            unit_id=dossier.unit_id,
            new_registration=registration.new,
        )
        return Done(Registered(reply, self._ring_again(dossier, connection, request_id)))

    def unregister(
        self, connection: WsConnection, device_id: str, request_id: str
    ) -> Done[DeviceUnregistered]:
        """Give up this device's registration for the subscriber of the session's dossier, freeing
        its licence (idempotent: a repeat, or another device registered since, changes nothing).

        Raises ProtocolError: CALL_NOT_FOUND (the session has no dossier), NOT_FOUND (no dossier, or
        one without a subscriber number).
        """
        dossier = self._session_dossier(connection)
        assert dossier.subscriber  # _session_dossier refuses a dossier without one
        released = devices.unregister(dossier.unit_id, dossier.subscriber, device_id)
        reply = DeviceUnregistered(
            request_id=request_id, device_id=device_id, unit_id=dossier.unit_id, released=released
        )
        return Done(reply)

    def _ring_again(
        self, dossier: Dossier, connection: WsConnection, request_id: str
    ) -> list[CallbackIncoming]:
        """Call-backs still ringing for the dossier's subscriber in its unit, re-addressed to this
        connection's session (a note in their history) so that it may answer them; their
        ``callback.incoming`` to push."""
        incoming: list[CallbackIncoming] = []
        now = self.clock()
        for listed in ringing_callbacks(dossier.subscriber or ""):
            call = self.calls.find(listed.call_id)
            if call is None or call.state != CallbackState.NEW or call.unit_id != dossier.unit_id:
                continue
            if call.ring_deadline is not None and as_utc(call.ring_deadline) <= now:
                continue  # its timer is about to end it
            if call.mobile_session_id != connection.session_id:
                try:
                    commit(
                        plan_note(
                            call,
                            event="mobile_attached",
                            actor=connection.principal_id,
                            attrs={"mobile_session_id": connection.session_id},
                        ),
                        request_id=f"{request_id}:{call.call_id}",
                        at=now,
                    )
                except TransitionConflict:
                    continue  # answered, declined or ended meanwhile
            incoming.append(incoming_message(call, self.agents.find(call.agent_id or ""), now))
        return incoming

    def _session_dossier(self, connection: WsConnection) -> Dossier:
        # The connection carries its session's dossier; a connection item older than that field does not.
        dossier_id = connection.dossier_id or self.sessions.get(connection.session_id).dossier_id
        if not dossier_id:
            raise ProtocolError("CALL_NOT_FOUND", "This session has no dossier.")
        dossier = self.dossiers.find(dossier_id)
        if dossier is None or not dossier.subscriber:
            raise ProtocolError("NOT_FOUND", f"Dossier {dossier_id} has no subscriber number.")
        return dossier
