"""The per-fabric lock: exclusive across processes sharing Redis, expiring, renewed while held, and a lost lock
noticed before a run writes anything."""

import threading
import weakref

import fakeredis
import pytest
import redis_lock
from redis.exceptions import ConnectionError as RedisConnectionError

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling import jobs
from netbox_hedgehog.scheduling.jobs import LOCK_LOST, execute_fabric_sync
from netbox_hedgehog.scheduling.locks import FabricLock, LockLost, fabric_lock, holding_fabric_lock, is_fabric_locked
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from netbox_hedgehog.sync.pipeline import SyncResult, sync_fabric


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


class Turns:
    """A renewal thread's stop event that lets ``count`` renewals happen at once, then stops: no waiting."""

    def __init__(self, count):
        self.left = count

    def wait(self, timeout):
        self.left -= 1
        return self.left < 0


def test_renewal_survives_a_redis_error_and_notices_a_lost_lock(redis):
    with holding_fabric_lock(redis, 7) as lock:
        renew = lock.extend
        attempts = []
        outage = [True]  # Redis refuses the first renewal only

        def flaky_extend(expire=None):
            attempts.append(expire)
            if outage.pop() if outage else False:
                raise RedisConnectionError('Error 111 connecting to redis:6379. Connection refused.')
            renew(expire)

        lock.extend = flaky_extend
        FabricLock._lock_renewer(lock._name, weakref.ref(lock), 0, Turns(2))
        assert len(attempts) == 2 and not lock.lost.is_set()  # upstream's thread would have died at the first
        lock.confirm()

        redis.delete('lock:netbox_hedgehog:fabric:7')  # Redis restarted without persistence, or the lock expired
        assert fabric_lock(redis, 7).acquire(blocking=False)  # ... and another worker took it
        attempts.clear()
        FabricLock._lock_renewer(lock._name, weakref.ref(lock), 0, Turns(5))
        assert len(attempts) == 1 and lock.lost.is_set()  # the renewer stops at the lost lock
        with pytest.raises(LockLost):
            lock.confirm()
    # Leaving the block did not raise although the lock was no longer ours to release.
    assert is_fabric_locked(redis, 7)


@pytest.fixture
def job_redis(redis, monkeypatch):
    """The fakeredis is the tasks Redis of every FabricScheduler, including the job's."""
    monkeypatch.setattr('django_rq.get_connection', lambda *args, **kwargs: redis)
    return redis


@pytest.mark.django_db
def test_a_run_that_lost_its_lock_aborts_before_writing(job_redis, gitops_repo, monkeypatch):
    fabric = HedgehogFabric.objects.create(name='fenced', git_repository_url=str(gitops_repo), sync_interval=60)

    def lose_the_lock_then_sync(fabric, **options):
        job_redis.delete(f'lock:netbox_hedgehog:fabric:{fabric.pk}')
        assert fabric_lock(job_redis, fabric.pk).acquire(blocking=False)  # a second sync starts
        return sync_fabric(fabric, **options)

    monkeypatch.setattr(jobs, 'sync_fabric', lose_the_lock_then_sync)
    execute_fabric_sync(fabric.pk)

    run = SyncRun.objects.get(fabric=fabric)
    assert run.outcome == SyncOutcomeChoices.FAILED and run.error == LOCK_LOST
    assert not HedgehogResource.objects.filter(fabric=fabric).exists()  # the apply rolled back
    fabric.refresh_from_db()
    assert fabric.sync_status == SyncStatusChoices.ERROR
    assert FabricScheduler().planned_time(fabric.pk) is not None  # the chain goes on

    # The same run with its lock kept writes the wiring: the fence, not the fixture, stopped the first.
    job_redis.delete(f'lock:netbox_hedgehog:fabric:{fabric.pk}')
    monkeypatch.setattr(jobs, 'sync_fabric', sync_fabric)
    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)
    assert HedgehogResource.objects.filter(fabric=fabric).exists()


@pytest.mark.django_db
def test_a_lock_that_expired_after_the_apply_does_not_fail_a_good_run(job_redis, monkeypatch):
    fabric = HedgehogFabric.objects.create(name='late-release', git_repository_url='/repo', sync_interval=60)

    def sync_then_lose_the_lock(fabric, **options):
        job_redis.delete(f'lock:netbox_hedgehog:fabric:{fabric.pk}')
        return SyncResult(created=1)

    monkeypatch.setattr(jobs, 'sync_fabric', sync_then_lose_the_lock)
    execute_fabric_sync(fabric.pk)

    assert SyncRun.objects.get(fabric=fabric).outcome == SyncOutcomeChoices.SUCCESS
