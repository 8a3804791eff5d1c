"""Per-conversation rate limiting shared by the input channels."""

from __future__ import annotations

import time
from collections import defaultdict, deque

RATE_LIMIT, RATE_WINDOW_S = 20, 60.0
PRUNE_EVERY = 1000


class RateLimiter:
    """At most ``limit`` messages per chat in any ``window`` seconds."""

    def __init__(self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW_S):
        self.limit, self.window = limit, window
        self._seen: dict[str, deque] = defaultdict(deque)
        self._calls = 0

    def allow(self, chat_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self._calls += 1
        if self._calls % PRUNE_EVERY == 0:
            self._prune(now)
        seen = self._seen[chat_id]
        while seen and now - seen[0] > self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True

    def _prune(self, now: float) -> None:
        """Forget conversations quiet for a whole window, so memory follows the active ones only."""
        for chat_id in [c for c, seen in self._seen.items() if not seen or now - seen[-1] > self.window]:
            del self._seen[chat_id]

    def __len__(self) -> int:
        return len(self._seen)
