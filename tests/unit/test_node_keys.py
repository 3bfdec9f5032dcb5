"""Per-node media keys (``vkyc.security.node_keys``) and ``POST /auth/node``'s use of them."""

from __future__ import annotations

import re

import pytest

from vkyc.protocol.errors import ProtocolError
from vkyc.security import node_keys
from vkyc.security.tokens import SecretMissing
from vkyc.services.auth import AuthService, NodeTokenRequest

MASTER = b"m" * 32


def test_a_node_key_is_bound_to_its_id_and_to_the_master():
    key = node_keys.node_key("media-a", MASTER)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)
    assert node_keys.node_key("media-a", MASTER) == key
    assert node_keys.node_key("media-b", MASTER) != key
    assert node_keys.node_key("media-a", b"n" * 32) != key
    assert node_keys.is_key_of("media-a", key, MASTER)
    assert not node_keys.is_key_of("media-b", key, MASTER)
    assert not node_keys.is_key_of("media-a", key[:-1], MASTER)


@pytest.mark.parametrize("value", [None, "", "too-short"])
def test_the_master_is_required_and_has_no_default(monkeypatch: pytest.MonkeyPatch, value: str | None):
    if value is None:
        monkeypatch.delenv(node_keys.MASTER_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(node_keys.MASTER_VARIABLE, value)
    with pytest.raises(SecretMissing):
        node_keys.node_key("media-a")
    with pytest.raises(ProtocolError) as caught:  # the token endpoint says so with a code, not a 500
        AuthService().node_token(NodeTokenRequest(node_id="media-a", node_key="anything"))
    assert caught.value.code == "INTERNAL_ERROR"


def test_the_command_prints_each_nodes_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv(node_keys.MASTER_VARIABLE, MASTER.decode())
    assert node_keys.main(["media-a", "media-b"]) == 0
    assert capsys.readouterr().out.split() == [
        node_keys.node_key("media-a", MASTER),
        node_keys.node_key("media-b", MASTER),
    ]
    assert node_keys.main([]) == 2
    monkeypatch.delenv(node_keys.MASTER_VARIABLE)
    assert node_keys.main(["media-a"]) == 2
    assert capsys.readouterr().out == ""


def test_the_token_endpoint_grants_a_node_its_own_id_only(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(node_keys.MASTER_VARIABLE, MASTER.decode())
    monkeypatch.setenv("VKYC_TOKEN_SECRET", "s" * 40)
    auth = AuthService(standing=lambda token_id, username: (False, None))  # nothing revoked
    grant = auth.node_token(
        NodeTokenRequest(node_id="media-a", node_key=node_keys.node_key("media-a", MASTER))
    )
    assert auth.principal_of(grant.token).principal_id == "media-a"
    with pytest.raises(ProtocolError) as caught:
        auth.node_token(NodeTokenRequest(node_id="media-b", node_key=node_keys.node_key("media-a", MASTER)))
    assert caught.value.code == "INVALID_CREDENTIALS"
