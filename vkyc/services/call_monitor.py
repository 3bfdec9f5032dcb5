"""Silent monitoring (issue #16): a supervisor listens to a live call of a unit they serve.

``monitor`` (``supervisor.monitor``): the supervisor's receive-only WebRTC offer goes to the call's media
node as ``media.attach`` of the party ``monitor``; the node answers it like any party's (``media.answer``
to the supervisor's connection, ``PartyMedia.node_answer``) and sends the supervisor the customer's
video and audio (and the agent's, on a second pair of the offer). ``stop``
(``supervisor.monitor_stop``): ``media.detach`` closes that link.

The parties are not told: nothing is pushed to them, their peer connections are not renegotiated, and
the node never reports the monitor's link (``media_node.engine``).

Audit: each start and stop is a note on the call's event log (``call_events``: event
``monitor_started`` / ``monitor_stopped``, ``actor`` the supervisor, the call's state unchanged),
written before the order goes to the node: no monitoring without its trace. (No ``admin_audit`` table
yet: when one arrives, it takes these entries too.)

Refusals, writing nothing: a mobile or an agent sending either action: ``FORBIDDEN_ACTION`` (the
dispatcher, by role); a call that does not exist or whose serving unit the supervisor does not serve:
``CALL_NOT_FOUND`` (ids are not probed); a call not answered (still waiting, ringing, or ended):
``MEDIA_CALL_STATE``; no node carries it, or it cannot be reached: ``MEDIA_NODE_UNAVAILABLE``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vkyc.domain.direction import rules_of
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import (
    Ack,
    MediaAttach,
    MediaDetach,
    ReplyTo,
    SupervisorMonitor,
    SupervisorMonitorStop,
)
from vkyc.repositories import media_nodes
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.tables import Call, WsConnection
from vkyc.repositories.transitions import commit, plan_note
from vkyc.repositories.units import UnitView, list_units
from vkyc.services.effects import Done, Effects
from vkyc.services.ports import Clock, Notifier, utc_now
from vkyc.services.reports_monitor import reach

log = logging.getLogger("vkyc.media")

NOTE_ATTEMPTS = 3


class CallMonitor:
    def __init__(
        self,
        nodes: Notifier,
        *,
        units: Callable[[], list[UnitView]] = list_units,
        clock: Clock = utc_now,
    ) -> None:
        self.nodes = nodes  # the attach order's delivery decides the answer
        self.units = units
        self.clock = clock
        self.calls = CallRepository()

    def monitor(self, connection: WsConnection, message: SupervisorMonitor) -> Done[Ack]:
        """Start (or restart) listening to ``message.call_id``. Raises ProtocolError: CALL_NOT_FOUND,
        MEDIA_CALL_STATE, MEDIA_BAD_SDP, MEDIA_NODE_UNAVAILABLE (see the module docstring)."""
        call = self._served_call(connection, message.call_id)
        if not rules_of(call.direction).is_answered(call.state):
            raise ProtocolError(
                "MEDIA_CALL_STATE",
                f"The call is {call.state}: only an answered call can be monitored.",
                call_id=call.call_id,
            )
        if not message.sdp.startswith("v=0") or "\nm=" not in message.sdp:
            raise ProtocolError("MEDIA_BAD_SDP", "An SDP starts with v=0 and has at least one m= line.")
        node = media_nodes.find(call.media_node_id) if call.media_node_id else None
        if node is None or not node.connection_id:
            raise ProtocolError(
                "MEDIA_NODE_UNAVAILABLE", "No media node carries the call.", call_id=call.call_id
            )
        self._note(call, "monitor_started", connection, message.request_id)
        attach = MediaAttach(
            call_id=call.call_id,
            party="monitor",
            sdp=message.sdp,
            answered=True,
            reply_to=ReplyTo(connection_id=connection.connection_id, request_id=message.request_id),
        )
        if not self.nodes.send(node.connection_id, attach.model_dump(mode="json")):
            raise ProtocolError(
                "MEDIA_NODE_UNAVAILABLE",
                f"Media node {node.node_id} cannot be reached.",
                call_id=call.call_id,
            )
        return Done(Ack(request_id=message.request_id))

    def stop(self, connection: WsConnection, message: SupervisorMonitorStop) -> Done[Ack]:
        """Stop listening: the node closes the monitor's link (a call that ended closed it already).
        Raises CALL_NOT_FOUND for a call outside the supervisor's units."""
        call = self._served_call(connection, message.call_id)
        effects = Effects()
        if rules_of(call.direction).is_live(call.state) and call.media_node_id:
            self._note(call, "monitor_stopped", connection, message.request_id)
            node = media_nodes.find(call.media_node_id)
            if node is not None and node.connection_id:
                detach = MediaDetach(call_id=call.call_id)
                effects.to_connection(node.connection_id, detach.model_dump(mode="json"))
        return Done(Ack(request_id=message.request_id), effects)

    def _served_call(self, connection: WsConnection, call_id: str) -> Call:
        call = self.calls.find(call_id)
        served = {u.unit_id for u in reach(connection.unit_id, self.units())}
        if call is None or (call.serving_unit_id or call.unit_id) not in served:
            raise ProtocolError("CALL_NOT_FOUND", call_id=call_id)
        return call

    def _note(self, call: Call, event: str, connection: WsConnection, request_id: str) -> None:
        """The audit entry, on the call's log, whatever the call does meanwhile (re-read and retried on a
        concurrent change; idempotent by ``request_id``)."""
        for _ in range(NOTE_ATTEMPTS):
            try:
                commit(
                    plan_note(
                        call,
                        event=event,
                        actor=connection.principal_id,
                        reason=f"silent monitoring by supervisor {connection.principal_id}",
                    ),
                    request_id=request_id,
                    at=self.clock(),
                )
                return
            except TransitionConflict:
                found = self.calls.find(call.call_id)
                if found is None:
                    break
                call = found
        raise ProtocolError("STATE_CONFLICT", "The call changed meanwhile; try again.", call_id=call.call_id)
