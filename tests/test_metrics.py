from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from rq import Worker
from rq.utils import utcformat

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from netbox_hedgehog.metrics import SyncCollector, count_run
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.base import set_plugin_settings

pytestmark = pytest.mark.django_db


def scrape():
    registry = CollectorRegistry()
    registry.register(SyncCollector())
    return generate_latest(registry).decode()


def test_metrics_reflect_fabrics_runs_and_resources(tasks_redis):
    now = timezone.now()
    fabric = HedgehogFabric.objects.create(name='metered')
    HedgehogFabric.objects.filter(pk=fabric.pk).update(
        sync_status=SyncStatusChoices.ERROR,
        last_successful_sync=now - timedelta(seconds=90),
        last_sync=now - timedelta(seconds=10),
        last_sync_planned=now - timedelta(seconds=10.25),
    )
    for seconds, outcome in ((2, SyncOutcomeChoices.SUCCESS), (4, SyncOutcomeChoices.FAILED)):
        run = SyncRun.objects.create(
            fabric=fabric,
            trigger='schedule',
            started_at=now - timedelta(seconds=10 * seconds),
            planned_at=now - timedelta(seconds=10 * seconds + 0.25),
            finished_at=now - timedelta(seconds=9 * seconds),
            outcome=outcome,
        )
        count_run(run)
    HedgehogResource.objects.create(fabric=fabric, source='git', api_version='v', kind='Switch', name='s1')

    text = scrape()

    assert 'netbox_hedgehog_metrics_up 1.0' in text
    assert 'netbox_hedgehog_fabrics{sync_status="error"} 1.0' in text
    assert 'netbox_hedgehog_fabrics{sync_status="in_sync"} 0.0' in text
    assert 'netbox_hedgehog_sync_runs_total{fabric="metered",outcome="failed"} 1.0' in text
    assert 'netbox_hedgehog_sync_run_duration_seconds_count{fabric="metered"} 2.0' in text
    assert 'netbox_hedgehog_sync_run_duration_seconds_sum{fabric="metered"} 6.0' in text
    assert 'netbox_hedgehog_last_start_lateness_seconds{fabric="metered"} 0.25' in text
    assert 'netbox_hedgehog_resources{fabric="metered",source="git"} 1.0' in text
    assert 'netbox_hedgehog_rq_workers 0.0' in text
    assert 'netbox_hedgehog_queue_depth 0.0' in text
    assert 'netbox_hedgehog_failed_jobs 0.0' in text
    age = float(text.split('netbox_hedgehog_last_success_age_seconds{fabric="metered"} ')[1].split()[0])
    assert 90 <= age < 120


def test_run_counters_never_go_down_when_retention_trims_the_run_table(tasks_redis, gitops_repo, settings):
    set_plugin_settings(settings, sync_run_retention=1)
    fabric = HedgehogFabric.objects.create(name='trimmed', git_repository_url=str(gitops_repo), scheduler_enabled=False)
    for _ in range(3):
        execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)

    assert SyncRun.objects.filter(fabric=fabric).count() == 1
    text = scrape()
    assert 'netbox_hedgehog_sync_runs_total{fabric="trimmed",outcome="success"} 3.0' in text
    assert 'netbox_hedgehog_sync_run_duration_seconds_count{fabric="trimmed"} 3.0' in text


def test_queue_chains_and_worker_heartbeats_are_reported(tasks_redis):
    periodic = HedgehogFabric.objects.create(name='periodic', sync_interval=60)
    HedgehogFabric.objects.create(name='manual-only', scheduler_enabled=False)
    FabricScheduler().trigger_now(periodic)
    worker = Worker([FabricScheduler().queue], connection=tasks_redis, name='stale-worker')
    worker.register_birth()
    # What a SIGKILLed worker leaves behind: registered, its last heartbeat getting older.
    tasks_redis.hset(worker.key, 'last_heartbeat', utcformat(timezone.now() - timedelta(seconds=100)))

    text = scrape()

    assert 'netbox_hedgehog_chains_expected 1.0' in text
    assert 'netbox_hedgehog_chains_active 0.0' in text
    assert 'netbox_hedgehog_queue_depth 1.0' in text
    age = float(text.split('netbox_hedgehog_worker_heartbeat_age_seconds{worker="stale-worker"} ')[1].split()[0])
    assert age >= 100
    FabricScheduler().ensure(periodic)
    assert 'netbox_hedgehog_chains_active 1.0' in scrape()


def test_an_unreachable_backend_reports_metrics_down(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError('redis down')

    monkeypatch.setattr('netbox_hedgehog.scheduling.health.Worker.all', broken)

    assert 'netbox_hedgehog_metrics_up 0.0' in scrape()
