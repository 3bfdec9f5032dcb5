"""The impaired-link test's shaper behaves like ``tbf`` plus random loss (in virtual time: the rate is
the shaper's, not the machine's)."""

from __future__ import annotations

import asyncio
import random

import pytest

from bench.impairment import Shaper
from tests.virtual_time import run_virtual

RATE_BPS = 400_000  # 50 kB/s
BURST = 4000  # the shaper's default bucket


def test_the_shaper_drops_at_random_and_holds_the_rate() -> None:
    delivered: list[tuple[float, int]] = []

    async def run() -> Shaper:
        loop = asyncio.get_running_loop()

        async def deliver(data: bytes) -> None:
            delivered.append((loop.time(), len(data)))

        shaper = Shaper(deliver, rate_bps=RATE_BPS, loss=0.1, queue_bytes=1_000_000, rng=random.Random(3))
        for _ in range(400):
            shaper.offer(b"x" * 500)  # 200 kB offered at once
        await asyncio.sleep(1.0)
        shaper.close()
        return shaper

    shaper = run_virtual(run())
    assert shaper.stats.lost == pytest.approx(40, abs=15)
    sent = sum(size for _, size in delivered)
    # 1 s at 400 kbit/s = 50 kB, plus the 4 kB burst.
    assert 44_000 <= sent <= 58_000
    # And at every moment, never more than the burst plus the rate since the start.
    total = 0
    for at, size in delivered:
        total += size
        assert total <= BURST + RATE_BPS / 8 * at + 1, (at, total)


def test_a_full_queue_drops_the_tail() -> None:
    async def run() -> Shaper:
        async def deliver(data: bytes) -> None:
            pass

        shaper = Shaper(deliver, rate_bps=8_000, loss=0.0, queue_bytes=2_000)
        for _ in range(10):
            shaper.offer(b"x" * 500)
        shaper.close()
        return shaper

    shaper = run_virtual(run())
    assert shaper.stats.overflow == 6 and shaper.stats.lost == 0
