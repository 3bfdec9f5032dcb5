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


@pytest.fixture(autouse=True)
def _default_waiting_media_once(node_waiting_media: None) -> None:
    """Every engine here, in this process or a node process, plays the default waiting media encoded
    once for the session (``tests/conftest.py``), in the setup of the first test that needs it."""
