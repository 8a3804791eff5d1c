"""The Redis lock store waits out a short Redis outage instead of failing the message."""

from __future__ import annotations

import pytest
import redis
from rasa.core.lock_store import LockError

from bot.lock_store import PatientRedisLockStore


class FlakyRedis:
    """A dict behind Redis's get/set/delete that refuses the first ``away`` calls."""

    def __init__(self, away: int):
        self.away, self.data, self.calls = away, {}, 0

    def _call(self):
        self.calls += 1
        if self.away > 0:
            self.away -= 1
            raise redis.ConnectionError("Connection refused")

    def get(self, key):
        self._call()
        return self.data.get(key)

    def set(self, key, value):
        self._call()
        self.data[key] = value

    def delete(self, key):
        self._call()
        return self.data.pop(key, None) is not None


def _store(away: int, patience_s: float = 5.0) -> PatientRedisLockStore:
    store = PatientRedisLockStore(host="127.0.0.1", port=1, patience_s=patience_s)
    store.red = FlakyRedis(away)
    return store


async def test_the_lock_is_taken_once_redis_answers_again_and_released_after():
    store = _store(away=3)
    async with store.lock("api:someone") as lock:
        assert lock.conversation_id == "api:someone"
        assert store.red.data
    assert not store.red.data


async def test_redis_away_longer_than_the_patience_fails_the_message_with_a_lock_error():
    store = _store(away=10**6, patience_s=0.5)
    with pytest.raises(LockError, match="Redis did not answer"):
        async with store.lock("api:someone"):
            pass


async def test_a_lock_lost_with_a_restarted_redis_is_queued_for_again():
    store = _store(away=0)
    ticket = store._take_ticket("api:someone", 60)
    store.red.data.clear()  # Redis restarted without saving
    lock = await store._acquire_lock("api:someone", ticket, 0.01)
    assert lock.conversation_id == "api:someone"


def test_rasa_builds_it_from_the_endpoint_configuration():
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(url="cache", type="bot.lock_store.PatientRedisLockStore", port=6380, db=2)
    store = LockStore.create(config)
    assert isinstance(store, PatientRedisLockStore)
    assert store.red.connection_pool.connection_kwargs["host"] == "cache"
    assert store.red.connection_pool.connection_kwargs["port"] == 6380
