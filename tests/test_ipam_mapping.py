"""The fabric's VLAN namespaces, IPv4 namespaces, VPCs and attachments mapped into NetBox IPAM via the sync run."""

from pathlib import Path

import pytest
from core.models import ObjectChange
from dcim.models import Device, Interface, MACAddress
from extras.models import Tag
from ipam.models import VLAN, VRF, IPAddress, IPRange, Prefix, VLANGroup

from netbox_hedgehog.choices import DCIMConflictPolicyChoices, SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogOwnedObject
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests import test_dcim_mapping as dcim
from tests.test_dcim_mapping import ESLAG, UNCHANGED, commit_all, dcim_fabric, edit, resync, write

# The DCIM mapping tests' fixtures: a Git cache per test, the demo wiring as a repository, a site.
git_cache = dcim.git_cache
repo = dcim.repo
site = dcim.site

pytestmark = pytest.mark.django_db

# What the demo wiring's VPCs map to: per subnet (VRF, prefix, VID, gateway, DHCP range).
DEMO_SUBNETS = {
    ('vpc-01', '10.0.1.0/24', 1001, '10.0.1.1/24', ('10.0.1.10/24', '10.0.1.99/24')),
    ('vpc-02', '10.0.2.0/24', 1002, '10.0.2.1/24', None),
    ('vpc-02', '10.0.3.0/24', 1003, '10.0.3.1/24', None),
}
# Group, container, VRFs, VLANs, prefixes, gateways, DHCP range; the switches' and fabric links' addresses.
IPAM_CREATED = 1 + 1 + 2 + 3 + 3 + 3 + 1 + 10 + 10


def subnets():
    """Each VPC prefix as (VRF, prefix, VID, gateway, DHCP range)."""
    found = set()
    for prefix in Prefix.objects.exclude(vrf=None).select_related('vrf', 'vlan'):
        gateway = IPAddress.objects.get(vrf=prefix.vrf, address__net_host_contained=str(prefix.prefix))
        ranges = [
            (str(r.start_address), str(r.end_address))
            for r in IPRange.objects.filter(vrf=prefix.vrf, start_address__net_host_contained=str(prefix.prefix))
        ]
        found.add(
            (prefix.vrf.name, str(prefix.prefix), prefix.vlan.vid, str(gateway.address), ranges[0] if ranges else None)
        )
    return found


def test_the_demo_vpcs_map_to_vrfs_prefixes_vlans_addresses_and_ranges(repo, site):
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    group = VLANGroup.objects.get()
    assert (group.name, group.scope, [(r.lower, r.upper) for r in group.vid_ranges]) == (
        'gitops/default',
        site,
        [(1000, 3000)],
    )
    assert set(VRF.objects.values_list('name', flat=True)) == {'vpc-01', 'vpc-02'}
    assert all(vrf.enforce_unique for vrf in VRF.objects.all())
    assert subnets() == DEMO_SUBNETS
    assert {(v.vid, v.name, v.group_id) for v in VLAN.objects.all()} == {
        (1001, 'vpc-01/default', group.pk),
        (1002, 'vpc-02/default', group.pk),
        (1003, 'vpc-02/isolated', group.pk),
    }
    container = Prefix.objects.get(vrf=None)
    assert (str(container.prefix), container.status, container.scope) == ('10.0.0.0/16', 'container', site)
    # A global container counts the VPCs' prefixes of every VRF.
    assert container.get_child_prefixes().count() == 3
    assert set(IPAddress.objects.exclude(vrf=None).values_list('role', flat=True)) == {'anycast'}
    assert HedgehogOwnedObject.objects.filter(key__startswith=('vrf:')).count() == 2
    ipam = ObjectChange.objects.filter(changed_object_type__app_label='ipam', action='create')
    assert ipam.count() == IPAM_CREATED
    assert ipam.values('request_id').distinct().count() == 1


def remove_vpc_02(repo):
    path = Path(repo.working_tree_dir) / 'vpcs.yaml'
    documents = path.read_text().split('\n---\n')
    path.write_text('\n---\n'.join(d for d in documents if 'vpc-02' not in d or 'kind: VPCPeering' in d))
    commit_all(repo, 'remove vpc-02')


def test_a_vpc_removed_from_the_source_prunes_only_what_the_fabric_owns(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    operator_vrf = VRF.objects.create(name='vpc-02')  # same name, not the fabric's
    operator_prefix = Prefix.objects.create(prefix='10.0.2.0/24')
    remove_vpc_02(repo)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert subnets() == {subnet for subnet in DEMO_SUBNETS if subnet[0] == 'vpc-01'}
    assert set(VRF.objects.values_list('pk', flat=True)) == {VRF.objects.get(name='vpc-01').pk, operator_vrf.pk}
    assert set(VLAN.objects.values_list('vid', flat=True)) == {1001}
    assert Prefix.objects.filter(pk=operator_prefix.pk).exists()
    assert result.dcim_deleted == 1 + 2 + 2 + 2  # the VRF, its prefixes, VLANs and gateways
    assert not HedgehogOwnedObject.objects.filter(name='vpc-02').exists()


def test_operator_edits_of_ipam_objects_survive_and_a_source_change_updates_only_mapped_fields(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    tag = Tag.objects.create(name='mine', slug='mine')
    prefix = Prefix.objects.get(prefix='10.0.1.0/24')
    prefix.status, prefix.comments = 'reserved', 'operator note'
    prefix.save()
    prefix.tags.add(tag)
    vrf = VRF.objects.get(name='vpc-01')
    vrf.description, vrf.rd = 'operator VRF', '65000:1'
    vrf.save()
    operator_ip = IPAddress.objects.create(address='10.0.1.50/24', vrf=vrf)

    unchanged = sync_fabric(fabric)
    assert (unchanged.dcim_created, unchanged.dcim_updated, unchanged.dcim_deleted) == (0, 0, 0)

    edit(repo, 'vpcs.yaml', 'gateway: 10.0.1.1', 'gateway: 10.0.1.254')
    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert (result.dcim_created, result.dcim_updated, result.dcim_deleted) == (0, 1, 0)
    assert IPAddress.objects.filter(vrf=vrf, role='anycast').get().address.ip.format() == '10.0.1.254'
    prefix.refresh_from_db()
    vrf.refresh_from_db()
    assert (prefix.status, prefix.comments, list(prefix.tags.all())) == ('reserved', 'operator note', [tag])
    assert (vrf.description, vrf.rd) == ('operator VRF', '65000:1')
    assert IPAddress.objects.filter(pk=operator_ip.pk).exists()


BAD_VPCS = """
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-bad-prefix
spec:
  subnets:
    default:
      subnet: 10.0.5.7/24
      vlan: 1005
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-bad-vlan
spec:
  subnets:
    default:
      subnet: 10.0.6.0/24
      vlan: 3500
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-dup
spec:
  subnets:
    default:
      subnet: 10.0.7.0/24
      vlan: 1002
"""


def test_bad_vpcs_are_problems_and_the_rest_maps(repo, site):
    write(repo, 'bad.yaml', BAD_VPCS)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    problems = '\n'.join(result.problems)
    assert "VPC default/vpc-bad-prefix not mapped: subnet default: '10.0.5.7/24' is not a valid IPv4 prefix" in problems
    assert (
        'VPC default/vpc-bad-vlan not mapped: subnet default: VLAN 3500 is outside its namespace ranges (1000-2999)'
        in problems
    )
    # A VLAN two subnets of one namespace use: both VPCs are reported, neither maps.
    assert 'VPC default/vpc-dup not mapped: VLAN 1002 of subnet default is also used by vpc-02/default' in problems
    assert 'VPC default/vpc-02 not mapped: VLAN 1002 of subnet default is also used by vpc-dup/default' in problems
    assert set(VRF.objects.values_list('name', flat=True)) == {'vpc-01'}
    assert subnets() == {subnet for subnet in DEMO_SUBNETS if subnet[0] == 'vpc-01'}
    assert not HedgehogOwnedObject.objects.filter(name__startswith=('vpc-bad', 'vpc-dup')).exists()


def test_a_vpc_that_turns_bad_keeps_what_it_mapped(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    edit(repo, 'vpcs.yaml', 'subnet: 10.0.3.0/24', 'subnet: 10.0.3.0/33')

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert "VPC default/vpc-02 not mapped: subnet isolated: '10.0.3.0/33' is not a valid IPv4 prefix" in '\n'.join(
        result.problems
    )
    assert subnets() == DEMO_SUBNETS
    assert result.dcim_deleted == 0


def test_a_vlan_group_of_the_same_name_is_reported_and_the_vpcs_wait_for_it(repo, site):
    operator_group = VLANGroup.objects.create(name='gitops/default', slug='gitops-default', scope=site)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert any('VLAN group gitops/default already exists' in problem for problem in result.problems)
    assert not VLAN.objects.exists() and not operator_group.vlans.exists()
    # What does not need the group maps.
    assert set(VRF.objects.values_list('name', flat=True)) == {'vpc-01', 'vpc-02'}
    assert Prefix.objects.filter(vrf=None, status='container').exists()


def test_adopt_takes_over_a_vlan_group_of_the_same_name(repo, site):
    operator_group = VLANGroup.objects.create(name='gitops/default', slug='gitops-default', scope=site)
    fabric = dcim_fabric(repo, site, dcim_conflict_policy=DCIMConflictPolicyChoices.ADOPT)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    operator_group.refresh_from_db()
    assert [(r.lower, r.upper) for r in operator_group.vid_ranges] == [(1000, 3000)]
    assert operator_group.vlans.count() == 3 and subnets() == DEMO_SUBNETS
    assert HedgehogOwnedObject.objects.get(key='vlangroup:default').object_id == operator_group.pk


def vlan_modes():
    """``{(device, interface): (mode, untagged VID, {tagged VIDs})}`` of every interface with a mode."""
    return {
        (i.device.name, i.name): (
            i.mode,
            i.untagged_vlan.vid if i.untagged_vlan else None,
            {v.vid for v in i.tagged_vlans.all()},
        )
        for i in Interface.objects.exclude(mode='').exclude(mode=None).select_related('device', 'untagged_vlan')
    }


# The demo's attachments: vpc-01/default tagged on server-01's ESLAG bond, vpc-02/default native on server-03's port.
DEMO_MODES = {
    ('server-01', ESLAG): ('tagged', None, {1001}),
    ('server-03', 'enp2s1'): ('access', 1002, set()),
}


def test_vpc_attachments_give_the_server_interfaces_their_vlans(repo, site):
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert vlan_modes() == DEMO_MODES
    again = sync_fabric(fabric)
    assert (again.dcim_created, again.dcim_updated, again.dcim_deleted) == (0, 0, 0)


def test_operator_vlans_on_an_attached_interface_stay_and_a_detached_one_loses_only_the_fabrics(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    operator_vlan = VLAN.objects.create(vid=50, name='backup')
    bond = Interface.objects.get(device__name='server-01', name=ESLAG)
    bond.tagged_vlans.add(operator_vlan)
    port = Interface.objects.get(device__name='server-02', name='enp2s1')  # no attachment: the operator's
    port.mode, port.untagged_vlan = 'access', operator_vlan
    port.save()

    unchanged = sync_fabric(fabric)
    assert (unchanged.dcim_created, unchanged.dcim_updated, unchanged.dcim_deleted) == (0, 0, 0)
    # server-01's attachment goes: the fabric's VLAN leaves its bond, the operator's stays.
    path = Path(repo.working_tree_dir) / 'vpcs.yaml'
    documents = path.read_text().split('\n---\n')
    path.write_text('\n---\n'.join(d for d in documents if 'kind: VPCAttachment' not in d or 'vpc-01' not in d))
    commit_all(repo, 'detach server-01')
    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert vlan_modes() == {
        ('server-01', ESLAG): ('tagged', None, {50}),
        ('server-02', 'enp2s1'): ('access', 50, set()),
        ('server-03', 'enp2s1'): ('access', 1002, set()),
    }
    assert result.dcim_updated == 1


def test_an_attachment_turned_native_makes_the_vlan_untagged(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    edit(repo, 'vpcs.yaml', 'subnet: vpc-01/default\n', 'subnet: vpc-01/default\n  nativeVLAN: true\n')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert result.dcim_updated == 1
    assert vlan_modes()[('server-01', ESLAG)] == ('access', 1001, set())


BAD_ATTACHMENTS = """
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPCAttachment
metadata:
  name: no-subnet
spec:
  connection: server-02--bundled--leaf-01
  subnet: vpc-01/nothing
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPCAttachment
metadata:
  name: no-connection
spec:
  connection: server-09--unbundled--leaf-01
  subnet: vpc-01/default
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPCAttachment
metadata:
  name: second-native
spec:
  connection: server-03--unbundled--leaf-02
  subnet: vpc-02/isolated
  nativeVLAN: true
"""


def test_bad_attachments_are_problems_and_the_rest_maps(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    write(repo, 'bad.yaml', BAD_ATTACHMENTS)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    problems = '\n'.join(result.problems)
    assert "VPCAttachment default/no-subnet not mapped: subnet 'vpc-01/nothing' is not a subnet of a VPC" in problems
    assert (
        "VPCAttachment default/no-connection not mapped: connection 'server-09--unbundled--leaf-01' is not" in problems
    )
    assert 'VPCAttachment default/second-native not mapped: attachment vpc-02--default--server-03' in problems
    # The interfaces of the problem attachments keep what they had; the others map.
    assert vlan_modes() == DEMO_MODES
    assert result.dcim_updated == 0 and result.dcim_deleted == 0


def addresses():
    """``{(device, interface, address, role)}`` of every address on an interface."""
    return {
        (ip.assigned_object.device.name, ip.assigned_object.name, str(ip.address), ip.role)
        for ip in IPAddress.objects.exclude(assigned_object_id=None)
    }


# The demo's switch addresses and fabric link addresses.
DEMO_ADDRESSES = {
    *(
        (switch, interface, address, role)
        for switch, ip, protocol, vtep in (
            ('spine-01', '172.30.0.2/21', '172.30.8.2/32', None),
            ('spine-02', '172.30.0.3/21', '172.30.8.3/32', None),
            ('leaf-01', '172.30.0.4/21', '172.30.8.4/32', '172.30.12.4/32'),
            ('leaf-02', '172.30.0.5/21', '172.30.8.5/32', '172.30.12.5/32'),
        )
        for interface, address, role in (
            ('Management0', ip, None),
            ('Loopback0', protocol, 'loopback'),
            ('Loopback1', vtep, 'loopback'),
        )
        if address
    ),
    ('spine-01', 'E1/1', '172.30.128.0/31', None),
    ('leaf-01', 'E1/49', '172.30.128.1/31', None),
    ('spine-01', 'E1/2', '172.30.128.2/31', None),
    ('leaf-01', 'E1/50', '172.30.128.3/31', None),
    ('spine-01', 'E1/3', '172.30.128.4/31', None),
    ('leaf-02', 'E1/49', '172.30.128.5/31', None),
    ('spine-02', 'E1/1', '172.30.128.6/31', None),
    ('leaf-01', 'E1/51', '172.30.128.7/31', None),
    ('spine-02', 'E1/2', '172.30.128.8/31', None),
    ('leaf-02', 'E1/51', '172.30.128.9/31', None),
}


def test_switch_and_fabric_link_addresses_map_to_interfaces_and_the_primary_ip(repo, site):
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert addresses() == DEMO_ADDRESSES
    leaf = Device.objects.get(name='leaf-01')
    assert str(leaf.primary_ip4.address) == '172.30.0.4/21'
    assert Interface.objects.get(device=leaf, name='Management0').mgmt_only
    assert Interface.objects.get(device=leaf, name='Loopback1').type == 'virtual'
    assert Device.objects.filter(primary_ip4=None).count() == 3  # the servers


def test_a_changed_management_address_moves_the_primary_ip_and_an_operator_ip_stays(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    leaf = Device.objects.get(name='leaf-01')
    operator_ip = IPAddress.objects.create(
        address='192.0.2.1/24', assigned_object=Interface.objects.get(device=leaf, name='Loopback0')
    )
    edit(repo, 'wiring.yaml', 'ip: 172.30.0.4/21', 'ip: 172.30.0.40/21')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert result.dcim_updated == 1  # the address (still the primary IP)
    leaf.refresh_from_db()
    assert str(leaf.primary_ip4.address) == '172.30.0.40/21'
    assert IPAddress.objects.filter(pk=operator_ip.pk).exists()


def test_a_switch_address_that_is_not_one_is_a_problem_and_the_switch_keeps_its_address(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    edit(repo, 'wiring.yaml', 'vtepIP: 172.30.12.4/32', 'vtepIP: 172.30.12.400/32')

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert (
        "Switch default/leaf-01: vtepIP '172.30.12.400/32' is not an IPv4 interface address; its addresses are kept"
        in '\n'.join(result.problems)
    )
    assert addresses() == DEMO_ADDRESSES and result.dcim_deleted == 0


# The demo switches' boot MACs, each on its management interface.
DEMO_MACS = {
    ('spine-01', '0C:20:12:FE:01:00'),
    ('spine-02', '0C:20:12:FE:02:00'),
    ('leaf-01', '0C:20:12:FE:03:00'),
    ('leaf-02', '0C:20:12:FE:04:00'),
}


def primary_macs():
    """Each management interface's primary MAC as (device, MAC), checking it is one of the interface's MACs."""
    found = set()
    for interface in Interface.objects.filter(name='Management0').select_related('device', 'primary_mac_address'):
        if (mac := interface.primary_mac_address) is not None:
            assert mac.assigned_object == interface
            found.add((interface.device.name, str(mac.mac_address)))
    return found


def test_a_switch_boot_mac_is_its_management_interface_primary_mac(repo, site):
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert primary_macs() == DEMO_MACS and MACAddress.objects.count() == 4
    leaf = Interface.objects.get(device__name='leaf-01', name='Management0')
    owned = HedgehogOwnedObject.objects.get(fabric=fabric, key='mac:leaf-01/boot')
    assert (owned.object, owned.kind, owned.name) == (leaf.primary_mac_address, 'Switch', 'leaf-01')
    assert leaf.primary_mac_address.description == 'leaf-01 boot'
    changes = ObjectChange.objects.filter(changed_object_type__model='macaddress', action='create')
    assert changes.count() == 4
    change = ObjectChange.objects.filter(changed_object_id=leaf.pk, changed_object_type__model='interface').latest(
        'time'
    )
    assert change.postchange_data['primary_mac_address'] == leaf.primary_mac_address.pk


def test_a_changed_boot_mac_updates_the_mac_and_an_operator_mac_stays(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    leaf = Interface.objects.get(device__name='leaf-01', name='Management0')
    mac = leaf.primary_mac_address
    operator_mac = MACAddress.objects.create(mac_address='02:00:00:00:00:01', assigned_object=leaf)
    edit(repo, 'wiring.yaml', 'mac: 0c:20:12:fe:03:00', 'mac: 0C-20-12-FE-03-99')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert result.dcim_updated == 1  # the MAC (still the primary MAC)
    mac.refresh_from_db()
    assert str(mac.mac_address) == '0C:20:12:FE:03:99'
    assert ('leaf-01', '0C:20:12:FE:03:99') in primary_macs()
    assert MACAddress.objects.filter(pk=operator_mac.pk, assigned_object_id=leaf.pk).exists()
    assert resync(fabric)[0] == UNCHANGED


def test_a_removed_boot_mac_is_deleted_and_the_interface_has_no_primary_mac(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    edit(repo, 'wiring.yaml', '  boot:\n    mac: 0c:20:12:fe:03:00\n', '')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert result.dcim_deleted == 1
    assert primary_macs() == DEMO_MACS - {('leaf-01', '0C:20:12:FE:03:00')}
    assert Interface.objects.get(device__name='leaf-01', name='Management0').primary_mac_address is None
    assert not HedgehogOwnedObject.objects.filter(key='mac:leaf-01/boot').exists()


def test_a_boot_mac_that_is_not_one_is_a_problem_and_the_switch_keeps_its_mac(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    edit(repo, 'wiring.yaml', 'mac: 0c:20:12:fe:03:00', 'mac: 0c:20:12:fe:03')
    edit(repo, 'wiring.yaml', 'description: leaf-01 (ESLAG with leaf-02)', 'description: leaf one')

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert "Switch default/leaf-01: boot.mac '0c:20:12:fe:03' is not a MAC address" in '\n'.join(result.problems)
    assert Device.objects.get(name='leaf-01').description == 'leaf one'  # the rest of the switch maps
    assert primary_macs() == DEMO_MACS and result.dcim_deleted == 0


def test_a_switch_with_a_boot_mac_and_no_ip_gets_a_management_interface_for_it(repo, site):
    edit(repo, 'wiring.yaml', '  ip: 172.30.0.3/21\n', '')
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert primary_macs() == DEMO_MACS
    spine = Device.objects.get(name='spine-02')
    assert spine.primary_ip4 is None
    assert not IPAddress.objects.filter(assigned_object_id=spine.interfaces.get(name='Management0').pk).exists()


MESH = """
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--mesh--leaf-02
spec:
  mesh:
    links:
    - leaf1: {port: leaf-01/E1/52, ip: 172.30.128.100/31}
      leaf2: {port: leaf-02/E1/52, ip: 172.30.128.101/31}
"""


def test_mesh_link_addresses_map_to_both_leaf_ports(repo, site):
    write(repo, 'mesh.yaml', MESH)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert addresses() == DEMO_ADDRESSES | {
        ('leaf-01', 'E1/52', '172.30.128.100/31', None),
        ('leaf-02', 'E1/52', '172.30.128.101/31', None),
    }


# The addresses of MORE_CONNECTIONS' gateway and static external links: the switch sides, and the far end of the
# gateway link that is a mapped server's port (the other gateway is no device: its address is not mapped).
MORE_ADDRESSES = {
    ('spine-01', 'E1/5', '172.30.128.20/31', None),
    ('spine-02', 'E1/5', '172.30.128.22/31', None),
    ('server-04', 'eth3', '172.30.128.23/31', None),
    ('leaf-02', 'E1/41', '172.30.50.5/24', None),
    ('leaf-01', 'E1/41', '192.168.100.5/24', None),
}


def link_addresses():
    """``{address: (VRF name, description)}`` of the addresses of links other than the demo's fabric links."""
    return {
        str(ip.address): (ip.vrf.name if ip.vrf else None, ip.description)
        for ip in IPAddress.objects.filter(description__endswith=' link').exclude(description__contains='--fabric--')
    }


def test_gateway_and_static_external_addresses_map_to_their_ports(repo, site):
    write(repo, 'more.yaml', dcim.MORE_CONNECTIONS)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert addresses() == DEMO_ADDRESSES | MORE_ADDRESSES
    # The global table, but for the static external connection within a VPC: that VPC's VRF, as on the switch.
    assert link_addresses() == {
        '172.30.128.20/31': (None, 'spine-01--gateway--gateway-1 link'),
        '172.30.128.22/31': (None, 'spine-02--gateway--server-04 link'),
        '172.30.128.23/31': (None, 'spine-02--gateway--server-04 link'),
        '172.30.50.5/24': (None, 'leaf-02--static-external--dhcp link'),
        '192.168.100.5/24': ('vpc-01', 'leaf-01--static-external--vpc-01 link'),
    }


def test_a_static_external_address_that_turns_bad_is_a_problem_and_keeps_its_address(repo, site):
    write(repo, 'more.yaml', dcim.MORE_CONNECTIONS)
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    edit(repo, 'more.yaml', 'ip: 172.30.50.5/24', 'ip: 172.30.50.500/24')

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert (
        "Connection default/leaf-02--static-external--dhcp not mapped: link IP '172.30.50.500/24' of leaf-02/E1/41 "
        'is not an IPv4 interface address' in '\n'.join(result.problems)
    )
    assert addresses() == DEMO_ADDRESSES | MORE_ADDRESSES
    assert (result.dcim_created, result.dcim_updated, result.dcim_deleted) == (0, 0, 0)


def test_a_static_external_within_a_vpc_the_fabric_lacks_is_a_problem_and_its_port_maps(repo, site):
    write(repo, 'more.yaml', dcim.MORE_CONNECTIONS.replace('withinVPC: vpc-01', 'withinVPC: vpc-09'))
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert (
        "Connection default/leaf-01--static-external--vpc-01 not mapped: its VPC 'vpc-09' (withinVPC) is not in the "
        'fabric' in '\n'.join(result.problems)
    )
    assert Interface.objects.filter(device__name='leaf-01', name='E1/41').exists()
    assert addresses() == DEMO_ADDRESSES | MORE_ADDRESSES - {('leaf-01', 'E1/41', '192.168.100.5/24', None)}


def test_a_renamed_vpc_is_a_new_vrf_that_takes_over_its_vlans(repo, site):
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    old = VRF.objects.get(name='vpc-02')
    edit(repo, 'vpcs.yaml', 'vpc-02', 'vpc-22')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert not VRF.objects.filter(pk=old.pk).exists()
    assert subnets() == {(vpc.replace('vpc-02', 'vpc-22'), *rest) for vpc, *rest in DEMO_SUBNETS}
    assert vlan_modes() == DEMO_MODES


EXTERNALS = """
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--external
spec:
  external:
    link:
      switch: {port: leaf-01/E1/40}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-02--external
spec:
  external:
    link:
      switch: {port: leaf-02/E1/40}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: External
metadata:
  name: edge
spec:
  ipv4Namespace: default
  inboundCommunity: 65102:5000
  outboundCommunity: 5000:65102
  static:
    prefixes: [0.0.0.0/0, 192.0.2.0/24, 198.51.100.0/24]
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: leaf-01--edge
spec:
  connection: leaf-01--external
  external: edge
  neighbor: {asn: 65102, ip: 100.100.0.6}
  switch: {ip: 100.100.0.1/24, vlan: 100}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: leaf-02--edge
spec:
  connection: leaf-02--external
  external: edge
  neighbor: {asn: 65102, ip: 100.100.1.2}
  switch: {ip: 100.100.1.1/30}
"""
# What EXTERNALS' attachments map to: (device, interface, its type, its parent, address, description), all in ext.edge.
EXTERNAL_ADDRESSES = {
    ('leaf-01', 'E1/40.100', 'virtual', 'E1/40', '100.100.0.1/24', 'leaf-01--edge neighbor 100.100.0.6 AS65102'),
    ('leaf-02', 'E1/40', 'other', None, '100.100.1.1/30', 'leaf-02--edge neighbor 100.100.1.2 AS65102'),
}


def external_addresses():
    """EXTERNAL_ADDRESSES as mapped: the addresses in the External's VRF with the interfaces they are on."""
    return {
        (
            ip.assigned_object.device.name,
            ip.assigned_object.name,
            ip.assigned_object.type,
            ip.assigned_object.parent.name if ip.assigned_object.parent else None,
            str(ip.address),
            ip.description,
        )
        for ip in IPAddress.objects.filter(vrf__name='ext.edge')
    }


def test_an_external_is_a_vrf_with_its_static_prefixes_and_its_attachments_switch_addresses(repo, site):
    write(repo, 'externals.yaml', EXTERNALS)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    vrf = VRF.objects.get(name='ext.edge')
    assert (vrf.description, vrf.enforce_unique) == (
        'Hedgehog external edge: inbound community 65102:5000, outbound community 5000:65102',
        True,
    )
    # The default route is not a prefix: NetBox refuses a /0.
    assert {(str(p.prefix), p.status, p.scope, p.description) for p in Prefix.objects.filter(vrf=vrf)} == {
        ('192.0.2.0/24', 'active', site, 'static prefix of external edge'),
        ('198.51.100.0/24', 'active', site, 'static prefix of external edge'),
    }
    # The VLAN attachment's address is on a subinterface of the port, as the switch configures it.
    assert external_addresses() == EXTERNAL_ADDRESSES
    owned = HedgehogOwnedObject.objects.filter(kind__in=('External', 'ExternalAttachment'))
    assert set(owned.values_list('key', flat=True)) == {
        'external:edge',
        'external-prefix:edge/192.0.2.0/24',
        'external-prefix:edge/198.51.100.0/24',
        'external-address:leaf-01--edge',
        'external-address:leaf-02--edge',
        'subinterface:leaf-01/E1/40.100',
    }
    assert dcim.resync(fabric)[0] == dcim.UNCHANGED


def test_an_attachment_removed_from_the_source_prunes_its_address_and_subinterface(repo, site):
    write(repo, 'externals.yaml', EXTERNALS)
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    path = Path(repo.working_tree_dir) / 'externals.yaml'
    path.write_text('\n---\n'.join(d for d in path.read_text().split('\n---\n') if 'name: leaf-01--edge' not in d))
    commit_all(repo, 'detach leaf-01')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert result.dcim_deleted == 2  # the address and the subinterface; the port stays with its connection
    assert external_addresses() == {entry for entry in EXTERNAL_ADDRESSES if entry[0] == 'leaf-02'}
    assert not Interface.objects.filter(device__name='leaf-01', name='E1/40.100').exists()
    assert Interface.objects.filter(device__name='leaf-01', name='E1/40').exists()


BAD_EXTERNALS = """
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: External
metadata:
  name: lost
spec:
  ipv4Namespace: nowhere
  inboundCommunity: 65102:5000
  outboundCommunity: 5000:65102
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: no-external
spec:
  connection: leaf-01--external
  external: nothing
  neighbor: {asn: 65102, ip: 100.100.9.6}
  switch: {ip: 100.100.9.1/24, vlan: 200}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: no-connection
spec:
  connection: leaf-09--external
  external: edge
  neighbor: {asn: 65102, ip: 100.100.9.6}
  switch: {ip: 100.100.9.1/24, vlan: 200}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: server-connection
spec:
  connection: server-03--unbundled--leaf-02
  external: edge
  neighbor: {asn: 65102, ip: 100.100.9.6}
  switch: {ip: 100.100.9.1/24, vlan: 200}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: bad-ip
spec:
  connection: leaf-01--external
  external: edge
  neighbor: {asn: 65102, ip: 100.100.9.6}
  switch: {ip: 100.100.9.300/24, vlan: 200}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: lost-attachment
spec:
  connection: leaf-01--external
  external: lost
  neighbor: {asn: 65102, ip: 100.100.9.6}
  switch: {ip: 100.100.9.1/24, vlan: 300}
"""


def test_bad_externals_and_attachments_are_problems_and_the_rest_maps(repo, site):
    write(repo, 'externals.yaml', EXTERNALS + BAD_EXTERNALS)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    problems = '\n'.join(result.problems)
    assert "External default/lost not mapped: its IPv4 namespace 'nowhere' is not in the fabric" in problems
    assert "ExternalAttachment default/no-external not mapped: external 'nothing' is not in the fabric" in problems
    assert (
        "ExternalAttachment default/no-connection not mapped: connection 'leaf-09--external' is not in the fabric"
        in problems
    )
    assert (
        'ExternalAttachment default/server-connection not mapped: connection server-03--unbundled--leaf-02 '
        'is not an external connection' in problems
    )
    assert (
        "ExternalAttachment default/bad-ip not mapped: switch IP '100.100.9.300/24' is not an IPv4 interface address"
        in problems
    )
    # An attachment of an External with a problem is held with it, without a problem of its own.
    assert 'lost-attachment' not in problems
    assert set(VRF.objects.filter(name__startswith='ext.').values_list('name', flat=True)) == {'ext.edge'}
    assert external_addresses() == EXTERNAL_ADDRESSES
    assert not Interface.objects.filter(name__in=('E1/40.200', 'E1/40.300')).exists()


def test_an_attachment_that_turns_bad_keeps_its_address(repo, site):
    write(repo, 'externals.yaml', EXTERNALS)
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    edit(repo, 'externals.yaml', 'connection: leaf-01--external', 'connection: leaf-01--nothing')

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert "ExternalAttachment default/leaf-01--edge not mapped: connection 'leaf-01--nothing'" in '\n'.join(
        result.problems
    )
    assert external_addresses() == EXTERNAL_ADDRESSES
    assert (result.dcim_created, result.dcim_updated, result.dcim_deleted) == (0, 0, 0)


def test_two_attachments_on_one_vlan_of_a_port_are_both_problems(repo, site):
    second = EXTERNALS.split('\n---\n')[4].replace('leaf-01--edge', 'leaf-01--edge-2').replace('0.1/24', '0.2/24')
    write(repo, 'externals.yaml', EXTERNALS + '\n---\n' + second)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    problems = '\n'.join(result.problems)
    assert (
        'ExternalAttachment default/leaf-01--edge not mapped: VLAN 100 of port leaf-01/E1/40 is also used by '
        'leaf-01--edge-2' in problems
    )
    assert 'ExternalAttachment default/leaf-01--edge-2 not mapped: VLAN 100 of port leaf-01/E1/40' in problems
    assert external_addresses() == {entry for entry in EXTERNAL_ADDRESSES if entry[0] == 'leaf-02'}


def test_an_external_connection_removed_with_its_attachment_prunes_the_subinterface_before_the_port(repo, site):
    write(repo, 'externals.yaml', EXTERNALS)
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    path = Path(repo.working_tree_dir) / 'externals.yaml'
    path.write_text('\n---\n'.join(d for d in path.read_text().split('\n---\n') if 'leaf-01--external' not in d))
    commit_all(repo, 'remove leaf-01--external')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    # The address, the subinterface and then its port (NetBox refuses to delete a port with subinterfaces).
    assert result.dcim_deleted == 3
    assert not Interface.objects.filter(device__name='leaf-01', name__startswith='E1/40').exists()
    assert external_addresses() == {entry for entry in EXTERNAL_ADDRESSES if entry[0] == 'leaf-02'}


def test_a_port_keeps_while_a_held_subinterface_of_it_stays(repo, site):
    """The external connection goes, its attachment stays (now a problem, held): its subinterface keeps its port."""
    write(repo, 'externals.yaml', EXTERNALS)
    fabric = dcim_fabric(repo, site)
    sync_fabric(fabric)
    path = Path(repo.working_tree_dir) / 'externals.yaml'
    path.write_text('\n---\n'.join(d for d in path.read_text().split('\n---\n') if 'name: leaf-01--external' not in d))
    commit_all(repo, 'remove the connection leaf-01--external only')

    result = sync_fabric(fabric)

    assert len(result.problems) == 1 and 'leaf-01--edge' in result.problems[0], result.problems
    assert result.dcim_deleted == 0
    assert external_addresses() == EXTERNAL_ADDRESSES
    again = sync_fabric(fabric)  # and it stays so, without a refusal to delete the port, until the input is fixed
    assert again.problems == result.problems
    assert (again.dcim_created, again.dcim_updated, again.dcim_deleted) == (0, 0, 0)


STATIC_ATTACHMENTS = """
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: leaf-02--edge-static
spec:
  connection: leaf-02--external
  external: edge
  static: {remoteIP: 192.168.30.1, vlan: 35, ip: 192.168.30.5/24}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: leaf-02--edge-proxy
spec:
  connection: leaf-02--external
  external: edge
  static: {remoteIP: 192.168.31.1, vlan: 36, proxy: true}
"""


def test_a_static_attachment_has_its_address_toward_its_next_hop_and_a_proxy_one_its_subinterface(repo, site):
    write(repo, 'externals.yaml', EXTERNALS + STATIC_ATTACHMENTS)
    fabric = dcim_fabric(repo, site)

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert external_addresses() == EXTERNAL_ADDRESSES | {
        ('leaf-02', 'E1/40.35', 'virtual', 'E1/40', '192.168.30.5/24', 'leaf-02--edge-static next hop 192.168.30.1'),
    }
    proxy = Interface.objects.get(device__name='leaf-02', name='E1/40.36')
    assert (proxy.type, proxy.parent.name, proxy.ip_addresses.count()) == ('virtual', 'E1/40', 0)
