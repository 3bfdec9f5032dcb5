"""The ``Router`` the call service uses, on routing data (``vkyc.repositories.routing``) and the
pure policy (``vkyc.domain.routing``). One instance per process: its caches live on it.

Cost: with warm caches, ``route`` reads nothing and ``choose_agent`` is one Query (the serving
unit's AVAILABLE agents).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC

from vkyc.domain.routing import CallFacts, rank
from vkyc.repositories.queues import queue_timeout_s
from vkyc.repositories.routing import RoutingRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Dossier
from vkyc.services.calls import Route
from vkyc.services.ports import Clock, utc_now


class DataRouter:
    def __init__(self, repository: RoutingRepository | None = None, clock: Clock = utc_now) -> None:
        self.repository = repository or RoutingRepository()
        self.clock = clock

    def route(self, dossier: Dossier) -> Route:
        context = self.repository.context(dossier.unit_id)
        settings = cached_settings(context.serving_unit_id)
        timeout = (
            queue_timeout_s(context.queue, settings)
            if context.queue is not None
            else settings.queue_timeout_s
        )
        return Route(
            serving_unit_id=context.serving_unit_id,
            queue_id=context.queue_id,
            ring_timeout_s=settings.ring_timeout_s,
            queue_timeout_s=timeout,
        )

    def choose_agent(self, call: Call, excluded: Collection[str]) -> Sequence[Agent]:
        context = self.repository.context(call.unit_id, call.hotline_id)
        created = call.created_at or self.clock()
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        facts = CallFacts(
            customer_type=call.customer_type,
            sub_type=call.sub_type,
            dealer_channel=None,  # no dealer channel is recorded yet (mSale does not send one)
            waited_s=max(0.0, (self.clock() - created).total_seconds()),
        )
        candidates = self.repository.available_agents(context.serving_unit_id)
        ranked = rank(candidates, context.rules, facts, excluded)
        return [c.ref for c in ranked if isinstance(c.ref, Agent)]
