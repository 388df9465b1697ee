"""Fixtures of the fault-injection suite: real processes with short lock expiry and Kubernetes timeout."""

import shutil
from pathlib import Path

import git
import pytest

from tests.faults.checks import FaultProcesses

ARTIFACTS = Path(__file__).resolve().parents[2] / 'test-artifacts'
DEMO_WIRING = Path(__file__).resolve().parents[2] / 'netbox_hedgehog' / 'fixtures' / 'demo-wiring'
AUTHOR = git.Actor('test', 'test@localhost')
# A killed sync's fabric lock frees itself after this long (the plugin's default is 60 s).
LOCK_EXPIRE = 4
# Per request; the Kubernetes client tries a timed-out GET four times, so one hanging list fails after ~4x this.
KUBERNETES_TIMEOUT = 1.5


@pytest.fixture
def fault_settings(monkeypatch):
    """Short lock expiry and Kubernetes timeout for the processes this test starts (tests/netbox_configuration.py)."""
    monkeypatch.setenv('HEDGEHOG_LOCK_EXPIRE', str(LOCK_EXPIRE))
    monkeypatch.setenv('HEDGEHOG_KUBERNETES_TIMEOUT', str(KUBERNETES_TIMEOUT))


@pytest.fixture
def live(request, fault_settings, tasks_redis, transactional_db):
    """Real processes (none yet): the test starts the workers and schedulers it needs."""
    log_dir = ARTIFACTS / 'faults' / request.node.name
    shutil.rmtree(log_dir, ignore_errors=True)
    processes = FaultProcesses(log_dir)
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def gitops_repo(tmp_path):
    """A local GitOps repository (branch ``main``) holding the project's demo wiring."""
    path = tmp_path / 'gitops'
    shutil.copytree(DEMO_WIRING, path)
    repo = git.Repo.init(path, initial_branch='main')
    repo.index.add([str(item.relative_to(path)) for item in path.rglob('*.yaml')])
    repo.index.commit('demo wiring', author=AUTHOR, committer=AUTHOR)
    return path
