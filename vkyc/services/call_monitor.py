"""Silent monitoring (issue #16): a supervisor listens to a live call of a unit they serve.

``monitor`` (``supervisor.monitor``): the supervisor's receive-only WebRTC offer goes to the call's media
node as ``media.attach`` of the party ``monitor``; the node answers it like any party's (``media.answer``
to the supervisor's connection, ``PartyMedia.node_answer``) and sends the supervisor the customer's
video and audio (and the agent's, on a second pair of the offer). ``stop``
(``supervisor.monitor_stop``): ``media.detach`` closes that link.

The parties are not told: nothing is pushed to them, their peer connections are not renegotiated, and
the node never reports the monitor's link (``media_node.engine``).

Audit: each start and stop is a note on the call's event log (``call_events``: event
``monitor_started`` / ``monitor_stopped``, ``actor`` the supervisor, the call's state unchanged) and an
entry of the admin audit log (``admin_audit``: kind ``call_monitoring``, ``object_id`` the call, action
``start`` / ``stop``, ``actor`` the supervisor, ``unit`` the call's unit, ``after`` the serving unit, the
agent and the call's state), both in one transaction written before the order goes to the node: no
monitoring without its trace, where a compliance officer reads every other change
(``GET /admin/v1/audit?kind=call_monitoring``). A start or stop sent again with the same request id
(the call last written by it) writes neither again. A stop for a call that has ended writes nothing (its
media, the monitor's link included, closed with it), nor does a supervisor's page that goes away
without stopping: the call's end closes that listening.

Refusals, writing nothing: a mobile or an agent sending either action: ``FORBIDDEN_ACTION`` (the
dispatcher, by role); a call that does not exist or whose serving unit the supervisor does not serve:
``CALL_NOT_FOUND`` (ids are not probed); a call not answered (still waiting, ringing, or ended):
``MEDIA_CALL_STATE``; no node carries it, or it cannot be reached: ``MEDIA_NODE_UNAVAILABLE``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn

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
from vkyc.repositories.admin_store import AuditRecord
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.conflicts import Commit, Settled, retry_on_conflict
from vkyc.repositories.tables import Call, WsConnection
from vkyc.repositories.transitions import Append, already_applied, plan_note
from vkyc.repositories.units import UnitView, list_units
from vkyc.services.effects import Done, Effects
from vkyc.services.ports import Clock, Notifier, utc_now
from vkyc.services.reports_monitor import reach

log = logging.getLogger("vkyc.media")

NOTE_ATTEMPTS = 3  # a note that lost a race to a change of the call reads it again
MONITORING_KIND = "call_monitoring"  # the admin audit log's kind of these entries
AUDIT_ACTIONS = {"monitor_started": "start", "monitor_stopped": "stop"}


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
        """The audit entries, on the call's log and in the admin audit log in one transaction, whatever
        the call does meanwhile (re-read and retried on a concurrent change; idempotent by
        ``request_id``)."""
        supervisor = connection.principal_id

        def note(current: Call | None) -> Commit[None] | Settled[None]:
            if current is None:
                kept_changing()
            if already_applied(current, request_id):
                return Settled(None)
            at = self.clock()
            entry = AuditRecord(
                actor=supervisor,
                unit_id=current.unit_id,
                kind=MONITORING_KIND,
                object_id=current.call_id,
                action=AUDIT_ACTIONS[event],
                after={
                    "serving_unit": current.serving_unit_id or current.unit_id,
                    "agent": current.agent_id,
                    "call_state": current.state,
                },
                at=at,
            )
            change = plan_note(
                current, event=event, actor=supervisor, reason=f"silent monitoring by supervisor {supervisor}"
            )
            return Commit.of(change, Append(entry.item()), request_id=request_id, at=at, result=None)

        def kept_changing(_: Exception | None = None) -> NoReturn:
            raise ProtocolError(
                "STATE_CONFLICT", "The call changed meanwhile; try again.", call_id=call.call_id
            )

        as_read: Call | None = call
        retry_on_conflict(
            lambda: self.calls.find(call.call_id),
            note,
            attempts=NOTE_ATTEMPTS,
            lost=kept_changing,
            first=as_read,
        )
