"""A unit with agents, a queue, a call-out hotline and a clock the test moves, driven through the real
call and call-back services: the random workload behind the reports' tests. ``Workload.run`` plays
scenarios (answered and decided, abandoned in the queue or while ringing, rung out, rejected, no
agent, call-backs answered, unanswered, cancelled and not placeable) and counts what it did, so the
aggregates can be compared with what happened as well as with their recomputation."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import FakeClock
from tests.functional.test_callbacks import Recorder, new_session
from tests.graph import Cases, graph_on
from vkyc.domain.agent import AGENT, AgentEvent
from vkyc.domain.settings import CallSettings
from vkyc.protocol.errors import ProtocolError
from vkyc.repositories import call_media, directory
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.offers import OfferRepository
from vkyc.repositories.tables import (
    Agent,
    Call,
    Dossier,
    Group,
    Hotline,
    Queue,
    QueueGroup,
    Unit,
    WsConnection,
)
from vkyc.repositories.transitions import transition
from vkyc.services.claims import Route

SUB_TYPES = ("ZP", "MC", "B4G")
CHANNELS = (None, "DBH", "DL")


class QueueRouter:
    """Routes every call to the unit's queue and offers it to its AVAILABLE agents, idle longest first."""

    def __init__(self, unit_id: str, queue_id: str, agent_ids: Sequence[str]) -> None:
        self.unit_id, self.queue_id, self.agent_ids = unit_id, queue_id, list(agent_ids)

    def route(self, dossier: Dossier) -> Route:
        return Route(self.unit_id, self.queue_id, ring_timeout_s=30, queue_timeout_s=180)

    def choose_agent(self, call: Call, excluded: Collection[str]) -> Sequence[Agent]:
        found = [AgentRepository().find(a) for a in self.agent_ids if a not in excluded]
        free = [a for a in found if a is not None and a.state == "AVAILABLE"]
        return sorted(free, key=lambda a: a.available_since or a.updated_at)

    def overflow_in(self, call: Call) -> float | None:
        return None


class World:
    def __init__(self, start: datetime, agents: int = 3) -> None:
        self.clock: FakeClock[datetime] = FakeClock(start)
        self.unit_id = f"u{uuid.uuid4().hex[:6]}"
        self.queue_id = f"{self.unit_id}-q"
        group_id = f"{self.unit_id}-team"
        Unit(self.unit_id, name=f"Đơn vị {self.unit_id}", has_agents=True).save()
        Group(group_id, unit_id=self.unit_id, name="Tổ 1").save()
        Queue(
            self.queue_id,
            unit_id=self.unit_id,
            name="Hàng đợi",
            groups=[QueueGroup(group_id=group_id, priority=1)],
        ).save()
        Hotline(
            f"1900{uuid.uuid4().hex[:6]}",
            unit_id=self.unit_id,
            name="hotline",
            queue_id=self.queue_id,
            allow_call_out=True,
            call_out_group_ids={group_id},
        ).save()
        self.pushes = Recorder()
        self.agents: list[WsConnection] = []
        for n in range(agents):
            agent_id = f"a{n}-{uuid.uuid4().hex[:6]}"
            connection = new_session(self.unit_id, "agent", agent_id, agent_id=agent_id)
            agent = Agent(
                agent_id,
                unit_id=self.unit_id,
                name=f"Nhân viên {n}",
                group_ids={group_id},
                connection_id=connection.connection_id,
            )
            AgentRepository().create(agent, AGENT, request_id=f"setup-{agent_id}", actor="test", at=start)
            self.agents.append(connection)
            self.move(connection, AgentEvent.LOGIN)
        self.router = QueueRouter(self.unit_id, self.queue_id, [a.principal_id for a in self.agents])
        graph = graph_on(
            self.pushes, router=self.router, settings=lambda unit: CallSettings(), clock=self.clock
        )
        lifecycle = graph.lifecycle
        self.calls = Cases(
            graph,
            request=graph.inbound.request,
            cancel=graph.inbound.cancel,
            queue_timeout=graph.inbound.queue_timeout,
            accept=graph.offers.accept,
            reject=graph.offers.reject,
            ring_timeout=graph.offers.ring_timeout,
            hangup=lifecycle.hangup,
            decide=lifecycle.decide,
        )
        self.callbacks = Cases(
            graph,
            register=graph.devices.register,
            start=graph.callbacks.start,
            accept=graph.callbacks.accept,
            cancel=graph.callbacks.cancel,
            ring_timeout=graph.callbacks.ring_timeout,
            hangup=lifecycle.hangup,
            decide=lifecycle.decide,
        )
        directory.clear()

    # -- time and agents ------------------------------------------------------------------------------

    def later(self, seconds: float) -> datetime:
        self.clock.now = self.clock.now + timedelta(seconds=seconds)
        return self.clock.now

    def agent(self, connection: WsConnection) -> Agent:
        return AgentRepository().get(connection.principal_id)

    def move(self, connection: WsConnection, event: AgentEvent) -> None:
        agent = self.agent(connection)
        attrs = {"available_since": self.clock.now} if event is AgentEvent.READY else None
        transition(
            agent,
            AGENT,
            event,
            request_id=uuid.uuid4().hex,
            actor=agent.agent_id,
            attrs=attrs,
            at=self.clock.now,
        )

    def only_available(self, *wanted: WsConnection) -> None:
        """Exactly ``wanted`` AVAILABLE, every other agent on a break (agents ringing or in a call are
        left alone: the scenarios end their calls)."""
        for connection in self.agents:
            state = self.agent(connection).state
            if connection in wanted and state in ("UNAVAILABLE", "WRAP_UP"):
                self.move(connection, AgentEvent.READY)
            elif connection not in wanted and state == "AVAILABLE":
                self.move(connection, AgentEvent.BREAK)

    # -- callers --------------------------------------------------------------------------------------

    def dossier(self, rng: random.Random) -> str:
        dossier_id = f"D-{uuid.uuid4().hex[:10]}"
        DossierRepository().create(
            dossier_id,
            unit_id=self.unit_id,
            request_id=uuid.uuid4().hex,
            actor="test",
            subscriber="849" + str(rng.randrange(10**7, 10**8)),
            sub_type=rng.choice(SUB_TYPES),
            customer_type=rng.choice(("KHCN", "KHDN")),
            payment_type="prepaid",
            at=self.clock.now,
        )
        return dossier_id

    def mobile(self, dossier_id: str, rng: random.Random) -> WsConnection:
        channel = rng.choice(CHANNELS)
        extra = {"dealer_channel": channel} if channel else {}
        connection = new_session(self.unit_id, "mobile", "dealer-1", dossier_id=dossier_id, **extra)
        connection.dossier_id = dossier_id
        connection.dealer_channel = channel
        return connection

    def offer_of(self, call_id: str) -> str:
        call = CallRepository().get(call_id)
        assert call.state == "W" and call.offer_id, call.state
        return call.offer_id

    def answering(self, call_id: str) -> WsConnection:
        call = CallRepository().get(call_id)
        return next(a for a in self.agents if a.principal_id == call.agent_id)


class Workload:
    """Random scenarios on a ``World``; ``truth`` counts what happened, by the report's names."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.truth: Counter[str] = Counter()
        self.call_ids: list[str] = []

    def run(self, scenarios: int) -> None:
        plays = [
            self.answered,
            self.answered,
            self.answered,
            self.abandoned_in_queue,
            self.abandoned_ringing,
            self.rung_out,
            self.rejected_then_answered,
            self.no_agent,
            self.callback,
        ]
        for _ in range(scenarios):
            self.world.later(self.rng.choice((5, 40, 300, 900, 2400)))
            self.rng.choice(plays)()

    def _call(self, available: Sequence[WsConnection]) -> tuple[str, WsConnection]:
        w = self.world
        w.only_available(*available)
        w.later(self.rng.uniform(1, 20))
        mobile = w.mobile(w.dossier(self.rng), self.rng)
        call_id = w.calls.request(mobile, uuid.uuid4().hex).call_id
        self.call_ids.append(call_id)
        self.truth["queued"] += 1
        return call_id, mobile

    def _talk_and_decide(self, call_id: str, agent: WsConnection) -> None:
        w = self.world
        w.later(self.rng.uniform(1, 30))
        w.calls.accept(agent, w.offer_of(call_id), uuid.uuid4().hex)
        self.truth["answered"] += 1
        self.truth["talked"] += 1
        w.later(self.rng.uniform(2, 8))
        face = self.rng.random() < 0.8
        call_media.mark_media_connected(call_id, w.clock.now)
        call_media.add_snapshot(call_id, f"calls/{call_id}/snapshots/s1.jpg", "s1", face_found=face)
        w.later(self.rng.uniform(30, 400))
        decision = self.rng.choice(("A", "R", "C", "D", None)) if face else self.rng.choice(("R", "D", None))
        if decision is not None and self.rng.random() < 0.3:  # decided during the call: it ends there
            w.calls.decide(
                agent, call_id, decision, "" if decision == "A" else "lý do", "s1", uuid.uuid4().hex
            )
        else:
            w.calls.hangup(agent, call_id, uuid.uuid4().hex)
            w.later(self.rng.uniform(3, 90))
            if decision is None:
                w.move(agent, AgentEvent.READY)  # wrap-up ended without a decision
            else:
                w.calls.decide(
                    agent, call_id, decision, "" if decision == "A" else "lý do", "s1", uuid.uuid4().hex
                )
        if decision is not None:
            self.truth["decided"] += 1
            self.truth[f"dec_{decision}"] += 1
            self.truth["ev_face"] += int(face)
            if self.rng.random() < 0.7:
                self._evidence(call_id, face)

    def _evidence(self, call_id: str, face: bool) -> None:
        w = self.world
        w.later(self.rng.uniform(1, 20))
        facts = call_media.RecordingFacts(f"calls/{call_id}/recording.webm", 1000, 12.5, "ab" * 32, False)
        call_media.store_recording(call_id, facts, w.clock.now)
        self.truth["ev_recording"] += 1
        call = CallRepository().get(call_id)
        if call.decision_version and call.dossier_id and self.rng.random() < 0.8:
            w.later(1)
            call_media.store_evidence(
                call.dossier_id, call.decision_version, "k", "0" * 64, call_id=call_id, at=w.clock.now
            )
            self.truth["ev_bundle"] += 1
            self.truth["ev_complete"] += int(face)

    def answered(self) -> None:
        agent = self.rng.choice(self.world.agents)
        call_id, _ = self._call([agent])
        self._talk_and_decide(call_id, agent)

    def rejected_then_answered(self) -> None:
        first, second = self.rng.sample(self.world.agents, 2)
        call_id, _ = self._call([first, second])
        ringing = self.world.answering(call_id)
        self.world.later(self.rng.uniform(1, 10))
        self.world.calls.reject(ringing, self.world.offer_of(call_id), uuid.uuid4().hex)
        self.truth["rejected"] += 1
        self._talk_and_decide(call_id, self.world.answering(call_id))

    def abandoned_in_queue(self) -> None:
        call_id, mobile = self._call([])
        self.world.later(self.rng.uniform(5, 120))
        self.world.calls.cancel(mobile, call_id, uuid.uuid4().hex)
        self.truth["abandoned_queue"] += 1
        self.truth["unanswered"] += 1

    def abandoned_ringing(self) -> None:
        call_id, mobile = self._call([self.rng.choice(self.world.agents)])
        self.world.later(self.rng.uniform(1, 25))
        self.world.calls.cancel(mobile, call_id, uuid.uuid4().hex)
        self.truth["abandoned_ringing"] += 1
        self.truth["unanswered"] += 1

    def rung_out(self) -> None:
        call_id, mobile = self._call([self.rng.choice(self.world.agents)])
        self.world.later(30)
        self.world.calls.ring_timeout(self.world.offer_of(call_id))
        self.truth["missed"] += 1
        self.world.later(self.rng.uniform(5, 100))
        self.world.calls.cancel(mobile, call_id, uuid.uuid4().hex)  # nobody else was free: it waited
        self.truth["abandoned_queue"] += 1
        self.truth["unanswered"] += 1

    def no_agent(self) -> None:
        call_id, _ = self._call([])
        self.world.later(180)
        assert self.world.calls.queue_timeout(call_id)
        self.truth["no_agent"] += 1
        self.truth["unanswered"] += 1

    def callback(self) -> None:
        w = self.world
        agent = self.rng.choice(w.agents)
        w.only_available(agent)
        dossier_id = w.dossier(self.rng)
        mobile = w.mobile(dossier_id, self.rng)
        outcome = self.rng.choice(("answered", "unanswered", "cancelled", "not_registered"))
        if outcome != "not_registered":
            w.callbacks.register(mobile, f"dev-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex)
        w.later(self.rng.uniform(1, 30))
        self.truth["cb_placed"] += 1
        try:
            call_id = w.callbacks.start(agent, dossier_id, uuid.uuid4().hex).call_id
        except ProtocolError as exc:
            assert exc.code == "DEVICE_NOT_REGISTERED"
            self.call_ids.append(str(exc.call_id))
            w.later(5)
            w.move(agent, AgentEvent.READY)
            return
        self.call_ids.append(call_id)
        w.later(self.rng.uniform(2, 40))
        if outcome == "answered":
            w.callbacks.accept(mobile, call_id, uuid.uuid4().hex)
            self.truth["cb_answered"] += 1
            self.truth["talked"] += 1
            w.later(self.rng.uniform(20, 200))
            w.callbacks.hangup(agent, call_id, uuid.uuid4().hex)
            w.later(self.rng.uniform(2, 30))
            w.callbacks.decide(agent, call_id, "D", "không liên lạc được", None, uuid.uuid4().hex)
            self.truth["decided"] += 1
            self.truth["dec_D"] += 1
        elif outcome == "unanswered":
            w.later(60)
            w.callbacks.ring_timeout(call_id)
            w.later(5)
            w.move(agent, AgentEvent.READY)
        else:
            w.callbacks.cancel(agent, call_id, uuid.uuid4().hex)

    def offers_of(self, call_id: str) -> list[Any]:
        return OfferRepository().of_call(call_id)
