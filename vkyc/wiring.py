"""The composition root: the one place that builds the signaling service graph and says which use case
answers each message, each timer and each event. ``functions/signaling/app.py`` builds it once per
container with the real adapters; tests build it with fakes.

Services never call each other through attributes set after construction: a use case returns its
effects, and ``Dispatcher`` (``vkyc.services.effects``) runs them, handing each event to the use case
registered for it here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vkyc.domain.settings import CallSettings
from vkyc.evidence import BlobStore
from vkyc.protocol.messages import (
    Ack,
    AgentSetStatus,
    Bye,
    CallbackAccept,
    CallbackCancel,
    CallbackDecline,
    CallbackStart,
    CallCancel,
    CallDecide,
    CallHangup,
    CallRequest,
    DeviceRegister,
    DeviceUnregister,
    MediaOffer,
    MediaSnapshot,
    MonitorSnapshot,
    NodeHeartbeat,
    NodeMediaAnswer,
    NodeMediaError,
    NodeMediaEvent,
    NodeRecording,
    NodeSnapshotTaken,
    NodeSync,
    OfferAccept,
    OfferReject,
    Ping,
    Pong,
    Role,
    SupervisorMonitor,
    SupervisorMonitorStop,
    SupervisorSetAgentStatus,
)
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.media_nodes import record_heartbeat
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import WsConnection
from vkyc.services.accounts import AccountService
from vkyc.services.agent_status import AgentStatusService
from vkyc.services.auth import AuthService
from vkyc.services.call_lifecycle import CallLifecycle
from vkyc.services.call_monitor import CallMonitor
from vkyc.services.callbacks import Callbacks
from vkyc.services.claims import Claims, Router
from vkyc.services.devices import Devices
from vkyc.services.effects import (
    AgentFreed,
    CallEnded,
    Dispatcher,
    Done,
    Effects,
    SessionDropped,
    SessionLeft,
    SessionResumed,
)
from vkyc.services.evidence import EvidenceService
from vkyc.services.inbound_calls import Eligibility, InboundCalls
from vkyc.services.limits import ConnectionLimits
from vkyc.services.media_fleet import MediaFleet
from vkyc.services.offers import Offers
from vkyc.services.party_hooks import PartyHooks
from vkyc.services.party_media import PartyMedia
from vkyc.services.ports import Clock, Notifier, ObjectFacts, Timers, utc_now
from vkyc.services.reports_monitor import board
from vkyc.services.sessions import RENEW_AFTER_S, SessionService
from vkyc.services.signaling import Outcome, Route, SignalingService
from vkyc.services.supervision import SupervisionService
from vkyc.services.timers import (
    BuildEvidence,
    CallbackRingTimeout,
    Dispatch,
    NoCallArrived,
    NodeCheck,
    QueueTimeout,
    RecordingRecover,
    RingTimeout,
    SessionGrace,
    TimerRouter,
)


@dataclass
class SignalingGraph:
    """Every use case of the signaling function, built once, and the three ways in: a message
    (``signaling.on_message``), a due timer (``fire``), a socket's ``$connect``/``$disconnect``
    (``sessions``, whose effects ``dispatcher`` runs)."""

    dispatcher: Dispatcher
    sessions: SessionService
    lifecycle: CallLifecycle
    claims: Claims
    offers: Offers
    inbound: InboundCalls
    callbacks: Callbacks
    devices: Devices
    party_media: PartyMedia
    fleet: MediaFleet
    agent_status: AgentStatusService
    supervision: SupervisionService
    call_monitor: CallMonitor
    accounts: AccountService
    evidence: EvidenceService
    hooks: PartyHooks
    timers: TimerRouter
    signaling: SignalingService

    def fire(self, body: dict[str, Any]) -> None:
        """A due timer (``{"kind", ...}``): its use case, then its effects. Raises what the use case
        raises (the transport retries the timer)."""
        self.dispatcher.run(self.timers.fire(body))

    def run(self, done: Done[Any]) -> Any:
        """Run a use case's effects; its value."""
        self.dispatcher.run(done.effects)
        return done.value


def build_signaling(
    notifier: Notifier,
    timers: Timers,
    *,
    eligibility: Eligibility,
    router: Router,
    objects: ObjectFacts,
    evidence_store: BlobStore,
    auth: AuthService | None = None,
    clock: Clock = utc_now,
    settings: Callable[[str | None], CallSettings] = cached_settings,
    renew_after_s: int = RENEW_AFTER_S,
    limits: ConnectionLimits | None = None,
    dispatcher: Dispatcher | None = None,
) -> SignalingGraph:
    """The graph, with ``notifier`` and ``timers`` the WebSocket API's ``@connections`` and the timer
    queue (fakes in tests, which may also bring a dispatcher that records what it ran)."""
    dispatcher = dispatcher or Dispatcher(notifier, timers)
    sessions = SessionService(auth=auth, clock=clock, renew_after_s=renew_after_s)
    lifecycle = CallLifecycle(clock=clock, settings=settings)
    claims = Claims(router, clock=clock)
    offers = Offers(claims, clock=clock)
    inbound = InboundCalls(eligibility, router, claims, offers, clock=clock)
    callbacks = Callbacks(settings=settings, clock=clock)
    fleet = MediaFleet(notifier, lifecycle, clock=clock)
    graph = SignalingGraph(
        dispatcher=dispatcher,
        sessions=sessions,
        lifecycle=lifecycle,
        claims=claims,
        offers=offers,
        inbound=inbound,
        callbacks=callbacks,
        devices=Devices(settings=settings, clock=clock),
        party_media=PartyMedia(notifier, lifecycle, objects=objects, clock=clock, settings=settings),
        fleet=fleet,
        agent_status=AgentStatusService(clock=clock),
        supervision=SupervisionService(sessions, clock=clock),
        call_monitor=CallMonitor(notifier, clock=clock),
        accounts=AccountService(sessions, clock=clock),
        evidence=EvidenceService(evidence_store, clock=clock),
        hooks=PartyHooks(lifecycle, inbound, callbacks, fleet),
        timers=TimerRouter(),
        signaling=None,  # type: ignore[arg-type]  # set below: it needs the routes of the graph
    )
    _events(graph)
    _timers(graph)
    graph.signaling = SignalingService(
        sessions, _routes(graph, clock), dispatcher, on_hello=_read_ahead(inbound), clock=clock, limits=limits
    )
    return graph


def _events(g: SignalingGraph) -> None:
    on = g.dispatcher.on
    on(CallEnded, lambda e: g.fleet.call_ended(e.call, e.reason))
    on(AgentFreed, lambda e: g.inbound.dispatch(e.unit_id).effects)
    on(SessionDropped, g.hooks.dropped)
    on(SessionResumed, g.hooks.resumed)
    on(SessionLeft, g.hooks.left)


def _timers(g: SignalingGraph) -> None:
    on = g.timers.on
    on(SessionGrace, lambda t: g.sessions.grace_expired(t.session_id, t.generation).effects)
    on(RingTimeout, lambda t: g.offers.ring_timeout(t.offer_id).effects)
    on(QueueTimeout, lambda t: g.inbound.queue_timeout(t.call_id).effects)
    on(Dispatch, lambda t: g.inbound.dispatch(t.unit_id).effects)
    on(CallbackRingTimeout, lambda t: g.callbacks.ring_timeout(t.call_id).effects)
    on(NoCallArrived, lambda t: g.lifecycle.no_call_timeout(t.call_id).effects)
    on(NodeCheck, lambda t: g.fleet.node_check(t.node_id, t.session_id, t.generation).effects)
    on(RecordingRecover, lambda t: g.fleet.recover(t.call_id).effects)
    on(BuildEvidence, lambda t: _none(g.evidence.build(t.call_id)))


def _routes(g: SignalingGraph, clock: Clock) -> dict[type[Any], Route]:
    def ping(c: WsConnection, m: Ping, _: Any) -> Done[Pong]:
        return Done(Pong(request_id=m.request_id, server_time_ms=int(clock().timestamp() * 1000)))

    def bye(c: WsConnection, m: Bye, _: Any) -> Done[Outcome]:
        effects = g.sessions.bye(c)
        return Done(Outcome(Ack(request_id=m.request_id).model_dump(mode="json"), close_after=True), effects)

    def heartbeat(c: WsConnection, m: NodeHeartbeat, _: Any) -> Done[Ack]:
        record_heartbeat(
            c.principal_id,
            m.address,
            m.capacity,
            m.load,
            at=clock(),
            connection_id=c.connection_id,
            session_id=c.session_id,
        )
        return Done(Ack(request_id=m.request_id))

    def register(c: WsConnection, m: DeviceRegister, _: Any) -> Done[Outcome]:
        registered = g.devices.register(c, m.device_id, m.request_id).value
        after = tuple(incoming.model_dump(mode="json") for incoming in registered.incoming)
        return Done(Outcome(registered.reply.model_dump(mode="json"), after=after))

    def decide(c: WsConnection, m: CallDecide, t: Any) -> Done[Any]:
        return g.lifecycle.decide(
            c,
            m.call_id,
            m.decision,
            m.reason,
            m.snapshot_id,
            m.request_id,
            t,
            after_call_work=m.after_call_work,
        )

    return {
        Ping: Route(ping),
        Bye: Route(bye),
        AgentSetStatus: Route(lambda c, m, _: g.agent_status.set_status(c, m)),
        SupervisorSetAgentStatus: Route(lambda c, m, _: g.supervision.set_agent_status(c, m)),
        SupervisorMonitor: Route(lambda c, m, _: g.call_monitor.monitor(c, m)),
        SupervisorMonitorStop: Route(lambda c, m, _: g.call_monitor.stop(c, m)),
        MonitorSnapshot: Route(
            lambda c, m, _: Done(board(c.unit_id, m.request_id, agents=AgentRepository()))
        ),
        NodeHeartbeat: Route(heartbeat),
        # Calls: their seq rides in the action's own transaction (ticketed).
        CallRequest: Route(lambda c, m, t: g.inbound.request(c, m.request_id, t), ticketed=True),
        CallCancel: Route(lambda c, m, t: g.inbound.cancel(c, m.call_id, m.request_id, t), ticketed=True),
        OfferAccept: Route(lambda c, m, t: g.offers.accept(c, m.offer_id, m.request_id, t), ticketed=True),
        OfferReject: Route(lambda c, m, t: g.offers.reject(c, m.offer_id, m.request_id, t), ticketed=True),
        CallHangup: Route(lambda c, m, t: g.lifecycle.hangup(c, m.call_id, m.request_id, t), ticketed=True),
        CallDecide: Route(decide, ticketed=True),
        # Call-backs and devices.
        DeviceRegister: Route(register),
        DeviceUnregister: Route(lambda c, m, _: g.devices.unregister(c, m.device_id, m.request_id)),
        CallbackStart: Route(lambda c, m, _: g.callbacks.start(c, m.dossier_id, m.request_id)),
        CallbackCancel: Route(lambda c, m, _: g.callbacks.cancel(c, m.call_id, m.request_id)),
        CallbackAccept: Route(lambda c, m, _: g.callbacks.accept(c, m.call_id, m.request_id)),
        CallbackDecline: Route(lambda c, m, _: g.callbacks.decline(c, m.call_id, m.request_id)),
        # Media: a party's, and the media node's reports.
        MediaOffer: Route(lambda c, m, _: g.party_media.offer(c, m)),
        MediaSnapshot: Route(lambda c, m, _: g.party_media.snapshot(c, m)),
        NodeMediaAnswer: Route(lambda c, m, _: g.party_media.node_answer(c, m)),
        NodeSnapshotTaken: Route(lambda c, m, _: g.party_media.node_snapshot(c, m)),
        NodeMediaEvent: Route(lambda c, m, _: g.party_media.node_event(c, m)),
        NodeRecording: Route(lambda c, m, _: g.party_media.node_recording(c, m)),
        NodeMediaError: Route(lambda c, m, _: g.party_media.node_error(c, m)),
        NodeSync: Route(lambda c, m, _: g.party_media.node_sync(c, m)),
    }


def _read_ahead(inbound: InboundCalls) -> Callable[[WsConnection], None]:
    def after_hello(connection: WsConnection) -> None:
        if connection.role == Role.MOBILE.value and connection.dossier_id:
            inbound.read_ahead(connection.dossier_id)

    return after_hello


def _none(_: object) -> Effects | None:
    return None
