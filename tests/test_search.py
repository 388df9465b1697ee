"""NetBox's global search (``/search/``) finds what a sync wrote, by name and key fields, and forgets what it pruned."""

import pytest
from django.urls import reverse

from netbox_hedgehog.models import HedgehogFabric, HedgehogResource
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.kmock_server import kube_api

pytestmark = pytest.mark.django_db

SWITCH = {
    'apiVersion': 'wiring.githedgehog.com/v1beta1',
    'kind': 'Switch',
    'metadata': {'name': 'leaf-77'},
    'spec': {'role': 'border-leaf', 'asn': 65177, 'profile': 'celestica-ds3000'},
}
VPC = {
    'apiVersion': 'vpc.githedgehog.com/v1beta1',
    'kind': 'VPC',
    'metadata': {'name': 'vpc-77'},
    'spec': {'subnets': {'default': {'subnet': '10.77.1.0/24', 'vlan': 1077}}},
}


def found(client, query):
    """The objects the search view lists for ``query``, as their URLs."""
    response = client.get(f'{reverse("search")}?q={query}')
    assert response.status_code == 200
    return {row.record.object.get_absolute_url() for row in response.context['table'].rows}


def test_synced_resources_are_found_by_name_and_key_fields_until_pruned(admin_client):
    with kube_api() as api:
        api.add(SWITCH)
        api.add({**SWITCH, 'metadata': {'name': 'leaf-78'}})  # so that pruning leaf-77 does not empty the kind
        api.add(VPC)
        fabric = HedgehogFabric.objects.create(name='searchable', **api.fabric_fields())
        assert sync_fabric(fabric).created == 3
        leaf = HedgehogResource.objects.get(fabric=fabric, name='leaf-77').get_absolute_url()
        vpc = HedgehogResource.objects.get(fabric=fabric, name='vpc-77').get_absolute_url()

        assert leaf in found(admin_client, 'leaf-77')
        assert leaf in found(admin_client, '65177')
        assert leaf in found(admin_client, 'border-leaf')
        assert vpc in found(admin_client, '10.77.1.0/24')

        api.add({**SWITCH, 'spec': {**SWITCH['spec'], 'asn': 65178}})
        assert sync_fabric(fabric).updated == 1
        assert leaf not in found(admin_client, '65177')
        assert leaf in found(admin_client, '65178')

        api.delete('Switch', 'leaf-77')
        assert sync_fabric(fabric).deleted == 1

    assert found(admin_client, 'leaf-77') == set()
    assert found(admin_client, 'leaf-78')
    assert vpc in found(admin_client, 'vpc-77')


def test_a_fabric_is_found_by_name(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # NetBox indexes saved objects once they commit
        fabric = HedgehogFabric.objects.create(name='fabric-findable', description='lab in building 7')

    assert fabric.get_absolute_url() in found(admin_client, 'fabric-findable')
    assert fabric.get_absolute_url() in found(admin_client, 'building 7')


def test_deleting_a_fabric_removes_its_resources_from_the_search(admin_client):
    with kube_api() as api:
        api.add(SWITCH)
        fabric = HedgehogFabric.objects.create(name='going', **api.fabric_fields())
        sync_fabric(fabric)
    assert found(admin_client, 'leaf-77')

    fabric.delete()

    assert found(admin_client, 'leaf-77') == set()
