import shutil
from pathlib import Path

import pytest

from tests.live import LiveProcesses

ARTIFACTS = Path(__file__).resolve().parents[2] / 'test-artifacts'


@pytest.fixture
def live_processes(request, tasks_redis, transactional_db):
    """One real ``rqworker`` on the plugin's queue and the scheduler the deployment files ship.

    A test may ask for another worker class with
    ``@pytest.mark.parametrize('live_processes', ['rq.worker.SimpleWorker'], indirect=True)``.
    """
    log_dir = ARTIFACTS / 'integration' / request.node.name
    shutil.rmtree(log_dir, ignore_errors=True)
    processes = LiveProcesses(
        log_dir, worker_class=getattr(request, 'param', None), scheduler='hedgehog_scheduler', scheduler_interval=0.2
    )
    with processes:
        yield processes
