"""A worker (and its work horse) killed with SIGKILL in the middle of a sync."""

import pytest
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.locks import is_fabric_locked
from netbox_hedgehog.scheduling.scheduler import INTERRUPTED_SYNC, FabricScheduler
from tests.faults.checks import (
    RowLock,
    assert_no_overlap,
    assert_one_chain,
    backend_alive,
    blocked_backends,
    fabric_after,
    kubernetes_rows,
    wait_for_run,
)
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INTERVAL = 4


@pytest.mark.parametrize('moment', ['reading', 'writing'])
def test_sigkill_mid_sync_rolls_back_and_the_chain_resumes(live, synced_fabric, tasks_redis, moment):
    """``reading``: killed while a Kubernetes list hangs (kmock delay); ``writing``: killed inside the
    run's transaction, after its INSERTs, while its UPDATE waits for a row lock the test holds."""
    api, cluster, fabric = synced_fabric('killed', INTERVAL)
    before = dict(cluster.objects)
    assert kubernetes_rows(fabric) == before
    # The next run would create leaf-04, change leaf-01 and delete vpc-1.
    row_lock = None
    if moment == 'writing':
        leaf_01 = HedgehogResource.objects.get(fabric=fabric, kind='Switch', name='leaf-01')
        row_lock = RowLock(HedgehogResource._meta.db_table, leaf_01.pk)
    else:
        api.delay('VPC', 600)
    cluster.add('Switch', 'leaf-04', {'role': 'server-leaf', 'asn': 65104})
    cluster.add('Switch', 'leaf-01', {'role': 'border-leaf', 'asn': 65001})
    cluster.delete('VPC', 'vpc-1')
    try:
        if moment == 'writing':
            blocked = wait_until(blocked_backends, message='the sync blocked mid-transaction')
        else:
            wait_until(
                lambda: (
                    api.list_requests('VPC')
                    and HedgehogFabric.objects.get(pk=fabric.pk).running_since is not None
                    and len(api.list_requests('VPC')) >= 2
                ),
                message='a sync waiting for the VPC list',
            )
        running = SyncRun.objects.get(fabric=fabric, outcome=SyncOutcomeChoices.RUNNING)
        live.kill('worker-0')
    finally:
        if row_lock:
            row_lock.release()  # the killed sync's backend now reads EOF and rolls back
        api.delay('VPC', None)
    killed_at = timezone.now()
    if moment == 'writing':
        wait_until(
            lambda: not any(backend_alive(pid) for pid in blocked),
            message="the killed sync's database session ended",
        )

    # Nothing of the killed run reached the database: the old rows, all of them, unchanged.
    assert kubernetes_rows(fabric) == before
    fabric.refresh_from_db()
    assert fabric.running_since is not None  # what the dead run left behind ...
    assert FabricScheduler().status([fabric]).fabrics[0].stale is False or not is_fabric_locked(tasks_redis, fabric.pk)
    wait_until(
        lambda: not is_fabric_locked(tasks_redis, fabric.pk),
        message="the killed sync's lock expired",
    )
    assert FabricScheduler().status([fabric]).fabrics[0].stale is True  # ... and the status page says so
    assert FabricScheduler().planned_time(fabric.pk) is None  # the chain died with its job

    report = FabricScheduler().repair()  # one watchdog period
    repaired_at = timezone.now()
    assert report['scheduled'] == 1 and report['stale_syncs_cleared'] == 1, report
    fabric.refresh_from_db()  # no worker runs yet: nothing but the repair has changed the fabric
    assert fabric.sync_status == SyncStatusChoices.ERROR and fabric.sync_error == INTERRUPTED_SYNC
    running.refresh_from_db()
    assert running.outcome == SyncOutcomeChoices.FAILED and running.finished_at is not None
    live.start_worker('worker-1')

    run = wait_for_run(fabric, killed_at)
    assert run.outcome == SyncOutcomeChoices.SUCCESS, run.error
    # The chain the repair created: its first run, planned within one interval of the repair.
    assert run.trigger == SyncTriggerChoices.WATCHDOG
    assert (run.planned_at - repaired_at).total_seconds() <= INTERVAL + 1  # +1: planned times are whole seconds
    assert kubernetes_rows(fabric) == cluster.objects
    fabric = fabric_after(run)
    assert fabric.sync_status == SyncStatusChoices.IN_SYNC
    assert fabric.last_successful_sync >= run.started_at
    assert_one_chain(tasks_redis, [fabric])
    assert_no_overlap(fabric)
