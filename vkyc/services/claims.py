"""Placing an inbound call at an agent: the claim (the agent idle longest goes AVAILABLE → RINGING, the
call W, a PENDING offer, in one transaction conditioned on each item's version, so two calls never
claim one agent), and what follows it (the ringing popup, the ring and no-call timers, ``call.ringing``
to the caller). Used by the call request (``create``), the re-offer after a reject or a ring-out and
the dispatch of waiting calls (``offer``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from vkyc.domain.agent import AGENT, AgentEvent
from vkyc.domain.call import CALL, CallEvent
from vkyc.domain.offer import OFFER
from vkyc.protocol.messages import CallOffer, CallRinging
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.offers import new_offer_id
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Dossier, Offer
from vkyc.repositories.transitions import Change, Op, commit, plan, plan_create
from vkyc.services.dossier_calls import dossier_view
from vkyc.services.effects import Done, Effects
from vkyc.services.ports import Clock, Timer, utc_now
from vkyc.services.timers import Dispatch, NoCallArrived, RingTimeout

MAX_CLAIM_ATTEMPTS = 6  # candidates tried when others claim the same agents at the same moment
CLAIM_SPREAD = 5  # after a lost claim, the next try picks at random among this many best candidates


@dataclass(frozen=True)
class Route:
    """Where a call goes: computed once per call request from configuration (cached by the router)."""

    serving_unit_id: str
    queue_id: str | None
    ring_timeout_s: int
    queue_timeout_s: int


class Router(Protocol):
    def route(self, dossier: Dossier) -> Route: ...

    def choose_agent(self, call: Call, excluded: Collection[str]) -> Sequence[Agent]:
        """AVAILABLE agents that may take ``call`` now, best first (from the unit's index)."""
        ...

    def overflow_in(self, call: Call) -> float | None:
        """Seconds until an overflow group still closed to ``call`` opens, or None."""
        ...


@dataclass(frozen=True)
class Rung:
    """A claim that rang: the agent, the offer, and the dossier the popup shows."""

    agent: Agent
    offer: Offer
    dossier: Dossier
    ring_timeout_s: int


class Claims:
    def __init__(self, router: Router, *, clock: Clock = utc_now) -> None:
        self.router = router
        self.clock = clock
        self.calls = CallRepository()
        self.dossiers = DossierRepository()

    def create(
        self,
        call: Call,
        route: Route,
        dossier: Dossier,
        with_call: Sequence[Op],
        *,
        actor: str,
        request_id: str,
    ) -> Rung | None:
        """Store the new ``call`` with ``with_call``, in one transaction: created ringing at the best free
        agent (claimed in the same transaction, with a PENDING offer), or waiting in its serving unit's
        queue when nobody may take it. Returns what rings (``rung`` then gives its effects), or None."""
        excluded: set[str] = set()
        candidates: list[Agent] = []
        for _ in range(MAX_CLAIM_ATTEMPTS):
            # A lost claim only tells that one agent is taken: the others read with it are tried
            # before the index is read again (a Query saved per lost claim, when callers crowd).
            candidates = [a for a in candidates if a.agent_id not in excluded] or list(
                self.router.choose_agent(call, excluded)
            )
            if not candidates:
                break
            agent = _pick(candidates, excluded)
            # Stamped after the agent was seen free: an agent's history never shows the new offer
            # before the end of the previous one (the request itself may have started earlier).
            now = self.clock()
            offer = _new_offer(call, agent, now, route.ring_timeout_s)
            call.offer_id, call.agent_id, call.waiting_in = offer.offer_id, agent.agent_id, None
            try:
                commit(
                    plan_create(call, CALL, actor=actor, reason="call requested", then=[CallEvent.OFFER]),
                    _claim(agent, call, offer),
                    plan_create(offer, OFFER, actor="router"),
                    *with_call,
                    request_id=request_id,
                    at=now,
                )
            except TransitionConflict as exc:
                if exc.kind == "agent":  # someone else claimed that agent first: try the next one
                    excluded.add(agent.agent_id)
                    continue
                raise
            return Rung(agent, offer, dossier, route.ring_timeout_s)
        call.offer_id, call.agent_id, call.waiting_in = None, None, route.serving_unit_id
        commit(
            plan_create(call, CALL, actor=actor, reason="call requested"),
            *with_call,
            request_id=request_id,
            at=self.clock(),
        )
        return None

    def offer(self, call: Call) -> Done[bool]:
        """Claim the best free agent for a waiting ``call``; then ring them. False if nobody is free;
        True once it rang someone, or when the call moved meanwhile (no longer this attempt's to
        place: a concurrent dispatch offered it, the caller hung up)."""
        # Read once: the ring timeout comes from the dossier's route, and the popup shows the dossier.
        dossier = self.dossiers.get(call.dossier_id or "")
        ring_timeout_s = self.router.route(dossier).ring_timeout_s
        excluded = set(call.tried_agent_ids or ())
        for _ in range(MAX_CLAIM_ATTEMPTS):
            candidates = list(self.router.choose_agent(call, excluded))
            if not candidates:
                return Done(False)
            agent = _pick(candidates, excluded)
            now = self.clock()
            offer = _new_offer(call, agent, now, ring_timeout_s)
            try:
                commit(
                    plan(
                        call,
                        CALL,
                        CallEvent.OFFER,
                        actor="router",
                        attrs={"offer_id": offer.offer_id, "agent_id": agent.agent_id, "waiting_in": None},
                    ),
                    _claim(agent, call, offer),
                    plan_create(offer, OFFER, actor="router"),
                    request_id=f"offer:{offer.offer_id}",
                    at=now,
                )
            except TransitionConflict as exc:
                if exc.kind == "agent":  # someone else claimed that agent first: try the next one
                    excluded.add(agent.agent_id)
                    continue
                if exc.kind == "call":
                    return Done(True)
                raise
            effects = self.rung(Rung(agent, offer, dossier, ring_timeout_s), call)
            return Done(
                True, effects.to_mobile(call, CallRinging(call_id=call.call_id).model_dump(mode="json"))
            )
        return Done(False)

    def rung(self, rung: Rung, call: Call) -> Effects:
        """The ringing popup to the agent, then the ring timer and the call's no-call timer in one
        request (``NoCallArrived`` looks again while the call rings: it is due at most
        ``no_call_arrived_s`` after the answer, with no request of its own at the answer)."""
        ring = CallOffer(
            offer_id=rung.offer.offer_id,
            call_id=call.call_id,
            ring_timeout_s=rung.ring_timeout_s,
            expires_at_ms=int(rung.offer.ring_deadline.timestamp() * 1000),
            dossier=dossier_view(rung.dossier),
        )
        effects = Effects().to_connection(rung.agent.connection_id, ring.model_dump(mode="json"))
        return effects.timer(
            RingTimeout(offer_id=rung.offer.offer_id).after(rung.ring_timeout_s), self.no_call_timer(call)
        )

    def no_call_timer(self, call: Call) -> Timer:
        limit = cached_settings(call.serving_unit_id or call.unit_id).no_call_arrived_s
        return NoCallArrived(call_id=call.call_id).after(limit)

    def overflow_timer(self, call: Call) -> list[Timer]:
        """Nobody may take the call now: if an overflow group opens later, route again then."""
        delay = self.router.overflow_in(call)
        if delay is None:
            return []
        return [Dispatch(unit_id=call.serving_unit_id or "").after(max(1, math.ceil(delay)))]

    def position(self, call: Call) -> int:
        """The call's place in its serving unit's queue (1 is next), 0 when it is not waiting."""
        ids = [c.call_id for c in self.calls.waiting(call.serving_unit_id or "")]
        return ids.index(call.call_id) + 1 if call.call_id in ids else 0


def _pick(candidates: Sequence[Agent], lost: Collection[str]) -> Agent:
    """The agent to claim: the best candidate (idle longest); after a lost claim, one of the next few
    at random. Simultaneous requests all see the same best agent: if each then tried the next best, they
    would collide again and again, one winner per round."""
    if not lost:
        return candidates[0]
    return random.choice(candidates[:CLAIM_SPREAD])


def _new_offer(call: Call, agent: Agent, now: datetime, ring_timeout_s: int) -> Offer:
    return Offer(
        offer_id=new_offer_id(call.call_id),
        call_id=call.call_id,
        agent_id=agent.agent_id,
        ring_deadline=now + timedelta(seconds=ring_timeout_s),
    )


def _claim(agent: Agent, call: Call, offer: Offer) -> Change:
    """The agent, as read from the index, goes AVAILABLE → RINGING: conditioned on that version, so two
    calls never claim one agent."""
    return plan(
        agent,
        AGENT,
        AgentEvent.OFFER,
        actor="router",
        attrs={"call_id": call.call_id, "offer_id": offer.offer_id},
    )
