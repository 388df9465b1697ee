"""The watchdog: repairs the sync chains every minute, as a NetBox system job."""

import logging
import threading
import time

import django_rq
from core.choices import JobStatusChoices
from django.db import connections
from netbox.jobs import JobRunner, system_job
from rq.job import Job as RQJob

from .scheduler import FabricScheduler

logger = logging.getLogger('netbox_hedgehog.scheduling')

WATCHDOG_INTERVAL = 1  # minutes, NetBox's unit for system jobs


@system_job(interval=WATCHDOG_INTERVAL)
class SyncWatchdog(JobRunner):
    """Every minute: re-create lost chains (overdue ones start at once), drop orphaned and duplicate entries,
    close runs whose worker died.

    NetBox's ``rqworker`` seeds it at start-up. NetBox's Jobs list keeps the runs that
    repaired something, the latest run and the next one; the rows of earlier runs that found
    nothing to repair are removed, or they would add ~1,440 rows a day. Every repair is
    idempotent, so several workers may run it at once.
    """

    class Meta:
        name = 'Hedgehog sync watchdog'

    def run(self, *args, **kwargs):
        report = FabricScheduler().repair()
        repaired = {key: value for key, value in report.items() if key != 'fabrics' and value}
        self.job.data = {**report, 'repaired': sum(repaired.values())}
        self.logger.info(f'Checked {report["fabrics"]} fabric(s); repaired: {repaired or "nothing"}')
        # A queryset delete: Job.delete() would also cancel each finished RQ job, one by one.
        self.get_jobs().filter(status=JobStatusChoices.STATUS_COMPLETED, data__repaired=0).exclude(
            pk=self.job.pk
        ).delete()

    @classmethod
    def ensure_scheduled(cls):
        """Seed the watchdog again when Redis lost its job (e.g. Redis restarted without persistence).

        NetBox seeds system jobs only when an ``rqworker`` starts, and then not at all while a
        Job row still says "scheduled" — although the RQ job behind that row is gone.
        """
        waiting = cls.get_jobs().filter(status__in=JobStatusChoices.ENQUEUED_STATE_CHOICES)
        for job in waiting:
            connection = django_rq.get_connection(job.queue_name)
            if not RQJob.exists(str(job.job_id), connection=connection):
                job.terminate(status=JobStatusChoices.STATUS_ERRORED, error='Lost from Redis; scheduled again')
        return cls.enqueue_once(interval=WATCHDOG_INTERVAL)


def keep_watchdog_scheduled(period=30):
    """Start a daemon thread that calls ``SyncWatchdog.ensure_scheduled`` every ``period`` seconds.

    It runs in the ``rqscheduler`` process: the one process that must be alive for any
    schedule to work, and one that never forks (a worker forks a work horse per job).
    """

    def loop():
        while True:
            try:
                SyncWatchdog.ensure_scheduled()
            except Exception as exc:
                logger.warning('Could not check the sync watchdog job: %s', exc)
            finally:
                connections.close_all()
            time.sleep(period)

    threading.Thread(target=loop, name='netbox-hedgehog-watchdog-keeper', daemon=True).start()
