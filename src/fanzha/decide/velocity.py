"""Velocity counters over sliding time windows, in memory (per number, per account, per pair).

Each key keeps, per window (e.g. 1 h and 24 h), the events inside that window with a running count,
sum and a counter of counterparts, evicting old events as time moves on. A query is O(1) (plus the
amortised eviction), so a hub account receiving 100,000 payments a day costs the same per decision as
a quiet one. Times are event times (epoch seconds), so replaying a recorded stream gives the same
answers as live. Events that arrive late (older than the newest seen for that key) are counted as if
current: the windows are approximate by the size of the disorder, never by more.
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


_EMPTY = WindowStats(0, 0, 0)


class _Window:
    __slots__ = ("events", "others", "total")

    def __init__(self) -> None:
        self.events: deque[tuple[float, int, Hashable]] = deque()
        self.total = 0
        self.others: dict[Hashable, int] = {}

    def add(self, t: float, amount: int, other: Hashable) -> None:
        self.events.append((t, amount, other))
        self.total += amount
        others = self.others
        others[other] = others.get(other, 0) + 1

    def evict(self, start: float) -> None:
        events, others = self.events, self.others
        while events and events[0][0] < start:
            _, amount, other = events.popleft()
            self.total -= amount
            left = others[other] - 1
            if left:
                others[other] = left
            else:
                del others[other]


class Velocity:
    """Events per key over fixed windows (seconds); answers count / sum / distinct counterparts."""

    def __init__(self, windows: tuple[float, ...] = (3600.0, 86_400.0), sweep_every: int = 100_000) -> None:
        self.windows = tuple(sorted(windows))
        self.horizon_s = self.windows[-1]
        self.sweep_every = sweep_every
        self._keys: dict[Hashable, tuple[_Window, ...]] = {}
        self._latest: dict[Hashable, float] = {}
        self._adds = 0
        self.newest = float("-inf")  # the latest event time added under any key

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: Hashable, t: float, amount: int = 0, other: Hashable = None) -> None:
        wins = self._keys.get(key)
        if wins is None:
            wins = self._keys[key] = tuple(_Window() for _ in self.windows)
        latest = max(t, self._latest.get(key, t))
        self._latest[key] = latest
        if t > self.newest:
            self.newest = t
        for span, win in zip(self.windows, wins, strict=True):
            win.add(t, amount, other)
            win.evict(latest - span)
        self._adds += 1
        if self._adds % self.sweep_every == 0:
            self.sweep(latest)

    def _window(self, key: Hashable, t: float, window_s: float) -> _Window | None:
        wins = self._keys.get(key)
        if wins is None:
            return None
        try:
            win = wins[self.windows.index(window_s)]
        except ValueError:
            raise KeyError(f"window {window_s} s is not one of {self.windows}") from None
        win.evict(max(t, self._latest[key]) - window_s)
        return win

    def stats(self, key: Hashable, t: float, window_s: float) -> WindowStats:
        win = self._window(key, t, window_s)
        if win is None or not win.events:
            return _EMPTY
        return WindowStats(len(win.events), win.total, len(win.others))

    def others(self, key: Hashable, t: float, window_s: float) -> set[Hashable]:
        """The distinct counterparts of ``key`` inside the window."""
        win = self._window(key, t, window_s)
        return set(win.others) if win is not None else set()

    def sweep(self, now: float) -> int:
        """Drop keys whose newest event is past the horizon (keeps memory bounded); returns dropped."""
        limit = now - self.horizon_s
        stale = [k for k, latest in self._latest.items() if latest < limit]
        for k in stale:
            del self._keys[k]
            del self._latest[k]
        return len(stale)
