"""Is anything going to run the scheduled syncs? Liveness of RQ workers and rq-scheduler processes."""

from dataclasses import dataclass

from rq import Worker
from rq_scheduler import Scheduler


@dataclass(frozen=True)
class ProcessHealth:
    """The rqworkers serving the plugin's queue and the rqscheduler processes alive right now."""

    workers: list[str]
    schedulers: list[str]

    @property
    def healthy(self):
        return bool(self.workers) and bool(self.schedulers)

    def problems(self):
        """Readable reasons why scheduled syncs will not run (empty when both processes are alive)."""
        problems = []
        if not self.workers:
            problems.append(
                'No rqworker is listening on the netbox_hedgehog.hedgehog_sync queue: no sync will run. '
                'Start one: manage.py rqworker netbox_hedgehog.hedgehog_sync high default low'
            )
        if not self.schedulers:
            problems.append(
                'No rqscheduler is running: scheduled syncs will never be queued. '
                'Start one: rqscheduler --interval 1 (against the tasks Redis)'
            )
        return problems


def process_health(queue) -> ProcessHealth:
    """Workers registered for ``queue`` and schedulers whose heartbeat key has not expired or died."""
    workers = sorted(worker.name for worker in Worker.all(queue=queue))
    connection = queue.connection
    schedulers = []
    for key in connection.scan_iter(match=f'{Scheduler.redis_scheduler_namespace_prefix}*'):
        if not connection.hexists(key, 'death'):
            name = key.decode() if isinstance(key, bytes) else key
            schedulers.append(name.removeprefix(Scheduler.redis_scheduler_namespace_prefix))
    return ProcessHealth(workers=workers, schedulers=sorted(schedulers))
