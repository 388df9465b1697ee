"""The mapping made visible: the Hedgehog panel on device pages, the NetBox objects on resource pages, the fabric's
counts of managed objects and the owned-object list (with permissions), and NetBox's cable trace of a mapped port."""

import pytest
from core.models import ObjectType
from dcim.models import Cable, Device, Interface
from django.test import Client
from django.urls import reverse
from users.models import ObjectPermission, User

from netbox_hedgehog.choices import ResourceSourceChoices, SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from tests.fabric_data import AGENT_STATUS, create_resource
from tests.test_dcim_mapping import dcim_fabric, git_cache, repo, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

OWNED_LIST = reverse('plugins:netbox_hedgehog:hedgehogownedobject_list')
AGENT_VERSION = 'v0.87.4'


@pytest.fixture
def mapped(repo, site, tasks_redis):  # noqa: F811
    """The demo wiring mapped by a recorded run (Git drives it), and the cluster's Agent of leaf-01 reporting."""
    fabric = dcim_fabric(repo, site, scheduler_enabled=False)
    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)
    assert SyncRun.objects.get(fabric=fabric).outcome == SyncOutcomeChoices.SUCCESS
    create_resource(
        fabric,
        ResourceSourceChoices.KUBERNETES,
        'Agent',
        'leaf-01',
        {'role': 'server-leaf'},
        status={**AGENT_STATUS, 'version': AGENT_VERSION},
    )
    return fabric


def client_with(*grants):
    """A logged-in user holding exactly ``grants``: ``(model, action, constraints or None)``."""
    user = User.objects.create_user(username=f'viewer-{User.objects.count()}')
    for model, action, constraints in grants:
        permission = ObjectPermission.objects.create(
            name=f'{action} {model._meta.model_name}', actions=[action], constraints=constraints
        )
        permission.users.add(user)
        permission.object_types.add(ObjectType.objects.get_for_model(model))
    client = Client()
    client.force_login(user)
    return client


def viewer(*models):
    return client_with(*((model, 'view', None) for model in (Device, *models)))


def panel(client, device):
    response = client.get(device.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    if 'id="hedgehog_panel"' not in content:
        return None
    return content.split('id="hedgehog_panel"', 1)[1].split('</table>', 1)[0]


def test_a_mapped_switch_page_shows_the_hedgehog_panel(mapped):
    leaf = Device.objects.get(name='leaf-01')
    resource = HedgehogResource.objects.get(fabric=mapped, source='git', kind='Switch', name='leaf-01')
    run = SyncRun.objects.get(fabric=mapped, dry_run=False)

    content = panel(viewer(HedgehogFabric, HedgehogResource, SyncRun), leaf)

    assert content is not None
    assert f'href="{mapped.get_absolute_url()}"' in content
    assert f'href="{resource.get_absolute_url()}"' in content and 'default/leaf-01' in content
    assert '>Switch<' in content and 'server-leaf' in content
    assert '2025-01-02</span> 03:04:05' in content  # the Agent's lastHeartbeat
    assert '>7<' in content  # its lastAppliedGen
    assert AGENT_VERSION in content
    assert f'href="{run.get_absolute_url()}"' in content and 'Success' in content


def test_a_server_panel_has_no_agent_and_a_device_no_fabric_owns_has_no_panel(mapped, site):  # noqa: F811
    client = viewer(HedgehogFabric, HedgehogResource, SyncRun)
    content = panel(client, Device.objects.get(name='server-01'))
    assert '>Server<' in content and AGENT_VERSION not in content

    other = Device.objects.create(
        name='not-ours', site=site, role=Device.objects.first().role, device_type=Device.objects.first().device_type
    )
    assert panel(client, other) is None


def test_the_panel_needs_the_view_permission_on_the_fabric(mapped):
    leaf = Device.objects.get(name='leaf-01')
    assert panel(viewer(), leaf) is None
    other_fabric_only = client_with((Device, 'view', None), (HedgehogFabric, 'view', {'name': 'another'}))
    assert panel(other_fabric_only, leaf) is None
    # The fabric alone: the panel, without the links to what the user may not view.
    content = panel(viewer(HedgehogFabric), leaf)
    assert content is not None and '/resources/' not in content and '/sync-runs/' not in content


def test_a_resource_page_links_to_the_netbox_objects_it_maps_to(mapped):
    client = viewer(HedgehogResource, HedgehogOwnedObject)
    leaf = Device.objects.get(name='leaf-01')
    switch = HedgehogResource.objects.get(fabric=mapped, kind='Switch', name='leaf-01')
    page = client.get(switch.get_absolute_url()).content.decode()
    assert 'NetBox objects' in page
    assert f'href="{leaf.get_absolute_url()}"' in page
    owned = HedgehogOwnedObject.objects.filter(fabric=mapped, kind='Switch', name='leaf-01')
    # The device, its management and loopback interfaces, their addresses and its boot MAC; its ports are owned by
    # the connections that name them.
    assert sorted(owned.values_list('key', flat=True)) == [
        'address:leaf-01/ip',
        'address:leaf-01/protocolIP',
        'address:leaf-01/vtepIP',
        'device:leaf-01',
        'interface:leaf-01/Loopback0',
        'interface:leaf-01/Loopback1',
        'interface:leaf-01/Management0',
        'mac:leaf-01/boot',
    ]
    for entry in owned:
        assert f'href="{entry.object.get_absolute_url()}"' in page

    connection = HedgehogResource.objects.get(fabric=mapped, kind='Connection', name='server-02--bundled--leaf-01')
    page = client.get(connection.get_absolute_url()).content.decode()
    lag = Interface.objects.get(device__name='server-02', type='lag')
    assert f'href="{lag.get_absolute_url()}"' in page
    for port in Interface.objects.filter(lag=lag):
        assert f'href="{port.get_absolute_url()}"' in page
        assert f'href="{port.link_peers[0].get_absolute_url()}"' in page  # the leaf's port
    for cable in Cable.objects.filter(description=connection.name):
        assert f'href="{cable.get_absolute_url()}"' in page
    assert f'href="{leaf.get_absolute_url()}"' not in page

    # A VPC's page links to its VRF; without the permission on owned objects no page lists them.
    vpc = HedgehogResource.objects.filter(fabric=mapped, kind='VPC').first()
    vrf = HedgehogOwnedObject.objects.get(fabric=mapped, kind='VPC', name=vpc.name, object_type__model='vrf').object
    assert f'href="{vrf.get_absolute_url()}"' in client.get(vpc.get_absolute_url()).content.decode()
    no_owned = viewer(HedgehogResource)
    assert f'href="{leaf.get_absolute_url()}"' not in no_owned.get(switch.get_absolute_url()).content.decode()


def owned_counts_on(client, fabric):
    content = client.get(fabric.get_absolute_url()).content.decode()
    if 'id="owned_counts"' not in content:
        return None
    table = content.split('id="owned_counts"', 1)[1].split('</table>', 1)[0]
    return {
        row.split('</th>')[0].rsplit('>', 1)[1].strip(): row.split('</a>')[0].rsplit('>', 1)[1]
        for row in table.split('<tr>')[1:]
    }


def test_the_fabric_page_counts_the_managed_objects_per_type_with_links(mapped):
    client = viewer(HedgehogFabric, HedgehogOwnedObject)

    counts = owned_counts_on(client, mapped)

    assert counts == {
        'Cables': '10',
        'Devices': '7',
        'IP addresses': '23',
        'IP ranges': '1',
        'Interfaces': '32',
        'MAC addresses': '4',
        'Prefixes': '4',
        'VLAN groups': '1',
        'VLANs': '3',
        'VRFs': '2',
    }
    page = client.get(mapped.get_absolute_url()).content.decode()
    device_type = ObjectType.objects.get_for_model(Device)
    url = f'{OWNED_LIST}?fabric_id={mapped.pk}&amp;object_type_id={device_type.pk}'
    assert f'href="{url}"' in page
    assert owned_counts_on(viewer(HedgehogFabric), mapped) is None  # no permission on owned objects: no counts


def test_the_owned_object_list_filters_by_fabric_and_type_and_links_each_object(mapped):
    client = viewer(HedgehogFabric, HedgehogOwnedObject)
    device_type = ObjectType.objects.get_for_model(Device)

    page = client.get(OWNED_LIST, {'fabric_id': mapped.pk, 'object_type_id': device_type.pk, 'per_page': 100})

    assert page.status_code == 200
    content = page.content.decode()
    for device in Device.objects.all():
        assert f'href="{device.get_absolute_url()}"' in content
    assert f'href="{Interface.objects.first().get_absolute_url()}"' not in content
    by_name = client.get(OWNED_LIST, {'object_type': 'dcim.cable', 'per_page': 100}).content.decode()
    for cable in Cable.objects.all():
        assert f'href="{cable.get_absolute_url()}"' in by_name
    assert f'href="{Device.objects.first().get_absolute_url()}"' not in by_name


def test_the_owned_object_list_needs_the_view_permission_and_honours_its_constraints(mapped):
    assert viewer().get(OWNED_LIST).status_code == 403
    switches_only = client_with((HedgehogOwnedObject, 'view', {'kind': 'Switch'}), (HedgehogFabric, 'view', None))
    content = switches_only.get(OWNED_LIST, {'per_page': 100}).content.decode()
    leaf = Device.objects.get(name='leaf-01')
    assert f'href="{leaf.get_absolute_url()}"' in content
    assert f'href="{Device.objects.get(name="server-01").get_absolute_url()}"' not in content
    # The switches' own objects: their devices, management and loopback interfaces, addresses and MACs.
    assert owned_counts_on(switches_only, mapped) == {
        'Devices': '4',
        'IP addresses': '10',
        'Interfaces': '10',
        'MAC addresses': '4',
    }


def test_netbox_cable_trace_from_a_mapped_server_port_reaches_the_leaf_port(mapped):
    client = client_with((Interface, 'view', None), (Device, 'view', None), (Cable, 'view', None))
    port = Interface.objects.get(device__name='server-03', name='enp2s1')

    response = client.get(f'/api/dcim/interfaces/{port.pk}/trace/', HTTP_ACCEPT='application/json')

    assert response.status_code == 200, response.content
    (near, cable, far) = response.json()[0]
    assert [(end['device']['name'], end['name']) for end in near] == [('server-03', 'enp2s1')]
    assert cable['id'] == port.cable_id
    assert [(end['device']['name'], end['name']) for end in far] == [('leaf-02', 'E1/2')]
    page = client.get(reverse('dcim:interface_trace', kwargs={'pk': port.pk}))
    assert page.status_code == 200 and 'Trace Completed' in page.content.decode()
