"""The rqscheduler killed, restarted, and running twice at once."""

import pytest
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.faults.checks import (
    assert_no_overlap,
    assert_one_chain,
    chain_places,
    finished_runs,
    git_rows,
    repo_objects,
)
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INTERVAL = 2


def test_two_schedulers_never_double_a_run_and_a_restarted_one_resumes_the_chain(live, tasks_redis, gitops_repo):
    live.start_worker('worker-0')
    live.start_scheduler('scheduler-a')
    live.start_scheduler('scheduler-b')
    fabrics = [
        HedgehogFabric.objects.create(name=f'twice-{n}', git_repository_url=str(gitops_repo), sync_interval=INTERVAL)
        for n in range(3)
    ]
    FabricScheduler().bootstrap()
    wait_until(
        lambda: all(len(finished_runs(fabric)) >= 4 for fabric in fabrics),
        interval=0.5,
        message='four runs of each fabric, with two schedulers polling',
    )

    for fabric in fabrics:
        runs = finished_runs(fabric)
        assert all(run.outcome == SyncOutcomeChoices.SUCCESS for run in runs), [run.error for run in runs]
        assert_no_overlap(fabric)  # also: no planned slot ran twice
    assert not SyncRun.objects.filter(outcome=SyncOutcomeChoices.SKIPPED).exists()  # nobody even tried twice

    # Both schedulers die; once the work in flight is done, the chains wait in Redis and fall due.
    live.kill('scheduler-a')
    live.kill('scheduler-b')
    scheduler = FabricScheduler()

    def waiting():
        places = chain_places(tasks_redis)
        return len(places) == len(fabrics) and all(where == ['scheduled'] for where in places.values())

    wait_until(waiting, interval=0.1, message='every chain waiting in rq-scheduler, none queued or running')
    stalled = timezone.now()
    due = max(scheduler.planned_time(fabric.pk) for fabric in fabrics)
    # Only the wall clock can pass a slot: wait until every chain is a slot overdue, then look.
    wait_until(lambda: (timezone.now() - due).total_seconds() > INTERVAL, message='every chain overdue')
    assert not SyncRun.objects.filter(started_at__gt=stalled).exists(), 'something ran without a scheduler'
    assert waiting(), chain_places(tasks_redis)

    live.start_scheduler('scheduler-c')
    restarted = timezone.now()
    # Once the dead schedulers' lock has expired, each missed chain runs late, once, and goes on.
    wait_until(
        lambda: all(len(finished_runs(fabric, stalled)) >= 3 for fabric in fabrics),
        interval=0.5,
        message='the chains going on after the restart',
    )
    for fabric in fabrics:
        after = finished_runs(fabric, stalled)
        # The missed slots are skipped, not replayed: one run for all of them, then the slots to come.
        missed = [run for run in after if run.planned_at < restarted]
        assert len(missed) == 1, [(run.planned_at, run.started_at) for run in after]
        assert all(run.outcome == SyncOutcomeChoices.SUCCESS for run in after), [run.error for run in after]
        assert git_rows(fabric) == repo_objects(gitops_repo)
        assert_no_overlap(fabric)
    assert_one_chain(tasks_redis, fabrics)
