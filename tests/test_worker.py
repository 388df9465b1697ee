"""The shipped sync worker (``SyncWorker``) keeps its heartbeat fresh while a job runs."""

import time

import pytest
from rq import Queue
from rq.job import JobStatus

from netbox_hedgehog import worker as worker_module
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME
from netbox_hedgehog.worker import SyncWorker

WORKER_NAME = 'heartbeat-test-worker'


def beats_while_running(connection_kwargs, beats_wanted):
    """A job that returns once the worker running it has sent ``beats_wanted`` heartbeats meanwhile."""
    import redis
    from rq import Worker

    connection = redis.Redis(**connection_kwargs)
    seen = set()
    deadline = time.monotonic() + 120  # a bound for a broken worker, not a timing assertion
    while len(seen) < beats_wanted and time.monotonic() < deadline:
        seen.add(Worker.find_by_key(Worker.redis_worker_namespace_prefix + WORKER_NAME, connection).last_heartbeat)
        time.sleep(0.01)
    return len(seen)


@pytest.fixture
def fast_beats(monkeypatch):
    monkeypatch.setattr(worker_module, 'BUSY_HEARTBEAT_SECONDS', 0.05)


def test_the_heartbeat_goes_on_while_a_job_runs(tasks_redis, fast_beats):
    queue = Queue(QUEUE_NAME, connection=tasks_redis)
    kwargs = tasks_redis.connection_pool.connection_kwargs
    connection_kwargs = {key: kwargs[key] for key in ('host', 'port', 'db')}
    job = queue.enqueue(beats_while_running, connection_kwargs, 4)

    SyncWorker([queue], connection=tasks_redis, name=WORKER_NAME).work(burst=True)

    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() >= 4  # a plain SimpleWorker sends none until the job ends
