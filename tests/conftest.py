"""Shared fixtures. A session gets one moto server on a free port (never 4566, so a running
``make up`` and parallel test runs do not collide); tests isolate themselves by table prefix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local.moto_server import MotoServer, ensure_fake_credentials

# Tests never reach real AWS: fake credentials and a region before anything makes a client.
ensure_fake_credentials()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    ensure_fake_credentials()
    server = MotoServer(port=0)
    server.start()
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = server.url
    yield server
    if previous is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = previous
    server.stop()
