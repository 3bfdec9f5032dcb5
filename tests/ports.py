"""A port where nobody listens, for the tests of an unreachable server.

A port found free and released (``bind(0)``, ``close()``) may be taken by another process before the
test connects to it. ``refused_port()`` keeps it bound, without listening, for as long as the test
needs it: nobody else can bind it, and a connection to it is refused.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def refused_port(host: str = "127.0.0.1") -> Iterator[int]:
    with socket.socket() as held:
        held.bind((host, 0))
        yield int(held.getsockname()[1])
