"""How fast anyone may try: the two rules that bound attempts, pure (no clock, no storage).

- ``Backoff``: failures of a credential (per account, per source address) are free up to ``free``;
  the ``n``-th failure beyond locks for ``base_s * 2**(n - free)`` seconds, at most ``max_s``. A count
  whose last failure is older than ``window_s`` starts again from zero.
- ``TokenBucket``: at most ``burst`` events at once, then ``per_s`` per second (messages per
  connection, ``session.hello`` per connection, refused ``$connect`` per source).

Both read their figures from a short text (``"5,1,900,86400"``, ``"60,10"``) so a deployment can
set them from the environment; the defaults are in ``vkyc.services.limits``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    free: int  # failures allowed before the first lock
    base_s: int  # the first lock
    max_s: int  # no lock is longer
    window_s: int  # a count whose last failure is older than this starts again

    def __post_init__(self) -> None:
        if self.free < 1 or self.base_s < 1 or self.max_s < self.base_s or self.window_s < self.max_s:
            raise ValueError(f"backoff needs free >= 1, 1 <= base <= max <= window: {self}")

    @classmethod
    def parse(cls, text: str) -> Backoff:
        """``"free,base_s,max_s,window_s"``; raises ``ValueError``."""
        parts = [int(p) for p in text.split(",")]
        if len(parts) != 4:
            raise ValueError(f"backoff {text!r}: expected free,base_s,max_s,window_s")
        return cls(*parts)

    def lock_s(self, failures: int) -> int:
        """How long the ``failures``-th failure in a row locks the credential (0: not at all)."""
        if failures < self.free:
            return 0
        exponent = min(failures - self.free, 32)  # 2**32 s is past any max
        return min(self.base_s * 2**exponent, self.max_s)


@dataclass(frozen=True)
class Rate:
    burst: float
    per_s: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_s <= 0:
            raise ValueError(f"rate needs burst >= 1 and per_s > 0: {self}")

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"burst,per_s"``; raises ``ValueError``."""
        parts = [float(p) for p in text.split(",")]
        if len(parts) != 2:
            raise ValueError(f"rate {text!r}: expected burst,per_s")
        return cls(*parts)


class TokenBucket:
    """``rate.burst`` tokens, refilled at ``rate.per_s``; each event takes one. Times are seconds of any
    monotonic clock, given by the caller."""

    __slots__ = ("rate", "tokens", "updated")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 if there was one, else the seconds until there is (nothing is taken)."""
        wait = self.wait_s(now)
        if not wait:
            self.tokens -= 1
        return wait

    def wait_s(self, now: float) -> float:
        """Seconds until a token is there (0.0: there is one now); takes nothing."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.rate.burst, self.tokens + elapsed * self.rate.per_s)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate.per_s
