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


# One sliding window per key, kept in Redis: checked and counted in one step, whichever server asks.
_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return 1
"""


class SharedRateLimiter(RateLimiter):
    """The same limit shared by every Rasa server using this Redis (production mode: nginx spreads one
    client's messages over all of them, so limits kept per process let it send N times as many).
    Keys are keyed hashes of the chat id or address, never the address itself. Should Redis fail,
    this process's own count still applies."""

    def __init__(self, redis_url: str, name: str, secret: str, limit: int = RATE_LIMIT,
                 window: float = RATE_WINDOW_S):
        import redis

        super().__init__(limit, window)
        # Called on the channel's event loop: a Redis that hangs falls back to this process's count soon.
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_SLIDING_WINDOW)
        self._prefix = f"caredesk:rate:{name}:"
        self._secret = secret.encode()

    def allow(self, chat_id: str, now: float | None = None) -> bool:
        import hashlib
        import uuid

        import redis

        key = self._prefix + hashlib.blake2b(chat_id.encode(errors="surrogateescape"), key=self._secret[:64],
                                             digest_size=16).hexdigest()
        stamp = time.time()
        try:
            return bool(self._script(keys=[key], args=[stamp, self.window, self.limit, uuid.uuid4().hex]))
        except redis.RedisError:
            return super().allow(chat_id, now)


def rate_limiter(name: str, limit: int = RATE_LIMIT) -> RateLimiter:
    """A limiter shared through Redis when REDIS_URL is set (several Rasa servers), else this process's."""
    from common.settings import get_settings

    settings = get_settings()
    if settings.redis_url:
        return SharedRateLimiter(settings.redis_url, name, settings.secret_key, limit)
    return RateLimiter(limit)
