"""Housekeeping: the periodic sweeper ("tool auto update", seed 000 §3.1) and the end of day.

Both run from schedules of the routing app (every minute) and repair what a lost timer or a crashed
handler left behind. Neither holds a lock: every change goes through ``vkyc.repositories.transitions``,
conditioned on the state and version read, so a race with a live handler just loses with
``TransitionConflict``, which is counted and skipped (the next run looks again).

``Housekeeping.sweep``:

(a) agents: an agent RINGING or IN_CALL whose current call (``Agent.call_id``) is final (E, T,
    FINISHED), missing, or no longer holds the agent (rings another offer, answered by another)
    goes back to AVAILABLE (agent event SWEEP; a PENDING offer of a RINGING agent
    is cancelled in the same transaction, so its ring timer later finds nothing to do). An agent in
    WRAP_UP longer than ``wrap_up_limit_s`` (settings of the agent's unit, counted from the agent's
    ``updated_at``) goes back with WRAP_UP_EXPIRED: the sweeper is what enforces that limit, with a
    precision of one run (a minute). Agents changed less than ``margin_s`` ago are left alone: a
    handler may be in the middle of its work.
(b) calls whose timers were lost end FINISHED with reason ``swept`` (call event SWEEP), their agent
    freed in the same transaction:

    * RINGING (W) whose offer's ``ring_deadline`` is more than ``margin_s`` past (or whose offer is
      missing): the PENDING offer is CANCELLED, the ringing agent goes AVAILABLE (OFFER_WITHDRAWN);
    * waiting (N, R, M) or RINGING longer than its queue timeout (the queue's ``timeout_s``, else the
      serving unit's ``queue_timeout_s``) plus ``margin_s``;
    * live (A, CONNECTED, RECONNECTING) with both parties' sessions ENDED (or missing): the agent,
      still IN_CALL on it, goes AVAILABLE (SWEEP). No wrap-up is owed for a call nobody was in.
(c) call-backs (``Direction.OUTBOUND``, ``vkyc.domain.callback``) whose timers were lost are released
    (F, reason ``swept``), their agent, still IN_CALL on them, AVAILABLE (SWEEP): ringing (N) more than
    ``margin_s`` past their ``ring_deadline``, or answered (A) with both parties' sessions ENDED.

Reads (no Scan of the calls table): the ``units`` table (one Scan, nine items); per unit, the agents
RINGING, IN_CALL and WRAP_UP from GSI ``agents.by_unit`` (one Query per state), then one GetItem per
agent old enough to be stuck; the unit's queue from GSI ``calls.waiting`` (one Query); the unit's calls
not yet final, however old, from the sparse GSI ``calls.open`` (one Query per MB: every transition
sets or removes ``open_in``, see ``Call.derived``); then one GetItem per candidate call (and its
offer / sessions / agent as needed).

``Housekeeping.end_of_day``: from the configured ``end_of_day`` (settings of each unit, local to its
``timezone``) until local midnight, every agent AVAILABLE, UNAVAILABLE or WRAP_UP goes OFFLINE
(END_OF_DAY). Agents RINGING or IN_CALL are left to finish their call: a later run (the schedule fires
every minute) takes them OFFLINE once they are out of it. "Already done today" is derived from the
agents, not stored: an agent already OFFLINE is not listed, and an agent who logged in (LOGIN in the
agent log) after today's end of day chose to work late and is left alone. So a run repeated every
minute changes nothing twice, and a late login is not thrown out a minute later.

Pushes (best effort, after each commit; a failure is logged, never raised): ``agent.status`` to every
agent moved, ``offer.withdrawn`` to a ringing agent whose offer was cancelled, ``call.ended`` to the
parties of a swept call. ``on_agent_freed(unit_id)`` is called once per unit in which an agent became
AVAILABLE, so waiting calls can be offered (the routing app enqueues a dispatch timer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vkyc.domain.agent import AGENT, AgentEvent, AgentState
from vkyc.domain.call import CALL, LIVE_STATES, WAITING_STATES, CallEvent, CallState, EndedBy, EndReason
from vkyc.domain.callback import CALLBACK, CallbackEvent, CallbackState
from vkyc.domain.direction import OUTBOUND, is_live_call, rules_of
from vkyc.domain.media import dead
from vkyc.domain.offer import OFFER, OfferEvent, OfferState
from vkyc.domain.session import SessionState
from vkyc.domain.settings import CallSettings
from vkyc.protocol.messages import CallEnded
from vkyc.repositories import media_nodes
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.calls import CallRepository
from vkyc.repositories.errors import TransitionConflict
from vkyc.repositories.offers import OfferRepository
from vkyc.repositories.queues import find_queue, queue_timeout_s
from vkyc.repositories.sessions import SessionRepository
from vkyc.repositories.settings_cache import cached_settings
from vkyc.repositories.tables import Agent, Call
from vkyc.repositories.transitions import Change, commit, plan
from vkyc.repositories.units import list_units
from vkyc.services.ports import Clock, Notifier, as_utc, utc_now

log = logging.getLogger("vkyc.housekeeping")

MARGIN_S = 30
"""Seconds past a deadline before the sweeper acts: the timer had its chance, and a handler that just
moved an item is not raced."""
ACTOR = "sweeper"
FINAL_CALL_STATES = frozenset({CallState.CALLER_HUNG_UP, CallState.NO_CALL_ARRIVED, CallState.FINISHED})
BUSY_STATES = (AgentState.RINGING, AgentState.IN_CALL)
END_OF_DAY_STATES = (AgentState.AVAILABLE, AgentState.UNAVAILABLE, AgentState.WRAP_UP)

SettingsOf = Callable[[str | None], CallSettings]


@dataclass
class SweepReport:
    """What one ``sweep`` did. ``conflicts``: changes lost to a concurrent handler (skipped)."""

    agents_released: int = 0
    calls_swept: int = 0
    conflicts: int = 0
    agents_examined: int = 0
    calls_examined: int = 0


class Housekeeping:
    """The sweeper and the end of day; see the module docstring for the rules and their cost.

    ``settings(unit_id)`` gives a unit's settings (default: the per-process cache); ``clock`` the
    current UTC time; ``on_agent_freed(unit_id)`` is told where agents became AVAILABLE.
    """

    def __init__(
        self,
        notifier: Notifier,
        clock: Clock = utc_now,
        *,
        settings: SettingsOf = cached_settings,
        on_agent_freed: Callable[[str], None] | None = None,
        on_media_node_dead: Callable[[str], None] | None = None,
        margin_s: int = MARGIN_S,
    ) -> None:
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.on_agent_freed = on_agent_freed
        self.margin = timedelta(seconds=margin_s)
        self.agents = AgentRepository()
        self.calls = CallRepository()
        self.offers = OfferRepository()
        self.sessions = SessionRepository()
        # Told the id of each media node found dead with calls (the routing app hands it to signaling).
        self.on_media_node_dead = on_media_node_dead

    # -- the sweeper -------------------------------------------------------------------------------------

    def sweep(self) -> SweepReport:
        """One pass over every unit: release stuck agents, end calls whose timers were lost.

        Never raises for a lost race (``TransitionConflict``, counted in ``conflicts``); other errors
        of one item are logged and the pass goes on with the next.
        """
        now = self.clock()
        report = SweepReport()
        freed: set[str] = set()
        candidates: dict[str, None] = {}  # call ids to check, in order found, without duplicates
        for unit_id in [unit.unit_id for unit in list_units()]:
            for state in (*BUSY_STATES, AgentState.WRAP_UP):
                for listed in self.agents.of_unit(unit_id, state.value):
                    report.agents_examined += 1
                    self._guarded(report, self._check_agent, listed, now, report, freed, candidates)
            for waiting in self.calls.waiting(unit_id):
                candidates.setdefault(waiting.call_id)
            for listed_call in self.calls.open_in(unit_id):
                if is_live_call(listed_call.direction, listed_call.state):  # the index lags a little
                    candidates.setdefault(listed_call.call_id)
        for call_id in candidates:
            report.calls_examined += 1
            self._guarded(report, self._check_call, call_id, now, report, freed)
        self._guarded(report, self.dead_media_nodes, now)
        hook = self.on_agent_freed
        if hook is not None:
            for unit_id in sorted(freed):
                self._guarded(report, hook, unit_id)
        if report.agents_released or report.calls_swept or report.conflicts:
            log.info("sweep: %s", report)
        return report

    def dead_media_nodes(self, now: datetime) -> list[str]:
        """Media nodes whose heartbeat is older than 15 s, not yet declared lost, that still hold calls
        (issue #5): each goes to ``on_media_node_dead``, which ends its calls and recovers their
        recordings (``vkyc.services.media_fleet``). A backstop: a node's socket drop is noticed in
        seconds; this finds a node that hangs with its socket open. One Scan of the (small) media-node
        table."""
        found = [
            node.node_id
            for node in media_nodes.all_nodes()
            if node.call_ids and node.lost_at is None and dead(media_nodes.view(node), now)
        ]
        for node_id in found:
            log.warning("sweep: media node %s is silent and still holds calls", node_id)
            if self.on_media_node_dead is not None:
                self.on_media_node_dead(node_id)
        return found

    def _check_agent(
        self, listed: Agent, now: datetime, report: SweepReport, freed: set[str], candidates: dict[str, None]
    ) -> None:
        age = now - as_utc(listed.updated_at or now)
        if age < self.margin:
            return
        agent = self.agents.find(listed.agent_id)
        if agent is None or agent.state != listed.state:
            return
        if agent.state == AgentState.WRAP_UP:
            limit = timedelta(seconds=self.settings(agent.unit_id).wrap_up_limit_s)
            if now - as_utc(agent.updated_at) > limit:
                self._release(
                    agent, AgentEvent.WRAP_UP_EXPIRED, [], "wrap-up limit passed", now, report, freed
                )
            return
        call = self.calls.find(agent.call_id or "")
        if call is not None and is_live_call(call.direction, call.state) and _bound(agent, call):
            candidates.setdefault(call.call_id)  # a call still going: its own timers are checked below
            return
        extra: list[Change] = []
        if agent.state == AgentState.RINGING and agent.offer_id:
            offer = self.offers.find(agent.offer_id)
            if offer is not None and offer.state == OfferState.PENDING:
                extra.append(plan(offer, OFFER, OfferEvent.CANCEL, actor=ACTOR, reason="call is over"))
        if call is None:
            why = "call missing"
        elif not is_live_call(call.direction, call.state):
            why = f"call is {call.state}"
        else:
            why = "the call went on without this agent"
        self._release(agent, AgentEvent.SWEEP, extra, why, now, report, freed)

    def _release(
        self,
        agent: Agent,
        event: AgentEvent,
        extra: list[Change],
        reason: str,
        now: datetime,
        report: SweepReport,
        freed: set[str],
    ) -> None:
        call_id = agent.call_id
        change = _agent_freed(agent, event, reason, now)
        commit(change, *extra, request_id=f"sweep:agent:{agent.agent_id}:{agent.version}", at=now)
        report.agents_released += 1
        freed.add(agent.unit_id)
        self._push_status(agent, now)
        if extra and agent.connection_id:
            withdrawn = {
                "action": "offer.withdrawn",
                "offer_id": extra[0].item.entity_id(),
                "call_id": call_id,
                "reason": "swept",
            }
            self._push(agent.connection_id, withdrawn)

    def _check_call(self, call_id: str, now: datetime, report: SweepReport, freed: set[str]) -> None:
        call = self.calls.find(call_id)
        if call is None:
            return
        if rules_of(call.direction) is OUTBOUND:  # a call-back: its own machine
            self._check_callback(call, now, report, freed)
            return
        state = CallState(call.state)
        if state in FINAL_CALL_STATES:
            return
        why = self._why_stale(call, state, now)
        if why is None:
            return
        changes = [
            plan(
                call,
                CALL,
                CallEvent.SWEEP,
                actor=ACTOR,
                reason=why,
                attrs={
                    "waiting_in": None,
                    "ended_at": now,
                    "ended_by": EndedBy.SYSTEM.value,
                    "end_reason": EndReason.SWEPT.value,
                },
            )
        ]
        agent = self.agents.find(call.agent_id or "")
        offer = self.offers.find(call.offer_id or "") if state == CallState.RINGING else None
        agent_event: AgentEvent | None = None
        if offer is not None and offer.state == OfferState.PENDING:
            changes.append(plan(offer, OFFER, OfferEvent.CANCEL, actor=ACTOR, reason="swept"))
            if agent is not None and agent.state == AgentState.RINGING and agent.offer_id == offer.offer_id:
                agent_event = AgentEvent.OFFER_WITHDRAWN
        elif (
            state in LIVE_STATES
            and agent is not None
            and agent.state == AgentState.IN_CALL
            and agent.call_id == call.call_id
        ):
            agent_event = AgentEvent.SWEEP
        if agent is not None and agent_event is not None:
            changes.append(_agent_freed(agent, agent_event, "call swept", now))
        self._commit_sweep(call, changes, now, report, f"call {call.call_id} ({why})")
        if agent is not None and agent_event is not None:
            freed.add(agent.unit_id)
            if offer is not None and agent.connection_id:
                self._push(
                    agent.connection_id,
                    {
                        "action": "offer.withdrawn",
                        "offer_id": offer.offer_id,
                        "call_id": call.call_id,
                        "reason": "swept",
                    },
                )
            self._push_status(agent, now)

    def _check_callback(self, call: Call, now: datetime, report: SweepReport, freed: set[str]) -> None:
        """Release (F) a call-back whose ring timer was lost, or that nobody is in any more."""
        state = CallbackState(call.state)
        why: str | None = None
        if state is CallbackState.NEW:
            deadline = as_utc(call.ring_deadline or call.created_at)
            if now - deadline > self.margin:
                why = "ring deadline long past"
        elif state is CallbackState.ACCEPTED:
            sessions = [self.sessions.find(s or "") for s in (call.mobile_session_id, call.agent_session_id)]
            gone = all(s is None or s.state == SessionState.ENDED for s in sessions)
            if gone and now - as_utc(call.updated_at) > self.margin:
                why = "both parties' sessions ended"
        if why is None:
            return
        changes = [
            plan(
                call,
                CALLBACK,
                CallbackEvent.SWEEP,
                actor=ACTOR,
                reason=why,
                attrs={
                    "ended_at": now,
                    "ended_by": EndedBy.SYSTEM.value,
                    "end_reason": EndReason.SWEPT.value,
                },
            )
        ]
        agent = self.agents.find(call.agent_id or "")
        held = agent is not None and agent.state == AgentState.IN_CALL and agent.call_id == call.call_id
        if agent is not None and held:
            changes.append(_agent_freed(agent, AgentEvent.SWEEP, "call-back swept", now))
        self._commit_sweep(call, changes, now, report, f"call-back {call.call_id} ({why})")
        if agent is not None and held:
            freed.add(agent.unit_id)
            self._push_status(agent, now)

    def _commit_sweep(
        self, call: Call, changes: list[Change], now: datetime, report: SweepReport, what: str
    ) -> None:
        """Commit a swept call (inbound or call-back) with its changes, and tell both parties it ended."""
        commit(*changes, request_id=f"sweep:call:{call.call_id}:{call.version}", at=now)
        report.calls_swept += 1
        log.info("swept %s", what)
        ended = CallEnded(
            call_id=call.call_id,
            state=call.state,
            reason=EndReason.SWEPT.value,
            ended_by=EndedBy.SYSTEM.value,
        ).model_dump(mode="json")
        for session_id in (call.mobile_session_id, call.agent_session_id):
            session = self.sessions.find(session_id or "")
            if session is not None and session.connection_id:
                self._push(session.connection_id, ended)

    def _why_stale(self, call: Call, state: CallState, now: datetime) -> str | None:
        """Why ``call`` (not final) must be swept now, or None while its own timers still have time."""
        if state in WAITING_STATES:
            waited = now - as_utc(call.created_at)
            if waited > timedelta(seconds=self._queue_timeout_s(call)) + self.margin:
                return f"waited {int(waited.total_seconds())} s, past the queue timeout"
        if state == CallState.RINGING:
            offer = self.offers.find(call.offer_id or "")
            if offer is None or offer.ring_deadline is None:
                return "ringing without an offer"
            if now - as_utc(offer.ring_deadline) > self.margin:
                return "ring deadline long past"
        if state in LIVE_STATES:
            ids = [call.mobile_session_id, call.agent_session_id]
            sessions = [self.sessions.find(session_id or "") for session_id in ids]
            if all(s is None or s.state == SessionState.ENDED for s in sessions):
                age = now - as_utc(call.updated_at)
                if age > self.margin:
                    return "both parties' sessions ended"
        return None

    def _queue_timeout_s(self, call: Call) -> int:
        settings = self.settings(call.serving_unit_id or call.unit_id)
        queue = find_queue(call.queue_id) if call.queue_id else None
        return queue_timeout_s(queue, settings) if queue is not None else settings.queue_timeout_s

    # -- end of day --------------------------------------------------------------------------------------

    def end_of_day(self, now: datetime | None = None) -> int:
        """Set OFFLINE (END_OF_DAY) every AVAILABLE, UNAVAILABLE or WRAP_UP agent of each unit whose local
        time (its settings' ``timezone``) is between its ``end_of_day`` and midnight, except agents who
        logged in after today's end of day. Returns how many agents went OFFLINE. RINGING and IN_CALL
        agents are left to finish (logged with their number); a later run takes them once they are out.
        Lost races are skipped (the next run sees the agent again)."""
        moment = as_utc(now or self.clock())
        offline = 0
        busy = 0
        for unit in list_units():
            settings = self.settings(unit.unit_id)
            zone = settings.zone()
            local = moment.astimezone(zone)
            cutoff = datetime.combine(local.date(), settings.end_of_day, tzinfo=zone)
            if local < cutoff:
                continue
            for state in END_OF_DAY_STATES:
                for listed in self.agents.of_unit(unit.unit_id, state.value):
                    try:
                        offline += self._end_day_of(listed, cutoff, moment)
                    except TransitionConflict:
                        log.info("end of day: agent %s moved meanwhile; next run", listed.agent_id)
            busy += sum(len(self.agents.of_unit(unit.unit_id, s.value)) for s in BUSY_STATES)
        if offline or busy:
            log.info("end of day: %d agent(s) set OFFLINE, %d left to finish their call", offline, busy)
        return offline

    def _end_day_of(self, listed: Agent, cutoff: datetime, now: datetime) -> int:
        changed_after = listed.updated_at is not None and as_utc(listed.updated_at) >= cutoff
        if changed_after and self._logged_in_since(listed.agent_id, cutoff):
            return 0  # working late on purpose
        agent = self.agents.find(listed.agent_id)
        if agent is None or AgentState(agent.state) not in END_OF_DAY_STATES:
            return 0
        commit(
            plan(
                agent,
                AGENT,
                AgentEvent.END_OF_DAY,
                actor=ACTOR,
                reason="end of day",
                attrs={"call_id": None, "offer_id": None},
            ),
            request_id=f"eod:{agent.agent_id}:{agent.version}",
            at=now,
        )
        self._push_status(agent, now)
        return 1

    def _logged_in_since(self, agent_id: str, cutoff: datetime) -> bool:
        # The agent's log, newest first, until it reaches entries older than the cutoff. One Query.
        for entry in reversed(self.agents.history(agent_id)):
            if as_utc(entry.at) < cutoff:
                return False
            if entry.event == AgentEvent.LOGIN.value:
                return True
        return False

    # -- helpers -----------------------------------------------------------------------------------------

    def _guarded(self, report: SweepReport, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work(*args)``: a lost race is counted, any other failure logged; never raises."""
        try:
            work(*args)
        except TransitionConflict as exc:
            report.conflicts += 1
            log.info("sweep lost a race (next run looks again): %s", exc)
        except Exception:
            log.exception("sweep: one item failed; going on")

    def _push_status(self, agent: Agent, now: datetime) -> None:
        if agent.connection_id:
            self._push(
                agent.connection_id,
                {
                    "action": "agent.status",
                    "agent_id": agent.agent_id,
                    "status": agent.state,
                    "since_ms": int(now.timestamp() * 1000),
                },
            )

    def _push(self, connection_id: str, message: dict[str, Any]) -> None:
        try:
            self.notifier.send(connection_id, message)
        except Exception:
            log.warning("push %s to %s failed", message.get("action"), connection_id, exc_info=True)


def _bound(agent: Agent, call: Call) -> bool:
    """Whether the call still holds ``agent``: ringing with the agent's offer, or answered by the agent."""
    if agent.state == AgentState.RINGING:
        return call.state == CallState.RINGING and call.offer_id == agent.offer_id
    return call.agent_id == agent.agent_id


def _agent_freed(agent: Agent, event: AgentEvent, reason: str, now: datetime) -> Change:
    """The agent of a swept call, back to AVAILABLE and pointing at no call."""
    return plan(
        agent,
        AGENT,
        event,
        actor=ACTOR,
        reason=reason,
        attrs={"call_id": None, "offer_id": None, "available_since": now},
    )
