"""200 "sync now" requests for one fabric within 10 s, from many threads at once."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler, manual_action
from tests.faults.checks import Cluster, assert_one_chain, kubernetes_rows
from tests.kmock_server import kube_api
from tests.live import wait_until

REQUESTS = 200
WINDOW = 10  # seconds
SLOW_LIST = 1  # each sync waits this long for the VPC list, so requests pile up behind it


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_manual_sync_flood_is_coalesced_and_never_overlaps(live, tasks_redis, monkeypatch):
    monkeypatch.setenv('HEDGEHOG_KUBERNETES_TIMEOUT', '15')
    with kube_api() as api:
        cluster = Cluster(api)
        cluster.add('Switch', 'leaf-01', {'role': 'server-leaf'})
        cluster.add('VPC', 'vpc-1', {'subnets': {'default': {'subnet': '10.0.1.0/24'}}})
        live.start_worker('worker-0')
        live.start_worker('worker-1')
        live.start_scheduler()
        fabric = HedgehogFabric.objects.create(name='flooded', sync_interval=3, **cluster.fabric_fields())
        FabricScheduler().bootstrap()
        api.delay('VPC', SLOW_LIST)
        start = time.monotonic()
        lock = threading.Lock()
        results = []

        def request(index):
            time.sleep(max(0.0, start + index * WINDOW / REQUESTS - time.monotonic()))  # spreads the requests
            issued = timezone.now()
            try:
                result = FabricScheduler().trigger_now(fabric)
            finally:
                connections.close_all()
            with lock:
                results.append((issued, result))

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(request, range(REQUESTS)))
        elapsed = time.monotonic() - start

        accepted = {result.job_id for _, result in results if not result.coalesced}
        coalesced = [(issued, result) for issued, result in results if result.coalesced]
        assert len(results) == REQUESTS and len(accepted) + len(coalesced) == REQUESTS
        # At most one request waits at a time, and each job holds a worker for at least one sync (SLOW_LIST s):
        # with two workers, at most 2 * elapsed / SLOW_LIST + 2 jobs can have started while the requests came.
        assert len(accepted) <= 2 * elapsed / SLOW_LIST + 3, (len(accepted), elapsed)
        joined = {result.job_id for _, result in coalesced}
        assert joined <= accepted, 'a request joined a job that was never queued'

        def manual_job_ids():
            return set(
                SyncRun.objects.filter(fabric=fabric, trigger='manual')
                .exclude(finished_at=None)
                .values_list('job_id', flat=True)
            )

        wait_until(
            lambda: accepted <= manual_job_ids(),
            interval=0.5,
            message='every accepted request ran',
        )
        api.delay('VPC', None)

        manual = SyncRun.objects.filter(fabric=fabric, trigger='manual')
        assert set(manual.values_list('job_id', flat=True)) == accepted  # none lost, none extra
        # A request joined a job that had not started: the run it joined read the cluster after the request.
        started = dict(manual.values_list('job_id', 'started_at'))
        late = [(issued, started[result.job_id]) for issued, result in coalesced if started[result.job_id] < issued]
        assert not late, late[:5]
        assert all(run.outcome == SyncOutcomeChoices.SUCCESS for run in manual), [run.error for run in manual]
        # One sync at a time, measured where the work happens: each sync's VPC list is held SLOW_LIST
        # seconds, so two syncs running at once would reach the API less than SLOW_LIST apart.
        arrivals = sorted(api.list_arrivals('VPC'))
        gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
        assert len(arrivals) >= len(accepted) and min(gaps) >= SLOW_LIST * 0.95, sorted(gaps)[:5]
        planned = [run.planned_at for run in SyncRun.objects.filter(fabric=fabric, trigger='schedule')]
        assert len(planned) == len(set(planned))
        assert kubernetes_rows(fabric) == cluster.objects
        assert_one_chain(tasks_redis, [fabric])
        print(
            f'{REQUESTS} requests in {elapsed:.1f} s: {len(accepted)} accepted, {len(coalesced)} coalesced, '
            f'{SyncRun.objects.filter(fabric=fabric, outcome="skipped").count()} periodic runs skipped'
        )


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_manual_run_that_waited_for_the_lock_is_recorded_from_when_it_got_it(live, tasks_redis, monkeypatch):
    monkeypatch.setenv('HEDGEHOG_KUBERNETES_TIMEOUT', '15')
    with kube_api() as api:
        cluster = Cluster(api)
        cluster.add('VPC', 'vpc-1', {'subnets': {'default': {'subnet': '10.0.1.0/24'}}})
        live.start_worker('worker-0')
        live.start_worker('worker-1')
        fabric = HedgehogFabric.objects.create(name='waiting-manual', sync_interval=0, **cluster.fabric_fields())
        api.delay('VPC', 3)
        first = FabricScheduler().trigger_now(fabric)
        wait_until(
            lambda: SyncRun.objects.filter(fabric=fabric, outcome='running').exists(),
            interval=0.05,
            message='the first manual run under way',
        )
        second = FabricScheduler().trigger_now(fabric)
        assert not second.coalesced
        wait_until(
            lambda: SyncRun.objects.filter(fabric=fabric).exclude(finished_at=None).count() == 2,
            message='both manual runs finished',
        )
        runs = {run.job_id: run for run in SyncRun.objects.filter(fabric=fabric)}
        arrivals = sorted(api.list_arrivals('VPC'))
        assert arrivals[1] - arrivals[0] >= 3 * 0.95  # the lock did serialise the two syncs ...
        assert runs[second.job_id].started_at >= runs[first.job_id].finished_at  # ... and the record says so


@pytest.mark.django_db
def test_a_coalesced_trigger_always_names_the_job_it_joined(tasks_redis):
    fabric = HedgehogFabric.objects.create(name='racing', sync_interval=0, git_repository_url='/nowhere')
    scheduler = FabricScheduler()
    scheduler.trigger_now(fabric)
    real_get = scheduler.connection.get

    def get_after_the_job_started(key):
        scheduler.job_started(manual_action(), fabric.pk)  # what the worker does the moment the pending job starts
        return real_get(key)

    scheduler.connection.get = get_after_the_job_started
    result = scheduler.trigger_now(fabric)
    assert result.job_id is not None, result
