from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.metrics import SyncCollector
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME

pytestmark = pytest.mark.django_db


def scrape():
    registry = CollectorRegistry()
    registry.register(SyncCollector())
    return generate_latest(registry).decode()


def test_metrics_reflect_fabrics_runs_and_resources():
    django_rq.get_connection(QUEUE_NAME).flushdb()
    now = timezone.now()
    fabric = HedgehogFabric.objects.create(name='metered')
    HedgehogFabric.objects.filter(pk=fabric.pk).update(
        sync_status=SyncStatusChoices.ERROR,
        last_successful_sync=now - timedelta(seconds=90),
        last_sync=now - timedelta(seconds=10),
        last_sync_planned=now - timedelta(seconds=10.25),
    )
    for seconds, outcome in ((2, SyncOutcomeChoices.SUCCESS), (4, SyncOutcomeChoices.FAILED)):
        SyncRun.objects.create(
            fabric=fabric,
            trigger='schedule',
            started_at=now - timedelta(seconds=10 * seconds),
            planned_at=now - timedelta(seconds=10 * seconds + 0.25),
            finished_at=now - timedelta(seconds=9 * seconds),
            outcome=outcome,
        )
    # A later manual run has no planned time: it must not count as lateness.
    SyncRun.objects.create(
        fabric=fabric, trigger='manual', started_at=now, finished_at=now, outcome=SyncOutcomeChoices.SUCCESS
    )
    HedgehogResource.objects.create(fabric=fabric, source='git', api_version='v', kind='Switch', name='s1')

    text = scrape()

    assert 'netbox_hedgehog_metrics_up 1.0' in text
    assert 'netbox_hedgehog_fabrics{sync_status="error"} 1.0' in text
    assert 'netbox_hedgehog_fabrics{sync_status="in_sync"} 0.0' in text
    assert 'netbox_hedgehog_sync_runs_total{fabric="metered",outcome="failed"} 1.0' in text
    assert 'netbox_hedgehog_sync_run_duration_seconds_count{fabric="metered"} 3.0' in text
    assert 'netbox_hedgehog_sync_run_duration_seconds_sum{fabric="metered"} 6.0' in text
    assert 'netbox_hedgehog_last_start_lateness_seconds{fabric="metered"} 0.25' in text
    assert 'netbox_hedgehog_resources{fabric="metered",source="git"} 1.0' in text
    assert 'netbox_hedgehog_rq_workers 0.0' in text
    age = float(text.split('netbox_hedgehog_last_success_age_seconds{fabric="metered"} ')[1].split()[0])
    assert 90 <= age < 120


def test_an_unreachable_backend_reports_metrics_down(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError('redis down')

    monkeypatch.setattr('netbox_hedgehog.scheduling.health.Worker.all', broken)

    assert 'netbox_hedgehog_metrics_up 0.0' in scrape()
