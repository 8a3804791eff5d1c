"""The conversation locks in Redis, patient with a Redis that is briefly away.

Rasa's ``RedisLockStore`` fails the message at once when Redis does not answer: the turn is never
run, nothing is stored, and the channel can only apologise. This one waits for Redis (up to
:data:`PATIENCE_S`, without blocking the server: it sleeps between tries) to take a ticket or to
see whose turn it is, so a Redis restart only delays the messages that arrive meanwhile. Releasing
a lock when Redis is away is given up with a warning: the lock expires by itself (Rasa's lock
lifetime), and a restarted Redis has lost it anyway.

endpoints.yml: ``lock_store: {type: bot.lock_store.PatientRedisLockStore, url: ..., port: ..., db: ...}``
(the same keys as Rasa's ``type: redis``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

log = logging.getLogger(__name__)
PATIENCE_S = 30.0
FIRST_WAIT_S, LONGEST_WAIT_S = 0.2, 2.0
REDIS_AWAY = (redis.ConnectionError, redis.TimeoutError)
T = TypeVar("T")


class PatientRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Any = None, patience_s: float = PATIENCE_S, **kwargs: Any):
        """Rasa builds a lock store named by module path from its endpoint configuration."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs}
        self.patience_s = float(kwargs.pop("patience_s", patience_s))
        super().__init__(**kwargs)

    async def _patiently(self, call: Callable[..., T], *args: Any) -> T:
        deadline, wait = time.monotonic() + self.patience_s, FIRST_WAIT_S
        while True:
            try:
                return call(*args)
            except REDIS_AWAY as exc:
                if time.monotonic() + wait > deadline:
                    raise LockError(f"Redis did not answer for {self.patience_s:.0f} s: {exc}") from exc
                log.warning("the lock store (Redis) does not answer (%s); trying again in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT_S)

    def _take_ticket(self, conversation_id: str, lock_lifetime: float) -> int:
        lock = self.get_or_create_lock(conversation_id)
        ticket = lock.issue_ticket(lock_lifetime)
        self.save_lock(lock)
        return ticket

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        ticket = await self._patiently(self._take_ticket, conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            try:
                self.cleanup(conversation_id, ticket)
            except REDIS_AWAY as exc:
                log.warning("the lock of a conversation was left to expire: Redis does not answer (%s)", exc)

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Rasa's loop (wait until the ticket is served; fail if the lock expired meanwhile), each
        read of Redis made patiently. A lock that is gone (expired, or lost with a restarted Redis)
        is queued for again once before failing."""
        lost_once = False
        while True:
            lock = await self._patiently(self.get_lock, conversation_id)
            if not lock and not lost_once:  # a restarted Redis lost it: queue again, once
                lost_once = True
                ticket = await self._patiently(self._take_ticket, conversation_id, LOCK_LIFETIME)
                continue
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            await self._patiently(self.update_lock, conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
