"""New NetBox objects created in batches (``dcim.bulk``, ``dcim.write``) end as NetBox's own ``save()`` leaves them."""

from collections import Counter
from types import SimpleNamespace

import pytest
from core.models import ObjectChange, ObjectType
from dcim.models import (
    Cable,
    CableTermination,
    Device,
    DeviceRole,
    DeviceType,
    Interface,
    InterfaceTemplate,
    Manufacturer,
    Site,
)
from django.db.models.signals import post_save
from extras.models import CustomField
from netbox.context import events_queue

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.dcim import bulk
from netbox_hedgehog.dcim.apply import change_logging
from netbox_hedgehog.dcim.desired import DesiredDevice
from netbox_hedgehog.dcim.plan import Change, Plan
from netbox_hedgehog.dcim.write import Writer
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests import test_dcim_mapping
from tests.test_dcim_mapping import dcim_fabric

# The DCIM mapping tests' fixtures: a Git cache, the demo wiring as a repository, a site.
git_cache = test_dcim_mapping.git_cache
repo = test_dcim_mapping.repo
dcim_site = test_dcim_mapping.site

pytestmark = pytest.mark.django_db

LINKS = ((0, 2), (1, 4), (3, 6))  # the cables between the interfaces made below, by index


@pytest.fixture
def device_type():
    manufacturer = Manufacturer.objects.create(name='Acme', slug='acme')
    return DeviceType.objects.create(manufacturer=manufacturer, model='Box', slug='box')


@pytest.fixture
def role():
    return DeviceRole.objects.create(name='Leaf', slug='leaf', color='ff0000')


def build(name, device_type, role, batched):
    """Four devices with two interfaces each and three cables, in a site of their own; return the site."""
    site = Site.objects.create(name=name, slug=name)
    devices = [Device(name=f'd{n}', site=site, role=role, device_type=device_type, status='active') for n in range(4)]
    for device in devices:
        device.full_clean()
    bulk.create(Device, devices) if batched else [device.save() for device in devices]
    interfaces = [Interface(device=device, name=f'e{n}', type='25gbase-x-sfp28') for device in devices for n in (1, 2)]
    for interface in interfaces:
        interface.full_clean()
    if batched:
        bulk.create(Interface, interfaces, announce=False)
        ends = {interface.pk: interface for interface in interfaces}
    else:
        [interface.save() for interface in interfaces]
    cables = []
    for a, b in LINKS:
        cable = Cable(a_terminations=[interfaces[a]], b_terminations=[interfaces[b]])
        cable.full_clean()
        cables.append(cable)
    if batched:
        bulk.create_cables(cables, unannounced=ends)
        bulk.announce_created(Interface, interfaces)
    else:
        [cable.save() for cable in cables]
    return site


def state(site):
    """What NetBox stored for a site's devices, interfaces, cables and paths, by name (no primary keys)."""

    def name(interface):
        return f'{interface.device.name}/{interface.name}'

    interfaces = Interface.objects.filter(device__site=site).order_by('device__name', 'name')
    return {
        'devices': [
            (device.name, device.interface_count, device._config_context_data, device.custom_field_data)
            for device in Device.objects.filter(site=site).order_by('name')
        ],
        'interfaces': [
            (
                name(interface),
                (interface._site_id, interface._location_id, interface._rack_id) == (site.pk, None, None),
                interface.cable_end,
                interface.link_peers and name(interface.link_peers[0]),
                interface._path and (interface._path.is_active, interface._path.is_complete, interface._path.is_split),
                interface._path and [name(far) for far in interface._path.destinations],
                interface.connected_endpoints and name(interface.connected_endpoints[0]),
            )
            for interface in interfaces
        ],
        'terminations': sorted(
            (ct.cable_end, name(ct.termination), ct._device.name, ct._site_id == site.pk)
            for ct in CableTermination.objects.filter(_site=site)
        ),
    }


def test_a_batch_leaves_what_netbox_save_leaves(device_type, role):
    CustomField.objects.create(name='owner', type='text', default='netops').object_types.set(
        [ObjectType.objects.get_for_model(Device)]
    )
    with change_logging() as saved_request:
        saved = build('saved', device_type, role, batched=False)
    with change_logging() as batched_request:
        batched = build('batched', device_type, role, batched=True)
        events = set(events_queue.get())  # event rules run on them when the request ends

    assert state(batched) == state(saved)
    assert state(batched)['devices'][0] == ('d0', 2, None, {'owner': 'netops'})
    assert DeviceType.objects.get(pk=device_type.pk).device_count == 8
    for model, label in ((Device, 'dcim.device'), (Interface, 'dcim.interface'), (Cable, 'dcim.cable')):
        assert {f'{label}:{pk}' for pk in pks(model, batched)} <= events

    def changes(request):
        records = ObjectChange.objects.filter(request_id=request.id)
        return Counter((record.changed_object_type.model, record.action) for record in records), records

    saved_changes, _ = changes(saved_request)
    batched_changes, records = changes(batched_request)
    # NetBox records a cable's creation and then an update listing its terminations, and an interface's creation
    # and then an update for its cable; a batch records each object's creation once, complete.
    assert saved_changes - batched_changes == Counter({('cable', 'update'): 3, ('interface', 'update'): 6})
    assert batched_changes == Counter(
        {
            ('site', 'create'): 1,
            ('device', 'create'): 4,
            ('interface', 'create'): 8,
            ('cable', 'create'): 3,
            ('cabletermination', 'create'): 6,
        }
    )
    for record in records.filter(changed_object_type__model='cable'):
        assert len(record.postchange_data['a_terminations']) == len(record.postchange_data['b_terminations']) == 1
    cabled = records.filter(changed_object_type__model='interface', object_repr='e1')
    assert all(record.postchange_data['cable'] for record in cabled)


def pks(model, site):
    if model is Cable:
        return CableTermination.objects.filter(_site=site).values_list('cable_id', flat=True)
    field = 'site' if model is Device else 'device__site'
    return model.objects.filter(**{field: site}).values_list('pk', flat=True)


def test_another_apps_receiver_hears_of_each_new_object(device_type, role):
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((sender, instance.pk, created))

    post_save.connect(receiver, sender=Device)
    try:
        site = Site.objects.create(name='s', slug='s')
        devices = [Device(name=f'd{n}', site=site, role=role, device_type=device_type) for n in (1, 2)]
        bulk.create(Device, devices)
    finally:
        post_save.disconnect(receiver, sender=Device)

    assert heard == [(Device, device.pk, True) for device in devices]


def test_cabling_interfaces_already_announced_records_an_update_for_each(device_type, role):
    site = Site.objects.create(name='s', slug='s')
    devices = [Device(name=f'd{n}', site=site, role=role, device_type=device_type, status='active') for n in (1, 2)]
    bulk.create(Device, devices)
    interfaces = [Interface(device=device, name='e1', type='25gbase-x-sfp28') for device in devices]
    bulk.create(Interface, interfaces)
    with change_logging() as request:
        ends = bulk.cable_ends([interface.pk for interface in interfaces])
        bulk.create_cables([Cable(a_terminations=[ends[interfaces[0].pk]], b_terminations=[ends[interfaces[1].pk]])])

    updates = ObjectChange.objects.filter(request_id=request.id, changed_object_type__model='interface')
    assert sorted(updates.values_list('action', flat=True)) == ['update', 'update']
    assert all(record.prechange_data['cable'] is None and record.postchange_data['cable'] for record in updates)


def test_a_batch_the_database_refuses_is_written_one_by_one(device_type, role):
    """Two new devices of one name in a site: validation passes each alone, the unique constraint refuses the batch."""
    site = Site.objects.create(name='s', slug='s')
    plan = Plan(role_ids={'leaf': role.pk}, device_type_ids={('acme', 'Box'): device_type.pk})
    changes = [
        Change(
            Device,
            DesiredDevice(
                key=f'device:{key}',
                origin=('Switch', 'default', key),
                name='leaf-01',
                role='Leaf',
                manufacturer='Acme',
                model='Box',
            ),
        )
        for key in ('leaf-01', 'LEAF-01')
    ]
    problems = []
    writer = Writer(SimpleNamespace(dcim_site_id=site.pk, dcim_tenant_id=None), plan, {}, problems)

    written = writer.write(True, changes)

    assert [change.desired.key for change, _ in written] == ['device:leaf-01']
    assert list(Device.objects.values_list('name', flat=True)) == ['leaf-01']
    assert len(problems) == 1
    assert problems[0].startswith('DCIM: Switch default/LEAF-01: NetBox refused device:LEAF-01:')


def test_devices_of_a_type_in_use_go_in_a_batch_and_of_a_type_with_templates_through_save(device_type, role):
    site = Site.objects.create(name='s', slug='s')
    Device.objects.create(name='first', site=site, role=role, device_type=device_type)
    device_type.refresh_from_db()
    assert device_type.device_count == 1
    assert bulk.batchable(Device(name='second', site=site, role=role, device_type=device_type))
    InterfaceTemplate.objects.create(device_type=device_type, name='ipmi', type='1000base-t')
    device_type.refresh_from_db()
    assert not bulk.batchable(Device(name='third', site=site, role=role, device_type=device_type))


def test_devices_of_a_type_with_component_templates_get_their_components(repo, dcim_site):
    generic = Manufacturer.objects.create(name='Generic', slug='generic')
    server_type = DeviceType.objects.create(manufacturer=generic, model='Server', slug='generic-server')
    InterfaceTemplate.objects.create(device_type=server_type, name='ipmi', type='1000base-t', mgmt_only=True)
    fabric = dcim_fabric(repo, dcim_site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.SUCCESS, result.problems
    servers = Device.objects.filter(device_type=server_type)
    assert servers.count() == 3
    for server in servers:
        names = set(server.interfaces.values_list('name', flat=True))
        assert 'ipmi' in names and 'enp2s1' in names
        assert server.interface_count == len(names)
