"""Failed log-ins slow an attacker down: a few per user name and per address, then a pause.

A log-in attempt takes its place in the count *before* the password is checked (about 0.3 s of
scrypt in a worker thread) and gives it back only if the password was right: checking first and
counting after the failure let twenty guesses sent at once all be checked."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class LoginThrottle:
    """At most ``limit`` failed log-ins per user name and per client address in ``window`` seconds."""

    def __init__(self, limit: int = 5, window: float = 900.0):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._swept = time.monotonic()

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        return f"u:{username}", f"c:{client}"

    def _sweep(self, now: float) -> None:
        """Drop every key without an attempt in the window (a tenth of a window apart at most): memory
        stays bounded by the attempts of the last window, whatever user names an attacker makes up."""
        if now - self._swept < self.window / 10:
            return
        self._swept = now
        for key in list(self._failures):
            self._recent(key, now)

    def _recent(self, key: str, now: float) -> int:
        """How many attempts ``key`` has in the window (a key left with none is dropped)."""
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and times[0] < now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return len(times)

    def blocked(self, username: str, client: str) -> bool:
        now = time.monotonic()
        return any(self._recent(key, now) >= self.limit for key in self._keys(username, client))

    def attempt(self, username: str, client: str) -> float | None:
        """Count one attempt now, as a failure until :meth:`succeeded` says otherwise; None (and
        nothing counted) when the user name or the address is already at the limit."""
        now = time.monotonic()
        self._sweep(now)
        if self.blocked(username, client):
            return None
        for key in self._keys(username, client):
            self._failures[key].append(now)
        return now

    def succeeded(self, username: str, client: str, attempt: float) -> None:
        """The attempt made at ``attempt`` had the right password: it is no failure."""
        for key in self._keys(username, client):
            times = self._failures.get(key)
            if times is not None and attempt in times:
                times.remove(attempt)
