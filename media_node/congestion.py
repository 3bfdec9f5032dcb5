"""Rate control from packet loss, tolerant of the random loss of mobile links.

aiortc's only bandwidth estimate is delay-based (REMB). Behind a full drop-tail queue (a saturated
3G uplink, a token bucket) the delay stops growing, so that estimate keeps rising while half the
packets are dropped. WebRTC senders therefore also steer on the loss fraction in receiver reports
(RFC 3550). Classic GoogCC decreases above 10 % loss; on a radio link with ~10 % *random* loss that
would sink the rate forever, so here the thresholds are wider: above ``decrease_above`` (12 %) the
rate drops by half the loss fraction (congestion adds loss on top of the random part), under
``increase_below`` (4 %) it grows 8 % per report, and in between it holds.

``RetransmitLimiter`` keeps NACKs from snowballing: aiortc's receiver repeats every still-missing
sequence number in each NACK, so without a limit a lossy link fills with duplicate retransmissions.
"""

from __future__ import annotations

from collections import OrderedDict


class LossBasedRate:
    def __init__(
        self,
        start_bps: int,
        *,
        min_bps: int = 60_000,
        max_bps: int = 1_500_000,
        decrease_above: float = 0.12,
        increase_below: float = 0.04,
        min_interval_s: float = 0.3,
    ) -> None:
        self.bps = start_bps
        self.min_bps, self.max_bps = min_bps, max_bps
        self.decrease_above, self.increase_below = decrease_above, increase_below
        self.min_interval_s = min_interval_s
        self._last_change = -1e9
        self.reports = 0

    def on_report(self, fraction_lost: float, now: float) -> int:
        """Take one report's loss fraction (0..1); returns the new rate in bit/s."""
        self.reports += 1
        if now - self._last_change < self.min_interval_s:
            return self.bps
        if fraction_lost > self.decrease_above:
            self.bps = max(self.min_bps, int(self.bps * (1 - 0.5 * fraction_lost)))
            self._last_change = now
        elif fraction_lost < self.increase_below:
            self.bps = min(self.max_bps, int(self.bps * 1.08))
            self._last_change = now
        return self.bps


class RetransmitLimiter:
    """Allows each sequence number to be retransmitted at most once per ``interval_s``."""

    def __init__(self, interval_s: float = 0.2, remember: int = 512) -> None:
        self.interval_s = interval_s
        self._remember = remember
        self._sent: OrderedDict[int, float] = OrderedDict()
        self.suppressed = 0

    def allow(self, sequence_numbers: list[int], now: float) -> list[int]:
        allowed = []
        for seq in sequence_numbers:
            last = self._sent.get(seq)
            if last is not None and now - last < self.interval_s:
                self.suppressed += 1
                continue
            self._sent[seq] = now
            self._sent.move_to_end(seq)
            allowed.append(seq)
        while len(self._sent) > self._remember:
            self._sent.popitem(last=False)
        return allowed
