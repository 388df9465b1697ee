"""Fixtures of the fault-injection suite: real processes with short lock expiry and Kubernetes timeout."""

import shutil
from pathlib import Path

import pytest

from tests.faults.checks import FaultProcesses

ARTIFACTS = Path(__file__).resolve().parents[2] / 'test-artifacts'
# A killed sync's fabric lock frees itself after this long (the plugin's default is 60 s).
LOCK_EXPIRE = 4
# Per request; a timed-out list is tried kubernetes_retries (3) times, so one hanging list fails after ~3x this.
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
