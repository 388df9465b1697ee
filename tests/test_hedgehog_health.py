"""``manage.py hedgehog_health``: the health check that containers, probes and monitoring run."""

import json
import os
import shutil
import socket
import subprocess
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rq import Queue, Worker
from rq.utils import now, utcformat

from netbox_hedgehog.scheduling.health import process_health
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME
from tests.live import NETBOX, PATIENCE, LiveProcesses, wait_until

ARTIFACTS = Path(__file__).resolve().parent.parent / 'test-artifacts' / 'hedgehog_health'


def health(*args):
    out = StringIO()
    call_command('hedgehog_health', *args, stdout=out)
    return out.getvalue()


def cli(*args, env=None):
    return subprocess.run(
        [NETBOX, 'hedgehog_health', *args],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        env={**os.environ, **(env or {})},
    )


def test_without_processes_fails_and_names_what_is_missing(tasks_redis):
    with pytest.raises(CommandError) as both:
        health()
    assert both.value.returncode == 1
    assert 'no rqworker' in str(both.value) and 'no rqscheduler' in str(both.value)

    with pytest.raises(CommandError) as worker_only:
        health('--worker')
    assert 'no rqworker' in str(worker_only.value) and 'rqscheduler' not in str(worker_only.value)

    with pytest.raises(CommandError) as scheduler_only:
        health('--scheduler', '--json')
    assert str(scheduler_only.value) == 'no rqscheduler is running'


def test_a_worker_with_a_stale_heartbeat_is_not_alive(tasks_redis):
    queue = Queue(QUEUE_NAME, connection=tasks_redis)
    worker = Worker([queue], connection=tasks_redis, name='frozen')
    worker.register_birth()  # what a worker does at start; nothing heartbeats afterwards
    assert process_health(queue).workers == ['frozen']
    assert process_health(queue, hostname='elsewhere').workers == []

    tasks_redis.hset(worker.key, 'last_heartbeat', utcformat(now() - timedelta(seconds=500)))
    assert process_health(queue).workers == []  # registered, key not yet expired, but stale
    assert process_health(queue, worker_ttl=600).workers == ['frozen']
    with pytest.raises(CommandError, match='fresh heartbeat'):
        health('--worker')


@pytest.mark.integration
def test_unreachable_redis_is_unhealthy_with_one_line_reason():
    completed = cli('--scheduler', env={'HEDGEHOG_REDIS_PORT': '1'})
    assert completed.returncode == 1, completed
    lines = completed.stderr.strip().splitlines()
    assert lines[-1].startswith('CommandError: cannot read process state from Redis'), completed.stderr


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_with_live_processes_it_passes_and_notices_a_stopped_worker(tasks_redis):
    log_dir = ARTIFACTS / 'live'
    shutil.rmtree(log_dir, ignore_errors=True)
    with LiveProcesses(log_dir) as processes:
        assert health().startswith('OK: workers: ')
        # The workers run on this machine: the check a container runs on its own host passes...
        report = json.loads(health('--worker', '--hostname', socket.gethostname(), '--json'))
        assert report['healthy'] is True and len(report['workers']) == 1 and 'schedulers' not in report
        # ...and one for another host's worker does not.
        with pytest.raises(CommandError, match='no rqworker on host elsewhere'):
            health('--worker', '--hostname', 'elsewhere')

        # The real CLI, as a health check runs it: exit status is what Docker and Kubernetes read.
        completed = cli('--worker', '--hostname', socket.gethostname())
        assert completed.returncode == 0, completed
        assert cli('--scheduler').returncode == 0

        processes.stop('worker-0')  # a warm shutdown unregisters the worker
        completed = cli('--worker')
        assert completed.returncode == 1
        assert 'no rqworker' in completed.stderr and len(completed.stderr.strip().splitlines()) == 1
        assert cli('--scheduler').returncode == 0

        processes.stop('scheduler')  # rq-scheduler marks its key with 'death' on the way out
        wait_until(lambda: cli('--scheduler').returncode == 1, interval=1, message='scheduler gone')
