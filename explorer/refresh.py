"""How often live views refresh when many browsers watch: often enough to feel live, rarely
enough that one server process keeps up. Shared by every session of a server."""

from __future__ import annotations

import threading
import time
from collections import deque


class AdaptiveInterval:
    """The refresh interval that keeps live views within a share of one core.

    With n sessions watching and a refresh costing d seconds of server CPU time (the script
    thread's time.thread_time(): under load, wall time would also count the waits for the
    GIL and so overstate the cost), refreshing every I seconds costs n * d / I of a core;
    this picks I = n * d / budget, clamped to [minimum, maximum] seconds, from the
    refreshes recorded in the last `window` seconds.
    A refresh then finishes long before the next is asked for, and under overload the
    views show slightly older data instead of none.
    """

    def __init__(self, minimum: float = 1.0, maximum: float = 8.0, budget: float = 0.5,
                 window: float = 10.0):
        if not 0 < minimum <= maximum or not 0 < budget:
            raise ValueError("need 0 < minimum <= maximum and budget > 0")
        self.minimum, self.maximum, self.budget, self.window = minimum, maximum, budget, window
        self._events: deque[tuple[float, str, float]] = deque()
        self._lock = threading.Lock()

    def record(self, session: str, seconds: float, now: float | None = None) -> None:
        """One refresh of `session` took `seconds` of server time."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._events.append((now, session, float(seconds)))
            self._prune(now)

    def seconds(self, now: float | None = None) -> float:
        """The interval to use now, in seconds."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(now)
            if not self._events:
                return self.minimum
            sessions = len({session for _, session, _ in self._events})
            mean = sum(d for _, _, d in self._events) / len(self._events)
        return min(self.maximum, max(self.minimum, sessions * mean / self.budget))

    def _prune(self, now: float) -> None:
        while self._events and self._events[0][0] < now - self.window:
            self._events.popleft()
