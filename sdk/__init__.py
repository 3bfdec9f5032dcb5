"""vkyc reference SDK: the client side of the signaling contract, for every role.

- ``sdk.auth``: REST token grants (``mobile_token``, ``login``, ``node_token`` → ``TokenGrant``).
- ``sdk.client``: ``VkycClient``, one signaling session (hello, signed requests, pushes, heartbeats,
  renewal and resume).
- ``sdk.errors``: every exception, each with a stable ``code``.
- ``python -m sdk``: the same from a command line (``mobile``, ``agent``, ``ping``).

It depends only on ``vkyc.protocol`` (the contract), ``websockets`` and the standard library.
"""

from sdk.auth import TokenGrant, login, mobile_token, node_token
from sdk.client import DEFAULT_CLIENT_NAME, Incoming, UnknownMessage, VkycClient, action_of
from sdk.errors import (
    ApiError,
    ConnectError,
    ConnectionInterrupted,
    NotConnected,
    RequestTimeout,
    SdkError,
    ServerError,
    SessionLost,
)

__all__ = [
    "DEFAULT_CLIENT_NAME",
    "ApiError",
    "ConnectError",
    "ConnectionInterrupted",
    "Incoming",
    "NotConnected",
    "RequestTimeout",
    "SdkError",
    "ServerError",
    "SessionLost",
    "TokenGrant",
    "UnknownMessage",
    "VkycClient",
    "action_of",
    "login",
    "mobile_token",
    "node_token",
]
