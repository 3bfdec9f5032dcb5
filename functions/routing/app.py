"""Routing: what happens after a call request, off the hot path. Thin: one service call per event.

The routing engine itself is a library that signaling calls inline, and the call timers (SQS
``vkyc-timers``: ring timeout, reconnect grace, queue timeout, dispatch) are consumed by the signaling
app. This app holds the schedules (``vkyc.services.housekeeping``):

* ``sweep`` (every minute): releases agents stuck on a final or missing call, enforces the wrap-up
  limit, ends calls whose timers were lost (reason ``swept``). Where agents became AVAILABLE, a
  ``dispatch`` timer (delay 0) asks the signaling app to offer the waiting calls.
* ``end_of_day`` (every minute): does something only between a unit's ``end_of_day`` setting and
  local midnight; then online agents not in a call go OFFLINE. "Done today" is derived from the agents
  (already OFFLINE, or logged in after the end of day), so the minutely fire is idempotent.

Pushes to agents and mobiles (``agent.status``, ``offer.withdrawn``, ``call.ended``) go through
API Gateway's ``@connections`` of the WebSocket API named by ``VKYC_WS_API_ID`` / ``VKYC_WS_STAGE``.
Locally the stack points this app's ``websocket_api`` at the emulator too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, WebsocketDisconnectedError

from vkyc.config import load_config
from vkyc.once import once

if TYPE_CHECKING:
    from vkyc.adapters.notifier import CallbackNotifier, NoPush
    from vkyc.adapters.timers import SqsTimers
    from vkyc.services.housekeeping import Housekeeping

config = load_config("routing")  # refuses to start without a required setting or secret
app = Chalice(app_name="vkyc-routing")
log = logging.getLogger("vkyc.routing")

# The services (and the tables under them) are imported at the first schedule's fire, not at import:
# a cold start pays for Chalice only (docs/benchmarks.md).


def _notifier() -> CallbackNotifier | NoPush:
    from vkyc.adapters.notifier import management_api_notifier

    return management_api_notifier(app.websocket_api, WebsocketDisconnectedError)


@once
def timers_queue() -> SqsTimers:
    from vkyc.adapters.timers import SqsTimers

    return SqsTimers()


def _dispatch(unit_id: str) -> None:
    from vkyc.services.timers import Dispatch

    timers_queue().schedule_many([Dispatch(unit_id=unit_id).after(0)])


def _media_node_dead(node_id: str) -> None:
    from vkyc.services.timers import NodeCheck

    # The signaling app ends the node's calls (it pushes to the parties and to the other nodes).
    timers_queue().schedule_many([NodeCheck(node_id=node_id).after(0)])


def housekeeping() -> Housekeeping:
    """The service, built per fire (cheap: repositories hold no connections of their own)."""
    from vkyc.services.housekeeping import Housekeeping

    return Housekeeping(_notifier(), on_agent_freed=_dispatch, on_media_node_dead=_media_node_dead)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event: CloudWatchEvent) -> dict[str, int]:
    return dict(vars(housekeeping().sweep()))


@app.schedule(Rate(1, unit=Rate.MINUTES))
def end_of_day(event: CloudWatchEvent) -> dict[str, int]:
    return {"offline": housekeeping().end_of_day()}
