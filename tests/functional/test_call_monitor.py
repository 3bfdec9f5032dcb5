"""Silent monitoring (issue #16), on moto: a supervisor listens to an answered call of a unit they serve
through its media node (``media.attach`` of the party ``monitor``, the node's answer to the supervisor's
socket only); every refusal has a stable code and writes nothing, no order reaches a node, and nothing
reaches the parties; each start and stop is on the call's event log with the supervisor as actor, and in
the admin audit log (``admin_audit``, kind ``call_monitoring``) in the same transaction, where an admin
reads it with the other entries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.functional.test_media_service import (
    SDP,
    World,
    build_world,
    new_call,
    new_session,
    node_connection,
    node_up,
    reply_to,
    signed,
    through_signaling,
)
from tests.graph import Cases
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import NodeMediaAnswer, NodeMediaError, SupervisorMonitor, SupervisorMonitorStop
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.tables import Call, WsConnection
from vkyc.repositories.units import UnitView
from vkyc.services.admin import AdminCaller, AdminService
from vkyc.services.call_monitor import MONITORING_KIND, CallMonitor


class Console:
    """A supervisor of the world's unit (and one of another unit), with the monitoring use cases."""

    def __init__(self, world: World) -> None:
        self.world = world
        units = [
            UnitView(world.unit_id, "Khu vực thử", world.unit_id, True),
            UnitView("far", "Xa", "far", True),
        ]
        service = CallMonitor(world.pushes, units=lambda: units)
        self.cases = Cases(world.graph, monitor=service.monitor, stop=service.stop)
        self.supervisor = new_session("supervisor", "gs-test", unit_id=world.unit_id)
        self.stranger = new_session("supervisor", "gs-far", unit_id="far")

    def monitor(
        self, call: Call, who: WsConnection | None = None, sdp: str = SDP, message: Any = None
    ) -> Any:
        message = message or signed(
            SupervisorMonitor, action="supervisor.monitor", call_id=call.call_id, sdp=sdp
        )
        return self.cases.monitor(who or self.supervisor, message)

    def stop(self, call: Call, who: WsConnection | None = None) -> Any:
        message = signed(SupervisorMonitorStop, action="supervisor.monitor_stop", call_id=call.call_id)
        return self.cases.stop(who or self.supervisor, message)


@pytest.fixture
def world(tables: Any) -> World:
    return build_world()


@pytest.fixture
def console(world: World) -> Console:
    return Console(world)


SYSTEM_ADMIN = AdminCaller("admin")


def admin_audit(call: Call, caller: AdminCaller = SYSTEM_ADMIN, **filters: Any) -> list[Any]:
    """The call's monitoring entries as an admin reads the audit log (today's, oldest first)."""
    query: dict[str, Any] = {"kind": MONITORING_KIND, "object_id": call.call_id, "actor": None, "unit": None}
    query.update(filters)
    return AdminService().audit(caller, since=None, until=None, **query)


def untouched(world: World, call: Call, node: str) -> None:
    stored = CallRepository().get(call.call_id)
    assert stored.version == call.version
    assert CallRepository().history(call.call_id) == []
    assert admin_audit(call) == []
    assert world.pushes.to(node) == []
    assert world.pushes.to(world.agent.connection_id) == world.pushes.to(world.mobile.connection_id) == []


def test_a_supervisor_listens_to_an_answered_call_of_a_unit_they_serve(
    world: World, console: Console
) -> None:
    node = node_up("n1")
    call = new_call(world, "CONNECTED", media_node_id="n1")
    ack = console.monitor(call)
    [attach] = world.pushes.to(node)
    assert (attach["action"], attach["party"], attach["call_id"]) == ("media.attach", "monitor", call.call_id)
    assert attach["reply_to"] == {
        "connection_id": console.supervisor.connection_id,
        "request_id": ack.request_id,
    }
    [audit] = CallRepository().history(call.call_id)
    assert (audit.event, audit.actor, audit.from_state, audit.to_state) == (
        "monitor_started",
        "gs-test",
        "CONNECTED",
        "CONNECTED",
    )
    # The node's answer goes to the supervisor's socket only.
    answer = signed(
        NodeMediaAnswer,
        action="media.answer",
        call_id=call.call_id,
        party="monitor",
        sdp=SDP,
        reply_to=reply_to(console.supervisor, ack.request_id),
    )
    world.media.node_answer(node_connection("n1"), answer)
    [told] = world.pushes.to(console.supervisor.connection_id)
    assert (told["action"], told["request_id"], told["sdp"]) == ("media.answer", ack.request_id, SDP)
    assert world.pushes.to(world.agent.connection_id) == world.pushes.to(world.mobile.connection_id) == []
    console.stop(call)
    assert [e.event for e in CallRepository().history(call.call_id)] == ["monitor_started", "monitor_stopped"]
    assert world.pushes.to(node)[-1] == {
        "action": "media.detach",
        "call_id": call.call_id,
        "party": "monitor",
    }


def test_each_start_and_stop_of_listening_is_in_the_admin_audit_log_with_who_which_call_and_unit(
    world: World, console: Console
) -> None:
    node_up("n1")
    call = new_call(world, "CONNECTED", media_node_id="n1")
    console.monitor(call)
    console.stop(call)
    notes = CallRepository().history(call.call_id)
    entries = admin_audit(call)
    assert [(e.kind, e.object_id, e.action, e.actor, e.unit_id) for e in entries] == [
        (MONITORING_KIND, call.call_id, "start", "gs-test", world.unit_id),
        (MONITORING_KIND, call.call_id, "stop", "gs-test", world.unit_id),
    ]
    # The same moment as the call's own note: one transaction wrote both.
    assert [e.at for e in entries] == [n.at for n in notes]
    assert entries[0].before is None
    assert entries[0].after == {
        "serving_unit": world.unit_id,
        "agent": world.agent.principal_id,
        "call_state": "CONNECTED",
    }
    # Filtered as every other entry: by actor, by unit, and within the admin's reach only.
    assert len(admin_audit(call, actor="gs-test")) == 2
    assert admin_audit(call, actor="someone-else") == []
    unit_admin = AdminCaller("qt-test", world.unit_id, frozenset({world.unit_id}))
    assert [e.action for e in admin_audit(call, unit_admin)] == ["start", "stop"]
    assert admin_audit(call, AdminCaller("qt-far", "far", frozenset({"far"}))) == []


def test_a_start_sent_again_with_the_same_request_id_is_audited_once(world: World, console: Console) -> None:
    node = node_up("n1")
    call = new_call(world, "CONNECTED", media_node_id="n1")
    message = signed(SupervisorMonitor, action="supervisor.monitor", call_id=call.call_id, sdp=SDP)
    console.monitor(call, message=message)
    console.monitor(call, message=message)
    assert [e.event for e in CallRepository().history(call.call_id)] == ["monitor_started"]
    assert [e.action for e in admin_audit(call)] == ["start"]
    assert len(world.pushes.to(node)) == 2  # the order is sent again: the node's answer may have been lost


def test_a_stop_after_the_call_ended_writes_no_audit_entry(world: World, console: Console) -> None:
    node = node_up("n1")
    call = new_call(world, "FINISHED", media_node_id="n1")
    console.stop(call)
    untouched(world, call, node)


def test_a_node_error_on_the_monitor_goes_to_the_supervisor_only(world: World, console: Console) -> None:
    node_up("n1")
    call = new_call(world, "CONNECTED", media_node_id="n1")
    ack = console.monitor(call)
    error = signed(
        NodeMediaError,
        action="media.error",
        call_id=call.call_id,
        op="attach",
        code="MEDIA_CALL_STATE",
        party="monitor",
        reply_to=reply_to(console.supervisor, ack.request_id),
    )
    world.media.node_error(node_connection("n1"), error)
    [told] = world.pushes.to(console.supervisor.connection_id)
    assert (told["action"], told["code"]) == ("error", "MEDIA_CALL_STATE")
    assert world.pushes.to(world.agent.connection_id) == world.pushes.to(world.mobile.connection_id) == []


def test_a_supervisor_of_another_unit_is_refused_as_if_the_call_did_not_exist(
    world: World, console: Console
) -> None:
    node = node_up("n1")
    call = new_call(world, "CONNECTED", media_node_id="n1")
    for attempt in (console.monitor, console.stop):
        with pytest.raises(ProtocolError) as refused:
            attempt(call, console.stranger)
        assert refused.value.code == "CALL_NOT_FOUND"
    untouched(world, call, node)


@pytest.mark.parametrize("state", ["W", "R", "FINISHED"])
def test_a_call_not_answered_cannot_be_monitored(world: World, console: Console, state: str) -> None:
    node = node_up("n1")
    call = new_call(world, state, media_node_id="n1")
    with pytest.raises(ProtocolError) as refused:
        console.monitor(call)
    assert refused.value.code == "MEDIA_CALL_STATE"
    untouched(world, call, node)


def test_a_call_without_a_reachable_node_is_refused_before_anything_is_written(
    world: World, console: Console
) -> None:
    call = new_call(world, "CONNECTED")
    with pytest.raises(ProtocolError) as refused:
        console.monitor(call)
    assert refused.value.code == "MEDIA_NODE_UNAVAILABLE"
    assert CallRepository().history(call.call_id) == []
    assert admin_audit(call) == []


@pytest.mark.parametrize("role", ["agent", "mobile", "media"])
@pytest.mark.parametrize("action", ["supervisor.monitor", "supervisor.monitor_stop"])
def test_an_agent_a_mobile_or_a_node_may_not_monitor(world: World, role: str, action: str) -> None:
    node = node_up("n1")
    call = new_call(world, "CONNECTED", media_node_id="n1")
    connection = {"agent": world.agent, "mobile": world.mobile}.get(role) or new_session(role, f"{role}-x")
    fields: dict[str, Any] = {"call_id": call.call_id}
    if action == "supervisor.monitor":
        fields["sdp"] = SDP
    reply = through_signaling(world, connection, action, **fields)
    assert reply["code"] == "FORBIDDEN_ACTION", reply
    untouched(world, call, node)


def test_the_signaling_entry_point_routes_a_supervisors_offer(world: World) -> None:
    """Through the graph (units from the table: none served here): the route exists and refuses with
    the lookup's code, never FORBIDDEN_ACTION or UNKNOWN_ACTION."""
    node = node_up("n1")
    call = new_call(world, "CONNECTED", media_node_id="n1")
    supervisor = new_session("supervisor", f"gs-{uuid.uuid4().hex[:4]}", unit_id="nowhere")
    reply = through_signaling(world, supervisor, "supervisor.monitor", call_id=call.call_id, sdp=SDP)
    assert reply["code"] == "CALL_NOT_FOUND", reply
    untouched(world, call, node)
