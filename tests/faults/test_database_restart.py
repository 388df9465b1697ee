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

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.faults.checks import (
    Cluster,
    RowLock,
    admin_connection,
    assert_no_overlap,
    assert_one_chain,
    blocked_backends,
    kubernetes_rows,
    wait_for_run,
)
from tests.kmock_server import kube_api
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
def test_database_session_killed_mid_sync(live, tasks_redis, moment, monkeypatch):
    monkeypatch.setenv('HEDGEHOG_KUBERNETES_TIMEOUT', '15')  # the "idle" variant holds a list for 4 s
    with kube_api() as api:
        cluster = Cluster(api)
        for index in (1, 2, 3):
            cluster.add('Switch', f'leaf-0{index}', {'role': 'server-leaf', 'asn': 65100 + index})
        cluster.add('VPC', 'vpc-1', {'subnets': {'default': {'subnet': '10.0.1.0/24'}}})
        # A second VPC stays: a kind that suddenly empties is (safely) not pruned, which is not this test's subject.
        cluster.add('VPC', 'vpc-2', {'subnets': {'default': {'subnet': '10.0.2.0/24'}}})
        live.start_worker('worker-0')
        live.start_scheduler()
        fabric = HedgehogFabric.objects.create(name='pg-restart', sync_interval=INTERVAL, **cluster.fabric_fields())
        FabricScheduler().bootstrap()
        wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS, timeout=30)
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
                victims = wait_until(
                    blocked_backends, timeout=INTERVAL + 20, message='the sync blocked mid-transaction'
                )
            else:
                wait_until(
                    lambda: SyncRun.objects.filter(fabric=fabric, outcome='running').exists(),
                    timeout=INTERVAL + 20,
                    interval=0.05,
                    message='a sync reading the API',
                )
                wait_until(
                    lambda: len(api.list_requests('VPC')) >= 2,
                    timeout=10,
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
        wait_until(
            lambda: SyncRun.objects.get(pk=running.pk).finished_at, timeout=30, message='the interrupted run recorded'
        )
        running.refresh_from_db()
        if moment == 'in-transaction':
            assert running.outcome == SyncOutcomeChoices.FAILED, running.error
            assert 'terminating connection' in running.error or 'connection' in running.error.lower(), running.error
            assert kubernetes_rows(fabric) == before
        else:
            # The idle connection is replaced before the transaction begins: the run may well succeed.
            assert running.outcome in (SyncOutcomeChoices.FAILED, SyncOutcomeChoices.SUCCESS), running.error
            assert kubernetes_rows(fabric) in (before, cluster.objects)
        fabric.refresh_from_db()
        assert (
            fabric.sync_status != SyncStatusChoices.SYNCING
            or SyncRun.objects.filter(fabric=fabric, outcome='running').exists()
        ), 'the fabric says "syncing" but nothing runs'

        # The chain survived, without a watchdog: the next run comes within one interval and succeeds.
        run = wait_for_run(fabric, terminated, SyncOutcomeChoices.SUCCESS, timeout=2 * INTERVAL + 15)
        assert (run.started_at - running.finished_at).total_seconds() <= INTERVAL + 2
        assert kubernetes_rows(fabric) == cluster.objects
        assert not SyncRun.objects.filter(fabric=fabric, outcome='running', started_at__lt=run.started_at).exists()
        assert_no_overlap(fabric)
        assert_one_chain(tasks_redis, [fabric])
