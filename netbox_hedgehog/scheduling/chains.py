"""The periodic chains: one rq-scheduler entry per fabric, re-scheduled by the run it starts."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from ..choices import SyncOutcomeChoices, SyncTriggerChoices
from ..models import HedgehogFabric, SyncRun
from ..settings import plugin_setting
from .locks import is_fabric_locked
from .queue import SYNC_FUNCTION, text
from .timing import next_run_time, retry_delay, whole_second

CHAIN_JOB_PREFIX = 'netbox_hedgehog-chain-fabric-'
# Overdue chains re-created by bootstrap or the watchdog start within this many seconds, spread by fabric,
# so that a thousand fabrics overdue after an outage do not all start in the same second.
OVERDUE_SPREAD = 10


def chain_job_id(fabric_id):
    """The stable rq-scheduler job id of a fabric's periodic chain: one id, so never two chains."""
    return f'{CHAIN_JOB_PREFIX}{fabric_id}'


def _chain_origin_key(fabric_id):
    return f'netbox_hedgehog:chain-origin:{fabric_id}'


def consecutive_failures(fabric_id):
    """How many of the fabric's latest periodic runs failed in a row (skips and manual runs do not count)."""
    outcomes = (
        SyncRun.objects.filter(fabric_id=fabric_id, dry_run=False)
        .exclude(trigger=SyncTriggerChoices.MANUAL)
        .exclude(outcome__in=(SyncOutcomeChoices.SKIPPED, SyncOutcomeChoices.RUNNING))
        .order_by('-started_at')
        .values_list('outcome', flat=True)[:32]
    )
    failures = 0
    for outcome in outcomes:
        if outcome != SyncOutcomeChoices.FAILED:
            break
        failures += 1
    return failures


class ChainScheduling:
    """Create, move, continue and end the per-fabric chains (mixed into ``FabricScheduler``)."""

    def planned_time(self, fabric_id) -> datetime | None:
        """When rq-scheduler will next start the fabric's chain job (None: not scheduled)."""
        score = self.connection.zscore(self.scheduler.scheduled_jobs_key, chain_job_id(fabric_id))
        if score is None:
            return None
        return datetime.fromtimestamp(score, tz=dt_timezone.utc)

    def schedule(self, fabric, at: datetime):
        """Put (or move) the fabric's chain entry at ``at`` and record it as the fabric's next sync."""
        at = self._enqueue_chain(fabric.pk, at, f'Periodic sync of fabric {fabric.name}')
        HedgehogFabric.objects.filter(pk=fabric.pk).update(next_sync=at)
        fabric.next_sync = at

    def schedule_unread(self, fabric_id, delay):
        """Keep the chain of a fabric that could not be read (database away) alive: try again in ``delay`` s.

        The retry reads the fabric's settings again; it ends the chain if the fabric is gone.
        """
        at = timezone.now() + timedelta(seconds=delay)
        return self._enqueue_chain(fabric_id, at, f'Periodic sync of fabric {fabric_id}')

    def _enqueue_chain(self, fabric_id, at, description):
        at = whole_second(at)
        self.scheduler.enqueue_at(
            at,
            SYNC_FUNCTION,
            fabric_id,
            job_id=chain_job_id(fabric_id),
            timeout=plugin_setting('sync_job_timeout'),
            # The successor reuses this job's Redis hash: an expiring result would delete it.
            job_result_ttl=-1,
            job_description=description,
        )
        return at

    def cancel(self, fabric_id):
        """Remove the fabric's chain entry; a chain job already queued or running ends on its own."""
        self.scheduler.cancel(chain_job_id(fabric_id))
        HedgehogFabric.objects.filter(pk=fabric_id).update(next_sync=None)

    def schedule_next(self, fabric, planned: datetime | None, failures=0):
        """Continue the chain after a run planned for ``planned``; ends it if the fabric is not periodic.

        The next run is the next slot of the anchored grid (``last_sync_planned + k·interval``).
        After ``failures`` failed runs in a row it is a retry instead, 10 s, 20 s, 40 s … after
        now, unless the grid's next slot comes first: a failing fabric recovers within seconds of
        its source, and returns to its grid once a run succeeds or the back-off reaches the interval.
        """
        if not fabric.is_periodic:
            self.cancel(fabric.pk)
            return None
        now = timezone.now()
        anchor = fabric.last_sync_planned or planned
        at = next_run_time(anchor, fabric.sync_interval, now)
        if failures:
            retry = now + timedelta(seconds=retry_delay(failures, fabric.sync_interval))
            at = min(at, retry) if anchor else retry
        self.schedule(fabric, at)
        return at

    def ensure(self, fabric, reanchor=False, origin=None):
        """Make the fabric's chain match its settings without ever creating a second one.

        A chain waiting in rq-scheduler is left alone unless ``reanchor`` is set (the fabric's
        interval or switches changed): then its entry moves to the next slot of the new interval.
        A chain job already queued or running is never touched: the run reads the fabric's
        settings when it schedules its successor, so no slot is skipped. A fabric without a chain
        gets one at its next slot, or soon (spread over a few seconds when bootstrap or the
        watchdog re-create many) if it never ran or missed a slot. ``origin`` (bootstrap or
        watchdog) is recorded as the trigger of the re-created chain's first run.
        """
        if not fabric.is_periodic:
            self.cancel(fabric.pk)
            return None
        # rq-scheduler pushes a due job onto the queue before removing its entry: look at the entry first.
        if self.planned_time(fabric.pk) is not None:
            return self._move(fabric) if reanchor else None
        if self._chain_in_flight(fabric.pk):
            return None
        at = self._first_run_time(fabric, spread=origin is not None)
        if origin:
            self.connection.set(_chain_origin_key(fabric.pk), origin, ex=fabric.sync_interval + 3600)
        self.schedule(fabric, at)
        return at

    def _first_run_time(self, fabric, spread):
        now = timezone.now()
        interval = fabric.sync_interval
        anchor = fabric.last_sync_planned or fabric.last_sync
        if anchor is not None and anchor + timedelta(seconds=interval) > now:
            return next_run_time(anchor, interval, now)
        return now + timedelta(seconds=fabric.pk % min(OVERDUE_SPREAD, interval) if spread else 0)

    def _move(self, fabric):
        """Move a waiting chain entry to the next slot of the fabric's interval; None if it started meanwhile."""
        at = whole_second(
            next_run_time(fabric.last_sync_planned or fabric.last_sync, fabric.sync_interval, timezone.now())
        )
        job_id = chain_job_id(fabric.pk)
        job_key = Job.key_for(job_id)

        def move(pipe):
            # rq-scheduler queues a due job by changing its hash in the same transaction as the queue push:
            # a watched hash that is neither queued nor started proves the entry still waits.
            if text(pipe.hget(job_key, 'status')) in (JobStatus.QUEUED.value, JobStatus.STARTED.value):
                return False
            pipe.multi()
            pipe.zadd(self.scheduler.scheduled_jobs_key, {job_id: int(at.timestamp())}, xx=True)
            return True

        if not self.connection.transaction(move, job_key, value_from_callable=True):
            return None
        HedgehogFabric.objects.filter(pk=fabric.pk).update(next_sync=at)
        fabric.next_sync = at
        return at

    def chain_origin(self, fabric_id):
        """The trigger to record for a chain run: who (re)created the chain, for its first run only.

        Read and deleted in one MULTI transaction (GETDEL needs Redis 6.2; NetBox supports 6.0).
        """
        pipe = self.connection.pipeline(transaction=True)
        pipe.get(_chain_origin_key(fabric_id))
        pipe.delete(_chain_origin_key(fabric_id))
        origin, _deleted = pipe.execute()
        return text(origin) if origin else SyncTriggerChoices.SCHEDULE

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

    def _scheduled_chain_ids(self):
        job_ids = (text(job_id) for job_id in self.connection.zrange(self.scheduler.scheduled_jobs_key, 0, -1))
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
