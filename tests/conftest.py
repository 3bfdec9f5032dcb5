"""Shared fixtures. A session gets one moto server on a free port (never 4566, so a running
``make up`` and parallel test runs do not collide); tests isolate themselves by table prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.moto_server import MotoServer, ensure_fake_credentials, free_port
from local.stack import Addresses, Stack
from vkyc import env
from vkyc.repositories import tables

ROOT = Path(__file__).resolve().parents[1]
# The stack's node-key master: a test gets a node's key with ``vkyc.security.node_keys.node_key``.
NODE_MASTER_KEY = "node-key-master-for-tests-" + "m" * 16

# Tests never reach real AWS: fake credentials and a region before anything makes a client.
ensure_fake_credentials()
# The functions refuse to import without their required settings (vkyc.config): these are what a test
# that imports an app without a running stack gives them. The stack sets its own before loading them.
for _name, _value in {
    "VKYC_WS_API_ID": "tests",
    "VKYC_WS_URL": "ws://127.0.0.1:9",
    "VKYC_TOKEN_SECRET": "unit-tests-secret-" + "u" * 32,
    "VKYC_MEDIA_NODE_MASTER_KEY": NODE_MASTER_KEY,
}.items():
    os.environ.setdefault(_name, _value)


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


# A whole vkyc stack in this process for the integration and browser tests: WebSocket emulator, event
# runners and REST on free ports, AWS on the session's moto server under a table prefix of its own,
# demo data loaded. One per test session (the Chalice apps are imported once per process).


@pytest.fixture(scope="session")
def stack(moto_server: MotoServer) -> Iterator[Stack]:
    saved = dict(os.environ)
    prefix = f"s{uuid.uuid4().hex[:6]}-"
    os.environ.update(
        {
            "VKYC_TABLE_PREFIX": prefix,
            "VKYC_TOKEN_SECRET": "integration-tests-secret-" + "x" * 32,
            "VKYC_MEDIA_NODE_MASTER_KEY": NODE_MASTER_KEY,
            # Routing configuration changed by a test is seen at once.
            "VKYC_CONFIG_CACHE_S": "0",
            # Housekeeping runs when a test fires it, not by the wall clock.
            "VKYC_LOCAL_SCHEDULES": "0",
        }
    )
    running = Stack(Addresses("127.0.0.1", 0, free_port(), free_port()), out=lambda line: None)
    running.start(ROOT / "local" / "demo" / "demo.toml")
    yield running
    running.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture()
def stack_tables(stack: Stack) -> None:
    """Point the models at the stack's tables (functional test modules re-bind them to their own)."""
    tables.bind(stack.aws_endpoint, env.region(), os.environ["VKYC_TABLE_PREFIX"])


@pytest.fixture()
def quiet_unit_1(stack_tables: None) -> Iterator[None]:
    """No call of units 1 and 6 in flight and every unit-1 agent on a break, before and after the test."""
    from tests.integration.test_calls import all_on_break, settle_calls

    settle_calls()
    all_on_break()
    yield
    settle_calls()
    all_on_break()
