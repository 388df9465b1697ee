"""The one way anything in the plugin schedules, cancels or triggers a fabric sync."""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

import django_rq
from django.utils import timezone
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq_scheduler import Scheduler

from ..choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from ..models import HedgehogFabric, SyncRun
from ..settings import plugin_setting
from .health import process_health
from .locks import is_fabric_locked
from .status import FabricSyncStatus, SchedulingStatus, last_start_lateness
from .timing import next_run_time, whole_second

QUEUE_NAME = 'netbox_hedgehog.hedgehog_sync'
CHAIN_JOB_PREFIX = 'netbox_hedgehog-chain-fabric-'
SYNC_FUNCTION = 'netbox_hedgehog.scheduling.jobs.execute_fabric_sync'
CONNECTION_TEST_FUNCTION = 'netbox_hedgehog.scheduling.connection.check_fabric_connection'
# Immediate jobs per fabric are coalesced while one of the same action waits in the queue.
CONNECTION_TEST = 'connection-test'
INTERRUPTED_SYNC = (
    'The sync was interrupted before it finished (its worker stopped or was killed); the next run retries it.'
)


def chain_job_id(fabric_id):
    """The stable rq-scheduler job id of a fabric's periodic chain: one id, so never two chains."""
    return f'{CHAIN_JOB_PREFIX}{fabric_id}'


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _chain_origin_key(fabric_id):
    return f'netbox_hedgehog:chain-origin:{fabric_id}'


def manual_action(dry_run=False, allow_empty_kinds=False):
    """The coalescing name of a manual sync request: requests differing in their options never merge."""
    return '-'.join(['manual', *(['dry-run'] if dry_run else []), *(['allow-empty'] if allow_empty_kinds else [])])


def _pending_key(action, fabric_id):
    return f'netbox_hedgehog:{action}-pending:{fabric_id}'


@dataclass(frozen=True)
class TriggerResult:
    """What an immediate request did: the job that will run, and whether it was already waiting."""

    job_id: str
    coalesced: bool


class FabricScheduler:
    """Facade over rq-scheduler and the plugin's RQ queue for the per-fabric sync chains.

    A fabric with periodic sync has exactly one entry in rq-scheduler, under
    :func:`chain_job_id`; the sync job re-schedules that same entry when it finishes.
    Manual "sync now" requests are separate, immediate jobs that never touch the chain.
    """

    def __init__(self, connection=None):
        self.connection = connection or django_rq.get_connection(QUEUE_NAME)
        self.queue = Queue(QUEUE_NAME, connection=self.connection)
        self.scheduler = Scheduler(queue_name=QUEUE_NAME, connection=self.connection)

    # Chains

    def planned_time(self, fabric_id) -> datetime | None:
        """When rq-scheduler will next start the fabric's chain job (None: not scheduled)."""
        score = self.connection.zscore(self.scheduler.scheduled_jobs_key, chain_job_id(fabric_id))
        if score is None:
            return None
        return datetime.fromtimestamp(score, tz=dt_timezone.utc)

    def schedule(self, fabric, at: datetime):
        """Put (or move) the fabric's chain entry at ``at`` and record it as the fabric's next sync."""
        at = whole_second(at)
        self.scheduler.enqueue_at(
            at,
            SYNC_FUNCTION,
            fabric.pk,
            job_id=chain_job_id(fabric.pk),
            timeout=plugin_setting('sync_job_timeout'),
            # The successor reuses this job's Redis hash: an expiring result would delete it.
            job_result_ttl=-1,
            job_description=f'Periodic sync of fabric {fabric.name}',
        )
        HedgehogFabric.objects.filter(pk=fabric.pk).update(next_sync=at)
        fabric.next_sync = at

    def cancel(self, fabric_id):
        """Remove the fabric's chain entry; a chain job already queued or running ends on its own."""
        self.scheduler.cancel(chain_job_id(fabric_id))
        HedgehogFabric.objects.filter(pk=fabric_id).update(next_sync=None)

    def schedule_next(self, fabric, planned: datetime | None):
        """Continue the chain after a run that was planned for ``planned``; ends it if the fabric is not periodic."""
        if not fabric.is_periodic:
            self.cancel(fabric.pk)
            return None
        at = next_run_time(planned, fabric.sync_interval, timezone.now())
        self.schedule(fabric, at)
        return at

    def ensure(self, fabric, reanchor=False, origin=None):
        """Make the fabric's chain match its settings without ever creating a second one.

        A chain that is waiting in rq-scheduler, queued or running is left alone unless
        ``reanchor`` is set (the fabric's interval or switches changed): then the entry is
        moved to the next slot after the last planned run. A fabric without a chain gets one
        at its next slot, or at once if it never ran; ``origin`` (bootstrap or watchdog) is
        then recorded as the trigger of that chain's first run.
        """
        if not fabric.is_periodic:
            self.cancel(fabric.pk)
            return None
        if not reanchor and self.has_chain(fabric.pk):
            return None
        now = timezone.now()
        anchor = fabric.last_sync_planned or fabric.last_sync
        at = next_run_time(anchor, fabric.sync_interval, now) if anchor else now
        if origin:
            self.connection.set(_chain_origin_key(fabric.pk), origin, ex=fabric.sync_interval + 3600)
        self.schedule(fabric, at)
        return at

    def chain_origin(self, fabric_id):
        """The trigger to record for a chain run: who (re)created the chain, for its first run only."""
        origin = self.connection.getdel(_chain_origin_key(fabric_id))
        return _text(origin) if origin else SyncTriggerChoices.SCHEDULE

    def bootstrap(self, origin=SyncTriggerChoices.BOOTSTRAP):
        """Ensure one chain per periodic fabric and drop chain entries of fabrics that no longer exist.

        Idempotent: running it any number of times leaves one entry per fabric.
        """
        fabrics = list(HedgehogFabric.objects.all())
        scheduled = [self.ensure(fabric, origin=origin) for fabric in fabrics]
        known = {chain_job_id(fabric.pk) for fabric in fabrics}
        orphans = [job_id for job_id in self._scheduled_chain_ids() if job_id not in known]
        for job_id in orphans:
            self.scheduler.cancel(job_id)
        return {
            'fabrics': len(fabrics),
            'scheduled': sum(1 for at in scheduled if at is not None),
            'orphans_removed': len(orphans),
        }

    def repair(self):
        """Bring every chain back in line: what the watchdog runs each minute.

        On top of :meth:`bootstrap` (lost chains re-created, orphans dropped), removes
        duplicate queue entries of a chain job and ends "syncing" states whose sync died
        with its worker (the fabric's lock expired, so no sync is running).
        """
        report = self.bootstrap(origin=SyncTriggerChoices.WATCHDOG)
        report['duplicates_removed'] = self._remove_duplicate_queue_entries()
        report['stale_syncs_cleared'] = self._clear_stale_syncs()
        return report

    def _remove_duplicate_queue_entries(self):
        queued = Counter(job_id for job_id in self.queue.get_job_ids() if job_id.startswith(CHAIN_JOB_PREFIX))
        removed = 0
        for job_id, count in queued.items():
            if count > 1:
                removed += self.connection.lrem(self.queue.key, count - 1, job_id)
        return removed

    def _clear_stale_syncs(self):
        stale = [
            fabric_id
            for fabric_id in HedgehogFabric.objects.filter(sync_status=SyncStatusChoices.SYNCING).values_list(
                'pk', flat=True
            )
            if not is_fabric_locked(self.connection, fabric_id)
        ]
        if stale:
            HedgehogFabric.objects.filter(pk__in=stale, sync_status=SyncStatusChoices.SYNCING).update(
                sync_status=SyncStatusChoices.ERROR,
                sync_error=INTERRUPTED_SYNC,
            )
            SyncRun.objects.filter(fabric__in=stale, outcome=SyncOutcomeChoices.RUNNING).update(
                outcome=SyncOutcomeChoices.FAILED,
                finished_at=timezone.now(),
                error=INTERRUPTED_SYNC,
            )
        return len(stale)

    def _scheduled_chain_ids(self):
        job_ids = (_text(job_id) for job_id in self.connection.zrange(self.scheduler.scheduled_jobs_key, 0, -1))
        return [job_id for job_id in job_ids if job_id.startswith(CHAIN_JOB_PREFIX)]

    def has_chain(self, fabric_id):
        """True while the fabric's chain job waits in rq-scheduler, sits in the queue or runs."""
        return self.planned_time(fabric_id) is not None or self._chain_in_flight(fabric_id)

    def _chain_in_flight(self, fabric_id):
        """True while the chain job sits in the queue or runs (a crashed run's lock expires, ending this)."""
        try:
            job = Job.fetch(chain_job_id(fabric_id), connection=self.connection)
        except NoSuchJobError:
            return False
        status = job.get_status(refresh=False)
        if status == JobStatus.QUEUED:
            return job.id in self.queue.get_job_ids()
        if status == JobStatus.STARTED:
            return is_fabric_locked(self.connection, fabric_id)
        return False

    # Immediate jobs

    def trigger_now(self, fabric, dry_run=False, allow_empty_kinds=False) -> TriggerResult:
        """Queue an immediate sync of the fabric, or return the one already waiting to start.

        The job takes the same fabric lock as the chain (waiting for a running sync to end),
        so requests that arrive while one is queued are coalesced into it and none is lost.
        ``dry_run`` records the diff without applying it; ``allow_empty_kinds`` confirms
        pruning kinds that a source suddenly lists as empty.
        """
        return self._enqueue_coalesced(
            manual_action(dry_run, allow_empty_kinds),
            fabric,
            SYNC_FUNCTION,
            # The job may first wait up to one sync_job_timeout for a running sync to release the lock.
            timeout=2 * plugin_setting('sync_job_timeout'),
            description=f'Manual {"dry run" if dry_run else "sync"} of fabric {fabric.name}',
            trigger=SyncTriggerChoices.MANUAL,
            dry_run=dry_run,
            allow_empty_kinds=allow_empty_kinds,
        )

    def trigger_connection_test(self, fabric) -> TriggerResult:
        """Queue a test of the fabric's sources (see :mod:`.connection`), coalesced like ``trigger_now``."""
        return self._enqueue_coalesced(
            CONNECTION_TEST,
            fabric,
            CONNECTION_TEST_FUNCTION,
            timeout=4 * plugin_setting('kubernetes_timeout') + 30,
            description=f'Connection test of fabric {fabric.name}',
        )

    def job_started(self, action, fabric_id):
        """Called by an immediate job as it starts: later requests must queue a new job, not join this one."""
        self.connection.delete(_pending_key(action, fabric_id))

    def _enqueue_coalesced(self, action, fabric, function, timeout, description, **kwargs):
        pending_key = _pending_key(action, fabric.pk)
        job_id = f'netbox_hedgehog-{action}-fabric-{fabric.pk}-{uuid.uuid4().hex[:12]}'
        # The pending job may start (and clear its key) between our SET and GET: then try again.
        while not self.connection.set(pending_key, job_id, nx=True, ex=timeout):
            pending = self.connection.get(pending_key)
            if pending is not None:
                return TriggerResult(job_id=_text(pending), coalesced=True)
        self.queue.enqueue(
            function,
            fabric.pk,
            job_id=job_id,
            job_timeout=timeout,
            result_ttl=3600,
            description=description,
            **kwargs,
        )
        return TriggerResult(job_id=job_id, coalesced=False)

    # Status

    def status(self, fabrics=None) -> SchedulingStatus:
        """The sync state of the given fabrics (default: all) and whether workers and a scheduler are alive."""
        if fabrics is None:
            fabrics = HedgehogFabric.objects.all()
        lateness = last_start_lateness()
        return SchedulingStatus(
            fabrics=[self._fabric_status(fabric, lateness.get(fabric.pk)) for fabric in fabrics],
            processes=process_health(self.queue),
        )

    def _fabric_status(self, fabric, lateness):
        syncing = fabric.sync_status == SyncStatusChoices.SYNCING
        return FabricSyncStatus(
            id=fabric.pk,
            name=fabric.name,
            sync_enabled=fabric.sync_enabled,
            periodic=fabric.is_periodic,
            sync_interval=fabric.sync_interval,
            sync_status=fabric.sync_status,
            stale=syncing and not is_fabric_locked(self.connection, fabric.pk),
            connection_status=fabric.connection_status,
            last_sync=fabric.last_sync,
            last_start_lateness=lateness,
            last_successful_sync=fabric.last_successful_sync,
            next_run=self.planned_time(fabric.pk),
            sync_error=fabric.sync_error,
        )
