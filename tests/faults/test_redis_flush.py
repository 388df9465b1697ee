"""The plugin's Redis database flushed: every schedule, queue entry, lock and the watchdog job are gone."""

import time

import pytest
from core.choices import JobStatusChoices
from core.models import Job
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler, chain_job_id
from netbox_hedgehog.scheduling.watchdog import SyncWatchdog
from tests.faults.checks import (
    assert_no_overlap,
    assert_one_chain,
    chain_places,
    git_rows,
    repo_objects,
    wait_for_run,
)
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# How often the keeper thread in rqscheduler re-seeds the watchdog (keep_watchdog_scheduled's default).
KEEPER_PERIOD = 30


def flush_when_idle(redis, fabrics):
    """Flush the tasks Redis at a moment when every chain waits in rq-scheduler, due no sooner than in 2 s:
    then the flush loses every chain (unless this process stalls for those 2 s)."""
    scheduler = FabricScheduler(redis)

    def idle():
        places = chain_places(redis)
        # Read after the places: a chain still waiting here, 2 s or more before it is due, stays until the flush.
        planned = [scheduler.planned_time(fabric.pk) for fabric in fabrics]
        return all(places.get(chain_job_id(fabric.pk)) == ['scheduled'] for fabric in fabrics) and all(
            at is not None and (at - timezone.now()).total_seconds() >= 2 for at in planned
        )

    wait_until(idle, interval=0.05, message='every chain waiting in rq-scheduler')
    redis.flushdb()
    return timezone.now()


def no_work_in_flight(redis):
    """No chain job queued or being run (those that survived the flush wait in rq-scheduler)."""
    return all(where == ['scheduled'] for where in chain_places(redis).values()) and not (
        SyncRun.objects.filter(outcome=SyncOutcomeChoices.RUNNING).exists()
    )


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
        wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS)
    flushed = flush_when_idle(tasks_redis, fabrics)
    # A lost chain would have run within one interval; only the clock can tell that it did not.
    time.sleep(interval + 1)
    wait_until(lambda: no_work_in_flight(tasks_redis), interval=0.05, message='no work in flight')
    lost = [fabric for fabric in fabrics if FabricScheduler().planned_time(fabric.pk) is None]
    assert lost, 'the flush lost nothing'
    assert not SyncRun.objects.filter(fabric__in=lost, started_at__gt=flushed).exists()

    report = FabricScheduler().repair()  # one watchdog period
    repaired = timezone.now()
    assert report['scheduled'] == len(lost), report
    for fabric in fabrics:
        run = wait_for_run(fabric, flushed, SyncOutcomeChoices.SUCCESS)
        if fabric in lost:  # the repaired chain's first run, planned within one interval of the repair
            assert run.trigger == SyncTriggerChoices.WATCHDOG
            assert (run.planned_at - repaired).total_seconds() <= interval + 1  # +1: whole-second planned times
        assert git_rows(fabric) == repo_objects(gitops_repo)
        assert_no_overlap(fabric)
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
        wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS)
    wait_until(
        lambda: SyncWatchdog.get_jobs().filter(status='completed').exists(),
        message='the watchdog seeded by the worker ran once',
    )
    flushed = flush_when_idle(tasks_redis, fabrics)

    first_runs = {fabric.pk: wait_for_run(fabric, flushed) for fabric in fabrics}
    recovery = max((run.started_at - flushed).total_seconds() for run in first_runs.values())
    with capsys.disabled():
        print(
            f'\n[faults] Redis flush -> every chain ran again after {recovery:.1f} s '
            f'(keeper period {KEEPER_PERIOD} s, interval {interval} s)'
        )
    assert all(run.outcome == SyncOutcomeChoices.SUCCESS for run in first_runs.values())
    # Each chain came back through the watchdog, not through anything else.
    assert {run.trigger for run in first_runs.values()} == {SyncTriggerChoices.WATCHDOG}
    repairs = SyncWatchdog.get_jobs().filter(status='completed', completed__gt=flushed)
    assert any((job.data or {}).get('scheduled') for job in repairs), [job.data for job in repairs]

    def one_watchdog_waiting():
        waiting = Job.objects.filter(name=SyncWatchdog.name, status__in=JobStatusChoices.ENQUEUED_STATE_CHOICES)
        assert waiting.count() <= 1, 'the watchdog is scheduled twice'
        return waiting.count() == 1

    # While the watchdog runs, its successor is not yet scheduled: wait for that moment to pass.
    wait_until(one_watchdog_waiting, interval=0.1, message='the next watchdog run scheduled')
    for fabric in fabrics:
        assert git_rows(fabric) == repo_objects(gitops_repo)
        assert_no_overlap(fabric)
    assert_one_chain(tasks_redis, fabrics)
