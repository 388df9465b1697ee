"""The sync job: the single entry point through which every fabric sync runs."""

import logging
import traceback

from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone
from rq import get_current_job

from ..choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from ..metrics import count_run
from ..models import HedgehogFabric, SyncRun
from ..settings import plugin_setting
from ..sync.apply import FabricDeleted, lock_fabric
from ..sync.pipeline import SyncResult, sync_fabric
from .chains import consecutive_failures
from .locks import LockLost, apply_fence, holding_fabric_lock
from .scheduler import FabricScheduler
from .timing import RETRY_BASE, next_run_time, on_grid
from .triggers import manual_action

logger = logging.getLogger('netbox_hedgehog.sync')


class UnexpectedSyncError(Exception):
    """A sync failed in a way nobody foresaw; the worker log says where (the original text is never kept)."""


FABRIC_STATUS_OF_OUTCOME = {
    SyncOutcomeChoices.FAILED: SyncStatusChoices.ERROR,
    SyncOutcomeChoices.PARTIAL: SyncStatusChoices.OUT_OF_SYNC,
}
LOCK_LOST = (
    "The fabric's sync lock was lost during the run (Redis was unreachable or the lock expired), so nothing was "
    'applied: another sync may have started meanwhile. The next run retries.'
)


def execute_fabric_sync(fabric_id, trigger=SyncTriggerChoices.SCHEDULE, dry_run=False, allow_empty_kinds=False):
    """Sync one fabric, record the outcome, and (for the periodic chain) schedule the next run.

    Steps: take the fabric's lock (a periodic run that finds it held records a skip; a
    manual run waits for it), read the fabric afresh, stamp ``last_sync``, run the sync
    pipeline (its writes fenced by the lock), record the outcome on the fabric and in a
    :class:`SyncRun`. Whatever happens — an exception anywhere, Redis or the database away,
    a skip, a disabled fabric — the periodic chain is continued in ``finally``: on its grid,
    or sooner as a retry after a failed run. It ends only when the fabric was deleted,
    disabled or its interval set to 0. Manual runs may be dry runs (the diff is recorded,
    not applied) or confirm pruning of kinds a source suddenly lists as empty.
    """
    started = timezone.now()
    periodic = trigger == SyncTriggerChoices.SCHEDULE
    scheduler = FabricScheduler()
    fabric = run = None
    try:
        if not connection.in_atomic_block:  # never drop a connection in the middle of a caller's transaction
            close_old_connections()  # a non-forking worker (SimpleWorker) keeps connections from job to job
        if not periodic:
            scheduler.job_started(manual_action(dry_run, allow_empty_kinds), fabric_id)
        fabric = HedgehogFabric.objects.filter(pk=fabric_id).first()
        if fabric is None:
            logger.info('Fabric %s no longer exists; nothing to sync', fabric_id)
            return
        job = get_current_job()
        run = SyncRun(
            fabric=fabric,
            trigger=scheduler.chain_origin(fabric_id) if periodic else trigger,
            job_id=job.id if job else '',
            planned_at=(fabric.next_sync or started) if periodic else None,
            started_at=started,
            dry_run=dry_run,
        )
        lock_wait = 0 if periodic else plugin_setting('sync_job_timeout')
        with holding_fabric_lock(scheduler.connection, fabric_id, wait_seconds=lock_wait) as lock:
            # A manual run may have waited for the lock: start now, with the fabric as it is now.
            run.started_at = timezone.now()
            fabric = HedgehogFabric.objects.filter(pk=fabric_id).first() if lock else fabric
            if fabric is None:
                logger.info('Fabric %s was deleted while its sync waited; nothing to sync', fabric_id)
            elif lock is None:
                _record_skip(run, 'Another sync of this fabric was running.')
            elif not fabric.sync_enabled:
                _record_skip(run, 'Sync is disabled for this fabric.')
            else:
                run.fabric = fabric
                _run(fabric, run, lock, allow_empty_kinds)
    finally:
        if periodic:
            _continue_chain(scheduler, fabric_id, fabric, run)
        if fabric is not None:
            _trim_run_records(fabric)


def _run(fabric, run, lock, allow_empty_kinds):
    try:
        run.save()
        if not run.dry_run:
            _stamp_start(fabric, run)
        result = sync_fabric(
            fabric,
            dry_run=run.dry_run,
            allow_empty_kinds=allow_empty_kinds,
            before_apply=apply_fence(lock, fabric.pk),
        )
    except LockLost as exc:
        logger.error('Sync of fabric %s aborted before applying: %s', fabric, exc)
        _record_outcome(fabric, run, SyncResult(errors=[LOCK_LOST]), keep_connection_status=True)
        return
    except Exception as exc:
        if isinstance(exc, DatabaseError):
            connection.close()  # the session may be gone (e.g. PostgreSQL restarted): go on with a new one
        if _deleted_during_run(fabric):
            return
        # Where it failed, but not the exception's text: that may quote what a client was given.
        logger.error(
            'Sync of fabric %s failed unexpectedly: %s\n%s',
            fabric,
            type(exc).__name__,
            ''.join(traceback.format_tb(exc.__traceback__)),
        )
        _record_outcome(
            fabric,
            run,
            SyncResult(errors=[_unexpected_error_text(exc)]),
            keep_connection_status=True,
        )
        # RQ keeps a failed job's exception in Redis and logs it: hand it one whose text is ours.
        raise UnexpectedSyncError(f'{type(exc).__name__} in the sync of fabric {fabric.pk}') from None
    _record_outcome(fabric, run, result)


def _deleted_during_run(fabric):
    """True (and logged) when the fabric was deleted during its run; waits for a deletion in progress to end.

    A deletion ends a sync that is writing (``locks.stop_applies``) and removes the fabric's run
    records, so such a run fails in the database and has nothing to record its outcome on.
    """
    try:
        with transaction.atomic():
            lock_fabric(fabric)
    except FabricDeleted:
        logger.info('Fabric %s was deleted during its sync; the run ends without a record', fabric)
        return True
    except DatabaseError:
        pass  # the database is away: the caller's own error is the one to report
    return False


def _stamp_start(fabric, run):
    """Record that a sync started; the fabric's status stays the last outcome until this run has one.

    A periodic run on its grid becomes the grid's anchor (a retry between slots does not), and
    the fabric's next run becomes the grid's next slot, so "Next run" is never in the past while
    the run is in progress.
    """
    stamp = {'last_sync': run.started_at}
    if run.planned_at is not None:
        anchor = fabric.last_sync_planned
        if run.trigger != SyncTriggerChoices.SCHEDULE or on_grid(run.planned_at, anchor, fabric.sync_interval):
            anchor = stamp['last_sync_planned'] = run.planned_at
        if fabric.is_periodic:
            stamp['next_sync'] = next_run_time(anchor, fabric.sync_interval, run.started_at)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(**stamp)


def _unexpected_error_text(exc):
    """What the run record says about an exception nobody foresaw: its type and kind, never its text."""
    if isinstance(exc, DatabaseError):
        return (
            f'Database error: {type(exc).__name__} (the connection to PostgreSQL failed or was lost; '
            'see the worker log)'
        )
    return f'Unexpected error: {type(exc).__name__} (see the worker log)'


def _record_outcome(fabric, run, result: SyncResult, keep_connection_status=False):
    error = result.error_text()
    run.finished_at = timezone.now()
    run.outcome = result.outcome
    for name in (
        'created',
        'updated',
        'deleted',
        'unchanged',
        'invalid',
        'prune_skipped',
        'dcim_created',
        'dcim_updated',
        'dcim_deleted',
        'git_commit',
        'kubernetes_revision',
        'step_durations',
        'changes',
    ):
        setattr(run, name, getattr(result, name))
    run.error = error
    # The run record and the fabric's state become visible together: whoever sees the run finished
    # (an operator, a script waiting for it, a test) also sees the fabric state it wrote.
    try:
        with transaction.atomic():
            run.save()
            if not run.dry_run:
                HedgehogFabric.objects.filter(pk=fabric.pk).update(
                    **_fabric_state(run, result, error, keep_connection_status)
                )
    except IntegrityError:
        if _deleted_during_run(fabric):
            return
        raise
    count_run(run)
    log = logger.info if result.succeeded else logger.warning
    log(
        'Sync of fabric %s%s: %s (%d created, %d updated, %d deleted, %d unchanged, %d invalid) %s',
        fabric,
        ' (dry run)' if run.dry_run else '',
        run.outcome,
        run.created,
        run.updated,
        run.deleted,
        run.unchanged,
        run.invalid,
        error,
    )


def _fabric_state(run, result, error, keep_connection_status):
    state = {
        'sync_status': FABRIC_STATUS_OF_OUTCOME.get(
            result.outcome,
            SyncStatusChoices.OUT_OF_SYNC if result.drift_count else SyncStatusChoices.IN_SYNC,
        ),
        'sync_error': error,
    }
    if not keep_connection_status:
        state['connection_status'] = result.connection_status
    if result.succeeded:
        state['last_successful_sync'] = run.started_at
    return state


def _record_skip(run, reason):
    logger.info('Sync of fabric %s skipped: %s', run.fabric, reason)
    run.finished_at = timezone.now()
    run.outcome = SyncOutcomeChoices.SKIPPED
    run.error = reason
    run.save()
    count_run(run)


def _trim_run_records(fabric):
    """Keep the newest ``sync_run_retention`` run records of the fabric (0 keeps them all); never raises."""
    keep = plugin_setting('sync_run_retention')
    if not isinstance(keep, int) or keep < 1:
        return
    try:
        oldest_kept = (
            SyncRun.objects.filter(fabric_id=fabric.pk)
            .order_by('-started_at')
            .values_list('started_at', flat=True)[keep - 1 : keep]
            .first()
        )
        if oldest_kept is not None:
            SyncRun.objects.filter(fabric_id=fabric.pk, started_at__lt=oldest_kept).delete()
    except DatabaseError:
        logger.exception('Could not trim the sync run records of fabric %s', fabric)


def _continue_chain(scheduler, fabric_id, fabric, run):
    """Schedule the chain's next run from the fabric's current settings; never raises.

    A run that ended before recording an outcome counts as one more failure. With the
    database away the chain goes on with the settings the run started with; if the run could
    not even read the fabric, it retries soon and reads it then.
    """
    planned = run.planned_at if run else None
    unrecorded = run is None or run.pk is None or run.outcome == SyncOutcomeChoices.RUNNING
    try:
        current = HedgehogFabric.objects.filter(pk=fabric_id).first()
        failures = consecutive_failures(fabric_id) + unrecorded
    except DatabaseError:
        logger.exception('Could not reload fabric %s; continuing its chain with what the run knew', fabric_id)
        connection.close()
        if fabric is None:
            _try(scheduler.schedule_unread, fabric_id, RETRY_BASE)
            return
        current, failures = fabric, 1
    if current is None:
        logger.info('Fabric %s was deleted; its chain ends', fabric_id)
        _try(scheduler.cancel, fabric_id)
    else:
        _try(scheduler.schedule_next, current, planned, failures)


def _try(action, *args):
    try:
        action(*args)
    except Exception:
        logger.exception('Could not schedule the next sync of fabric %s', args[0])
