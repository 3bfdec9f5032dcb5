from __future__ import annotations

from media_node.congestion import LossBasedRate, RetransmitLimiter


def test_heavy_loss_lowers_the_rate_by_half_the_loss() -> None:
    rate = LossBasedRate(500_000)
    assert rate.on_report(0.40, now=1.0) == 400_000


def test_random_mobile_loss_alone_holds_the_rate() -> None:
    rate = LossBasedRate(300_000)
    for second in range(30):
        rate.on_report(0.10, now=float(second))
    assert rate.bps == 300_000


def test_a_clean_link_grows_8_percent_per_report_up_to_the_maximum() -> None:
    rate = LossBasedRate(100_000, max_bps=120_000)
    assert rate.on_report(0.0, now=1.0) == 108_000
    assert rate.on_report(0.0, now=2.0) == 116_640
    assert rate.on_report(0.0, now=3.0) == 120_000


def test_reports_closer_than_the_interval_change_nothing_and_the_floor_holds() -> None:
    rate = LossBasedRate(100_000, min_bps=80_000)
    rate.on_report(0.9, now=1.0)
    assert rate.bps == 80_000
    rate.on_report(0.0, now=1.1)
    assert rate.bps == 80_000


def test_each_lost_packet_is_resent_at_most_once_per_interval() -> None:
    limiter = RetransmitLimiter(interval_s=0.2)
    assert limiter.allow([1, 2, 3], now=0.0) == [1, 2, 3]
    assert limiter.allow([2, 3, 4], now=0.1) == [4]
    assert limiter.allow([2, 3, 4], now=0.35) == [2, 3, 4]
    assert limiter.suppressed == 2


def test_the_limiter_forgets_old_sequence_numbers() -> None:
    limiter = RetransmitLimiter(remember=10)
    limiter.allow(list(range(100)), now=0.0)
    assert limiter.allow([0], now=0.01) == [0]  # forgotten, so allowed again
