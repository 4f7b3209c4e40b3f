"""Velocity counters over sliding time windows, in memory (per number, per account, per pair).

Each key keeps a deque of ``(t, amount, other)`` events no older than the horizon; a window query
walks the deque from the newest end, so a query costs the events inside its window, not the horizon.
Times are event times (epoch seconds), so replaying a recorded stream gives the same answers as live.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WindowStats:
    count: int
    total: int
    distinct: int


class Velocity:
    """Events per key, pruned past ``horizon_s``; answers count / sum / distinct counterparts."""

    def __init__(self, horizon_s: float = 86_400.0, sweep_every: int = 50_000) -> None:
        self.horizon_s = horizon_s
        self.sweep_every = sweep_every
        self._events: dict[Hashable, deque[tuple[float, int, Hashable]]] = {}
        self._adds = 0

    def __len__(self) -> int:
        return len(self._events)

    def add(self, key: Hashable, t: float, amount: int = 0, other: Hashable = None) -> None:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
        events.append((t, amount, other))
        limit = t - self.horizon_s
        while events and events[0][0] < limit:
            events.popleft()
        self._adds += 1
        if self._adds % self.sweep_every == 0:
            self.sweep(t)

    def stats(self, key: Hashable, t: float, window_s: float) -> WindowStats:
        events = self._events.get(key)
        if not events:
            return WindowStats(0, 0, 0)
        start = t - window_s
        count = total = 0
        others: set[Hashable] = set()
        for when, amount, other in reversed(events):
            if when < start:
                break
            if when > t:  # out-of-order replay: ignore events from the future of this one
                continue
            count += 1
            total += amount
            others.add(other)
        return WindowStats(count, total, len(others))

    def others(self, key: Hashable, t: float, window_s: float) -> set[Hashable]:
        """The distinct counterparts of ``key`` inside the window."""
        start = t - window_s
        found: set[Hashable] = set()
        for when, _, other in reversed(self._events.get(key, ())):
            if when < start:
                break
            if when <= t:
                found.add(other)
        return found

    def sweep(self, now: float) -> int:
        """Drop keys whose newest event is past the horizon (keeps memory bounded); returns dropped."""
        limit = now - self.horizon_s
        stale = [k for k, ev in self._events.items() if not ev or ev[-1][0] < limit]
        for k in stale:
            del self._events[k]
        return len(stale)
