"""Fixtures of the fault-injection suite: real processes with short lock expiry and Kubernetes timeout."""

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.faults.checks import Cluster, FaultProcesses, wait_for_run
from tests.kmock_server import kube_api

ARTIFACTS = Path(__file__).resolve().parents[2] / 'test-artifacts'
# A killed sync's fabric lock frees itself after this long (the plugin's default is 60 s). The holder renews
# it every 2/3 of this: a loaded machine must get the renewal thread running within the remaining third.
LOCK_EXPIRE = 10
# Per request; a timed-out list is tried kubernetes_retries (3) times, so one hanging list fails after ~3x this.
# Long enough that a loaded machine still answers a normal list in time.
KUBERNETES_TIMEOUT = 5


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


class SyncedFabric(NamedTuple):
    api: object  # tests.kmock_server.KubeAPI
    cluster: Cluster
    fabric: HedgehogFabric


@pytest.fixture
def synced_fabric(live):
    """``synced_fabric(name, interval)``: a kmock cluster holding three switches and two VPCs, one worker
    and one scheduler, and a fabric syncing that cluster every ``interval`` s whose first run succeeded.

    The second VPC is there so that deleting the first does not empty the kind (a kind that suddenly
    empties is, safely, not pruned, which is not what these tests are about).
    """
    with kube_api() as api:

        def make(name, interval):
            cluster = Cluster(api)
            for index in (1, 2, 3):
                cluster.add('Switch', f'leaf-0{index}', {'role': 'server-leaf', 'asn': 65100 + index})
            cluster.add('VPC', 'vpc-1', {'subnets': {'default': {'subnet': '10.0.1.0/24'}}})
            cluster.add('VPC', 'vpc-2', {'subnets': {'default': {'subnet': '10.0.2.0/24'}}})
            live.start_worker('worker-0')
            live.start_scheduler()
            fabric = HedgehogFabric.objects.create(name=name, sync_interval=interval, **cluster.fabric_fields())
            FabricScheduler().bootstrap()
            wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS)
            return SyncedFabric(api, cluster, fabric)

        yield make
