"""The ``Router`` the call service uses, on routing data (``vkyc.repositories.routing``) and the
pure policy (``vkyc.domain.routing``). One instance per process: its caches live on it.

Cost: with warm caches, ``route`` reads nothing and ``choose_agent`` is one Query (the serving
unit's AVAILABLE agents).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from datetime import UTC

from vkyc.domain.routing import CallFacts, next_overflow_in, rank
from vkyc.repositories.queues import queue_timeout_s
from vkyc.repositories.routing import CONFIG_TTL_S, RoutingRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call, Dossier
from vkyc.services.claims import Route
from vkyc.services.ports import Clock, utc_now


class DataRouter:
    def __init__(self, repository: RoutingRepository | None = None, clock: Clock = utc_now) -> None:
        # Configuration is cached per process (60 s by default); tests and demos may shorten it.
        ttl_s = float(os.environ.get("VKYC_CONFIG_CACHE_S", CONFIG_TTL_S))
        self.repository = repository or RoutingRepository(ttl_s=ttl_s)
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

    def overflow_in(self, call: Call) -> float | None:
        context = self.repository.context(call.unit_id, call.hotline_id)
        return next_overflow_in(context.rules, self._facts(call))

    def _facts(self, call: Call) -> CallFacts:
        created = call.created_at or self.clock()
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return CallFacts(
            customer_type=call.customer_type,
            sub_type=call.sub_type,
            dealer_channel=call.dealer_channel,
            waited_s=max(0.0, (self.clock() - created).total_seconds()),
        )

    def choose_agent(self, call: Call, excluded: Collection[str]) -> Sequence[Agent]:
        context = self.repository.context(call.unit_id, call.hotline_id)
        facts = self._facts(call)
        candidates = self.repository.available_agents(context.serving_unit_id)
        ranked = rank(candidates, context.rules, facts, excluded)
        return [c.ref for c in ranked if isinstance(c.ref, Agent)]
