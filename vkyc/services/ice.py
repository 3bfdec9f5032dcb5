"""The ICE servers (STUN/TURN) a deployment gives the parties' peer connections, in their welcome."""

from __future__ import annotations

import functools

from pydantic import TypeAdapter, ValidationError

from vkyc.protocol.messages import IceServer


@functools.cache
def configured_ice_servers(raw: str) -> list[IceServer]:
    """The ICE servers of ``VKYC_ICE_SERVERS`` (``vkyc.env.ice_servers_json``), checked once per value.
    Raises ``ValueError`` naming the variable when they are not a list of ``RTCIceServer``."""
    if not raw:
        return []
    try:
        return _ICE_SERVERS.validate_json(raw)
    except ValidationError as exc:
        raise ValueError(f"VKYC_ICE_SERVERS: {exc}") from None


_ICE_SERVERS = TypeAdapter(list[IceServer])
