"""``VKYC_ICE_SERVERS`` reaches the parties' welcome checked; a bad value names the variable."""

from __future__ import annotations

import pytest

from vkyc.services.ice import configured_ice_servers


def test_a_turn_server_is_handed_out_as_given():
    [server] = configured_ice_servers(
        '[{"urls": ["turns:turn.example:443"], "username": "u", "credential": "p"}]'
    )
    assert server.model_dump() == {"urls": ["turns:turn.example:443"], "username": "u", "credential": "p"}


def test_none_configured_is_an_empty_list():
    assert configured_ice_servers("") == []


@pytest.mark.parametrize(
    "raw",
    ['{"urls": ["stun:x"]}', '[{"urls": []}]', '[{"urls": ["http://x"]}]', '[{"url": "stun:x"}]', "not json"],
)
def test_a_bad_value_is_refused_naming_the_variable(raw):
    with pytest.raises(ValueError, match="VKYC_ICE_SERVERS"):
        configured_ice_servers(raw)
