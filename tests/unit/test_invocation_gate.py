"""``local.invocations``: the gate holding the stack's handlers off while the models are bound elsewhere."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.invocations import InvocationGate


def test_a_pause_waits_for_the_invocation_in_flight_and_holds_new_ones_until_it_ends():
    gate = InvocationGate()
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def handler(name: str, hold: bool = False) -> None:
        with gate.invocation():
            order.append(f"{name} runs")
            if hold:
                inside.set()
                assert release.wait(10)
            order.append(f"{name} ends")

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(handler, "first", True)
        assert inside.wait(10)
        paused = threading.Event()

        def pause() -> None:
            with gate.paused(timeout=10):
                order.append("paused")
                paused.set()
                assert not later_started.wait(0.3), "a handler ran inside the pause"
                order.append("resumed")

        later_started = threading.Event()
        pausing = pool.submit(pause)
        assert not paused.wait(0.3), "the pause did not wait for the handler in flight"
        release.set()
        first.result(10)
        assert paused.wait(10)

        def later() -> None:
            with gate.invocation():
                later_started.set()
                order.append("later runs")

        done = pool.submit(later)
        pausing.result(10)
        done.result(10)
    assert order == ["first runs", "first ends", "paused", "resumed", "later runs"]


def test_pauses_nest_and_the_gate_opens_when_the_outer_one_ends():
    gate = InvocationGate()
    with gate.paused():
        with gate.paused():
            assert gate.paused_now
        assert gate.paused_now
    assert not gate.paused_now
    with gate.invocation():
        pass


def test_a_pause_gives_up_on_a_handler_that_never_ends_and_leaves_the_gate_open():
    gate = InvocationGate()
    stuck, release = threading.Event(), threading.Event()

    def handler() -> None:
        with gate.invocation():
            stuck.set()
            release.wait(10)

    thread = threading.Thread(target=handler)
    thread.start()
    try:
        assert stuck.wait(10)
        with pytest.raises(TimeoutError, match="1 handler invocation"), gate.paused(timeout=0.2):
            pass
        assert not gate.paused_now
    finally:
        release.set()
        thread.join(10)
