"""An API Gateway WebSocket API emulator that runs any Chalice app's websocket handlers unchanged.

Kept apart, as serverless-offline does: ``frames`` (RFC 6455 codec), ``http`` (the few HTTP/1.1
bits a handshake and ``@connections`` need), ``events`` (API Gateway event builders),
``registry`` (live connections), ``management`` (the ``@connections`` API) and ``server``
(sockets, route selection, handler invocation).
"""

from local.apigw.server import Limits, WebSocketEmulator

__all__ = ["Limits", "WebSocketEmulator"]
