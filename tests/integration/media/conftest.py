"""Media node integration tests: real aiortc peers (``sdk.media``) and a real engine, SDP exchanged
in-process (the signaling wiring is not part of these tests), S3 on the session's moto server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from local.moto_server import MotoServer
from media_node.storage import S3Store


@pytest.fixture(scope="session")
def media_store(moto_server: MotoServer) -> Iterator[S3Store]:
    """A bucket of its own on the session's moto server (``AWS_ENDPOINT_URL`` points there)."""
    store = S3Store.from_env(f"media-it-{uuid.uuid4().hex[:8]}")
    store.ensure_bucket()
    yield store
