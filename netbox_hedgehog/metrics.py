"""Prometheus metrics of the fabric syncs, served on NetBox's ``/metrics`` (``METRICS_ENABLED = True``).

Syncs run in worker processes while ``/metrics`` is answered by web processes, so the
figures are read at scrape time from what every process shares: the database (fabrics,
resources) and Redis (run counters, the queue, the chains, workers and schedulers).

Run counters are Redis hashes that the sync job increments as each run ends
(:func:`count_run`), never derived from the run table: retention trims that table, and a
Prometheus counter must not go down. Losing Redis resets them, which ``rate()`` handles as
a counter reset.
"""

import json
import logging

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

logger = logging.getLogger('netbox_hedgehog.metrics')

PREFIX = 'netbox_hedgehog'
PERIODIC_FIELDS = ('sync_enabled', 'scheduler_enabled', 'sync_interval')
RUNS_KEY = 'netbox_hedgehog:metrics:runs'
RUN_SECONDS_KEY = 'netbox_hedgehog:metrics:run-seconds'
RUN_COUNT_KEY = 'netbox_hedgehog:metrics:run-count'


def _redis():
    import django_rq

    from .scheduling.scheduler import QUEUE_NAME

    return django_rq.get_connection(QUEUE_NAME)


def count_run(run):
    """Add a finished run to the monotonic counters (by fabric and outcome; duration by fabric)."""
    fabric = run.fabric.name
    pipeline = _redis().pipeline(transaction=False)
    pipeline.hincrby(RUNS_KEY, json.dumps([fabric, run.outcome]), 1)
    if run.finished_at and run.started_at:
        pipeline.hincrbyfloat(RUN_SECONDS_KEY, fabric, (run.finished_at - run.started_at).total_seconds())
        pipeline.hincrby(RUN_COUNT_KEY, fabric, 1)
    try:
        pipeline.execute()
    except Exception as exc:  # a metric is never worth failing a sync for
        logger.warning('Could not count the run of fabric %s in the metrics: %s', fabric, exc)


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


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
        interval = GaugeMetricFamily(
            f'{PREFIX}_fabric_sync_interval_seconds',
            'Periodic sync interval of each fabric with periodic sync on',
            labels=['fabric'],
        )
        late_by = last_start_lateness()
        for fabric in HedgehogFabric.objects.only('pk', 'name', 'last_successful_sync', *PERIODIC_FIELDS):
            fabric_id, name, last_success = fabric.pk, fabric.name, fabric.last_successful_sync
            if fabric.is_periodic:
                interval.add_metric([name], fabric.sync_interval)
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
        return [by_status, success_age, lateness, interval, resources]

    def _run_metrics(self):
        redis = _redis()
        runs = CounterMetricFamily(f'{PREFIX}_sync_runs', 'Sync runs by outcome', labels=['fabric', 'outcome'])
        for field, count in redis.hgetall(RUNS_KEY).items():
            runs.add_metric(json.loads(_text(field)), int(count))
        duration = SummaryMetricFamily(
            f'{PREFIX}_sync_run_duration_seconds',
            'Duration of finished sync runs',
            labels=['fabric'],
        )
        seconds = {_text(fabric): float(value) for fabric, value in redis.hgetall(RUN_SECONDS_KEY).items()}
        for fabric, count in redis.hgetall(RUN_COUNT_KEY).items():
            fabric = _text(fabric)
            duration.add_metric([fabric], count_value=int(count), sum_value=seconds.get(fabric, 0.0))
        return [runs, duration]

    def _process_metrics(self):
        from rq import Worker
        from rq.registry import FailedJobRegistry

        from .models import HedgehogFabric
        from .scheduling.health import process_health
        from .scheduling.scheduler import FabricScheduler

        scheduler = FabricScheduler()
        health = process_health(scheduler.queue)
        workers = GaugeMetricFamily(f'{PREFIX}_rq_workers', 'RQ workers listening on the sync queue')
        workers.add_metric([], len(health.workers))
        schedulers = GaugeMetricFamily(f'{PREFIX}_rq_schedulers', 'Live rq-scheduler processes')
        schedulers.add_metric([], len(health.schedulers))
        heartbeat = GaugeMetricFamily(
            f'{PREFIX}_worker_heartbeat_age_seconds',
            'Seconds since each registered worker of the sync queue last sent a heartbeat (a dead one keeps growing)',
            labels=['worker'],
        )
        now = timezone.now()
        for worker in Worker.all(queue=scheduler.queue):
            if worker.last_heartbeat is not None:
                heartbeat.add_metric([worker.name], (now - worker.last_heartbeat).total_seconds())
        queued = GaugeMetricFamily(f'{PREFIX}_queue_depth', 'Jobs waiting in the sync queue')
        queued.add_metric([], scheduler.queue.count)
        failed = GaugeMetricFamily(f'{PREFIX}_failed_jobs', "Jobs in the sync queue's failed-job registry")
        failed.add_metric([], FailedJobRegistry(queue=scheduler.queue).count)
        periodic = [fabric for fabric in HedgehogFabric.objects.only('pk', *PERIODIC_FIELDS) if fabric.is_periodic]
        expected = GaugeMetricFamily(f'{PREFIX}_chains_expected', 'Fabrics that should have a periodic sync chain')
        expected.add_metric([], len(periodic))
        active = GaugeMetricFamily(
            f'{PREFIX}_chains_active',
            'Periodic fabrics whose chain is scheduled, queued or running',
        )
        active.add_metric([], sum(1 for fabric in periodic if scheduler.has_chain(fabric.pk)))
        return [workers, schedulers, heartbeat, queued, failed, expected, active]


_registered = []


def register_collector():
    """Register the collector with prometheus_client's global registry, once per process."""
    from prometheus_client import REGISTRY

    if not _registered:
        _registered.append(SyncCollector())
        REGISTRY.register(_registered[0])
