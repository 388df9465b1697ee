"""Stale-run repair: what the watchdog fixes beyond lost chains (duplicates, runs whose worker died)."""

from collections import Counter

from django.utils import timezone

from ..choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from ..models import HedgehogFabric, SyncRun
from .chains import CHAIN_JOB_PREFIX
from .locks import is_fabric_locked

INTERRUPTED_SYNC = (
    'The sync was interrupted before it finished (its worker stopped or was killed); the next run retries it.'
)


class StaleRunRepair:
    """Bring every chain and run record back in line (mixed into ``FabricScheduler``)."""

    def repair(self):
        """What the watchdog runs each minute.

        On top of :meth:`bootstrap` (lost chains re-created, overdue ones started, orphans
        dropped), removes duplicate queue entries of a chain job and closes runs, dry runs
        included, left "running" by a worker that died (no process holds the fabric's lock).
        """
        report = self.bootstrap(origin=SyncTriggerChoices.WATCHDOG)
        report['duplicates_removed'] = self._remove_duplicate_queue_entries()
        report['stale_syncs_cleared'] = self._close_stale_runs()
        return report

    def _remove_duplicate_queue_entries(self):
        queued = Counter(job_id for job_id in self.queue.get_job_ids() if job_id.startswith(CHAIN_JOB_PREFIX))
        removed = 0
        for job_id, count in queued.items():
            if count > 1:
                removed += self.connection.lrem(self.queue.key, count - 1, job_id)
        return removed

    def _close_stale_runs(self):
        """Fail the run records nobody runs any more; their fabrics (and any left "syncing") show the interruption."""
        running = list(SyncRun.objects.filter(outcome=SyncOutcomeChoices.RUNNING).values_list('fabric_id', 'dry_run'))
        # A fabric left "syncing" by a version that set that state at the start of each run.
        syncing = set(HedgehogFabric.objects.filter(sync_status=SyncStatusChoices.SYNCING).values_list('pk', flat=True))
        suspects = {fabric_id for fabric_id, _dry_run in running} | syncing
        stale = {fabric_id for fabric_id in suspects if not is_fabric_locked(self.connection, fabric_id)}
        if not stale:
            return 0
        SyncRun.objects.filter(fabric__in=stale, outcome=SyncOutcomeChoices.RUNNING).update(
            outcome=SyncOutcomeChoices.FAILED,
            finished_at=timezone.now(),
            error=INTERRUPTED_SYNC,
        )
        interrupted = {fabric_id for fabric_id, dry_run in running if fabric_id in stale and not dry_run}
        HedgehogFabric.objects.filter(pk__in=interrupted | (stale & syncing)).update(
            sync_status=SyncStatusChoices.ERROR,
            sync_error=INTERRUPTED_SYNC,
        )
        return len(stale)
