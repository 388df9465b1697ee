"""Real ``rqworker`` and ``rqscheduler`` processes for integration tests and benchmarks.

They run the same commands an operator runs beside NetBox, with the environment of the
current process (so they use the same NetBox configuration, database and Redis DBs).
"""

import atexit
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django_rq
import git
from rq import Queue

from netbox_hedgehog.scheduling.health import process_health
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME
from tests.fabric_data import DEMO_WIRING

NETBOX = str(Path(sys.executable).with_name('netbox'))
GIT_AUTHOR = git.Actor('test', 'test@localhost')


def make_gitops_repo(path):
    """A Git repository at ``path`` (branch ``main``) holding the project's demo wiring, committed.

    It is a copy of one built once per process: copying took 7 ms where ``git init`` and a commit took 49 ms.
    """
    shutil.copytree(_demo_wiring_repo(), path, symlinks=True)
    return path


@functools.cache
def _demo_wiring_repo():
    path = Path(tempfile.mkdtemp(prefix='nbhh-gitops-')) / 'gitops'
    atexit.register(shutil.rmtree, path.parent, ignore_errors=True)
    shutil.copytree(DEMO_WIRING, path)
    repo = git.Repo.init(path, initial_branch='main')
    repo.index.add([str(item.relative_to(path)) for item in path.rglob('*.yaml')])
    repo.index.commit('demo wiring', author=GIT_AUTHOR, committer=GIT_AUTHOR)
    return path


# How long a wait may last before the test fails. A wait ends as soon as its event happens, so this
# costs nothing when a test passes; it is long because a loaded 2-core machine is slow: one
# `netbox` CLI command took 3 min 22 s at a load average of 12 (20 s of it on the CPU).
PATIENCE = 600


def wait_until(predicate, timeout=PATIENCE, interval=0.1, message='condition'):
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f'{message} not reached within {timeout} s')
        time.sleep(interval)


class LiveProcesses:
    """Start N workers on the plugin's queue and one scheduler polling every ``scheduler_interval`` s.

    ``worker_class`` is passed to ``rqworker --worker-class`` (e.g. ``rq.worker.SimpleWorker``);
    ``worker_options`` are further ``rqworker`` options (e.g. those the deployment files ship);
    ``scheduler`` is ``rqscheduler`` (django-rq's, whole seconds) or ``hedgehog_scheduler`` (fractions).
    """

    def __init__(
        self, log_dir, workers=1, scheduler_interval=1, worker_class=None, worker_options=(), scheduler='rqscheduler'
    ):
        self.log_dir = Path(log_dir)
        self.worker_count = workers
        self.scheduler_interval = scheduler_interval
        self.scheduler_command = scheduler
        self.worker_options = [*worker_options, *(['--worker-class', worker_class] if worker_class else [])]
        self.processes = {}

    def __enter__(self):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for index in range(self.worker_count):
            self.start(f'worker-{index}', 'rqworker', *self.worker_options, QUEUE_NAME)
        self.start('scheduler', self.scheduler_command, '--interval', str(self.scheduler_interval))
        queue = Queue(QUEUE_NAME, connection=django_rq.get_connection(QUEUE_NAME))
        try:
            wait_until(
                lambda: (
                    self._check_alive()
                    and len((health := process_health(queue)).workers) == self.worker_count
                    and health.schedulers
                ),
                interval=0.2,
                message='workers and scheduler registered in Redis',
            )
        except BaseException:
            self.stop_all()  # processes that never got ready must not outlive the test and disturb the next ones
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop_all()

    def start(self, name, *command):
        log = open(self.log_dir / f'{name}.log', 'ab')
        self.processes[name] = subprocess.Popen(
            [NETBOX, *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,
        )
        log.close()

    def stop(self, *names, timeout=60):
        """SIGTERM the named processes, all at once, and wait for each to end (a worker first finishes its job).

        One that has not ended after ``timeout`` s is killed with its process group.
        """
        stopping = [self.processes.pop(name) for name in names]
        for process in stopping:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in stopping:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self):
        self.stop(*self.processes)

    def log(self, name):
        return (self.log_dir / f'{name}.log').read_text(errors='replace')

    def _check_alive(self):
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f'{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}')
        return True
