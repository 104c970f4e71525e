"""A per-address sliding-window limit on sign-in attempts (in each server process).

The account lockout (in the database) stops guessing one account's password from many
addresses; this stops one address from trying many accounts quickly.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class Throttle:
    """At most ``limit`` events per ``window_s`` seconds per key."""

    def __init__(self, limit: int, window_s: float = 60.0, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, at: float | None = None) -> bool:
        """Count one event for ``key``; False when over the limit (the event is not counted)."""
        at = time.monotonic() if at is None else at
        with self._lock:
            seen = self._events.get(key)
            if seen is None:
                if len(self._events) >= self.max_keys:
                    self._forget_idle(at)
                seen = self._events[key] = deque()
            while seen and seen[0] <= at - self.window_s:
                seen.popleft()
            if len(seen) >= self.limit:
                return False
            seen.append(at)
            return True

    def _forget_idle(self, at: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= at - self.window_s]:
            del self._events[key]
