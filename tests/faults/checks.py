"""What every fault case asserts, and the process handling the cases need on top of ``tests.live``."""

import contextlib
import os
import signal
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import django_rq
import psycopg
from django.conf import settings
from django.utils import timezone
from rq import Queue, Worker

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.health import live_schedulers
from netbox_hedgehog.scheduling.scheduler import CHAIN_JOB_PREFIX, QUEUE_NAME, chain_job_id
from tests.live import PATIENCE, LiveProcesses, wait_until

SCHEDULED_JOBS = 'rq:scheduler:scheduled_jobs'


class FaultProcesses(LiveProcesses):
    """Workers and schedulers started, killed and restarted one by one."""

    def __init__(self, log_dir):
        super().__init__(log_dir, workers=0)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.queue = Queue(QUEUE_NAME, connection=django_rq.get_connection(QUEUE_NAME))

    def start_worker(self, name, serve_default=False):
        """An ``rqworker`` on the plugin's queue (and NetBox's ``default``, where the watchdog system job runs)."""
        queues = [QUEUE_NAME, 'default'] if serve_default else [QUEUE_NAME]
        self.start(name, 'rqworker', *queues)
        pid = self.processes[name].pid
        wait_until(
            lambda: self._check_alive() and any(w.pid == pid for w in Worker.all(queue=self.queue)),
            interval=0.2,
            message=f'{name} registered in Redis',
        )

    def start_scheduler(self, name='scheduler'):
        """An ``rqscheduler --interval 1`` (it also runs the plugin's watchdog keeper thread)."""
        before = set(live_schedulers(self.queue.connection))
        self.start(name, 'rqscheduler', '--interval', '1')
        wait_until(
            lambda: self._check_alive() and set(live_schedulers(self.queue.connection)) - before,
            interval=0.2,
            message=f'{name} registered in Redis',
        )

    def kill(self, name):
        """SIGKILL the process and its children at once: for a worker, the worker and its work horse.

        RQ puts each work horse in a process group of its own (``os.setpgrp()``), so killing the
        worker's group alone would leave the horse running; each child's group is killed as well.
        """
        process = self.processes.pop(name)
        groups = {process.pid} | {os.getpgid(pid) for pid in children(process.pid)}
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        process.wait(timeout=PATIENCE)


def children(pid):
    """PIDs of the live child processes of ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = open(f'/proc/{entry}/stat').read()
            except OSError:
                continue
            if int(stat.rpartition(')')[2].split()[1]) == pid:
                found.append(int(entry))
    return found


def kubernetes_rows(fabric):
    """The fabric's rows from its Kubernetes source as {(kind, name): spec}."""
    return {
        (row.kind, row.name): row.spec for row in HedgehogResource.objects.filter(fabric=fabric, source='kubernetes')
    }


class Cluster:
    """The emulated API plus what it holds, as {(kind, name): spec}: what the fabric's rows must equal."""

    API_VERSIONS = {
        'Switch': 'wiring.githedgehog.com/v1beta1',
        'Server': 'wiring.githedgehog.com/v1beta1',
        'VPC': 'vpc.githedgehog.com/v1beta1',
    }

    def __init__(self, api):
        self.api = api
        self.objects = {}

    def add(self, kind, name, spec):
        self.api.add({'apiVersion': self.API_VERSIONS[kind], 'kind': kind, 'metadata': {'name': name}, 'spec': spec})
        self.objects[kind, name] = spec

    def delete(self, kind, name):
        self.api.delete(kind, name)
        del self.objects[kind, name]

    def fabric_fields(self):
        return self.api.fabric_fields()


def finished_runs(fabric, after=None, trigger=None):
    """The fabric's finished runs (started after ``after``), oldest first."""
    runs = SyncRun.objects.filter(fabric=fabric).exclude(finished_at=None)
    if after is not None:
        runs = runs.filter(started_at__gt=after)
    if trigger is not None:
        runs = runs.filter(trigger=trigger)
    return runs.order_by('started_at')


def wait_for_run(fabric, after, outcome=None, trigger=None):
    """The first run started after ``after`` that finished (with ``outcome``, if given)."""

    def found():
        runs = [run for run in finished_runs(fabric, after, trigger) if outcome is None or run.outcome == outcome]
        return runs[0] if runs else None

    return wait_until(
        found,
        interval=0.2,
        message=f'a {outcome or "finished"} run of {fabric} after {after:%H:%M:%S.%f}',
    )


def fabric_after(run):
    """The run's fabric, once ``run`` (or a later run) finished: a run's record and the fabric state it writes
    are committed together, so the fabric then shows that run's outcome or a later one's."""

    def recorded():
        finished = SyncRun.objects.filter(pk=run.pk).exclude(outcome=SyncOutcomeChoices.RUNNING).exists()
        return HedgehogFabric.objects.get(pk=run.fabric_id) if finished else None

    return wait_until(recorded, interval=0.05, message=f'run {run.pk} finished and recorded on its fabric')


def assert_no_overlap(fabric):
    """No two runs of the fabric that did work were running at once, and no planned slot ran twice."""
    runs = list(
        SyncRun.objects.filter(fabric=fabric).exclude(outcome=SyncOutcomeChoices.SKIPPED).order_by('started_at')
    )
    for earlier, later in zip(runs, runs[1:]):
        assert earlier.finished_at is not None and later.started_at >= earlier.finished_at, (
            f'runs overlap: {earlier.pk} {earlier.started_at}-{earlier.finished_at} and '
            f'{later.pk} from {later.started_at}'
        )
    planned = [run.planned_at for run in SyncRun.objects.filter(fabric=fabric, trigger='schedule')]
    assert len(planned) == len(set(planned)), 'a planned slot ran twice (two chains)'


def chain_places(redis):
    """Where each chain job is at one instant: {job_id: ['scheduled' | 'queued' | 'running', ...]}.

    Read in one MULTI, so the lists are from the same moment. ``queued`` counts the queue and the
    list a worker moves a job through as it takes it (RQ's intermediate queue); ``running`` is a
    started job whose worker process is alive (a killed worker's entry stays in the registry).
    """
    queue = Queue(QUEUE_NAME, connection=redis)
    with redis.pipeline() as pipe:
        pipe.zrange(SCHEDULED_JOBS, 0, -1)
        pipe.lrange(queue.key, 0, -1)
        pipe.lrange(queue.intermediate_queue_key, 0, -1)
        pipe.zrange(queue.started_job_registry.key, 0, -1)
        scheduled, queued, taken, started = ([item.decode() for item in items] for items in pipe.execute())
    places = defaultdict(list)
    for job_id in scheduled:
        places[job_id].append('scheduled')
    for job_id in queued + taken:
        places[job_id].append('queued')
    running = {key.rpartition(':')[0] for key in started} & jobs_of_live_workers(redis)
    for job_id in running:
        places[job_id].append('running')
    return {job_id: where for job_id, where in places.items() if job_id.startswith(CHAIN_JOB_PREFIX)}


def jobs_of_live_workers(redis):
    """The current jobs of the workers whose process is alive (all run on this machine)."""
    jobs = set()
    for key in redis.scan_iter('rq:worker:*'):
        current, pid = redis.hmget(key, 'current_job', 'pid')
        # A worker whose registration a flush removed no longer records its pid: take it as alive.
        if current and (not pid or Path(f'/proc/{int(pid)}').exists()):
            jobs.add(current.decode())
    return jobs


def assert_one_chain(redis, fabrics):
    """Exactly one chain per periodic fabric of ``fabrics``, and no chain of any other fabric.

    A chain job is in one place at a time: waiting in rq-scheduler, in the queue, or run by a
    worker. Moving on, it is briefly in two (rq-scheduler queues a job before it removes the
    entry; a run schedules its successor before it ends) or, with a worker of two queues, in
    none (taken, not yet registered as started). So this waits for a moment at which every chain
    is in exactly one place; a chain job queued twice fails at once.
    """
    expected = {chain_job_id(fabric.pk) for fabric in fabrics if fabric.is_periodic}
    seen = {}

    def settled():
        seen.update(places=chain_places(redis))
        twice = {job_id: where for job_id, where in seen['places'].items() if where.count('queued') > 1}
        assert not twice, f'a chain job is queued twice: {twice}'
        return set(seen['places']) == expected and all(len(where) == 1 for where in seen['places'].values())

    try:
        wait_until(settled, interval=0.05, message='one place per chain')
    except TimeoutError:
        raise AssertionError(f'expected one chain each for {sorted(expected)}; last seen {seen["places"]}') from None


def chain_alive(fabric):
    """The fabric's chain job is somewhere: waiting, queued or being run (see :func:`chain_places`)."""
    return chain_job_id(fabric.pk) in chain_places(django_rq.get_connection(QUEUE_NAME))


def seconds_since(moment: datetime):
    return (timezone.now() - moment).total_seconds()


class RowLock:
    """Holds a row lock from a connection of its own, so that a sync's UPDATE of that row waits."""

    def __init__(self, table, pk):
        db = settings.DATABASES['default']
        self.connection = psycopg.connect(
            dbname=db['NAME'],
            user=db['USER'],
            password=db['PASSWORD'] or None,
            host=db['HOST'],
            port=db['PORT'],
            application_name='nbhh-faults-row-lock',
        )
        self.connection.execute(f'SELECT 1 FROM {table} WHERE id = %s FOR UPDATE', [pk])

    def release(self):
        if not self.connection.closed:
            self.connection.rollback()
            self.connection.close()


def blocked_backends():
    """PIDs of this database's backends waiting for a lock (a sync stuck behind :class:`RowLock`)."""
    with admin_connection() as connection:
        return [
            pid
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                [settings.DATABASES['default']['NAME']],
            )
        ]


def backend_alive(pid):
    with admin_connection() as connection:
        return connection.execute('SELECT 1 FROM pg_stat_activity WHERE pid = %s', [pid]).fetchone() is not None


def admin_connection():
    db = settings.DATABASES['default']
    return psycopg.connect(
        dbname=db['NAME'],
        user=db['USER'],
        password=db['PASSWORD'] or None,
        host=db['HOST'],
        port=db['PORT'],
        autocommit=True,
        application_name='nbhh-faults-admin',
    )


def git_rows(fabric):
    """The fabric's rows from its Git source as {(kind, name): spec}."""
    return {(row.kind, row.name): row.spec for row in HedgehogResource.objects.filter(fabric=fabric, source='git')}


def repo_objects(path):
    """What a checked-out GitOps directory defines, as {(kind, name): spec}."""
    import yaml

    objects = {}
    for file in sorted(Path(path).rglob('*.yaml')):
        if '.git' in file.parts:
            continue
        for document in yaml.safe_load_all(file.read_text()):
            if isinstance(document, dict) and document.get('kind'):
                objects[document['kind'], document['metadata']['name']] = document.get('spec') or {}
    return objects
