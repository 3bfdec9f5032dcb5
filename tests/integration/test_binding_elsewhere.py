"""The tiers run in any order: while a fixture binds the models to tables of its own (the functional
tests do), the session's stack runs no handler, and afterwards the models are the stack's again."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from local.moto_server import MotoServer
from tests.binding import assert_bound_to, models_bound_to
from tests.integration.signaling_client import Client
from tests.integration.test_signaling import login
from vkyc.repositories import tables


def test_no_stack_handler_runs_while_the_models_are_bound_elsewhere(stack, moto_server: MotoServer):
    client = Client(stack.ws_url, token=login(stack, "tdv1.kv1")["token"])
    client.hello()
    try:
        with ThreadPoolExecutor(1) as pool:
            with models_bound_to(moto_server.url, f"x{uuid.uuid4().hex[:8]}-"):
                assert tables.prefix().startswith("x")
                ping = pool.submit(client.request, "ping")
                time.sleep(0.5)  # the scenario: the ping waits at the gate as long as the binding lasts
                assert not ping.done(), "a handler ran against the other tables"
            assert_bound_to(stack)
            assert ping.result(15)["action"] == "pong"
    finally:
        client.close()
