"""Prometheus metrics of the fabric syncs, served on NetBox's ``/metrics`` (``METRICS_ENABLED = True``).

Syncs run in worker processes while ``/metrics`` is answered by web processes, so the
figures are read at scrape time from what every process shares: the database (fabrics,
sync runs, resources) and Redis (live workers and schedulers).
"""

import logging

from django.db.models import Count, F, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

logger = logging.getLogger('netbox_hedgehog.metrics')

PREFIX = 'netbox_hedgehog'


class SyncCollector:
    """Collects the plugin's metrics on every scrape; a failing backend turns ``…_metrics_up`` to 0."""

    def collect(self):
        up = GaugeMetricFamily(f'{PREFIX}_metrics_up', 'Whether the plugin could read its metrics (1) or not (0)')
        try:
            families = [*self._fabric_metrics(), *self._run_metrics(), *self._process_metrics()]
        except Exception as exc:
            logger.warning('Could not collect netbox_hedgehog metrics: %s', exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _fabric_metrics(self):
        from .choices import SyncStatusChoices
        from .models import HedgehogFabric, HedgehogResource
        from .scheduling.status import last_start_lateness

        now = timezone.now()
        by_status = GaugeMetricFamily(f'{PREFIX}_fabrics', 'Fabrics by sync status', labels=['sync_status'])
        counts = dict(HedgehogFabric.objects.values_list('sync_status').annotate(n=Count('pk')))
        for status in SyncStatusChoices.values():
            by_status.add_metric([status], counts.get(status, 0))
        success_age = GaugeMetricFamily(
            f'{PREFIX}_last_success_age_seconds',
            'Seconds since the fabric last synced successfully',
            labels=['fabric'],
        )
        lateness = GaugeMetricFamily(
            f'{PREFIX}_last_start_lateness_seconds',
            'How late the last periodic run started against its planned time',
            labels=['fabric'],
        )
        late_by = last_start_lateness()
        for fabric_id, name, last_success in HedgehogFabric.objects.values_list('pk', 'name', 'last_successful_sync'):
            if last_success:
                success_age.add_metric([name], (now - last_success).total_seconds())
            if fabric_id in late_by:
                lateness.add_metric([name], late_by[fabric_id])
        resources = GaugeMetricFamily(
            f'{PREFIX}_resources',
            'Fabric resources stored in NetBox',
            labels=['fabric', 'source'],
        )
        for fabric, source, count in (
            HedgehogResource.objects.values_list('fabric__name', 'source').annotate(n=Count('pk')).order_by()
        ):
            resources.add_metric([fabric, source], count)
        return [by_status, success_age, lateness, resources]

    def _run_metrics(self):
        from .models import SyncRun

        runs = CounterMetricFamily(f'{PREFIX}_sync_runs', 'Sync runs by outcome', labels=['fabric', 'outcome'])
        duration = SummaryMetricFamily(
            f'{PREFIX}_sync_run_duration_seconds',
            'Duration of finished sync runs',
            labels=['fabric'],
        )
        finished = {}
        rows = (
            SyncRun.objects.values_list('fabric__name', 'outcome')
            .annotate(
                n=Count('pk'),
                seconds=Sum(F('finished_at') - F('started_at')),
            )
            .order_by()
        )
        for fabric, outcome, count, seconds in rows:
            runs.add_metric([fabric, outcome], count)
            if seconds is not None:
                total_count, total_seconds = finished.get(fabric, (0, 0.0))
                finished[fabric] = (total_count + count, total_seconds + seconds.total_seconds())
        for fabric, (count, seconds) in finished.items():
            duration.add_metric([fabric], count_value=count, sum_value=seconds)
        return [runs, duration]

    def _process_metrics(self):
        from .scheduling.health import process_health
        from .scheduling.scheduler import FabricScheduler

        health = process_health(FabricScheduler().queue)
        workers = GaugeMetricFamily(f'{PREFIX}_rq_workers', 'RQ workers listening on the sync queue')
        workers.add_metric([], len(health.workers))
        schedulers = GaugeMetricFamily(f'{PREFIX}_rq_schedulers', 'Live rq-scheduler processes')
        schedulers.add_metric([], len(health.schedulers))
        return [workers, schedulers]


_registered = []


def register_collector():
    """Register the collector with prometheus_client's global registry, once per process."""
    from prometheus_client import REGISTRY

    if not _registered:
        _registered.append(SyncCollector())
        REGISTRY.register(_registered[0])
