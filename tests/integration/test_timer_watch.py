"""The timer watch of ``make load`` and ``bench/timers_load.py`` (``bench/timer_lateness.py``) hooks the
signaling function's timer handler through its service graph. The graph is built lazily (the function's
``graph()`` accessor, for its cold start), which once broke the watch while every other test passed:
``make load`` is not part of ``make test``, so this is the watch's check that is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.timer_lateness import TimerWatch

pytestmark = pytest.mark.usefixtures("stack_tables")

ROOT = Path(__file__).resolve().parents[2]


def test_the_timer_watch_hooks_the_signaling_graphs_timers_and_puts_them_back(stack):
    from local.chalice_app import load_app

    watch = TimerWatch.of_app(load_app(ROOT / "functions" / "signaling"))
    graph = watch.module.graph()
    before = graph.fire
    watch.install()
    try:
        assert graph.fire != before  # the watch's wrapper, which times each timer it fires
        assert watch.module.graph() is graph  # one graph: the handler calls what the watch wrapped
    finally:
        watch.uninstall()
    assert graph.fire == before
