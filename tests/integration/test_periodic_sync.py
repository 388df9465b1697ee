"""The periodic sync under real processes: rqworker + rqscheduler, PostgreSQL, Redis, Git and kmock."""

import pytest

from netbox_hedgehog.choices import ConnectionStatusChoices, SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.faults.checks import assert_one_chain, chain_alive, fabric_after
from tests.kmock_server import kube_api
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished_runs(fabric):
    return SyncRun.objects.filter(fabric=fabric).exclude(finished_at=None).order_by('started_at')


# The forking worker NetBox runs by default, and the non-forking one docs/deployment.md suggests for many fabrics.
@pytest.mark.parametrize('live_processes', [None, 'rq.worker.SimpleWorker'], indirect=True)
def test_chain_runs_on_time_without_overlap(live_processes, tasks_redis, gitops_repo):
    fabric = HedgehogFabric.objects.create(name='precise', git_repository_url=str(gitops_repo), sync_interval=2)
    FabricScheduler().bootstrap()

    wait_until(lambda: len(finished_runs(fabric)) >= 6, message='six finished runs')
    runs = list(finished_runs(fabric))

    stamps = [run.started_at for run in runs]
    assert len(set(stamps)) == len(stamps) >= 6  # last_sync advanced at least five times
    assert all(run.outcome == SyncOutcomeChoices.SUCCESS for run in runs), [run.error for run in runs]
    for earlier, later in zip(runs, runs[1:]):
        assert later.started_at >= earlier.finished_at, 'two runs of one fabric overlapped'
        # On the anchor: the next slot, or (when a run took longer than the interval) a later one.
        slots = (later.planned_at - earlier.planned_at).total_seconds() / 2
        assert slots >= 1 and slots == int(slots), 'the chain lost its anchor'
    # Never before its planned time. How late a run starts depends on the machine's load:
    # benchmarks/schedule_precision.py measures it; a test must not.
    assert all(run.lateness >= -0.05 for run in runs[1:]), [run.lateness for run in runs]

    fabric = fabric_after(runs[-1])  # the chain goes on: read the fabric between two runs
    assert fabric.sync_status == SyncStatusChoices.IN_SYNC
    assert fabric.last_successful_sync >= runs[-1].started_at
    assert HedgehogResource.objects.filter(fabric=fabric, source='git', kind='Switch').count() == 4
    assert_one_chain(tasks_redis, [fabric])


def test_cluster_resources_reach_netbox_and_an_unreachable_api_keeps_its_chain(live_processes, tasks_redis):
    with kube_api() as api:
        api.add(
            {
                'apiVersion': 'wiring.githedgehog.com/v1beta1',
                'kind': 'Switch',
                'metadata': {'name': 'leaf-01'},
                'spec': {'role': 'server-leaf', 'asn': 65101},
            }
        )
        api.add(
            {
                'apiVersion': 'vpc.githedgehog.com/v1beta1',
                'kind': 'VPC',
                'metadata': {'name': 'vpc-1'},
                'spec': {'subnets': {'default': {'subnet': '10.0.1.0/24'}}},
            }
        )
        reachable = HedgehogFabric.objects.create(name='cluster', sync_interval=2, **api.fabric_fields())
        unreachable = HedgehogFabric.objects.create(
            name='unreachable',
            sync_interval=2,
            kubernetes_server='https://127.0.0.1:1',
            kubernetes_token='secret-token-value',
        )
        FabricScheduler().bootstrap()

        wait_until(
            lambda: len(finished_runs(reachable)) >= 1 and len(finished_runs(unreachable)) >= 3,
            message='runs of both fabrics',
        )
        assert chain_alive(unreachable)  # the failing fabric's chain goes on
        # Stop both chains and wait until their jobs are gone (each ends at its next turn), so the states are final.
        HedgehogFabric.objects.update(sync_enabled=False)
        wait_until(
            lambda: not (chain_alive(reachable) or chain_alive(unreachable)),
            interval=0.05,
            message='both chains ended',
        )

    stored = HedgehogResource.objects.filter(fabric=reachable, source='kubernetes')
    assert sorted(stored.values_list('kind', 'name')) == [('Switch', 'leaf-01'), ('VPC', 'vpc-1')]
    assert stored.get(kind='Switch').spec == {'role': 'server-leaf', 'asn': 65101}
    reachable.refresh_from_db()
    assert reachable.connection_status == ConnectionStatusChoices.CONNECTED

    unreachable.refresh_from_db()
    assert unreachable.sync_status == SyncStatusChoices.ERROR
    assert unreachable.connection_status == ConnectionStatusChoices.FAILED
    assert '127.0.0.1:1' in unreachable.sync_error
    assert 'secret-token-value' not in unreachable.sync_error
    assert all(
        run.outcome == SyncOutcomeChoices.FAILED
        for run in finished_runs(unreachable).exclude(outcome=SyncOutcomeChoices.SKIPPED)
    )
