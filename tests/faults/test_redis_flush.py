"""The plugin's Redis database flushed: every schedule, queue entry, lock and the watchdog job are gone."""

import time

import pytest
from core.models import Job
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from netbox_hedgehog.scheduling.watchdog import SyncWatchdog
from tests.faults.checks import assert_no_overlap, assert_one_chain, git_rows, repo_objects, wait_for_run
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# How often the keeper thread in rqscheduler re-seeds the watchdog (keep_watchdog_scheduled's default).
KEEPER_PERIOD = 30


def idle_moment(fabrics, timeout=30):
    """Wait until no fabric is syncing, so that a flush really loses every chain entry."""

    def idle():
        return not SyncRun.objects.filter(fabric__in=fabrics, outcome=SyncOutcomeChoices.RUNNING).exists()

    wait_until(idle, timeout=timeout, interval=0.05, message='no sync running')


def test_flush_is_repaired_within_one_watchdog_period(live, tasks_redis, gitops_repo):
    interval = 4
    live.start_worker('worker-0')
    live.start_scheduler()
    fabrics = [
        HedgehogFabric.objects.create(name=f'flushed-{n}', git_repository_url=str(gitops_repo), sync_interval=interval)
        for n in range(3)
    ]
    FabricScheduler().bootstrap()
    for fabric in fabrics:
        wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS, timeout=30)
    idle_moment(fabrics)
    tasks_redis.flushdb()
    flushed = timezone.now()
    time.sleep(interval + 2)
    # Without the watchdog nothing would ever run again (a run in flight at the flush may put its chain back).
    lost = [fabric for fabric in fabrics if FabricScheduler().planned_time(fabric.pk) is None]
    assert lost, 'the flush lost nothing'
    assert not SyncRun.objects.filter(fabric__in=lost, started_at__gt=flushed).exists()

    report = FabricScheduler().repair()  # one watchdog period
    repaired = timezone.now()
    assert report['scheduled'] == len(lost), report
    for fabric in fabrics:
        run = wait_for_run(fabric, flushed, SyncOutcomeChoices.SUCCESS, timeout=interval + 15)
        if fabric in lost:
            assert (run.started_at - repaired).total_seconds() <= interval + 2
        assert git_rows(fabric) == repo_objects(gitops_repo)
        assert_no_overlap(fabric)
    idle_moment(fabrics)  # a chain job being run is in neither the schedule nor the queue
    assert_one_chain(tasks_redis, fabrics)


def test_flush_is_repaired_by_the_real_watchdog_reseeded_by_the_keeper(live, tasks_redis, gitops_repo, capsys):
    """No help from the test: the keeper thread in rqscheduler re-seeds the watchdog system job, which a
    worker serving ``default`` runs; the watchdog re-creates the chains."""
    interval = 10
    live.start_worker('worker-0', serve_default=True)
    live.start_scheduler()
    fabrics = [
        HedgehogFabric.objects.create(name=f'watched-{n}', git_repository_url=str(gitops_repo), sync_interval=interval)
        for n in range(3)
    ]
    FabricScheduler().bootstrap()
    for fabric in fabrics:
        wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS, timeout=30)
    wait_until(
        lambda: SyncWatchdog.get_jobs().filter(status='completed').exists(),
        timeout=30,
        message='the watchdog seeded by the worker ran once',
    )
    idle_moment(fabrics)
    tasks_redis.flushdb()
    flushed = timezone.now()

    first_runs = {fabric.pk: wait_for_run(fabric, flushed, timeout=KEEPER_PERIOD + interval + 20) for fabric in fabrics}
    recovery = max((run.started_at - flushed).total_seconds() for run in first_runs.values())
    with capsys.disabled():
        print(
            f'\n[faults] Redis flush -> every chain ran again after {recovery:.1f} s '
            f'(keeper period {KEEPER_PERIOD} s, interval {interval} s)'
        )
    assert recovery <= KEEPER_PERIOD + interval + 5
    assert all(run.outcome == SyncOutcomeChoices.SUCCESS for run in first_runs.values())
    repairs = SyncWatchdog.get_jobs().filter(status='completed', completed__gt=flushed)
    assert any((job.data or {}).get('scheduled') for job in repairs), [job.data for job in repairs]
    assert Job.objects.filter(name=SyncWatchdog.name, status__in=('scheduled', 'pending')).count() == 1
    for fabric in fabrics:
        assert git_rows(fabric) == repo_objects(gitops_repo)
        assert_no_overlap(fabric)
    assert_one_chain(tasks_redis, fabrics)
