"""The signaling service graph for tests: built by the composition root (``vkyc.wiring``) on fakes, and
``Cases``, use cases called the way the entry points call them (their effects run through the graph's
dispatcher), so that a test calls a use case and then looks at what was pushed and scheduled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from media_node.storage import MemoryStore
from vkyc.domain.settings import CallSettings
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Call, Dossier
from vkyc.services.auth import AuthService
from vkyc.services.claims import Route
from vkyc.services.effects import Dispatcher, Done, Effects, Event, Refused
from vkyc.services.ports import Clock, Notifier, ObjectFacts, Timers, utc_now
from vkyc.wiring import SignalingGraph, build_signaling


class RecordingDispatcher(Dispatcher):
    """The dispatcher, keeping every event it handled (``seen``): what a test may ask of events."""

    def __init__(self, notifier: Notifier, timers: Timers) -> None:
        super().__init__(notifier, timers)
        self.seen: list[Event] = []

    def run(self, effects: Effects | None, *, depth: int = 0) -> None:
        if effects:
            self.seen.extend(effects.events)
        super().run(effects, depth=depth)

    def events(self, event_type: type[Any]) -> list[Any]:
        return [event for event in self.seen if isinstance(event, event_type)]


class Anyone:
    """Eligibility that lets every dossier call."""

    def check(self, dossier: Dossier) -> None:
        return None


class NoRouting:
    """A router for graphs whose tests place no inbound call: nobody is free, nothing overflows."""

    def route(self, dossier: Dossier) -> Route:
        raise AssertionError("this test places no call")

    def choose_agent(self, call: Call, excluded: Any) -> list[Any]:
        return []

    def overflow_in(self, call: Call) -> float | None:
        return None


class NoObjects:
    def stat(self, key: str) -> None:
        return None


def graph_on(
    pushes: Any,
    *,
    eligibility: Any = None,
    router: Any = None,
    objects: ObjectFacts | None = None,
    settings: Callable[[str | None], CallSettings] = cached_settings,
    auth: AuthService | None = None,
    clock: Clock = utc_now,
) -> SignalingGraph:
    """The graph with ``pushes`` as notifier and timer queue (a recorder: ``send``, ``close``,
    ``schedule``, ``schedule_many``)."""
    return build_signaling(
        pushes,
        pushes,
        eligibility=eligibility or Anyone(),
        router=router or NoRouting(),
        objects=objects or NoObjects(),
        evidence_store=MemoryStore(),
        auth=auth,
        clock=clock,
        settings=settings,
        dispatcher=RecordingDispatcher(pushes, pushes),
    )


class Cases:
    """Named use cases, each called as an entry point calls it: its ``Done`` or ``Effects`` are run
    through the graph's dispatcher and its value answered; a ``Refused`` runs its effects and raises its
    error."""

    def __init__(self, graph: SignalingGraph, **use_cases: Callable[..., Any]) -> None:
        self._graph = graph
        self._cases = use_cases

    def __getattr__(self, name: str) -> Callable[..., Any]:
        try:
            use_case = self._cases[name]
        except KeyError:
            raise AttributeError(name) from None

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = use_case(*args, **kwargs)
            except Refused as refused:
                self._graph.dispatcher.run(refused.effects)
                raise refused.error from None
            if isinstance(result, Done):
                self._graph.dispatcher.run(result.effects)
                return result.value
            if isinstance(result, Effects):
                self._graph.dispatcher.run(result)
                return None
            return result

        return call
