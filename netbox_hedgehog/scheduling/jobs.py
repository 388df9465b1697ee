"""The sync job: the single entry point through which every fabric sync runs."""

import logging

from django.db import DatabaseError
from django.utils import timezone
from rq import get_current_job

from ..choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from ..models import HedgehogFabric, SyncRun
from ..settings import plugin_setting
from ..sync.pipeline import SyncResult, sync_fabric
from .locks import holding_fabric_lock
from .scheduler import MANUAL_SYNC, FabricScheduler

logger = logging.getLogger('netbox_hedgehog.sync')


def execute_fabric_sync(fabric_id, trigger=SyncTriggerChoices.SCHEDULE):
    """Sync one fabric, record the outcome, and (for the periodic chain) schedule the next run.

    Steps: take the fabric's lock (a periodic run that finds it held records a skip; a
    manual run waits for it), stamp ``last_sync``, run the sync pipeline, record the
    outcome on the fabric and in a :class:`SyncRun`. Whatever happens in between — an
    exception, a skip, a disabled fabric — the periodic chain is continued in ``finally``,
    anchored on this run's planned time; it ends only when the fabric was deleted, disabled
    or its interval set to 0.
    """
    started = timezone.now()
    job = get_current_job()
    job_id = job.id if job else ''
    scheduler = FabricScheduler()
    fabric = HedgehogFabric.objects.filter(pk=fabric_id).first()
    if fabric is None:
        logger.info('Fabric %s no longer exists; nothing to sync', fabric_id)
        if trigger == SyncTriggerChoices.SCHEDULE:
            scheduler.cancel(fabric_id)
        return
    periodic = trigger == SyncTriggerChoices.SCHEDULE
    planned = (fabric.next_sync or started) if periodic else None
    if not periodic:
        scheduler.job_started(MANUAL_SYNC, fabric_id)
    try:
        lock_wait = 0 if periodic else plugin_setting('sync_job_timeout')
        with holding_fabric_lock(scheduler.connection, fabric_id, wait_seconds=lock_wait) as acquired:
            if not acquired:
                _record_skip(fabric, trigger, job_id, planned, started, 'Another sync of this fabric was running.')
            elif not fabric.sync_enabled:
                _record_skip(fabric, trigger, job_id, planned, started, 'Sync is disabled for this fabric.')
            else:
                _run(fabric, trigger, job_id, planned, started)
    finally:
        if periodic:
            _continue_chain(scheduler, fabric, planned)


def _run(fabric, trigger, job_id, planned, started):
    run = SyncRun.objects.create(
        fabric=fabric, trigger=trigger, job_id=job_id, planned_at=planned, started_at=started,
    )
    stamp = {'sync_status': SyncStatusChoices.SYNCING, 'last_sync': started}
    if planned is not None:
        stamp['last_sync_planned'] = planned
    HedgehogFabric.objects.filter(pk=fabric.pk).update(**stamp)
    try:
        result = sync_fabric(fabric)
    except Exception as exc:
        logger.exception('Sync of fabric %s failed unexpectedly', fabric)
        _record_outcome(fabric, run, SyncResult(errors=[f'Unexpected error: {exc!r}']), keep_connection_status=True)
        raise
    _record_outcome(fabric, run, result)


def _record_outcome(fabric, run, result: SyncResult, keep_connection_status=False):
    finished = timezone.now()
    error = result.error_text()
    run.finished_at = finished
    run.outcome = SyncOutcomeChoices.SUCCESS if result.succeeded else SyncOutcomeChoices.FAILED
    run.created, run.updated, run.deleted, run.unchanged = (
        result.created, result.updated, result.deleted, result.unchanged,
    )
    run.git_commit = result.git_commit
    run.error = error
    run.save()
    state = {
        'sync_status': SyncStatusChoices.IN_SYNC if result.succeeded else SyncStatusChoices.ERROR,
        'sync_error': error,
    }
    if not keep_connection_status:
        state['connection_status'] = result.connection_status
    if result.succeeded:
        state['last_successful_sync'] = run.started_at
    HedgehogFabric.objects.filter(pk=fabric.pk).update(**state)
    log = logger.info if result.succeeded else logger.warning
    log('Sync of fabric %s: %s (%d created, %d updated, %d deleted, %d unchanged) %s',
        fabric, run.outcome, run.created, run.updated, run.deleted, run.unchanged, error)


def _record_skip(fabric, trigger, job_id, planned, started, reason):
    logger.info('Sync of fabric %s skipped: %s', fabric, reason)
    SyncRun.objects.create(
        fabric=fabric, trigger=trigger, job_id=job_id, planned_at=planned, started_at=started,
        finished_at=timezone.now(), outcome=SyncOutcomeChoices.SKIPPED, error=reason,
    )


def _continue_chain(scheduler, fabric, planned):
    """Schedule the chain's next run from the fabric's current settings (or, if the database is away, its last known ones)."""
    try:
        current = HedgehogFabric.objects.filter(pk=fabric.pk).first()
    except DatabaseError:
        logger.exception('Could not reload fabric %s; continuing its chain with the settings it started with', fabric)
        current = fabric
    try:
        if current is None:
            logger.info('Fabric %s was deleted during its sync; its chain ends', fabric)
            scheduler.cancel(fabric.pk)
        else:
            scheduler.schedule_next(current, planned)
    except Exception:
        logger.exception('Could not schedule the next sync of fabric %s', fabric)
