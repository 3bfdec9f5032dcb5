"""Simulated callers and agents for the load scenario (``tests/integration/test_call_concurrency.py``)
and the benchmarks (``bench/call_setup.py``, ``bench/timers_load.py``) of the inbound call (issue #4).

``create_unit`` writes a self-serving unit of its own (unit, group, queue, hotline, API key, agents and
their accounts) so a load run does not touch the demo's units. ``AgentBot`` is a thread that answers
every ``call.offer`` at random (accept → hang up or decide → decide; reject; let it ring out);
``run_caller`` places one call and waits until it is final, cancelling when it waited too long.
Every event a bot sees is appended, with a ``time.perf_counter()`` stamp, to its ``events`` list.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.signaling_client import Client, rest
from vkyc.domain.agent import AGENT
from vkyc.domain.roles import UserRole
from vkyc.repositories import api_keys, call_media, queues, tables, users
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.security.passwords import api_key_digest, hash_password

PASSWORD = "load-test-password-1"
# The load scenario's timers (issue #4): a 1 s ring timeout and an 8 s queue timeout.
LOAD_SETTINGS = {"ring_timeout_s": 1, "queue_timeout_s": 8}
FINAL_CALL_STATES = frozenset({"FINISHED", "E", "T"})
# The local REST server's listen backlog is small: callers log in a few at a time, then call together.
CONNECT_GATE = threading.BoundedSemaphore(8)


@dataclass(frozen=True)
class LoadUnit:
    unit_id: str
    api_key: str
    agents: tuple[str, ...]


def create_unit(unit_id: str, agent_count: int) -> LoadUnit:
    """A unit that serves itself, with ``agent_count`` agents (password ``PASSWORD``). Idempotent."""
    group_id, queue_id = f"load-{unit_id}-group", f"load-{unit_id}-queue"
    tables.Unit(unit_id, name=f"Load unit {unit_id}", has_agents=True).save()
    tables.Group(group_id, unit_id=unit_id, name=f"Load group {unit_id}").save()
    queues.put_queue(
        queue_id,
        unit_id=unit_id,
        name=f"Load queue {unit_id}",
        groups=[tables.QueueGroup(group_id=group_id, priority=1, overflow_after_s=None)],
        auto_ticket=False,
    )
    tables.Hotline(f"1900{unit_id.zfill(4)}", unit_id=unit_id, name="Load hotline", queue_id=queue_id).save()
    key = f"vkyc_load_{unit_id}_" + "0123456789abcdef0123456789"
    api_keys.put_api_key(api_key_digest(key), unit_id=unit_id, name="load test")
    repo = AgentRepository()
    password_hash = hash_password(PASSWORD)
    names = tuple(f"load{n}.u{unit_id}" for n in range(1, agent_count + 1))
    for name in names:
        if repo.find(name) is None:
            item = tables.Agent(name, unit_id=unit_id, name=name, group_ids={group_id})
            repo.create(item, AGENT, request_id=f"load:{name}:create", actor="test")
        users.put_user(
            name,
            role=UserRole.AGENT,
            unit_id=unit_id,
            display_name=name,
            password_hash=password_hash,
            agent_id=name,
        )
    return LoadUnit(unit_id, key, names)


def _media_seen(call_id: str) -> None:
    """No media node here: what one reports of a call in which both parties saw each other (as
    ``tests/media_facts.customer_seen`` writes it), so that an A decision is allowed."""
    call_media.mark_media_connected(call_id, datetime.now(UTC))
    call_media.add_snapshot(call_id, f"calls/{call_id}/snapshots/load.jpg", "load", face_found=True)


def invalidate_routing() -> None:
    """Drop the in-process routers' configuration caches (60 s) so a unit created now is routed now."""
    for module in list(sys.modules.values()):
        inbound = getattr(getattr(module, "graph", None), "inbound", None)
        router = getattr(inbound, "router", None)
        repository = getattr(router, "repository", None)
        if repository is not None and hasattr(repository, "invalidate"):
            repository.invalidate()


def new_dossier(unit_id: str) -> str:
    dossier_id = f"L-{unit_id}-{uuid.uuid4().hex[:10]}"
    DossierRepository().create(
        dossier_id,
        unit_id=unit_id,
        request_id=uuid.uuid4().hex,
        actor="test",
        subscriber="8490" + str(random.randrange(10**7)).zfill(7),
        sub_type="MC",
        customer_type="KHCN",
        payment_type="prepaid",
    )
    return dossier_id


def login_agent(http_url: str, ws_url: str, username: str) -> Client:
    status, body = rest(http_url, "/auth/login", {"username": username, "password": PASSWORD})
    assert status == 200, body
    client = Client(ws_url, token=body["token"])
    client.hello()
    return client


def mobile_client(
    http_url: str, ws_url: str, dossier_id: str, api_key: str, *, dealer_channel: str | None = None
) -> Client:
    body = {"dealer_account": "dl-load", "dossier_id": dossier_id}
    if dealer_channel is not None:
        body["dealer_channel"] = dealer_channel
    status, grant = rest(http_url, "/auth/mobile", body, {"x-api-key": api_key})
    assert status == 200, grant
    client = Client(ws_url, token=grant["token"])
    client.hello()
    return client


def next_message(client: Client, timeout: float) -> dict[str, Any] | None:
    """The next push (kept ones first), or None after ``timeout`` seconds."""
    if client.pushes:
        return client.pushes.pop(0)
    try:
        return json.loads(client.ws.recv(timeout=timeout))
    except TimeoutError:
        return None


RESULT_WAIT_S = 3.0  # how long a caller whose call connected waits for the decision after the end


def _await_result(client: Client, result: CallerResult, wait_s: float) -> None:
    if any(action in ("call.result", "result") for _, action, _ in result.events):
        return
    deadline = time.perf_counter() + wait_s
    while time.perf_counter() < deadline:
        message = next_message(client, 0.05)
        if message is not None:
            result.events.append((time.perf_counter(), message.get("action", ""), message))
            if message.get("action") == "call.result":
                return


@dataclass
class Behaviour:
    """How bots act. Probabilities of an agent's answer to an offer (the rest: let it ring out)."""

    accept: float = 0.6
    reject: float = 0.2
    talk_s: tuple[float, float] = (0.02, 0.2)
    hangup_first: float = 0.7  # else decide during the call
    back_after_rang_out_s: tuple[float, float] = (0.05, 0.3)
    patience_s: tuple[float, float] = (1.0, 6.0)  # callers not answered by then cancel...
    waits_for_timeout: float = 0.2  # ...except this share, who wait for the queue timeout
    seed: int | None = None


class AgentBot(threading.Thread):
    """One agent on its own socket, answering offers at random until ``stop``."""

    def __init__(self, client: Client, behaviour: Behaviour, rng: random.Random) -> None:
        super().__init__(daemon=True, name=f"agent-{client.welcome['principal_id']}")
        self.client = client
        self.agent_id: str = client.welcome["principal_id"]
        self.behaviour = behaviour
        self.rng = rng
        self.stopping = threading.Event()
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self.errors: list[BaseException] = []
        self.offers = 0

    def set_available(self) -> None:
        reply = self.client.request("agent.set_status", status="available")
        self.events.append((time.perf_counter(), "set_available", reply))

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                message = next_message(self.client, 0.1)
                if message is None:
                    continue
                self.events.append((time.perf_counter(), message.get("action", ""), message))
                if message.get("action") == "call.offer":
                    self.offers += 1
                    self._answer(message)
                elif message.get("action") == "offer.withdrawn" and message.get("reason") == "rang_out":
                    time.sleep(self.rng.uniform(*self.behaviour.back_after_rang_out_s))
                    self.set_available()
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    def _answer(self, offer: dict[str, Any]) -> None:
        b, roll = self.behaviour, self.rng.random()
        if roll < b.accept:
            reply = self.client.request("offer.accept", offer_id=offer["offer_id"])
            self.events.append((time.perf_counter(), "accept_reply", reply))
            if reply.get("action") != "call.connected":
                return  # the caller gave up meanwhile
            time.sleep(self.rng.uniform(*b.talk_s))
            call_id = offer["call_id"]
            if self.rng.random() < b.hangup_first:
                ended = self.client.request("call.hangup", call_id=call_id)
                self.events.append((time.perf_counter(), "hangup_reply", ended))
            decision = self.rng.choice(["A", "D"])
            if decision == "A":
                _media_seen(call_id)
            decided = self.client.request(
                "call.decide", call_id=call_id, decision=decision, reason="load test"
            )
            self.events.append((time.perf_counter(), "decide_reply", decided))
        elif roll < b.accept + b.reject:
            reply = self.client.request("offer.reject", offer_id=offer["offer_id"], reason="busy")
            self.events.append((time.perf_counter(), "reject_reply", reply))
        # else: let it ring out (the ring timer withdraws it; run() then comes back)

    def stop(self) -> None:
        """End the thread and close the agent's socket."""
        self.stopping.set()
        self.join(timeout=15)
        self.client.close()


def start_agents(
    http_url: str, ws_url: str, unit: LoadUnit, behaviour: Behaviour, rng: random.Random
) -> list[AgentBot]:
    """Every agent of ``unit`` logged in, AVAILABLE and answering offers (each with a seed from ``rng``)."""
    bots = [
        AgentBot(login_agent(http_url, ws_url, name), behaviour, random.Random(rng.random()))
        for name in unit.agents
    ]
    for bot in bots:
        bot.set_available()
        bot.start()
    return bots


@dataclass
class CallerResult:
    dossier_id: str
    call_id: str | None = None
    outcome: str = ""  # connected / cancelled / no_agent / refused / timeout
    sent_at: float = 0.0
    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    error: BaseException | None = None


def run_caller(
    http_url: str,
    ws_url: str,
    dossier_id: str,
    api_key: str,
    behaviour: Behaviour,
    rng: random.Random,
    start: threading.Barrier | None = None,
    give_up_s: float = 60.0,
) -> CallerResult:
    """Connect, (wait at ``start``,) request the call, and wait until it ends on the mobile's side."""
    result = CallerResult(dossier_id)
    with CONNECT_GATE:
        client = mobile_client(http_url, ws_url, dossier_id, api_key)
    try:
        if start is not None:
            start.wait(timeout=60)
        patient = rng.random() < behaviour.waits_for_timeout
        patience = float("inf") if patient else rng.uniform(*behaviour.patience_s)
        result.sent_at = time.perf_counter()
        queued = client.request("call.request")
        result.events.append((time.perf_counter(), queued.get("action", ""), queued))
        if queued.get("action") not in ("call.queued", "call.ringing"):
            result.outcome = "refused"
            return result
        result.call_id = queued["call_id"]
        connected = False
        deadline = result.sent_at + give_up_s
        while time.perf_counter() < deadline:
            if not connected and time.perf_counter() - result.sent_at > patience:
                reply = client.request("call.cancel", call_id=result.call_id)
                result.events.append((time.perf_counter(), "cancel_reply", reply))
                if reply.get("action") == "call.ended":
                    result.outcome = "cancelled"
                    return result
                patience = float("inf")  # accepted meanwhile: wait for the end
            message = next_message(client, 0.05)
            if message is None:
                continue
            action = message.get("action", "")
            result.events.append((time.perf_counter(), action, message))
            if action == "call.connected":
                connected = True
            elif action == "call.ended":
                result.outcome = "connected" if connected else str(message.get("reason"))
                if connected:
                    # As the sales app does (seed 002 step 16): stay for the agent's decision.
                    _await_result(client, result, RESULT_WAIT_S)
                return result
            elif action == "call.result":  # decided during the call: the end follows
                result.events.append((time.perf_counter(), "result", message))
        result.outcome = "timeout"
        return result
    except BaseException as exc:
        result.error = exc
        return result
    finally:
        client.close()


def run_round(
    http_url: str,
    ws_url: str,
    unit: LoadUnit,
    behaviour: Behaviour,
    rng: random.Random,
    pool: ThreadPoolExecutor,
    callers: int,
    give_up_s: float,
) -> list[CallerResult]:
    """One round: ``callers`` fresh dossiers of ``unit``, whose callers request their call at the same
    moment (a barrier) and wait until it ends (``run_caller``). ``pool`` needs ``callers`` workers."""
    dossiers = list(pool.map(lambda _: new_dossier(unit.unit_id), range(callers)))
    start = threading.Barrier(callers)
    seeds = [rng.randrange(2**32) for _ in range(callers)]
    futures = [
        pool.submit(
            run_caller,
            http_url,
            ws_url,
            dossier_id,
            unit.api_key,
            behaviour,
            random.Random(seed),
            start,
            give_up_s,
        )
        for dossier_id, seed in zip(dossiers, seeds, strict=True)
    ]
    return [future.result() for future in futures]
