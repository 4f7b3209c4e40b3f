"""Token-bucket rate limits in memory: per key for public callers, per client for failed logins."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fanzha.errors import FanzhaError


class RateLimited(FanzhaError):
    """Too many requests; ``retry_after`` seconds until a token is free."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """``rate`` requests a second on average with bursts up to ``burst`` per key."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def hit(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:  # bounded memory: forget idle callers
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            wait = (1.0 - bucket.tokens) / self.rate
            raise RateLimited(
                f"rate limit of {self.rate:g} requests/s (burst {self.burst}) reached; retry in {wait:.1f} s",
                retry_after=wait,
            )
        bucket.tokens -= 1.0
