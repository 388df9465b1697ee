"""Is anything going to run the scheduled syncs? Liveness of RQ workers and rq-scheduler processes."""

from dataclasses import dataclass
from datetime import datetime, timezone

from rq import Worker
from rq.defaults import DEFAULT_WORKER_TTL
from rq_scheduler import Scheduler

QUEUE_NAME = 'netbox_hedgehog.hedgehog_sync'
WORKER_COMMAND = f'manage.py rqworker {QUEUE_NAME} --worker-class netbox_hedgehog.worker.SyncWorker --worker-ttl 30'
SCHEDULER_COMMAND = 'manage.py hedgehog_scheduler --interval 0.2'

# When a worker and a scheduler were last seen alive, remembered by every health check, so that a
# banner can say since when they are gone even after RQ has forgotten them.
LAST_ALIVE_KEY = 'netbox_hedgehog:health:last_alive:{}'


@dataclass(frozen=True)
class ProcessHealth:
    """The rqworkers serving the plugin's queue and the rqscheduler processes alive right now.

    ``workers_seen``/``schedulers_seen`` say when one was last seen alive (None: never, as far as
    Redis remembers); they matter when the list beside them is empty.
    """

    workers: list[str]
    schedulers: list[str]
    workers_seen: datetime | None = None
    schedulers_seen: datetime | None = None

    @property
    def healthy(self):
        return bool(self.workers) and bool(self.schedulers)

    def problems(self):
        """Readable reasons why scheduled syncs will not run (empty when both processes are alive)."""
        problems = []
        if not self.workers:
            problems.append(
                f'No rqworker is listening on the {QUEUE_NAME} queue{_since(self.workers_seen)}: no sync will run. '
                f'Start one: {WORKER_COMMAND}'
            )
        if not self.schedulers:
            problems.append(
                f'No rqscheduler is running{_since(self.schedulers_seen)}: scheduled syncs will never be queued. '
                f'Start one: {SCHEDULER_COMMAND}'
            )
        return problems


def _since(seen):
    return f' (last seen alive {seen:%Y-%m-%d %H:%M:%S} UTC)' if seen else ''


# On every heartbeat RQ sets the worker's key to expire 60 s after the moment it promises the next one
# (``worker_ttl + 60`` idle, ``job_monitoring_interval + 60`` while a horse works, ``job timeout + 60``
# for a SimpleWorker's job). Less than this left on the key: the promised heartbeat is over 10 s late.
OVERDUE_TTL = 60 - 10


def live_workers(queue, hostname=None, worker_ttl=DEFAULT_WORKER_TTL):
    """Names of the workers for ``queue`` that kept their last heartbeat promise (and beat at most ``worker_ttl`` ago).

    RQ keeps a worker in its registry for a minute past its promised heartbeat, and a SIGKILLed
    ``rqworker``'s forked scheduler keeps even its Redis connection open, so neither membership nor
    connection says it is alive. The heartbeat does: a worker is dead once its promised heartbeat is
    over 10 s late, which for a worker started with ``--worker-ttl 30`` is at most 40 s after its last
    one (RQ's default ``--worker-ttl`` of 420 promises only every 420 s). ``hostname`` keeps only workers
    on that host, so a container's health check verifies its own worker rather than any worker anywhere.
    """
    now = datetime.now(timezone.utc)
    workers = [worker for worker in Worker.all(queue=queue) if hostname is None or worker.hostname == hostname]
    with queue.connection.pipeline() as pipeline:
        for worker in workers:
            pipeline.ttl(worker.key)
        key_ttls = pipeline.execute()
    names = []
    for worker, key_ttl in zip(workers, key_ttls, strict=True):
        beat = worker.last_heartbeat  # rq parses it as an aware UTC datetime
        if beat is None or (now - beat).total_seconds() > worker_ttl:
            continue
        if key_ttl == -2 or 0 <= key_ttl < OVERDUE_TTL:  # gone, or its promised heartbeat is overdue
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


def _last_alive(connection, role, alive):
    """Remember now as the last time ``role`` was alive, or read when it last was."""
    key = LAST_ALIVE_KEY.format(role)
    if alive:
        now = datetime.now(timezone.utc)
        connection.set(key, now.isoformat())
        return now
    value = connection.get(key)
    return datetime.fromisoformat(value.decode() if isinstance(value, bytes) else value) if value else None


def process_health(queue, hostname=None, worker_ttl=DEFAULT_WORKER_TTL) -> ProcessHealth:
    """Workers for ``queue`` alive now (on ``hostname`` if given), live schedulers, and when each was last alive."""
    connection = queue.connection
    workers = live_workers(queue, hostname=hostname, worker_ttl=worker_ttl)
    schedulers = live_schedulers(connection)
    return ProcessHealth(
        workers=workers,
        schedulers=schedulers,
        # A per-host check must not vouch for the fleet, nor the fleet for one host.
        workers_seen=_last_alive(connection, 'worker', bool(workers)) if hostname is None else None,
        schedulers_seen=_last_alive(connection, 'scheduler', bool(schedulers)),
    )
