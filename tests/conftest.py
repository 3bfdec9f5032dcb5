"""Shared fixtures. A session gets one moto server on a free port (never 4566, so a running
``make up`` and parallel test runs do not collide); tests isolate themselves by table prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.invocations import GATE
from local.moto_server import MotoServer, ensure_fake_credentials
from local.stack import Addresses, Stack
from tests.binding import assert_bound_to
from tests.crm import Crm
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
    # Every test connects from 127.0.0.1, and hundreds of them present dead or forged tokens on purpose:
    # the per-address allowance of refused $connect would lock the later tests out. The test of that
    # limit sets its own for its duration (test_rest_hardening.py).
    "VKYC_LIMIT_CONNECT_FAILURES": "100000,1000",
}.items():
    os.environ.setdefault(_name, _value)
# The environment before any fixture: the session's moto server and stack keep theirs until the session
# ends, and the unit tier runs without them whichever tier ran first (tests/unit/conftest.py).
SESSION_START_ENVIRONMENT = dict(os.environ)

# Each test's tier, from its directory (the most specific first): one marker per test, never forgotten.
TIERS = (
    ("integration/media", "media"),
    ("integration", "integration"),
    ("functional", "functional"),
    ("browser", "browser"),
    ("unit", "unit"),
)
SLOW_TIERS = ("media", "browser")
SLOW_TIERS_TIMEOUT_S = 300  # per test, fixtures included; the others have pyproject's 120 s


def tier_of(path: Path) -> str | None:
    relative = path.resolve().relative_to(ROOT / "tests").as_posix()
    return next((tier for folder, tier in TIERS if relative.startswith(folder + "/")), None)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects on the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item.path)
        if tier is not None:
            item.add_marker(tier)
        # Media engines and node processes, Chromium: a busy 2-core machine slows these tenfold.
        if tier in SLOW_TIERS and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIERS_TIMEOUT_S))
    # Load scenarios take minutes of both cores: only a ``-m`` that names them runs them (make load).
    if "load" not in (config.option.markexpr or ""):
        heavy = [item for item in items if item.get_closest_marker("load")]
        if heavy:
            config.hook.pytest_deselected(items=heavy)
            items[:] = [item for item in items if not item.get_closest_marker("load")]


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
# runners and REST on ports the system picks, AWS on the session's moto server under a table prefix of
# its own, demo data loaded. One per test session (the Chalice apps are imported once per process).
# From its start on, the models stay bound to its tables, except while a fixture binds them elsewhere
# (holding the stack's handlers off meanwhile: tests/binding.py).


@pytest.fixture(scope="session")
def framed_crm() -> Iterator[Crm]:
    """A CRM whose origin the session stack's pages may frame (``VKYC_FRAME_ORIGINS``): the pages'
    policy is fixed when the stack starts, so the CRM must be there first."""
    crm = Crm()
    yield crm
    crm.stop()


@pytest.fixture(scope="session")
def stack(moto_server: MotoServer, framed_crm: Crm) -> Iterator[Stack]:
    assert not GATE.paused_now, "the stack cannot start while the models are bound elsewhere"
    found = tables.binding()
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
            "VKYC_FRAME_ORIGINS": framed_crm.url,
        }
    )
    running = Stack(Addresses("127.0.0.1", 0, 0, 0), out=lambda line: None)
    running.start(ROOT / "local" / "demo" / "demo.toml")
    yield running
    running.stop()
    os.environ.clear()
    os.environ.update(saved)
    tables.bind(*found)


@pytest.fixture(scope="session")
def node_waiting_media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Media engines started from here, in this process or in node processes, load the default waiting
    media from a cache directory of the session (``VKYC_MEDIA_CACHE_DIR``, ``media_node.waiting``),
    where it is encoded once, instead of each spending ~16 s of CPU on it at start."""
    from media_node import waiting

    directory = tmp_path_factory.mktemp("media-cache")
    waiting.cached_default_waiting_media(directory)
    previous = os.environ.get(waiting.CACHE_VARIABLE)
    os.environ[waiting.CACHE_VARIABLE] = str(directory)
    yield
    if previous is None:
        os.environ.pop(waiting.CACHE_VARIABLE, None)
    else:
        os.environ[waiting.CACHE_VARIABLE] = previous


@pytest.fixture()
def stack_tables(stack: Stack) -> None:
    """The models point at the stack's tables (a test reads and writes them as the handlers do)."""
    assert_bound_to(stack)


@pytest.fixture()
def quiet_unit_1(stack_tables: None) -> Iterator[None]:
    """No call of units 1 and 6 in flight and every unit-1 agent on a break, before and after the test."""
    from tests.integration.test_calls import all_on_break, settle_calls

    settle_calls()
    all_on_break()
    yield
    settle_calls()
    all_on_break()
