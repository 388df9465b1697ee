"""The RQ worker class the deployment files run on the sync queue.

RQ's default worker forks a work horse per job. A sync is short and the fork plus the
re-import of the job's code in the child cost more than the sync itself at scale (1,000
fabrics at 60 s on two workers ran ~22 s late at p95 with forking, ~1.3 s without), so the
sync queue is served by a non-forking worker. Two things a forking worker gives for free
are restored here:

- **Heartbeats while busy.** RQ's ``SimpleWorker`` sends none while a job runs, so a worker
  in a long sync would look dead to every liveness check. A thread beats every
  :data:`BUSY_HEARTBEAT_SECONDS` for as long as the job runs, as the forking worker's horse
  monitor does.
- **Bounded memory.** Run it with ``--max-jobs`` and a restart policy: it exits after that
  many jobs and is started afresh, so nothing a job leaves behind accumulates.
"""

import logging
import threading

from rq.worker import SimpleWorker

logger = logging.getLogger('netbox_hedgehog.worker')

BUSY_HEARTBEAT_SECONDS = 10


class SyncWorker(SimpleWorker):
    """A non-forking RQ worker that keeps its heartbeat fresh while a job runs."""

    def execute_job(self, job, queue):
        stop = threading.Event()
        beat = threading.Thread(
            target=self._beat_until, args=(stop, job), name='netbox-hedgehog-heartbeat', daemon=True
        )
        beat.start()
        try:
            super().execute_job(job, queue)
        finally:
            stop.set()
            beat.join()

    def _beat_until(self, stop, job):
        while not stop.wait(BUSY_HEARTBEAT_SECONDS):
            try:
                self.maintain_heartbeats(job)
            except Exception as exc:  # Redis away for a moment: the next beat tries again
                logger.warning('Worker %s could not send its heartbeat: %s', self.name, exc)
