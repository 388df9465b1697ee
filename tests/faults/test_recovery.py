"""Fast recovery: a periodic run that fails is retried with back-off (10 s, 20 s, 40 s …), so a fabric with a
300 s interval is back in sync within 30 s of its source recovering, not at its next slot."""

import pytest
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.faults.checks import Cluster, assert_no_overlap, assert_one_chain, seconds_since, wait_for_run
from tests.kmock_server import kube_api
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INTERVAL = 300
OUTAGE = 20  # seconds the cluster API answers 500
RECOVERY = 30  # seconds after the API recovers by which the fabric must be in sync again


def test_a_failing_periodic_run_is_retried_within_seconds_not_at_the_next_slot(live, tasks_redis):
    with kube_api() as api:
        cluster = Cluster(api)
        cluster.add('Switch', 'leaf-01', {'role': 'server-leaf', 'asn': 65101})
        live.start_worker('worker-0')
        live.start_scheduler()
        api.fail('Switch', 500, 'InternalError')
        outage = timezone.now()
        fabric = HedgehogFabric.objects.create(name='recovering', sync_interval=INTERVAL, **cluster.fabric_fields())
        FabricScheduler().bootstrap()

        failed = wait_for_run(fabric, outage, SyncOutcomeChoices.FAILED)
        wait_until(lambda: seconds_since(outage) >= OUTAGE, message=f'{OUTAGE} s of outage')
        api.recover('Switch')
        recovered = timezone.now()

        run = wait_for_run(fabric, failed.started_at, SyncOutcomeChoices.SUCCESS)
        # What the chain decided, not how fast this machine ran it: the run after the recovery was planned
        # within RECOVERY seconds of it (the back-off), not at the next slot INTERVAL seconds on.
        assert (run.planned_at - recovered).total_seconds() <= RECOVERY, (run.planned_at, recovered)
        fabric.refresh_from_db()
        assert fabric.sync_status == SyncStatusChoices.IN_SYNC
        assert fabric.last_sync_planned == failed.planned_at  # the retries left the grid where it was
        assert (fabric.next_sync - failed.planned_at).total_seconds() % INTERVAL == 0  # back on the grid
        assert_no_overlap(fabric)
        assert_one_chain(tasks_redis, [fabric])
