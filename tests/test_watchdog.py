"""The watchdog repairs chains, queue duplicates and runs whose worker died, keeps itself seeded, and does not
flood NetBox's Jobs list."""

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
from netbox_hedgehog.scheduling.locks import fabric_lock, holding_fabric_lock
from netbox_hedgehog.scheduling.scheduler import INTERRUPTED_SYNC, QUEUE_NAME, FabricScheduler, chain_job_id
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


def test_repair_closes_runs_whose_worker_died_dry_runs_included(redis):
    fabric = HedgehogFabric.objects.create(
        name='dead-worker', git_repository_url='/repo', sync_status=SyncStatusChoices.IN_SYNC
    )
    dry = SyncRun.objects.create(fabric=fabric, trigger='manual', started_at=timezone.now(), dry_run=True)

    assert FabricScheduler().repair()['stale_syncs_cleared'] == 1

    dry.refresh_from_db()
    assert dry.outcome == SyncOutcomeChoices.FAILED and 'interrupted' in dry.error and dry.finished_at is not None
    fabric.refresh_from_db()
    assert fabric.sync_status == SyncStatusChoices.IN_SYNC  # a dry run never speaks for the fabric

    real = SyncRun.objects.create(fabric=fabric, trigger='schedule', started_at=timezone.now())
    FabricScheduler().repair()
    real.refresh_from_db()
    fabric.refresh_from_db()
    assert real.outcome == SyncOutcomeChoices.FAILED
    assert fabric.sync_status == SyncStatusChoices.ERROR and fabric.sync_error == INTERRUPTED_SYNC


def test_a_run_in_progress_is_not_stale(redis):
    fabric = HedgehogFabric.objects.create(name='alive', git_repository_url='/repo')
    run = SyncRun.objects.create(fabric=fabric, trigger='manual', started_at=timezone.now(), dry_run=True)
    with holding_fabric_lock(redis, fabric.pk):
        assert FabricScheduler().repair()['stale_syncs_cleared'] == 0
    run.refresh_from_db()
    assert run.outcome == SyncOutcomeChoices.RUNNING


def test_watchdog_keeps_no_row_of_runs_that_repaired_nothing(redis):
    def watchdog_run(number):
        job = Job.objects.create(name=SyncWatchdog.name, job_id=f'00000000-0000-0000-0000-{number:012d}')
        SyncWatchdog.handle(job)
        return job

    HedgehogFabric.objects.create(name='lost', git_repository_url='/repo', sync_interval=60)
    repairing = watchdog_run(1)  # re-creates the lost chain
    for number in range(2, 6):
        quiet = watchdog_run(number)

    rows = SyncWatchdog.get_jobs().filter(status=JobStatusChoices.STATUS_COMPLETED)
    assert sorted(rows.values_list('pk', flat=True)) == [repairing.pk, quiet.pk]  # and the latest, quiet or not
    repairing.refresh_from_db()
    assert repairing.data['repaired'] == 1 and repairing.data['scheduled'] == 1
