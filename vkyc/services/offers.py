"""An inbound call offered to one agent (the ringing popup, ``vkyc.domain.offer``): the agent accepts or
rejects it, or lets it ring out; the system withdraws it when the caller leaves.

- ``accept``: offer ACCEPTED, call A (answered), agent IN_CALL, and the parties become each other's
  peers (each learns of the other's drops and resumes); ``call.connected`` to both.
- ``reject`` / ``ring_timeout``: offer REJECTED / MISSED, call R / M, the agent AVAILABLE (reject) or
  UNAVAILABLE (ring-out: calls stop going to an absent desk; AVAILABLE where the unit's
  ``missed_offer_sets_unavailable`` is off); the call is offered to the next agent or waits in the
  queue again (``call.queued`` to the caller). Never back to an agent who let it ring out; back to one
  who rejected it once only when nobody else is free, ``reoffer_after_s`` later. Once
  ``max_offers_per_call`` agents had it, it ends ``no_agent`` at once.
- ``withdraw``: the changes that end a ringing offer when its call ends unanswered, for the caller's
  transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.call import CALL, CallEvent, CallState
from vkyc.domain.offer import OFFER, OfferEvent, OfferState
from vkyc.protocol.errors import ProtocolError
from vkyc.protocol.messages import Ack, CallConnected, CallQueued
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.batch import get_many
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.conflicts import LOST_OR_STALE, Commit, Settled, retry_on_conflict
from vkyc.repositories.offers import OfferRepository, call_of_offer
from vkyc.repositories.sessions import SeqTicket, session_touch
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Offer, WsConnection
from vkyc.repositories.transitions import Change, Op, commit, plan
from vkyc.services.claims import Claims
from vkyc.services.effects import AgentFreed, Done, Effects
from vkyc.services.ports import Clock, utc_now
from vkyc.services.timers import QueueTimeout

TIMER_ATTEMPTS = 3  # a timer that loses a race looks again before leaving it to SQS's retry


class Offers:
    def __init__(self, claims: Claims, *, clock: Clock = utc_now) -> None:
        self.claims = claims
        self.clock = clock
        self.calls = CallRepository()
        self.offers = OfferRepository()
        self.agents = AgentRepository()

    def accept(
        self, connection: WsConnection, offer_id: str, request_id: str, seq: SeqTicket | None = None
    ) -> Done[CallConnected]:
        """The agent answers. Raises OFFER_NOT_FOUND (not this agent's pending offer)."""
        offer, call, agent = self._parts(connection, offer_id)
        now = self.clock()
        commit(
            plan(offer, OFFER, OfferEvent.ACCEPT, actor=agent.agent_id),
            plan(
                call,
                CALL,
                CallEvent.ACCEPT,
                actor=agent.agent_id,
                attrs={
                    "answered_at": now,
                    "agent_session_id": connection.session_id,
                    "agent_connection_id": connection.connection_id,
                },
            ),
            plan(agent, AGENT, AgentEvent.ACCEPT, actor=agent.agent_id),
            # The parties learn of each other's drops and resumes (SessionService tells the peer).
            *session_touch(
                connection.session_id, seq, call_id=call.call_id, peer_session_id=call.mobile_session_id
            ),
            *(
                session_touch(call.mobile_session_id, peer_session_id=connection.session_id)
                if call.mobile_session_id
                else []
            ),
            request_id=request_id,
            at=now,
        )
        connected = CallConnected(call_id=call.call_id, agent_id=agent.agent_id, agent_name=agent.name or "")
        effects = Effects().to_mobile(call, connected.model_dump(mode="json"))
        return Done(connected.model_copy(update={"request_id": request_id}), effects)

    def reject(
        self, connection: WsConnection, offer_id: str, request_id: str, seq: SeqTicket | None = None
    ) -> Done[Ack]:
        """The agent declines: the call goes to the next agent, never back to this one. Raises
        OFFER_NOT_FOUND."""
        offer, call, agent = self._parts(connection, offer_id)
        effects = self.end_offer(
            offer,
            OfferEvent.REJECT,
            CallEvent.REJECT,
            AgentEvent.REJECT,
            request_id=request_id,
            call=call,
            agent=agent,
            extra=session_touch(connection.session_id, seq),
        )
        return Done(Ack(request_id=request_id), effects)

    def ring_timeout(self, offer_id: str) -> Done[bool]:
        """The offer rang out (M): the agent goes UNAVAILABLE, the call to the next agent. False when the
        offer was answered, rejected or withdrawn in time."""

        def end(offer: Offer | None) -> Commit[Done[bool]] | Settled[Done[bool]]:
            if offer is None or offer.state != OfferState.PENDING:
                return Settled(Done(False))
            return Commit(
                lambda: Done(
                    True,
                    self.end_offer(
                        offer,
                        OfferEvent.RING_TIMEOUT,
                        CallEvent.RING_TIMEOUT,
                        AgentEvent.RING_TIMEOUT,
                        request_id=f"ring-timeout:{offer_id}",
                    ),
                )
            )

        # A conflict: answered, rejected or cancelled at that moment (the call may already have moved
        # when it was read): look again; the winner usually settled everything. Still pending after
        # several looks: the conflict is raised and SQS retries the timer.
        return retry_on_conflict(
            lambda: self.offers.find(offer_id), end, attempts=TIMER_ATTEMPTS, conflicts=LOST_OR_STALE
        )

    def end_offer(
        self,
        offer: Offer,
        offer_event: OfferEvent,
        call_event: CallEvent,
        agent_event: AgentEvent,
        *,
        request_id: str,
        call: Call | None = None,
        agent: Agent | None = None,
        extra: Sequence[Op] = (),
    ) -> Effects:
        """The agent's answer was no (reject, ring-out): the offer, the call (R or M, the agent added to
        those it is never offered to again) and the agent move in one transaction; then the call goes
        to the next agent, or back to the queue."""
        call = call or self.calls.get(offer.call_id)
        agent = agent or self.agents.get(offer.agent_id)
        now = self.clock()
        tried = set(call.tried_agent_ids or ()) | {agent.agent_id}
        agent_attrs: dict[str, Any] = {"call_id": None, "offer_id": None}
        call_attrs: dict[str, Any] = {
            "tried_agent_ids": tried,
            "offer_id": None,
            "agent_id": None,
            "waiting_in": call.serving_unit_id,
        }
        settings = cached_settings(call.serving_unit_id or call.unit_id)
        if agent_event is AgentEvent.RING_TIMEOUT and not settings.missed_offer_sets_unavailable:
            agent_event = AgentEvent.RANG_OUT  # the unit keeps agents who miss an offer AVAILABLE
        # A first reject earns a second chance (vkyc.domain.routing.second_chance); one re-offered
        # the call and rejecting it again does not.
        second_chance = agent_event is AgentEvent.REJECT and agent.agent_id not in (
            call.reoffered_agent_ids or ()
        )
        if agent_event in (AgentEvent.REJECT, AgentEvent.RANG_OUT):
            agent_attrs["available_since"] = now
        if second_chance:
            call_attrs["rejected_once_ids"] = set(call.rejected_once_ids or ()) | {agent.agent_id}
            call_attrs["last_rejected_at"] = now
        commit(
            plan(offer, OFFER, offer_event, actor=agent.agent_id),
            plan(
                call,
                CALL,
                call_event,
                actor=agent.agent_id,
                attrs=call_attrs,
            ),
            *_agent_change(agent, offer, agent_event, agent_attrs),
            *extra,
            request_id=request_id,
            at=now,
        )
        effects = Effects()
        if agent_event in (AgentEvent.RING_TIMEOUT, AgentEvent.RANG_OUT) and agent.connection_id:
            effects.to_connection(
                agent.connection_id,
                {
                    "action": "offer.withdrawn",
                    "offer_id": offer.offer_id,
                    "call_id": call.call_id,
                    "reason": "rang_out",
                },
            )
            effects.to_connection(
                agent.connection_id,
                {
                    "action": "agent.status",
                    "agent_id": agent.agent_id,
                    "status": agent.state,
                    "since_ms": int(now.timestamp() * 1000),
                },
            )
        offered = self.claims.offer(call)
        effects += offered.effects
        if not offered.value:
            commit(
                plan(call, CALL, CallEvent.REQUEUE, actor="router"),
                request_id=f"requeue:{request_id}",
                at=self.clock(),
            )
            queued = CallQueued(call_id=call.call_id, position=self.claims.position(call))
            effects.to_mobile(call, queued.model_dump(mode="json"))
            if self.claims.exhausted(call):  # offered to ``max_offers_per_call`` agents: it ends now
                effects.timer(QueueTimeout(call_id=call.call_id).after(0))
            else:
                effects.timer(*self.claims.overflow_timer(call))
                if second_chance:
                    effects.timer(self.claims.reoffer_timer(call))
        if agent_event in (AgentEvent.REJECT, AgentEvent.RANG_OUT):
            effects.event(AgentFreed(agent.unit_id))
        return effects

    def withdraw(self, call: Call, reason: str) -> tuple[list[Change], Effects]:
        """If ``call`` is ringing, the changes that end its offer (CANCELLED) and return its agent to
        AVAILABLE, for the transaction that ends the call; and the effects once it committed
        (``offer.withdrawn`` to the agent, its unit's waiting calls offered)."""
        if call.state != CallState.RINGING or not call.offer_id:
            return [], Effects()
        offer = self.offers.get(call.offer_id)
        agent = self.agents.get(offer.agent_id)
        effects = Effects().to_connection(
            agent.connection_id,
            {
                "action": "offer.withdrawn",
                "offer_id": offer.offer_id,
                "call_id": call.call_id,
                "reason": reason,
            },
        )
        effects.event(AgentFreed(agent.unit_id))
        changes = [
            plan(offer, OFFER, OfferEvent.CANCEL, actor="system", reason=reason),
            *_agent_change(
                agent,
                offer,
                AgentEvent.OFFER_WITHDRAWN,
                {"call_id": None, "offer_id": None, "available_since": self.clock()},
                reason=reason,
            ),
        ]
        return changes, effects

    def _parts(self, connection: WsConnection, offer_id: str) -> tuple[Offer, Call, Agent]:
        """This agent's PENDING offer, its call and the agent, in one read. Raises OFFER_NOT_FOUND."""
        call_id = call_of_offer(offer_id)
        if call_id is None:
            raise ProtocolError("OFFER_NOT_FOUND")
        offer, call, agent = get_many([Offer(offer_id), Call(call_id), Agent(connection.principal_id)])
        if (
            not isinstance(offer, Offer)
            or not isinstance(call, Call)
            or not isinstance(agent, Agent)
            or offer.agent_id != connection.principal_id
            or offer.state != OfferState.PENDING
        ):
            raise ProtocolError("OFFER_NOT_FOUND")
        return offer, call, agent


def _agent_change(
    agent: Agent, offer: Offer, event: AgentEvent, attrs: dict[str, Any], reason: str | None = None
) -> list[Change]:
    """The agent's move when ``offer`` ends, if the agent is still ringing for it. The sweeper, end of
    day or a lost session may have moved the agent on already: the offer and call still end."""
    if agent.state != AgentState.RINGING or agent.offer_id != offer.offer_id:
        return []
    return [plan(agent, AGENT, event, actor="system", reason=reason, attrs=attrs)]
