"""PostgreSQL "restarted" under a running sync.

The machine's PostgreSQL server is shared, so it is not restarted. From the worker's point of
view a restart is this: the server ends its session (``pg_terminate_backend`` sends the same
FATAL "terminating connection due to administrator command" that a fast shutdown sends every
backend), the open transaction is rolled back, and the next statement must open a new
connection. The test terminates the sync's own backend, either while it waits inside its
transaction (blocked behind a row lock the test holds) or while the sync is reading the
Kubernetes API with its connection idle.
"""

import pytest
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogResource, SyncRun
from tests.faults.checks import (
    RowLock,
    admin_connection,
    assert_no_overlap,
    assert_one_chain,
    blocked_backends,
    fabric_after,
    kubernetes_rows,
    wait_for_run,
)
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INTERVAL = 4


def worker_backends():
    """This database's sessions other than the test's own (the worker's work horse and the scheduler's keeper)."""
    from django.db import connection

    with admin_connection() as admin:
        return [
            pid
            for (pid,) in admin.execute(
                'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() '
                "AND application_name NOT LIKE 'nbhh-faults-%%' AND pid <> %s",
                [connection.connection.info.backend_pid if connection.connection else 0],
            )
        ]


def terminate(pids):
    with admin_connection() as admin:
        for pid in pids:
            admin.execute('SELECT pg_terminate_backend(%s)', [pid])


@pytest.mark.parametrize('moment', ['in-transaction', 'idle'])
def test_database_session_killed_mid_sync(live, synced_fabric, tasks_redis, moment, monkeypatch):
    monkeypatch.setenv('HEDGEHOG_KUBERNETES_TIMEOUT', '15')  # the "idle" variant holds a list for 4 s
    api, cluster, fabric = synced_fabric('pg-restart', INTERVAL)
    before = dict(cluster.objects)
    row_lock = None
    if moment == 'in-transaction':
        leaf_01 = HedgehogResource.objects.get(fabric=fabric, kind='Switch', name='leaf-01')
        row_lock = RowLock(HedgehogResource._meta.db_table, leaf_01.pk)
    else:
        api.delay('VPC', 4)
    cluster.add('Switch', 'leaf-04', {'role': 'server-leaf', 'asn': 65104})
    cluster.add('Switch', 'leaf-01', {'role': 'border-leaf', 'asn': 65001})
    cluster.delete('VPC', 'vpc-1')
    try:
        if moment == 'in-transaction':
            victims = wait_until(blocked_backends, message='the sync blocked mid-transaction')
        else:
            wait_until(
                lambda: SyncRun.objects.filter(fabric=fabric, outcome='running').exists(),
                interval=0.05,
                message='a sync reading the API',
            )
            wait_until(
                lambda: len(api.list_requests('VPC')) >= 2,
                interval=0.05,
                message='the VPC list under way',
            )
            victims = worker_backends()
        running = SyncRun.objects.get(fabric=fabric, outcome=SyncOutcomeChoices.RUNNING)
        terminate(victims)
        terminated = timezone.now()
    finally:
        if row_lock:
            row_lock.release()
    api.delay('VPC', None)

    # The interrupted run ends, with an honest record; nothing it had written survives.
    wait_until(lambda: SyncRun.objects.get(pk=running.pk).finished_at, message='the interrupted run recorded')
    running.refresh_from_db()
    if moment == 'in-transaction':
        assert running.outcome == SyncOutcomeChoices.FAILED, running.error
        assert 'terminating connection' in running.error or 'connection' in running.error.lower(), running.error
        assert kubernetes_rows(fabric) == before
    else:
        # The idle connection is replaced before the transaction begins: the run may well succeed.
        assert running.outcome in (SyncOutcomeChoices.FAILED, SyncOutcomeChoices.SUCCESS), running.error
        assert kubernetes_rows(fabric) in (before, cluster.objects)
    fabric_after(running)  # the fabric does not stay "syncing" with nothing running

    # The chain survived, without a watchdog: its next slot on the same anchor runs and succeeds.
    run = wait_for_run(fabric, terminated, SyncOutcomeChoices.SUCCESS)
    assert run.trigger == SyncTriggerChoices.SCHEDULE
    slots = (run.planned_at - running.planned_at).total_seconds() / INTERVAL
    assert slots >= 1 and slots == int(slots), (running.planned_at, run.planned_at)
    assert kubernetes_rows(fabric) == cluster.objects
    assert not SyncRun.objects.filter(fabric=fabric, outcome='running', started_at__lt=run.started_at).exists()
    assert_no_overlap(fabric)
    assert_one_chain(tasks_redis, [fabric])
