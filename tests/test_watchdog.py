"""The watchdog repairs chains, queue duplicates and stale states, and keeps itself seeded."""

import django_rq
import fakeredis
import pytest
from core.choices import JobStatusChoices
from core.models import Job
from django.utils import timezone
from netbox.registry import registry
from rq import Queue

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.locks import fabric_lock
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, FabricScheduler, chain_job_id
from netbox_hedgehog.scheduling.watchdog import WATCHDOG_INTERVAL, SyncWatchdog

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis(monkeypatch):
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr('django_rq.get_connection', lambda *args, **kwargs: connection)
    return connection


def chain_entries(redis):
    return sorted(job_id.decode() for job_id in redis.zrange('rq:scheduler:scheduled_jobs', 0, -1))


def test_repair_restores_everything_and_is_idempotent(redis):
    lost = HedgehogFabric.objects.create(name='lost', git_repository_url='/repo', sync_interval=60)
    killed = HedgehogFabric.objects.create(name='killed', git_repository_url='/repo', sync_interval=60)
    busy = HedgehogFabric.objects.create(name='busy', git_repository_url='/repo', sync_interval=60)
    scheduler = FabricScheduler()
    scheduler.schedule(busy, timezone.now())
    redis.zadd('rq:scheduler:scheduled_jobs', {chain_job_id(999999): 1})  # a deleted fabric's entry
    queue = Queue(QUEUE_NAME, connection=redis)
    for _ in range(3):
        redis.rpush(queue.key, chain_job_id(busy.pk))
    HedgehogFabric.objects.filter(pk__in=[killed.pk, busy.pk]).update(sync_status=SyncStatusChoices.SYNCING)
    dead_run = SyncRun.objects.create(fabric=killed, trigger='schedule', started_at=timezone.now())
    running = fabric_lock(redis, busy.pk)
    assert running.acquire(blocking=False)

    report = scheduler.repair()

    assert report == {
        'fabrics': 3,
        'scheduled': 2,
        'orphans_removed': 1,
        'duplicates_removed': 2,
        'stale_syncs_cleared': 1,
    }
    assert chain_entries(redis) == sorted(chain_job_id(f.pk) for f in (lost, killed, busy))
    assert queue.get_job_ids() == [chain_job_id(busy.pk)]
    killed.refresh_from_db()
    busy.refresh_from_db()
    assert killed.sync_status == SyncStatusChoices.ERROR and 'interrupted' in killed.sync_error
    assert busy.sync_status == SyncStatusChoices.SYNCING  # its lock is held: it really is syncing
    dead_run.refresh_from_db()
    assert dead_run.outcome == SyncOutcomeChoices.FAILED and dead_run.finished_at is not None

    assert scheduler.repair() == {
        'fabrics': 3,
        'scheduled': 0,
        'orphans_removed': 0,
        'duplicates_removed': 0,
        'stale_syncs_cleared': 0,
    }
    running.release()


def test_watchdog_is_a_netbox_system_job_that_records_its_repairs(redis):
    assert registry['system_jobs'][SyncWatchdog] == {'interval': WATCHDOG_INTERVAL}
    HedgehogFabric.objects.create(name='lost', git_repository_url='/repo', sync_interval=60)
    job = Job.objects.create(name=SyncWatchdog.name, job_id='00000000-0000-0000-0000-000000000001')

    SyncWatchdog.handle(job)

    job.refresh_from_db()
    assert job.status == JobStatusChoices.STATUS_COMPLETED
    assert job.data['scheduled'] == 1
    assert any('repaired' in entry['message'] for entry in job.log_entries)


def test_watchdog_lost_from_redis_is_seeded_again(django_capture_on_commit_callbacks):
    def ensure():
        with django_capture_on_commit_callbacks(execute=True):  # NetBox enqueues to RQ on commit
            return SyncWatchdog.ensure_scheduled()

    django_rq.get_connection('default').flushdb()  # the tests' own Redis database
    seeded = ensure()
    assert ensure() == seeded  # while its RQ job exists, nothing changes

    django_rq.get_connection('default').flushdb()  # Redis loses everything
    reseeded = ensure()

    assert reseeded.pk != seeded.pk
    seeded.refresh_from_db()
    assert seeded.status == JobStatusChoices.STATUS_ERRORED
    assert reseeded.status in JobStatusChoices.ENQUEUED_STATE_CHOICES
