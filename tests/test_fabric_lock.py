"""The per-fabric lock: exclusive across processes sharing Redis, expiring, renewed while held."""

import threading

import fakeredis
import pytest
import redis_lock

from netbox_hedgehog.scheduling.locks import fabric_lock, holding_fabric_lock, is_fabric_locked


@pytest.fixture
def redis():
    return fakeredis.FakeRedis()


@pytest.fixture
def short_expiry(monkeypatch, settings):
    monkeypatch.setitem(settings.PLUGINS_CONFIG['netbox_hedgehog'], 'lock_expire', 1)


def test_second_holder_is_refused_until_release(redis):
    with holding_fabric_lock(redis, 7) as first:
        with holding_fabric_lock(redis, 7) as second:
            assert first and not second
        with holding_fabric_lock(redis, 8) as other_fabric:
            assert other_fabric
    with holding_fabric_lock(redis, 7) as after_release:
        assert after_release


def test_lock_is_renewed_while_a_long_sync_holds_it(redis, monkeypatch, settings):
    monkeypatch.setitem(settings.PLUGINS_CONFIG['netbox_hedgehog'], 'lock_expire', 2)
    renewals = threading.Semaphore(0)
    extend = redis_lock.Lock.extend

    def counted_extend(lock, expire=None):
        extend(lock, expire)
        renewals.release()

    monkeypatch.setattr(redis_lock.Lock, 'extend', counted_extend)
    with holding_fabric_lock(redis, 7) as acquired:
        assert acquired
        for _ in range(2):  # renewed every 2/3 of the expiry: held past the expiry only by renewal
            assert renewals.acquire(timeout=60)
        assert is_fabric_locked(redis, 7)
    assert not is_fabric_locked(redis, 7)


def test_lock_carries_an_expiry_so_a_killed_holder_frees_it(redis, short_expiry):
    with holding_fabric_lock(redis, 7):
        assert 0 < redis.pttl('lock:netbox_hedgehog:fabric:7') <= 1000


def test_a_waiting_holder_gets_the_lock_when_the_running_sync_releases_it(redis):
    running = fabric_lock(redis, 7)
    assert running.acquire(blocking=False)
    released = threading.Event()

    def release():
        released.set()  # before the release: whoever gets the lock afterwards sees it set
        running.release()

    threading.Timer(0.5, release).start()
    with holding_fabric_lock(redis, 7, wait_seconds=60) as acquired:
        assert acquired and released.is_set()  # it waited for the release, and got the lock then
