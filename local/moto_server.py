"""An embedded moto server: DynamoDB (with Streams), SQS and S3 on one HTTP endpoint.

The default port is LocalStack's edge port (4566), so ``localstack-client`` and a real LocalStack
are interchangeable with it. Tests ask for port 0 and get a free one.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

from local import moto_patches

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def ensure_fake_credentials() -> None:
    """moto accepts any credentials, but botocore refuses to sign without some."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "ap-southeast-1"))


class MotoServer:
    """A moto server in a thread of this process. ``url`` is known once ``start()`` returns."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        ensure_fake_credentials()
        # werkzeug logs every request at INFO: thousands of lines per test run.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_patches.apply()
        self._server.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on {self.url}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def running(host: str = DEFAULT_HOST, port: int = 0) -> Iterator[MotoServer]:
    server = MotoServer(host, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
