"""Delayed work, typed: each kind of timer is a payload class, and the one ``TimerRouter`` hands a due
timer to the use case registered for its class (``vkyc.wiring`` registers them).

A timer travels as SQS ``DelaySeconds`` with the JSON body ``{"kind": ..., <fields>}`` (``Timer`` in
``vkyc.services.ports``; ``vkyc.adapters.timers.SqsTimers`` sends it). ``payload.after(delay_s)``
builds one; ``TimerRouter.fire(body)`` checks the body against its class (an unknown kind, or fields
that are not the class's, are logged and dropped: retrying could never make them right) and runs the
handler, whose effects it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from vkyc.services.effects import Effects
from vkyc.services.ports import Timer

log = logging.getLogger("vkyc.timers")

# Keys the transport adds to a body: the kind itself, and the count of quick retries after a failure.
TRANSPORT_KEYS = frozenset({"kind", "retry"})


class TimerPayload(BaseModel):
    KIND: ClassVar[str]
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    def after(self, delay_s: int) -> Timer:
        """This timer, due in ``delay_s`` seconds."""
        return Timer(self.KIND, self.model_dump(exclude_none=True), delay_s)


class SessionGrace(TimerPayload):
    """A session's socket dropped (drop ``generation``): end it if it is still away."""

    KIND: ClassVar[str] = "session_grace"
    session_id: str
    generation: int


class RingTimeout(TimerPayload):
    """An offer rang out at its agent (M): the call goes to the next agent."""

    KIND: ClassVar[str] = "ring_timeout"
    offer_id: str


class QueueTimeout(TimerPayload):
    """No agent took the call in time: it ends ``no_agent``."""

    KIND: ClassVar[str] = "queue_timeout"
    call_id: str


class Dispatch(TimerPayload):
    """An overflow group opens: offer the unit's waiting calls again."""

    KIND: ClassVar[str] = "dispatch"
    unit_id: str


class CallbackRingTimeout(TimerPayload):
    """A call-back rang unanswered (T)."""

    KIND: ClassVar[str] = "callback_ring_timeout"
    call_id: str


class NoCallArrived(TimerPayload):
    """Answered, and the media never came up: the call ends (``no_call_arrived``)."""

    KIND: ClassVar[str] = "no_call_arrived"
    call_id: str


class NodeCheck(TimerPayload):
    """Is a media node lost? (its socket gone since drop ``generation`` of ``session_id``, or, with no
    session, its heartbeat too old)."""

    KIND: ClassVar[str] = "media_node_check"
    node_id: str
    session_id: str | None = None
    generation: int | None = None


class RecordingRecover(TimerPayload):
    """Have a live node assemble the recording a dead node left."""

    KIND: ClassVar[str] = "recording_recover"
    call_id: str


class BuildEvidence(TimerPayload):
    """Build a decided call's evidence bundle (once its recording is closed too)."""

    KIND: ClassVar[str] = "evidence"
    call_id: str


P = TypeVar("P", bound=TimerPayload)
Handler = Callable[[Any], Effects | None]


class TimerRouter:
    def __init__(self) -> None:
        self._kinds: dict[str, tuple[type[TimerPayload], Handler]] = {}

    def on(self, payload_type: type[P], handler: Callable[[P], Effects | None]) -> None:
        if payload_type.KIND in self._kinds:
            raise ValueError(f"timer kind {payload_type.KIND} already has a handler")
        self._kinds[payload_type.KIND] = (payload_type, handler)

    def kinds(self) -> frozenset[str]:
        return frozenset(self._kinds)

    def fire(self, body: dict[str, Any]) -> Effects | None:
        """Run the handler of a due timer; its effects, for the dispatcher. Raises what the handler
        raises (the transport retries the timer); a body that can never be handled is logged."""
        kind = body.get("kind")
        entry = self._kinds.get(kind) if isinstance(kind, str) else None
        if entry is None:
            log.error("unknown timer %r", body)
            return None
        payload_type, handler = entry
        try:
            payload = payload_type.model_validate({k: v for k, v in body.items() if k not in TRANSPORT_KEYS})
        except ValidationError as exc:
            log.error("timer %s with bad fields %r: %s", kind, body, exc)
            return None
        return handler(payload)
