"""Failed log-ins slow an attacker down: a few per user name and per address, then a pause."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class LoginThrottle:
    """At most ``limit`` failed log-ins per user name and per client address in ``window`` seconds."""

    def __init__(self, limit: int = 5, window: float = 900.0):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def blocked(self, username: str, client: str) -> bool:
        now = time.monotonic()
        return any(len(self._recent(key, now)) >= self.limit for key in (f"u:{username}", f"c:{client}"))

    def failed(self, username: str, client: str) -> None:
        now = time.monotonic()
        for key in (f"u:{username}", f"c:{client}"):
            self._recent(key, now).append(now)
