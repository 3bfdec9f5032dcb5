"""Every exception the SDK raises. All derive from ``SdkError`` and carry a ``code`` and a ``message``.

``code`` is either a code of the server's catalogue (``vkyc.protocol.errors``, e.g. ``MAC_INVALID``,
``INVALID_CREDENTIALS``), passed through unchanged, or one of the SDK's own codes below, which name
things that happen on the client side of the wire:

=====================  ==========================================================================
``UNREACHABLE``        the REST or WebSocket endpoint could not be reached (refused, DNS, timeout)
``HANDSHAKE_REFUSED``  the WebSocket upgrade was answered with an HTTP status (403: the token or
                       resume token is missing, malformed, expired or its session ended)
``BAD_RESPONSE``       the server answered something that is not the contract (not JSON, no welcome)
``BAD_URL``            the WebSocket URL is not a ws:// or wss:// URL
``TIMEOUT``            no reply to a request within the client's request timeout
``INTERRUPTED``        the socket dropped after a request was sent and before its reply came
``NOT_CONNECTED``      no socket, and none is being re-established (after ``drop(resume=False)``)
``SESSION_LOST``       the session is over: closed, replaced, ended by the server, or not resumed
                       within the grace (``SessionLost.reason`` says which)
=====================  ==========================================================================
"""

from __future__ import annotations


class SdkError(Exception):
    """Base of every SDK error: ``code`` (stable, switch on it) and ``message`` (for people)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ApiError(SdkError):
    """A REST call failed: ``status`` is the HTTP status (0 when the server was not reached)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status


class ConnectError(SdkError):
    """The WebSocket could not be opened: ``status`` is the HTTP status of a refused upgrade, else None."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message)
        self.status = status


class ServerError(SdkError):
    """The server answered a request with ``{"action": "error", ...}``. The connection stays usable."""

    def __init__(self, code: str, message: str, request_id: str | None, call_id: str | None) -> None:
        super().__init__(code, message)
        self.request_id = request_id
        self.call_id = call_id


class RequestTimeout(SdkError, TimeoutError):
    """No reply within the request timeout. The server may or may not have acted on the request."""

    def __init__(self, action: str, request_id: str, timeout_s: float) -> None:
        super().__init__("TIMEOUT", f"no reply to {action} ({request_id}) within {timeout_s:g} s")
        self.request_id = request_id


class ConnectionInterrupted(SdkError):
    """The socket dropped between sending a request and its reply; the server may have acted on it.

    The session itself is being resumed (when auto-resume is on): check the state, then retry if
    the action still makes sense.
    """

    def __init__(self, action: str, request_id: str) -> None:
        super().__init__("INTERRUPTED", f"the connection dropped before the reply to {action} ({request_id})")
        self.request_id = request_id


class NotConnected(SdkError):
    """No socket is attached and none is being re-established; call ``resume()`` (a test hook)."""

    def __init__(self) -> None:
        super().__init__("NOT_CONNECTED", "the socket is down and auto-resume is off or was not asked for")


class SessionLost(SdkError):
    """The session is over; the client cannot be used any more (open a new one).

    ``reason``: ``closed`` (``close()`` was called), ``replaced`` (``session.replaced``: the account
    logged in elsewhere), ``ended:<server reason>`` (``session.ended``), ``grace_expired`` (the
    socket could not be re-established within ``reconnect_grace_s``), ``resume_refused`` (the server
    refused the resume token: the session had ended). ``push`` is the ``session.replaced`` or
    ``session.ended`` message when there was one.
    """

    def __init__(self, reason: str, message: str, push: object | None = None) -> None:
        super().__init__("SESSION_LOST", f"{reason}: {message}")
        self.reason = reason
        self.detail = message
        self.push = push
