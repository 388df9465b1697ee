"""The rqscheduler killed, restarted, and running twice at once."""

import time

import pytest
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.faults.checks import assert_no_overlap, assert_one_chain, finished_runs, git_rows, repo_objects, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INTERVAL = 2
# rq-scheduler's global lock ('rq:scheduler_lock') expires interval + 10 s after a killed holder's last poll.
SCHEDULER_LOCK_EXPIRY = 1 + 10


def test_two_schedulers_never_double_a_run_and_a_restarted_one_resumes_the_chain(live, tasks_redis, gitops_repo):
    live.start_worker('worker-0')
    live.start_scheduler('scheduler-a')
    live.start_scheduler('scheduler-b')
    fabrics = [
        HedgehogFabric.objects.create(name=f'twice-{n}', git_repository_url=str(gitops_repo), sync_interval=INTERVAL)
        for n in range(3)
    ]
    FabricScheduler().bootstrap()
    time.sleep(14)  # two schedulers polling every second over ~7 slots

    for fabric in fabrics:
        runs = finished_runs(fabric)
        assert len(runs) >= 4, [run.started_at for run in runs]
        assert all(run.outcome == SyncOutcomeChoices.SUCCESS for run in runs), [run.error for run in runs]
        assert_no_overlap(fabric)  # also: no planned slot ran twice
    assert not SyncRun.objects.filter(outcome=SyncOutcomeChoices.SKIPPED).exists()  # nobody even tried twice

    # Both schedulers die; the chains wait in Redis, due.
    live.kill('scheduler-a')
    live.kill('scheduler-b')
    time.sleep(2 * INTERVAL)
    stalled = timezone.now()
    time.sleep(INTERVAL + 1)
    assert not SyncRun.objects.filter(started_at__gt=stalled).exists(), 'something ran without a scheduler'

    live.start_scheduler('scheduler-c')
    restarted = timezone.now()
    for fabric in fabrics:
        # A missed slot is run late once (not replayed per slot), once the dead scheduler's lock has expired.
        run = wait_for_run(fabric, stalled, SyncOutcomeChoices.SUCCESS, timeout=SCHEDULER_LOCK_EXPIRY + INTERVAL + 15)
        assert (run.started_at - restarted).total_seconds() <= SCHEDULER_LOCK_EXPIRY + INTERVAL + 3
    time.sleep(3 * INTERVAL)
    for fabric in fabrics:
        after = finished_runs(fabric, stalled)
        assert len(after) >= 3, 'the chain did not go on after the restart'
        late_slots = [run for run in after if run.lateness > INTERVAL]
        assert len(late_slots) <= 1, [run.lateness for run in after]  # skipped, not replayed
        assert git_rows(fabric) == repo_objects(gitops_repo)
        assert_no_overlap(fabric)
    assert_one_chain(tasks_redis, fabrics)
