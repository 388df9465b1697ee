"""Is anything going to run the scheduled syncs? Liveness of RQ workers and rq-scheduler processes."""

from dataclasses import dataclass
from datetime import datetime, timezone

from rq import Worker
from rq.defaults import DEFAULT_WORKER_TTL
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


def live_workers(queue, hostname=None, worker_ttl=DEFAULT_WORKER_TTL):
    """Names of the workers registered for ``queue`` whose last heartbeat is at most ``worker_ttl`` s old.

    A registered worker's key outlives its last heartbeat by up to ``worker_ttl + 60`` s, so
    a worker killed with SIGKILL (or frozen) still shows up for minutes; an idle healthy worker
    heartbeats every ``worker_ttl - 15`` s. ``hostname`` keeps only workers on that host, so a
    container's health check verifies its own worker rather than any worker anywhere.
    """
    now = datetime.now(timezone.utc)
    names = []
    for worker in Worker.all(queue=queue):
        if hostname is not None and worker.hostname != hostname:
            continue
        beat = worker.last_heartbeat  # rq parses it as an aware UTC datetime
        if beat is None or (now - beat).total_seconds() > worker_ttl:
            continue
        names.append(worker.name)
    return sorted(names)


def live_schedulers(connection):
    """Names of the rq-scheduler instances whose key (expiring ``interval + 10`` s) exists without a death mark."""
    prefix = Scheduler.redis_scheduler_namespace_prefix
    names = []
    for key in connection.scan_iter(match=f'{prefix}*'):
        if not connection.hexists(key, 'death'):
            name = key.decode() if isinstance(key, bytes) else key
            names.append(name.removeprefix(prefix))
    return sorted(names)


def process_health(queue, hostname=None, worker_ttl=DEFAULT_WORKER_TTL) -> ProcessHealth:
    """Workers for ``queue`` with a fresh heartbeat (on ``hostname`` if given) and live schedulers."""
    return ProcessHealth(
        workers=live_workers(queue, hostname=hostname, worker_ttl=worker_ttl),
        schedulers=live_schedulers(queue.connection),
    )
