"""The media node's state spaces, as explicit transition tables (``vkyc.domain.machine``).

**Call media** (one per call on the node)::

    WAITING ──answer──▶ CONNECTED
       │                   │
       └──────close────────┴──▶ CLOSING ──closed──▶ CLOSED

WAITING: the caller gets waiting media (queued or ringing). CONNECTED: the agent answered; the
caller gets the agent's media as soon as it has a key frame. CLOSING: links are being closed and
the recording finalized; nothing else is accepted.

**Party link** (one per peer connection; a reconnect makes a new link and closes the old one)::

    NEW ──negotiate──▶ CONNECTING ──up──▶ CONNECTED ──lost──▶ LOST
     │                     │  └───lost──────────────────────▶ LOST
     └─────────────────────┴────────── close ──▶ CLOSED ◀── close ── CONNECTED, LOST
"""

from __future__ import annotations

from enum import StrEnum

from vkyc.domain.machine import StateMachine


class Party(StrEnum):
    """The call's two parties, and a supervisor's listen-only link (``MONITOR``, issue #16): it is sent
    the customer's media (and the agent's), sends nothing that is used, and is no party of the call
    (never recorded, never relayed, never counted for the call's links or state)."""

    MOBILE = "mobile"
    AGENT = "agent"
    MONITOR = "monitor"

    @property
    def other(self) -> Party:
        """The party this one watches (a monitor watches the customer)."""
        return Party.AGENT if self is Party.MOBILE else Party.MOBILE

    @property
    def is_party(self) -> bool:
        return self is not Party.MONITOR


class CallMediaState(StrEnum):
    WAITING = "waiting"
    CONNECTED = "connected"
    CLOSING = "closing"
    CLOSED = "closed"


class CallMediaEvent(StrEnum):
    ANSWER = "answer"
    CLOSE = "close"
    CLOSED = "closed"


CALL_MEDIA = StateMachine(
    name="call media",
    initial=CallMediaState.WAITING,
    table={
        (CallMediaState.WAITING, CallMediaEvent.ANSWER): CallMediaState.CONNECTED,
        (CallMediaState.WAITING, CallMediaEvent.CLOSE): CallMediaState.CLOSING,
        (CallMediaState.CONNECTED, CallMediaEvent.CLOSE): CallMediaState.CLOSING,
        (CallMediaState.CLOSING, CallMediaEvent.CLOSED): CallMediaState.CLOSED,
    },
    finals=frozenset({CallMediaState.CLOSED}),
)


class LinkState(StrEnum):
    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    CLOSED = "closed"


class LinkEvent(StrEnum):
    NEGOTIATE = "negotiate"
    UP = "up"
    LOST = "lost"
    CLOSE = "close"


LINK = StateMachine(
    name="party link",
    initial=LinkState.NEW,
    table={
        (LinkState.NEW, LinkEvent.NEGOTIATE): LinkState.CONNECTING,
        (LinkState.NEW, LinkEvent.CLOSE): LinkState.CLOSED,
        (LinkState.CONNECTING, LinkEvent.UP): LinkState.CONNECTED,
        (LinkState.CONNECTING, LinkEvent.LOST): LinkState.LOST,
        (LinkState.CONNECTING, LinkEvent.CLOSE): LinkState.CLOSED,
        (LinkState.CONNECTED, LinkEvent.LOST): LinkState.LOST,
        (LinkState.CONNECTED, LinkEvent.CLOSE): LinkState.CLOSED,
        (LinkState.LOST, LinkEvent.CLOSE): LinkState.CLOSED,
    },
    finals=frozenset({LinkState.CLOSED}),
)
