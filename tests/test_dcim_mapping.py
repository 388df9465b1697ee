"""The fabric mapped into NetBox DCIM through the sync entry point: devices, interfaces, LAGs, cables, ownership."""

from pathlib import Path

import pytest
from core.models import ObjectChange, ObjectType
from dcim.models import Cable, Device, DeviceRole, DeviceType, Interface, Manufacturer, Platform, Rack, Site
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from extras.models import CustomField, Tag
from ipam.models import VRF, Prefix
from tenancy.models import Tenant

from netbox_hedgehog.choices import DCIMConflictPolicyChoices, SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.dcim.apply import CHANGELOG_USER, role_color
from netbox_hedgehog.models import HedgehogFabric, HedgehogOwnedObject, SyncRun
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests import test_sync_pipeline
from tests.test_sync_pipeline import commit_all

pytestmark = pytest.mark.django_db

# The sync pipeline tests' fixtures: a Git cache per test, the demo wiring as a repository.
git_cache = test_sync_pipeline.git_cache
repo = test_sync_pipeline.repo

ESLAG = 'server-01--eslag--leaf-01--leaf-02'
BUNDLED = 'server-02--bundled--leaf-01'

# What the demo's VPCs map to in IPAM: a VLAN group, a container prefix, 2 VRFs, 3 VLANs, 3 prefixes,
# 3 gateway addresses and a DHCP range, and the switches' 10 addresses and the fabric links' 10
# (tests/test_ipam_mapping.py has the details).
IPAM_OBJECTS = 1 + 1 + 2 + 3 + 3 + 3 + 1 + 10 + 10
# The demo's interfaces: 20 ports, 2 LAGs, and the switches' management and loopback interfaces (4 + 4 + 2).
INTERFACES = 20 + 2 + 10
# The switches' boot MACs, on their management interfaces.
MACS = 4
# Every object the demo maps to and owns: 7 devices, the interfaces, 10 cables, the IPAM objects and the MACs.
OWNED = 7 + INTERFACES + 10 + IPAM_OBJECTS + MACS
# The first run also creates 3 roles, 2 manufacturers and 3 device types.
CREATED = OWNED + 3 + 2 + 3

# Every cable the demo wiring calls for, as its two ends (device, interface).
DEMO_CABLES = {
    frozenset(link)
    for link in (
        (('spine-01', 'E1/1'), ('leaf-01', 'E1/49')),
        (('spine-01', 'E1/2'), ('leaf-01', 'E1/50')),
        (('spine-01', 'E1/3'), ('leaf-02', 'E1/49')),
        (('spine-02', 'E1/1'), ('leaf-01', 'E1/51')),
        (('spine-02', 'E1/2'), ('leaf-02', 'E1/51')),
        (('server-01', 'enp2s1'), ('leaf-01', 'E1/1')),
        (('server-01', 'enp2s2'), ('leaf-02', 'E1/1')),
        (('server-02', 'enp2s1'), ('leaf-01', 'E1/2')),
        (('server-02', 'enp2s2'), ('leaf-01', 'E1/3')),
        (('server-03', 'enp2s1'), ('leaf-02', 'E1/2')),
    )
}


@pytest.fixture
def site():
    return Site.objects.create(name='DC 1', slug='dc-1')


def write(repository, name, text):
    (Path(repository.working_tree_dir) / name).write_text(text)
    commit_all(repository, f'write {name}')


def edit(repository, name, old, new):
    path = Path(repository.working_tree_dir) / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    commit_all(repository, f'edit {name}')


def dcim_fabric(repository, site, **fields):
    return HedgehogFabric.objects.create(
        name='gitops', git_repository_url=repository.working_tree_dir, dcim_sync=True, dcim_site=site, **fields
    )


def cable_ends():
    """Every cable as a frozenset of its two ends (device name, interface name)."""
    return {
        frozenset((end.device.name, end.name) for end in (*cable.a_terminations, *cable.b_terminations))
        for cable in Cable.objects.all()
    }


# The one write of any unchanged resync: the fabric's read time of its source.
UNCHANGED = ['UPDATE "netbox_hedgehog_hedgehogfabric"']


def resync(fabric):
    """Sync again, checking that no DCIM or IPAM object changed; return the tables written and the query count."""
    with CaptureQueriesContext(connection) as queries:
        result = sync_fabric(fabric)
    assert result.succeeded, result.error_text()
    assert (result.dcim_created, result.dcim_updated, result.dcim_deleted) == (0, 0, 0)
    writes = [q['sql'] for q in queries if q['sql'].lstrip().upper().startswith(('INSERT', 'UPDATE', 'DELETE'))]
    return [sql.split(' SET ')[0] for sql in writes], len(queries)


def server(name, switch_port):
    return f"""
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: {name}
spec:
  description: extra
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: {name}--unbundled--{switch_port.replace('/', '-').lower()}
spec:
  unbundled:
    link:
      server:
        port: {name}/eth0
      switch:
        port: {switch_port}
"""


def vpc(name, index, connection):
    """A VPC with one subnet (10.1.<index>.0/24, VLAN 2000 + index, a DHCP range) attached to ``connection``.

    Even indexes attach natively (untagged), odd ones tagged.
    """
    return f"""
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-{name}
spec:
  subnets:
    default:
      subnet: 10.1.{index}.0/24
      vlan: {2000 + index}
      dhcp:
        enable: true
        range:
          start: 10.1.{index}.10
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPCAttachment
metadata:
  name: vpc-{name}--{connection}
spec:
  connection: {connection}
  subnet: vpc-{name}/default
  nativeVLAN: {str(index % 2 == 0).lower()}
"""


def test_the_demo_wiring_maps_to_devices_interfaces_lags_and_cables(repo, site):
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    devices = {device.name: device for device in Device.objects.select_related('role', 'device_type__manufacturer')}
    assert set(devices) == {'spine-01', 'spine-02', 'leaf-01', 'leaf-02', 'server-01', 'server-02', 'server-03'}
    leaf = devices['leaf-01']
    assert (leaf.role.name, leaf.device_type.manufacturer.name, leaf.device_type.model) == (
        'server-leaf',
        'Dell',
        'S5248F-ON',
    )
    assert leaf.site == site and leaf.description == 'leaf-01 (ESLAG with leaf-02)'
    assert devices['spine-01'].device_type.model == 'S5232F-ON'
    assert devices['server-01'].role.name == 'server'
    assert (devices['server-01'].device_type.manufacturer.name, devices['server-01'].device_type.model) == (
        'Generic',
        'Server',
    )
    assert DeviceRole.objects.get(name='spine').color == role_color('spine')

    assert cable_ends() == DEMO_CABLES
    eslag = Interface.objects.get(device__name='server-01', name=ESLAG)
    assert eslag.type == 'lag'
    assert set(eslag.member_interfaces.values_list('name', flat=True)) == {'enp2s1', 'enp2s2'}
    bundle = Interface.objects.get(device__name='server-02', name=BUNDLED)
    assert set(bundle.member_interfaces.values_list('name', flat=True)) == {'enp2s1', 'enp2s2'}
    assert Interface.objects.get(device__name='server-03', name='enp2s1').lag is None
    assert Interface.objects.count() == INTERFACES
    # Cable trace: the server port's path ends at the leaf port.
    path = Interface.objects.get(device__name='server-03', name='enp2s1')._path
    assert path.is_complete and [obj.name for obj in path.destinations] == ['E1/2']

    assert HedgehogOwnedObject.objects.filter(fabric=fabric).count() == OWNED
    assert (result.dcim_created, result.dcim_updated, result.dcim_deleted) == (CREATED, 0, 0)
    changes = ObjectChange.objects.filter(changed_object_type__app_label='dcim')
    assert changes.filter(changed_object_type__model='device', action='create').count() == 7
    assert changes.values('request_id').distinct().count() == 1  # one request id: the run
    assert set(changes.values_list('user_name', flat=True)) == {CHANGELOG_USER}


def test_an_unchanged_resync_makes_no_dcim_or_ipam_write_and_its_queries_do_not_grow_with_the_fabric(repo, site):
    fabric = dcim_fabric(repo, site)
    counts = []
    for extra in (0, 20):
        if extra:
            write(
                repo,
                'more.yaml',
                ''.join(
                    server(f'extra-{i:02}', f'leaf-02/E1/{10 + i}')
                    + vpc(f'extra-{i:02}', i, f'extra-{i:02}--unbundled--leaf-02-e1-{10 + i}')
                    for i in range(extra)
                ),
            )
        first = sync_fabric(fabric)
        assert first.succeeded, first.error_text()
        assert Device.objects.count() == 7 + extra
        assert VRF.objects.count() == 2 + extra and Prefix.objects.count() == 4 + extra
        assert Interface.objects.filter(mode='tagged').count() == 1 + extra // 2
        writes, queries = resync(fabric)
        assert writes == UNCHANGED
        counts.append(queries)
    assert counts[0] == counts[1] == 19


def test_turning_mapping_on_maps_a_fabric_whose_resources_did_not_change(repo, site):
    fabric = HedgehogFabric.objects.create(name='gitops', git_repository_url=repo.working_tree_dir)
    sync_fabric(fabric)
    assert not Device.objects.exists()
    fabric.dcim_sync, fabric.dcim_site = True, site
    fabric.save()

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert Device.objects.count() == 7 and cable_ends() == DEMO_CABLES


def test_a_server_removed_from_the_source_prunes_only_what_the_fabric_owns(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    leaf = Device.objects.get(name='leaf-02')
    operator_port = Interface.objects.create(device=leaf, name='E1/40', type='other')
    operator_device = Device.objects.create(
        name='operator-box', site=site, role=leaf.role, device_type=leaf.device_type
    )
    remove_server_03(repo)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert not Device.objects.filter(name='server-03').exists()
    assert not Interface.objects.filter(device=leaf, name='E1/2').exists()
    assert cable_ends() == {ends for ends in DEMO_CABLES if ('server-03', 'enp2s1') not in ends}
    assert Interface.objects.filter(pk=operator_port.pk).exists()
    assert Device.objects.filter(pk=operator_device.pk).exists()
    assert result.dcim_deleted == 4  # the cable, the leaf port, the server port, the server
    assert not HedgehogOwnedObject.objects.filter(name__contains='server-03').exists()


def test_operator_fields_survive_a_resync_that_updates_the_mapped_ones(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    rack = Rack.objects.create(name='R1', site=site)
    tag = Tag.objects.create(name='mine', slug='mine')
    device = Device.objects.get(name='leaf-01')
    device.rack, device.comments, device.asset_tag = rack, 'operator note', 'A-1'
    device.save()
    device.tags.add(tag)
    edit(repo, 'wiring.yaml', 'description: leaf-01 (ESLAG with leaf-02)', 'description: leaf one')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert result.dcim_updated == 1
    assert [change for change in result.changes if change['source'] == 'netbox'] == [
        {
            'action': 'update',
            'source': 'netbox',
            'kind': 'dcim.device',
            'namespace': '',
            'name': 'device:leaf-01',
            'fields': [['description', 'leaf-01 (ESLAG with leaf-02)', 'leaf one']],
        }
    ]
    device.refresh_from_db()
    assert device.description == 'leaf one'
    assert (device.rack, device.comments, device.asset_tag) == (rack, 'operator note', 'A-1')
    assert list(device.tags.all()) == [tag]
    # The last update of the device (the first run set its primary IP after creating it).
    change = ObjectChange.objects.filter(changed_object_id=device.pk, action='update').latest('time')
    assert change.prechange_data['description'] == 'leaf-01 (ESLAG with leaf-02)'


@pytest.fixture
def operator_leaf(site):
    """A device named leaf-01 in the site that no fabric owns, with an operator's comment."""
    manufacturer = Manufacturer.objects.create(name='Acme', slug='acme')
    return Device.objects.create(
        name='leaf-01',
        site=site,
        role=DeviceRole.objects.create(name='Leafy', slug='leafy', color='ff0000'),
        device_type=DeviceType.objects.create(manufacturer=manufacturer, model='Box', slug='box'),
        comments='racked by hand',
    )


def test_report_policy_leaves_a_device_it_does_not_own_and_maps_the_rest(repo, site, operator_leaf):
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert any('leaf-01' in problem and 'not managed by this fabric' in problem for problem in result.problems)
    operator_leaf.refresh_from_db()
    assert operator_leaf.role.name == 'Leafy' and not operator_leaf.interfaces.exists()
    assert not HedgehogOwnedObject.objects.filter(object_id=operator_leaf.pk, key='device:leaf-01').exists()
    assert Device.objects.count() == 7
    # The links of leaf-01 wait for it; the others are mapped.
    assert cable_ends() == {ends for ends in DEMO_CABLES if not any(device == 'leaf-01' for device, _ in ends)}


def test_adopt_policy_takes_over_a_device_and_manages_only_the_mapped_fields(repo, site, operator_leaf):
    fabric = dcim_fabric(repo, site, dcim_conflict_policy=DCIMConflictPolicyChoices.ADOPT)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    operator_leaf.refresh_from_db()
    assert operator_leaf.role.name == 'server-leaf' and operator_leaf.device_type.model == 'S5248F-ON'
    assert operator_leaf.comments == 'racked by hand'
    assert HedgehogOwnedObject.objects.get(key='device:leaf-01').object_id == operator_leaf.pk
    assert cable_ends() == DEMO_CABLES
    assert Device.objects.count() == 7


PROFILE = """
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: SwitchProfile
metadata:
  name: dell-s5248f-on
spec:
  displayName: Dell S5248F-ON
  ports:
{ports}
"""


def test_bad_connections_are_problems_and_the_rest_maps(repo, site):
    ports = '\n'.join(f'    E1/{i}:\n      profile: {"SFP28-25G" if i <= 48 else "QSFP28-100G"}' for i in range(1, 57))
    extra = PROFILE.format(ports=ports) + server('lost-01', 'leaf-01/E1/99') + server('greedy-01', 'leaf-02/E1/2')
    extra += server('ghost-01', 'leaf-09/E1/5').replace(
        'kind: Server\nmetadata:\n  name: ghost-01', 'kind: Server\nmetadata:\n  name: ghost-02'
    )
    write(repo, 'more.yaml', extra)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    problems = '\n'.join(result.problems)
    assert (
        'lost-01--unbundled--leaf-01-e1-99 not mapped: port leaf-01/E1/99 is not a port of its switch profile'
        in problems
    )
    assert 'switch leaf-09 of port leaf-09/E1/5 is not in the fabric' in problems
    # Two connections claim leaf-02/E1/2: both are reported, neither is cabled.
    assert 'server-03--unbundled--leaf-02 not mapped: port leaf-02/E1/2 is also claimed by' in problems
    assert 'greedy-01--unbundled--leaf-02-e1-2 not mapped' in problems
    assert not Interface.objects.filter(device__name__in=('lost-01', 'greedy-01', 'ghost-02')).exists()
    assert not Interface.objects.filter(device__name='leaf-02', name='E1/2').exists()
    assert cable_ends() == {ends for ends in DEMO_CABLES if ('server-03', 'enp2s1') not in ends}
    # The profile types the ports it knows.
    assert Interface.objects.get(device__name='leaf-01', name='E1/1').type == '25gbase-x-sfp28'
    assert Interface.objects.get(device__name='leaf-01', name='E1/49').type == '100gbase-x-qsfp28'
    assert Interface.objects.get(device__name='spine-01', name='E1/1').type == 'other'  # no profile listed


def leaf_profile(nos_type):
    """The leaves' SwitchProfile as a source that lists it has it (every port), with this NOS type."""
    ports = '\n'.join(f'    E1/{i}:\n      profile: {"SFP28-25G" if i <= 48 else "QSFP28-100G"}' for i in range(1, 57))
    return PROFILE.format(ports=ports).replace('  displayName:', f'  nosType: {nos_type}\n  displayName:')


def platforms():
    switches = Device.objects.filter(name__in=('spine-01', 'leaf-01', 'leaf-02'))
    return dict(switches.values_list('name', 'platform__name'))


def test_a_switch_profile_nos_type_is_the_platform_created_once_and_an_operator_platform_stays(repo, site):
    write(repo, 'profile.yaml', leaf_profile('sonic-bcm-base'))
    operator = Platform.objects.create(name='Operator OS', slug='operator-os')
    fabric = dcim_fabric(repo, site)
    first = sync_fabric(fabric)
    assert first.succeeded, first.error_text()
    spine = Device.objects.get(name='spine-01')
    spine.platform = operator  # no profile listed: the operator's platform
    spine.save()

    assert first.dcim_created == CREATED + 1
    platform = Platform.objects.get(slug='sonic-bcm-base')
    assert (platform.name, platform.manufacturer) == ('sonic-bcm-base', None)
    assert platforms() == {'spine-01': 'Operator OS', 'leaf-01': 'sonic-bcm-base', 'leaf-02': 'sonic-bcm-base'}
    assert resync(fabric)[0] == UNCHANGED

    edit(repo, 'profile.yaml', 'nosType: sonic-bcm-base', 'nosType: sonic-cls-plus-broadcom')
    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert (result.dcim_created, result.dcim_updated) == (1, 2)  # the platform; both leaves
    assert platforms() == {
        'spine-01': 'Operator OS',
        'leaf-01': 'sonic-cls-plus-broadcom',
        'leaf-02': 'sonic-cls-plus-broadcom',
    }
    assert Platform.objects.filter(pk=platform.pk).exists()  # shared: never deleted


def test_an_existing_platform_of_the_nos_type_is_used(repo, site):
    write(repo, 'profile.yaml', leaf_profile('sonic-bcm-base'))
    existing = Platform.objects.create(name='SONiC (Broadcom)', slug='sonic-bcm-base')

    result = sync_fabric(dcim_fabric(repo, site))

    assert result.succeeded, result.error_text()
    assert result.dcim_created == CREATED
    assert Device.objects.get(name='leaf-01').platform == existing and Platform.objects.count() == 1


def test_a_platform_netbox_refuses_is_a_problem_and_the_switches_map_without_it(repo, site):
    write(repo, 'profile.yaml', leaf_profile('sonic-bcm-base'))
    Platform.objects.create(name='sonic-bcm-base', slug='sonic')  # the name, under another slug

    result = sync_fabric(dcim_fabric(repo, site))

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert 'DCIM: NetBox refused to create platform sonic-bcm-base' in '\n'.join(result.problems)
    assert Device.objects.get(name='leaf-01').platform is None
    assert Device.objects.count() == 7 and cable_ends() == DEMO_CABLES


def test_a_connection_that_turns_bad_keeps_what_it_mapped(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    write(repo, 'more.yaml', server('greedy-01', 'leaf-02/E1/2'))

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert cable_ends() == DEMO_CABLES  # server-03's cable is kept until the operator settles the port


def test_a_dry_run_counts_the_dcim_changes_and_writes_none(repo, site):
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric, dry_run=True)

    assert result.succeeded, result.error_text()
    assert (result.dcim_created, result.dcim_updated, result.dcim_deleted) == (CREATED, 0, 0)
    assert not Device.objects.exists() and not HedgehogOwnedObject.objects.exists()
    # The run's change list shows each NetBox object the run would create, after the resources.
    netbox = [change for change in result.changes if change['source'] == 'netbox']
    assert len(netbox) == CREATED
    assert result.changes[: len(result.changes) - CREATED] == [c for c in result.changes if c['source'] != 'netbox']
    assert {
        'action': 'create',
        'source': 'netbox',
        'kind': 'dcim.device',
        'namespace': '',
        'name': 'device:leaf-01',
        'fields': [],
    } in netbox
    assert {
        'action': 'create',
        'source': 'netbox',
        'kind': 'dcim.devicerole',
        'namespace': '',
        'name': 'server-leaf',
        'fields': [],
    } in netbox


def test_mapping_to_dcim_needs_a_site():
    fabric = HedgehogFabric(name='f', git_repository_url='/tmp/x', dcim_sync=True)
    with pytest.raises(ValidationError) as error:
        fabric.clean()
    assert 'dcim_site' in error.value.message_dict


def test_a_device_type_netbox_refuses_is_a_problem_and_the_rest_maps(repo, site):
    # Taken slug: the leaves' type cannot be created, so the leaves (and their links) wait.
    dell = Manufacturer.objects.create(name='Dell', slug='dell')
    DeviceType.objects.create(manufacturer=dell, model='S5248F', slug='dell-s5248f-on')
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert any('refused to create device type' in problem for problem in result.problems)
    assert set(Device.objects.values_list('name', flat=True)) == {
        'spine-01',
        'spine-02',
        'server-01',
        'server-02',
        'server-03',
    }
    assert Device.objects.get(name='spine-01').device_type.manufacturer == dell  # found by its slug
    assert not Cable.objects.exists()  # every demo link has a leaf end


def test_deleting_the_fabric_releases_its_objects_and_deletes_none(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)

    fabric.delete()

    assert not HedgehogOwnedObject.objects.exists()
    assert Device.objects.count() == 7 and cable_ends() == DEMO_CABLES


def test_the_run_record_and_the_pages_show_the_dcim_counts(repo, site, tasks_redis, admin_client):
    fabric = dcim_fabric(repo, site, scheduler_enabled=False)

    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL, dry_run=True)
    dry = SyncRun.objects.get(fabric=fabric, dry_run=True)
    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)
    run = SyncRun.objects.get(fabric=fabric, dry_run=False)

    assert (dry.dcim_created, dry.dcim_updated, dry.dcim_deleted) == (CREATED, 0, 0)
    assert (run.dcim_created, run.dcim_updated, run.dcim_deleted) == (CREATED, 0, 0)
    runs = admin_client.get(reverse('plugins:netbox_hedgehog:syncrun_list')).content.decode()
    assert runs.count(f'DCIM +{CREATED}') == 2
    page = admin_client.get(fabric.get_absolute_url()).content.decode()
    assert 'DCIM mapping' in page and 'DC 1' in page and f'>{OWNED}<' in page.replace(' ', '').replace('\n', '')
    # The dry run's page lists the NetBox objects it would create, with the resources.
    page = admin_client.get(dry.get_absolute_url()).content.decode()
    assert 'id="run_changes"' in page and 'dcim.device' in page and '>device:leaf-01<' in page
    assert 'The first' not in page  # every change is listed: the total counts the NetBox objects too


def test_an_owned_cable_deleted_by_hand_is_cabled_again(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    Interface.objects.get(device__name='server-03', name='enp2s1').cable.delete()

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert (result.created, result.dcim_created, result.dcim_deleted) == (0, 1, 0)
    assert cable_ends() == DEMO_CABLES
    assert HedgehogOwnedObject.objects.filter(fabric=fabric).count() == OWNED


def remove_server_03(repo):
    """Remove server-03, its connection and its VPC attachment."""
    for name in ('wiring.yaml', 'vpcs.yaml'):
        path = Path(repo.working_tree_dir) / name
        documents = path.read_text().split('\n---\n')
        path.write_text('\n---\n'.join(d for d in documents if 'server-03' not in d))
    commit_all(repo, 'remove server-03')


def test_a_dry_run_counts_what_a_source_change_would_do_to_dcim(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    remove_server_03(repo)

    result = sync_fabric(fabric, dry_run=True)

    assert (result.deleted, result.dcim_created, result.dcim_updated, result.dcim_deleted) == (3, 0, 0, 4)
    assert Device.objects.filter(name='server-03').exists()
    deletes = {(change['kind'], change['name']) for change in result.changes if change['source'] == 'netbox'}
    assert deletes == {
        ('dcim.cable', 'cable:interface:leaf-02/E1/2|interface:server-03/enp2s1'),
        ('dcim.interface', 'interface:leaf-02/E1/2'),
        ('dcim.interface', 'interface:server-03/enp2s1'),
        ('dcim.device', 'device:server-03'),
    }
    assert all(change['action'] == 'delete' for change in result.changes if change['source'] == 'netbox')


BROKEN_VPC = """\
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-broken
spec:
  mtu: .nan
"""


def test_nothing_is_pruned_in_a_run_with_a_problem_reading_the_source(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    remove_server_03(repo)
    # An invalid VPC keeps only VPCs from being pruned: the server's resources (server, connection, attachment)
    # go, its devices stay this run.
    write(repo, 'broken.yaml', BROKEN_VPC)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL and result.deleted == 3
    assert result.dcim_deleted == 0 and Device.objects.filter(name='server-03').exists()

    (Path(repo.working_tree_dir) / 'broken.yaml').unlink()
    commit_all(repo, 'fix')
    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert result.dcim_deleted == 4 and not Device.objects.filter(name='server-03').exists()


def test_a_driving_source_the_fabric_does_not_have_maps_nothing(repo, site):
    fabric = dcim_fabric(repo, site, dcim_source='kubernetes')

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert 'DCIM: the fabric has no kubernetes source to map from; nothing was mapped' in result.problems
    assert not Device.objects.exists()


def test_auto_source_is_the_cluster_when_the_fabric_has_one():
    fabric = HedgehogFabric(name='f', git_repository_url='/tmp/x')
    assert fabric.dcim_source_name == 'git'
    fabric.kubernetes_server = 'https://10.0.0.1:6443'
    assert fabric.dcim_source_name == 'kubernetes'
    fabric.dcim_source = 'git'
    assert fabric.dcim_source_name == 'git'


def test_a_switch_removed_from_the_source_prunes_its_device_ports_and_cables_only(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    spine = Device.objects.get(name='spine-02')
    leaf = Device.objects.get(name='leaf-01')
    operator_port = Interface.objects.create(device=leaf, name='E1/40', type='other')
    path = Path(repo.working_tree_dir) / 'wiring.yaml'
    documents = path.read_text().split('\n---\n')
    path.write_text('\n---\n'.join(d for d in documents if 'spine-02' not in d))
    commit_all(repo, 'remove spine-02')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert not Device.objects.filter(pk=spine.pk).exists()
    assert not Interface.objects.filter(device__name__in=('leaf-01', 'leaf-02'), name='E1/51').exists()
    assert cable_ends() == {ends for ends in DEMO_CABLES if not any(device == 'spine-02' for device, _ in ends)}
    assert Interface.objects.filter(pk=operator_port.pk).exists()
    # The cables, both leaf ports, both spine ports, the spine, its management and loopback interfaces, their
    # addresses and those of the links, its MAC.
    assert result.dcim_deleted == 2 + 2 + 2 + 1 + 2 + 2 + 4 + 1


def test_a_renamed_switch_is_a_new_device_and_the_old_one_is_pruned(repo, site):
    """The fabric has no identity across a rename (Git has none; the cluster gives a new uid): delete + create."""
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    old = Device.objects.get(name='spine-02')
    edit(repo, 'wiring.yaml', 'spine-02', 'spine-12')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert not Device.objects.filter(pk=old.pk).exists()
    assert cable_ends() == {
        frozenset((device.replace('spine-02', 'spine-12'), port) for device, port in ends) for ends in DEMO_CABLES
    }


# Every other connection type beside the demo's: an MCLAG server with its switches' MCLAG domain, a mesh link, a
# VPC loopback, gateway links (to a gateway, which is no mapped device, and to a mapped server's port), an
# external and two static external connections (one within vpc-01). tests/test_ipam_mapping.py checks their
# addresses.
MORE_CONNECTIONS = """
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: server-04
spec: {}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-04--mclag--leaf-01--leaf-02
spec:
  mclag:
    links:
    - server: {port: server-04/eth1}
      switch: {port: leaf-01/E1/20}
    - server: {port: server-04/eth2}
      switch: {port: leaf-02/E1/20}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--mclag-domain--leaf-02
spec:
  mclagDomain:
    peerLinks:
    - switch1: {port: leaf-01/E1/53}
      switch2: {port: leaf-02/E1/53}
    - switch1: {port: leaf-01/E1/54}
      switch2: {port: leaf-02/E1/54}
    sessionLinks:
    - switch1: {port: leaf-01/E1/55}
      switch2: {port: leaf-02/E1/55}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--mesh--leaf-02
spec:
  mesh:
    links:
    - leaf1: {port: leaf-01/E1/52}
      leaf2: {port: leaf-02/E1/52}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--vpc-loopback
spec:
  vpcLoopback:
    links:
    - switch1: {port: leaf-01/E1/30}
      switch2: {port: leaf-01/E1/31}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: spine-01--gateway--gateway-1
spec:
  gateway:
    links:
    - switch: {port: spine-01/E1/5, ip: 172.30.128.20/31}
      gateway: {port: gateway-1/enp2s1, ip: 172.30.128.21/31}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: spine-02--gateway--server-04
spec:
  gateway:
    links:
    - switch: {port: spine-02/E1/5, ip: 172.30.128.22/31}
      gateway: {port: server-04/eth3, ip: 172.30.128.23/31}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-02--external--edge
spec:
  external:
    link:
      switch: {port: leaf-02/E1/40}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-02--static-external--dhcp
spec:
  staticExternal:
    link:
      switch:
        port: leaf-02/E1/41
        ip: 172.30.50.5/24
        vlan: 1005
        subnets: [10.99.0.0/24, 10.199.0.100/32]
        nextHop: 172.30.50.1
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--static-external--vpc-01
spec:
  staticExternal:
    withinVPC: vpc-01
    link:
      switch: {port: leaf-01/E1/41, ip: 192.168.100.5/24, nextHop: 192.168.100.1, subnets: [10.98.0.0/16]}
"""
# The cables the connections of MORE_CONNECTIONS call for, with their descriptions.
MORE_CABLES = {
    frozenset({('server-04', 'eth1'), ('leaf-01', 'E1/20')}): 'server-04--mclag--leaf-01--leaf-02',
    frozenset({('server-04', 'eth2'), ('leaf-02', 'E1/20')}): 'server-04--mclag--leaf-01--leaf-02',
    frozenset({('leaf-01', 'E1/53'), ('leaf-02', 'E1/53')}): 'leaf-01--mclag-domain--leaf-02 peer link',
    frozenset({('leaf-01', 'E1/54'), ('leaf-02', 'E1/54')}): 'leaf-01--mclag-domain--leaf-02 peer link',
    frozenset({('leaf-01', 'E1/55'), ('leaf-02', 'E1/55')}): 'leaf-01--mclag-domain--leaf-02 session link',
    frozenset({('leaf-01', 'E1/52'), ('leaf-02', 'E1/52')}): 'leaf-01--mesh--leaf-02',
    frozenset({('leaf-01', 'E1/30'), ('leaf-01', 'E1/31')}): 'leaf-01--vpc-loopback',
    frozenset({('spine-02', 'E1/5'), ('server-04', 'eth3')}): 'spine-02--gateway--server-04',
}
# The ports of MORE_CONNECTIONS with nothing to cable to, by the connection that owns each.
UNCABLED_PORTS = {
    ('spine-01', 'E1/5'): 'spine-01--gateway--gateway-1',
    ('leaf-02', 'E1/40'): 'leaf-02--external--edge',
    ('leaf-02', 'E1/41'): 'leaf-02--static-external--dhcp',
    ('leaf-01', 'E1/41'): 'leaf-01--static-external--vpc-01',
}


def cable_descriptions():
    """``{ends: description}`` of every cable (ends as in :func:`cable_ends`)."""
    return {
        frozenset((end.device.name, end.name) for end in (*cable.a_terminations, *cable.b_terminations)): (
            cable.description
        )
        for cable in Cable.objects.all()
    }


def test_every_connection_type_maps_and_devices_get_the_fabric_tenant(repo, site):
    write(repo, 'more.yaml', MORE_CONNECTIONS)
    tenant = Tenant.objects.create(name='Fabric team', slug='fabric-team')
    fabric = dcim_fabric(repo, site, dcim_tenant=tenant)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert cable_ends() == DEMO_CABLES | set(MORE_CABLES)
    assert {ends: text for ends, text in cable_descriptions().items() if ends not in DEMO_CABLES} == MORE_CABLES
    lag = Interface.objects.get(device__name='server-04', type='lag')
    assert lag.name == 'server-04--mclag--leaf-01--leaf-02'
    assert set(lag.member_interfaces.values_list('name', flat=True)) == {'eth1', 'eth2'}
    assert Interface.objects.get(device__name='server-04', name='eth3').lag is None
    # A gateway that is no mapped device, an external and a static external connection: the switch port alone.
    for (device, port), name in UNCABLED_PORTS.items():
        interface = Interface.objects.get(device__name=device, name=port)
        assert interface.cable is None and interface.type == 'other'
        assert HedgehogOwnedObject.objects.get(key=f'interface:{device}/{port}').name == name
    assert not Device.objects.filter(name='gateway-1').exists()
    assert not Interface.objects.filter(name='enp2s1', device__name__startswith='gateway').exists()
    assert set(Device.objects.values_list('tenant', flat=True)) == {tenant.pk}
    assert resync(fabric)[0] == UNCHANGED


BAD_CONNECTIONS = """
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--mclag-domain--leaf-09
spec:
  mclagDomain:
    peerLinks:
    - switch1: {port: leaf-01/E1/53}
      switch2: {port: leaf-09/E1/53}
    sessionLinks:
    - switch1: {port: leaf-01/E1/55}
      switch2: {port: leaf-02/E1/55}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--vpc-loopback
spec:
  vpcLoopback:
    links:
    - switch1: {port: leaf-01/E1/30}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-01--gateway--gateway-1
spec:
  gateway:
    links:
    - switch: {port: server-01/eth5, ip: 172.30.128.20/31}
      gateway: {port: gateway-1/enp2s1}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-02--external--edge
spec:
  external:
    link:
      switch: {port: leaf-02/E1/2}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-02--static-external--dhcp
spec:
  staticExternal:
    link:
      switch: {port: leaf-02/E1/41, ip: 172.30.50.5/24}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--static-external--leaf-02
spec:
  staticExternal:
    link:
      switch: {port: leaf-02/E1/41, ip: 172.30.50.6/24}
"""


def test_bad_connections_of_every_type_are_problems_and_the_rest_maps(repo, site):
    write(repo, 'more.yaml', BAD_CONNECTIONS)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    problems = '\n'.join(result.problems)
    assert (
        'leaf-01--mclag-domain--leaf-09 not mapped: switch leaf-09 of port leaf-09/E1/53 is not in the fabric'
        in problems
    )
    assert "leaf-01--vpc-loopback not mapped: a link endpoint has no device/port ('')" in problems
    assert 'server-01--gateway--gateway-1 not mapped: switch server-01 of port server-01/eth5 is not in the fabric' in (
        problems
    )
    # A port two connections claim, whatever their types: both are reported, neither maps.
    assert 'leaf-02--external--edge not mapped: port leaf-02/E1/2 is also claimed by connection server-03' in problems
    assert 'server-03--unbundled--leaf-02 not mapped: port leaf-02/E1/2 is also claimed by' in problems
    assert 'leaf-02--static-external--dhcp not mapped: port leaf-02/E1/41 is also claimed by' in problems
    assert 'leaf-01--static-external--leaf-02 not mapped: port leaf-02/E1/41 is also claimed by' in problems
    ports = set(Interface.objects.values_list('device__name', 'name'))
    assert not ports & {
        ('leaf-02', 'E1/2'),
        ('leaf-01', 'E1/30'),
        ('leaf-02', 'E1/41'),
        ('leaf-01', 'E1/53'),
        ('leaf-01', 'E1/55'),
        ('leaf-02', 'E1/55'),
        ('server-01', 'eth5'),
    }
    # The demo's other links map.
    assert cable_ends() == {ends for ends in DEMO_CABLES if ('server-03', 'enp2s1') not in ends}


def test_custom_field_values_survive_a_resync(repo, site):
    field = CustomField.objects.create(name='owner', type='text')
    field.object_types.set([ObjectType.objects.get_for_model(Device)])
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    device = Device.objects.get(name='server-01')
    device.custom_field_data['owner'] = 'ops'
    device.save()
    edit(repo, 'wiring.yaml', 'description: ESLAG leaf-01/E1/1 leaf-02/E1/1', 'description: ESLAG server')

    result = sync_fabric(fabric)

    assert result.dcim_updated == 1
    device.refresh_from_db()
    assert (device.description, device.custom_field_data['owner']) == ('ESLAG server', 'ops')
