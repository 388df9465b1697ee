"""Deleting a fabric through the REST API while a real worker runs its chain."""

import pytest
from django.test import Client
from django.urls import reverse
from users.constants import TOKEN_PREFIX
from users.models import Token, User

from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler, chain_job_id
from tests.kmock_server import kube_api
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SERVERS = 300


def server(index):
    return {
        'apiVersion': 'wiring.githedgehog.com/v1beta1',
        'kind': 'Server',
        'metadata': {'name': f'server-{index:03}'},
        'spec': {'description': f'rack {index % 10}'},
    }


def api_client():
    user = User.objects.create_user(username='deleter', is_superuser=True)
    token = Token.objects.create(user=user)
    return Client(HTTP_AUTHORIZATION=f'Bearer {TOKEN_PREFIX}{token.key}.{token.token}')


def test_api_delete_during_a_running_sync_succeeds_and_ends_the_chain(live_processes, tasks_redis):
    client = api_client()
    with kube_api() as api:
        for index in range(SERVERS):
            api.add(server(index))
        fabric = HedgehogFabric.objects.create(name='doomed', sync_interval=2, **api.fabric_fields())
        FabricScheduler().bootstrap()
        wait_until(
            lambda: HedgehogResource.objects.filter(fabric=fabric).count() == SERVERS,
            message='the first sync',
        )
        # Every later run now writes (a changed server each run) and is held in its read until we delete.
        api.add({**server(0), 'spec': {'description': 'moved'}})
        api.delay('Server', 30)
        wait_until(
            lambda: SyncRun.objects.filter(fabric=fabric, finished_at=None).exists(),
            message='a sync in progress',
        )

        response = client.delete(reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[fabric.pk]))
        assert response.status_code == 204, response.content
        api.delay('Server', None)  # the held run goes on, against a deleted fabric

        queue = FabricScheduler().queue
        wait_until(
            lambda: not queue.started_job_registry.get_job_ids() and not queue.get_job_ids(),
            message='the running sync to end',
        )

    assert not HedgehogFabric.objects.filter(pk=fabric.pk).exists()
    assert not HedgehogResource.objects.filter(fabric_id=fabric.pk).exists()
    assert not SyncRun.objects.filter(fabric_id=fabric.pk).exists()
    assert chain_job_id(fabric.pk).encode() not in tasks_redis.zrange('rq:scheduler:scheduled_jobs', 0, -1)
    assert FabricScheduler().planned_time(fabric.pk) is None
    # The held run, which met the deletion, ended quietly: not as a failed job, not with a traceback.
    assert 'Traceback' not in live_processes.log('worker-0'), live_processes.log('worker-0')[-3000:]
