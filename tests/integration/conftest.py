import shutil
from pathlib import Path

import git
import pytest

from tests.live import LiveProcesses

DEMO_WIRING = Path(__file__).resolve().parents[2] / 'netbox_hedgehog' / 'fixtures' / 'demo-wiring'
ARTIFACTS = Path(__file__).resolve().parents[2] / 'test-artifacts'


@pytest.fixture
def live_processes(request, tasks_redis, transactional_db):
    """One real ``rqworker`` on the plugin's queue and one ``rqscheduler --interval 1``.

    A test may ask for another worker class with ``@pytest.mark.parametrize('worker_class', [...],
    indirect=True)``.
    """
    log_dir = ARTIFACTS / 'integration' / request.node.name
    shutil.rmtree(log_dir, ignore_errors=True)
    with LiveProcesses(log_dir, worker_class=getattr(request, 'param', None)) as processes:
        yield processes


@pytest.fixture
def gitops_repo(tmp_path):
    """A local GitOps repository holding the project's demo wiring."""
    path = tmp_path / 'gitops'
    shutil.copytree(DEMO_WIRING, path)
    repo = git.Repo.init(path, initial_branch='main')
    repo.index.add([str(item.relative_to(path)) for item in path.rglob('*.yaml')])
    repo.index.commit('demo wiring', author=git.Actor('test', 'test@localhost'),
                      committer=git.Actor('test', 'test@localhost'))
    return path
