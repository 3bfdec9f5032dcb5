"""The limits on attempts and messages, their defaults and their environment overrides, and the two
in-memory limiters of the WebSocket API. ``docs/security.md`` states the figures and their bounds.

Credential failures (``vkyc.services.credentials``, counted in DynamoDB so they hold across Lambda
containers), as ``free,base_s,max_s,window_s`` (``vkyc.domain.limits.Backoff``):

- ``VKYC_LIMIT_ACCOUNT_FAILURES`` (``5,1,900,86400``): per account (a username, a media node id);
- ``VKYC_LIMIT_SOURCE_FAILURES`` (``30,1,300,3600``): per source address, per endpoint.

Per WebSocket connection and per source, in this container's memory, as ``burst,per_s``
(``vkyc.domain.limits.Rate``):

- ``VKYC_LIMIT_MESSAGES`` (``60,10``): messages of a mobile, agent or supervisor connection;
- ``VKYC_LIMIT_MEDIA_MESSAGES`` (``600,100``): messages of a media node (it speaks for all its calls);
- ``VKYC_LIMIT_HELLOS`` (``3,0.1``): ``session.hello`` per connection (each one writes to DynamoDB);
- ``VKYC_LIMIT_CONNECT_FAILURES`` (``20,0.5``): refused ``$connect`` per source address.

A value that does not parse is logged and the default applies: a typo never weakens a limit to
nothing. The variables are read at each use, so a test may set them for its own duration.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from vkyc.domain.limits import Backoff, Rate, TokenBucket
from vkyc.protocol.errors import RetryLater

log = logging.getLogger("vkyc.limits")

ACCOUNT_FAILURES = ("VKYC_LIMIT_ACCOUNT_FAILURES", "5,1,900,86400")
SOURCE_FAILURES = ("VKYC_LIMIT_SOURCE_FAILURES", "30,1,300,3600")
MESSAGES = ("VKYC_LIMIT_MESSAGES", "60,10")
MEDIA_MESSAGES = ("VKYC_LIMIT_MEDIA_MESSAGES", "600,100")
HELLOS = ("VKYC_LIMIT_HELLOS", "3,0.1")
CONNECT_FAILURES = ("VKYC_LIMIT_CONNECT_FAILURES", "20,0.5")
TRACKED = 10_000  # connections (or sources) a container keeps buckets for; the oldest go first

T = TypeVar("T", Backoff, Rate)


def configured(setting: tuple[str, str], parse: Callable[[str], T]) -> T:
    """The limit set in the environment variable ``setting[0]``, else the default ``setting[1]``."""
    name, default = setting
    text = os.environ.get(name)
    if text:
        try:
            return parse(text)
        except ValueError:
            log.error("%s=%r does not parse; using the default %s", name, text, default)
    return parse(default)


class _Buckets:
    """Token buckets by key, the ``TRACKED`` most recently used (an LRU: memory stays bounded)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()  # the local stack runs handlers on a thread pool

    def wait_s(self, key: str, rate: Rate, *, take: bool) -> float:
        """Seconds until ``key`` may act (0.0: now). ``take``: spend a token when there is one."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.rate != rate:
                bucket = self._buckets[key] = TokenBucket(rate, now)
            self._buckets.move_to_end(key)
            if len(self._buckets) > TRACKED:
                self._buckets.popitem(last=False)
            if take:
                return bucket.take(now)
            return bucket.wait_s(now)

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)


class ConnectionLimits:
    """Messages per WebSocket connection (``RATE_LIMITED``), kept in this container's memory.

    API Gateway may deliver one connection's messages to several containers; each keeps its own
    buckets, so a connection gets at most the allowance times the number of warm containers (the
    stage's throttling settings bound the total).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._messages = _Buckets(clock)
        self._hellos = _Buckets(clock)

    def message(self, connection_id: str, role: str | None) -> None:
        """Count one message; raises ``RetryLater("RATE_LIMITED")`` past the allowance. ``role`` as far
        as this container knows it (None before the connection's first message was read)."""
        rate = configured(MEDIA_MESSAGES if role == "media" else MESSAGES, Rate.parse)
        wait = self._messages.wait_s(connection_id, rate, take=True)
        if wait:
            raise RetryLater("RATE_LIMITED", wait)

    def hello(self, connection_id: str) -> None:
        """Count one ``session.hello``; raises ``RetryLater("RATE_LIMITED")`` past the allowance."""
        wait = self._hellos.wait_s(connection_id, configured(HELLOS, Rate.parse), take=True)
        if wait:
            raise RetryLater("RATE_LIMITED", wait, "session.hello is answered once per connection.")

    def forget(self, connection_id: str) -> None:
        self._messages.forget(connection_id)
        self._hellos.forget(connection_id)


class ConnectFailures:
    """Refused ``$connect`` per source address, in this container's memory: a source that has spent its
    allowance is refused at once (403, whatever it presents) until a token comes back.

    A refused token costs no DynamoDB request (it is an HMAC check), so the counter stays in memory:
    counting in DynamoDB would give a flood the writes it does not cause today.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._failures = _Buckets(clock)

    def blocked_s(self, source: str) -> float:
        """Seconds until ``source`` may try again (0.0: now)."""
        return self._failures.wait_s(source, configured(CONNECT_FAILURES, Rate.parse), take=False)

    def failed(self, source: str) -> None:
        self._failures.wait_s(source, configured(CONNECT_FAILURES, Rate.parse), take=True)
