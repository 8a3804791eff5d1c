"""Per-conversation rate limiting shared by the input channels."""

from __future__ import annotations

import time
from collections import defaultdict, deque

RATE_LIMIT, RATE_WINDOW_S = 20, 60.0


class RateLimiter:
    """At most ``limit`` messages per chat in any ``window`` seconds."""

    def __init__(self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW_S):
        self.limit, self.window = limit, window
        self._seen: dict[str, deque] = defaultdict(deque)

    def allow(self, chat_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[chat_id]
        while seen and now - seen[0] > self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True
