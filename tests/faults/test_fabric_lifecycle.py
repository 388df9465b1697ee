"""A fabric deleted or disabled while its sync job waits in the queue or runs."""

import pytest
from django.utils import timezone
from rq import Queue

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, FabricScheduler, chain_job_id
from tests.faults.checks import Cluster, assert_no_overlap, assert_one_chain, chain_alive, kubernetes_rows, wait_for_run
from tests.kmock_server import kube_api
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INTERVAL = 3
SLOW_LIST = 3  # seconds a VPC list takes while a test holds a sync "running"


@pytest.fixture
def patient_client(monkeypatch):
    """A Kubernetes timeout longer than the slow list, so that a slow sync is slow and not failed."""
    monkeypatch.setenv('HEDGEHOG_KUBERNETES_TIMEOUT', str(SLOW_LIST + 10))


def populated(api):
    cluster = Cluster(api)
    for index in (1, 2):
        cluster.add('Switch', f'leaf-0{index}', {'role': 'server-leaf', 'asn': 65100 + index})
    cluster.add('VPC', 'vpc-1', {'subnets': {'default': {'subnet': '10.0.1.0/24'}}})
    return cluster


def syncing(fabric):
    return SyncRun.objects.filter(fabric_id=fabric.pk, outcome=SyncOutcomeChoices.RUNNING).exists()


@pytest.mark.parametrize('change', ['delete', 'disable'])
def test_fabric_changed_while_its_sync_runs(live, tasks_redis, patient_client, change):
    with kube_api() as api:
        cluster = populated(api)
        live.start_worker('worker-0')
        live.start_scheduler()
        fabric = HedgehogFabric.objects.create(name='changing', sync_interval=INTERVAL, **cluster.fabric_fields())
        bystander = HedgehogFabric.objects.create(name='bystander', sync_interval=INTERVAL, **cluster.fabric_fields())
        FabricScheduler().bootstrap()
        wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS)
        cluster.add('Switch', 'leaf-03', {'role': 'server-leaf'})  # the running sync has something to write
        api.delay('VPC', SLOW_LIST)
        wait_until(lambda: syncing(fabric), interval=0.05, message='a running sync')
        fabric_id = fabric.pk
        if change == 'delete':
            fabric.delete()
            fabric.pk = fabric_id  # the checks below look for what is left of it
        else:
            fabric.sync_enabled = False
            fabric.save()
        # The running sync ends, and its chain job with it (not scheduled, queued or running any more).
        wait_until(lambda: not chain_alive(fabric), interval=0.05, message='the chain of the fabric ended')
        api.delay('VPC', None)
        wait_for_run(bystander, timezone.now(), SyncOutcomeChoices.SUCCESS)
        assert not chain_alive(fabric), 'the chain came back'
        if change == 'delete':
            assert not HedgehogResource.objects.filter(fabric_id=fabric.pk).exists(), 'rows of a deleted fabric'
            assert not SyncRun.objects.filter(fabric_id=fabric.pk).exists()
            assert_one_chain(tasks_redis, [bystander])
            # The sync that met the deletion ended quietly: not as a failed job, not with a traceback.
            assert 'Traceback' not in live.log('worker-0'), live.log('worker-0')[-3000:]
        else:
            fabric.refresh_from_db()
            # The run that was under way finished (and honestly): its data complete, or none of it.
            last = SyncRun.objects.filter(fabric=fabric).latest('started_at')
            assert last.finished_at is not None and last.outcome == SyncOutcomeChoices.SUCCESS, last.error
            assert fabric.sync_status == SyncStatusChoices.IN_SYNC  # written before the chain job ended
            assert kubernetes_rows(fabric) == cluster.objects
            assert not SyncRun.objects.filter(fabric=fabric, started_at__gt=last.finished_at).exists()
            assert fabric.next_sync is None
            assert_no_overlap(fabric)
            assert_one_chain(tasks_redis, [fabric, bystander])
        assert kubernetes_rows(bystander) == cluster.objects
        assert_no_overlap(bystander)


@pytest.mark.parametrize('change', ['delete', 'disable'])
def test_fabric_changed_while_its_sync_is_queued(live, tasks_redis, change):
    with kube_api() as api:
        cluster = populated(api)
        live.start_scheduler()  # no worker yet: the due chain job waits in the queue
        fabric = HedgehogFabric.objects.create(name='waiting', sync_interval=INTERVAL, **cluster.fabric_fields())
        manual = FabricScheduler().trigger_now(fabric)
        queue = Queue(QUEUE_NAME, connection=tasks_redis)
        wait_until(lambda: chain_job_id(fabric.pk) in queue.get_job_ids(), message='the chain job queued')
        fabric_id = fabric.pk
        if change == 'delete':
            fabric.delete()
            fabric.pk = fabric_id
        else:
            fabric.sync_enabled = False
            fabric.save()
        changed = timezone.now()
        live.start_worker('worker-0')
        wait_until(lambda: not queue.get_job_ids(), message='the queue drained')
        wait_until(lambda: queue.started_job_registry.count == 0, message='the jobs ended')

        assert FabricScheduler().planned_time(fabric.pk) is None
        assert not queue.failed_job_registry.get_job_ids(), 'a job failed'
        if change == 'delete':
            assert not SyncRun.objects.filter(fabric_id=fabric.pk).exists()
        else:
            runs = list(SyncRun.objects.filter(fabric=fabric))
            # Both the chain job and the manual request found the fabric disabled: recorded as skips.
            assert {run.trigger for run in runs} == {'schedule', 'manual'}, runs
            assert all(run.outcome == SyncOutcomeChoices.SKIPPED and 'disabled' in run.error for run in runs)
            assert manual.job_id in {run.job_id for run in runs}
            assert not HedgehogResource.objects.filter(fabric=fabric).exists()
            fabric.refresh_from_db()
            assert fabric.next_sync is None and fabric.running_since is None
        assert not tasks_redis.zrange('rq:scheduler:scheduled_jobs', 0, -1)
        assert changed
