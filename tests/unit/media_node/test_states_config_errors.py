from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from media_node.config import CALL_ID, IceServer, KeyLayout, NodeConfig
from media_node.errors import CODES, CallNotFound, MediaError, NodeFull
from media_node.states import (
    CALL_MEDIA,
    LINK,
    CallMediaEvent,
    CallMediaState,
    LinkEvent,
    LinkState,
    Party,
)
from vkyc.domain.machine import IllegalTransition

CALL_ALLOWED = {
    (CallMediaState.WAITING, CallMediaEvent.ANSWER): CallMediaState.CONNECTED,
    (CallMediaState.WAITING, CallMediaEvent.CLOSE): CallMediaState.CLOSING,
    (CallMediaState.CONNECTED, CallMediaEvent.CLOSE): CallMediaState.CLOSING,
    (CallMediaState.CLOSING, CallMediaEvent.CLOSED): CallMediaState.CLOSED,
}
LINK_ALLOWED = {
    (LinkState.NEW, LinkEvent.NEGOTIATE): LinkState.CONNECTING,
    (LinkState.NEW, LinkEvent.CLOSE): LinkState.CLOSED,
    (LinkState.CONNECTING, LinkEvent.UP): LinkState.CONNECTED,
    (LinkState.CONNECTING, LinkEvent.LOST): LinkState.LOST,
    (LinkState.CONNECTING, LinkEvent.CLOSE): LinkState.CLOSED,
    (LinkState.CONNECTED, LinkEvent.LOST): LinkState.LOST,
    (LinkState.CONNECTED, LinkEvent.CLOSE): LinkState.CLOSED,
    (LinkState.LOST, LinkEvent.CLOSE): LinkState.CLOSED,
}


@pytest.mark.parametrize(
    ("machine", "allowed", "states", "events"),
    [
        (CALL_MEDIA, CALL_ALLOWED, CallMediaState, CallMediaEvent),
        (LINK, LINK_ALLOWED, LinkState, LinkEvent),
    ],
    ids=["call-media", "link"],
)
def test_every_state_event_pair_is_allowed_exactly_as_written(machine, allowed, states, events) -> None:
    for state, event in itertools.product(states, events):
        if (state, event) in allowed:
            assert machine.transition(state, event) is allowed[(state, event)]
        else:
            with pytest.raises(IllegalTransition):
                machine.transition(state, event)


def test_initial_and_final_states() -> None:
    assert CALL_MEDIA.initial is CallMediaState.WAITING and CALL_MEDIA.is_final(CallMediaState.CLOSED)
    assert LINK.initial is LinkState.NEW and LINK.is_final(LinkState.CLOSED)
    assert Party.MOBILE.other is Party.AGENT and Party.AGENT.other is Party.MOBILE


def test_config_from_the_environment() -> None:
    config = NodeConfig.from_env(
        {
            "VKYC_MEDIA_NODE_ID": "media-a",
            "VKYC_MEDIA_CAPACITY": "12",
            "VKYC_MEDIA_CHUNK_S": "3",
            "VKYC_MEDIA_UTC_OFFSET": "-03:30",
            "VKYC_MEDIA_ICE_SERVERS": '[{"urls": "turn:t.example:3478", "username": "u", "credential": "p"}]',
        }
    )
    assert (config.node_id, config.capacity, config.chunk_seconds) == ("media-a", 12, 3.0)
    assert config.snapshot_zone.utcoffset(None) == -timedelta(hours=3, minutes=30)
    assert config.ice_servers == (IceServer(("turn:t.example:3478",), "u", "p"),)
    assert NodeConfig.from_env({}).snapshot_zone.utcoffset(None) == timedelta(hours=7)


@pytest.mark.parametrize(
    "environ",
    [{"VKYC_MEDIA_CAPACITY": "0"}, {"VKYC_MEDIA_CHUNK_S": "0.01"}, {"VKYC_MEDIA_UTC_OFFSET": "7"}],
)
def test_bad_settings_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        NodeConfig.from_env(environ)


def test_key_layout_keeps_a_call_under_one_prefix() -> None:
    layout = KeyLayout()
    keys = [
        layout.part("C-1", 7),
        layout.recording("C-1"),
        layout.recording_info("C-1"),
        layout.snapshot("C-1", "s"),
    ]
    assert keys[0] == "calls/C-1/recording/parts/00000007.vkr"
    assert all(k.startswith(layout.call("C-1")) for k in keys)
    assert (
        CALL_ID.fullmatch("CALL-2026.03_14") and not CALL_ID.fullmatch("../etc") and not CALL_ID.fullmatch("")
    )


def test_every_error_has_a_documented_stable_code() -> None:
    error = NodeFull("node n1 carries 8 of 8 calls", call_id="C-9")
    assert error.code == "MEDIA_NODE_FULL" and error.call_id == "C-9"
    assert error.message == "This media node is at capacity. node n1 carries 8 of 8 calls"
    assert isinstance(CallNotFound("x"), MediaError)
    for code, info in CODES.items():
        assert code == info.code and code.isupper()
        assert info.message.endswith(".") and info.when and info.what_to_do
