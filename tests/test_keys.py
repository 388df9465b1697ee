"""Key-field extraction (netbox_hedgehog.keys): pure functions, no database needed."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from netbox_hedgehog.keys import EXTRACTORS, KEY_FIELD_DEFAULTS, key_fields
from netbox_hedgehog.keys.common import MAX_LENGTH, timestamp
from netbox_hedgehog.kinds import FABRIC_KINDS
from tests.fabric_data import DEMO_WIRING

SAMPLES = Path(__file__).resolve().parents[2] / 'shared' / 'hedgehog' / 'samples'
ALL_KINDS = [kind.kind for kind in FABRIC_KINDS]


def load(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]


def demo_objects():
    return {
        (doc['kind'], doc['metadata']['name']): doc for path in sorted(DEMO_WIRING.glob('*.yaml')) for doc in load(path)
    }


def fields_of(doc):
    return key_fields(doc.get('kind'), doc.get('spec'), doc.get('status'), name=doc['metadata']['name'])


def assert_fits(fields):
    """Every key and only those, each value of the type and length its column takes."""
    assert set(fields) == set(KEY_FIELD_DEFAULTS)
    for name in ('role', 'profile', 'connection_type', 'vpc', 'connection', 'ipv4_namespace', 'vlan_namespace'):
        assert isinstance(fields[name], str), name
        assert len(fields[name]) <= MAX_LENGTH[name], name
    for name in ('devices', 'ports', 'subnets'):
        assert isinstance(fields[name], list), name
        for item in fields[name]:
            assert isinstance(item, str) and item and len(item) <= MAX_LENGTH[name], (name, item)
    for name, maximum in (('asn', 2**32 - 1), ('applied_generation', 2**63 - 1)):
        value = fields[name]
        assert value is None or (type(value) is int and 0 <= value <= maximum), (name, value)
    heartbeat = fields['heartbeat']
    assert heartbeat is None or (isinstance(heartbeat, datetime) and heartbeat.tzinfo is not None)


def non_default(fields):
    return {name: value for name, value in fields.items() if value != KEY_FIELD_DEFAULTS[name]}


# ---------------------------------------------------------------------------- interface


def test_every_fabric_kind_has_an_extractor():
    assert set(ALL_KINDS) <= set(EXTRACTORS)


def test_unknown_kind_gives_defaults_with_fresh_lists():
    first = key_fields('Fabricator', {'asn': 65000, 'role': 'spine'}, {})
    assert first == KEY_FIELD_DEFAULTS
    first['devices'].append('x')
    first['subnets'].append('10.0.0.0/8')
    assert KEY_FIELD_DEFAULTS['devices'] == [] and KEY_FIELD_DEFAULTS['subnets'] == []
    assert key_fields('Switch', {}, {})['devices'] == []


def test_name_is_optional():
    assert key_fields('Agent', {'role': 'spine'}, {})['devices'] == []
    assert key_fields('Agent', {'role': 'spine'}, {}, name='spine-01')['devices'] == ['spine-01']


# ---------------------------------------------------------------------------- demo wiring fixture


def test_demo_wiring_every_object_fits():
    objects = demo_objects()
    assert objects
    for doc in objects.values():
        assert_fits(fields_of(doc))


def test_demo_wiring_switches_and_servers():
    objects = demo_objects()
    assert non_default(fields_of(objects['Switch', 'leaf-01'])) == {
        'role': 'server-leaf',
        'asn': 65101,
        'profile': 'dell-s5248f-on',
        'vlan_namespace': 'default',
    }
    assert non_default(fields_of(objects['Switch', 'spine-01'])) == {
        'role': 'spine',
        'asn': 65100,
        'profile': 'dell-s5232f-on',
    }
    assert non_default(fields_of(objects['Server', 'server-01'])) == {}
    for kind, name in (('SwitchGroup', 'eslag-1'), ('VLANNamespace', 'default')):
        assert fields_of(objects[kind, name]) == KEY_FIELD_DEFAULTS
    assert non_default(fields_of(objects['IPv4Namespace', 'default'])) == {'subnets': ['10.0.0.0/16']}


def test_demo_wiring_connections():
    objects = demo_objects()
    eslag = fields_of(objects['Connection', 'server-01--eslag--leaf-01--leaf-02'])
    assert eslag['connection_type'] == 'eslag'
    assert eslag['devices'] == ['leaf-01', 'leaf-02', 'server-01']
    assert set(eslag['ports']) == {'server-01/enp2s1', 'server-01/enp2s2', 'leaf-01/E1/1', 'leaf-02/E1/1'}
    assert len(eslag['ports']) == 4

    fabric = fields_of(objects['Connection', 'spine-01--fabric--leaf-01'])
    assert fabric['connection_type'] == 'fabric'
    assert fabric['devices'] == ['leaf-01', 'spine-01']
    assert set(fabric['ports']) == {'spine-01/E1/1', 'leaf-01/E1/49', 'spine-01/E1/2', 'leaf-01/E1/50'}

    bundled = fields_of(objects['Connection', 'server-02--bundled--leaf-01'])
    assert (bundled['connection_type'], bundled['devices']) == ('bundled', ['leaf-01', 'server-02'])
    unbundled = fields_of(objects['Connection', 'server-03--unbundled--leaf-02'])
    assert unbundled['connection_type'] == 'unbundled'
    assert set(unbundled['ports']) == {'server-03/enp2s1', 'leaf-02/E1/2'}
    assert unbundled['vpc'] == '' and unbundled['subnets'] == []


def test_demo_vpcs():
    objects = demo_objects()
    assert non_default(fields_of(objects['VPC', 'vpc-02'])) == {
        'subnets': ['10.0.2.0/24', '10.0.3.0/24'],
        'ipv4_namespace': 'default',
        'vlan_namespace': 'default',
    }
    assert non_default(fields_of(objects['VPCAttachment', 'vpc-01--default--server-01--eslag--leaf-01--leaf-02'])) == {
        'vpc': 'vpc-01',
        'subnets': ['default'],
        'connection': 'server-01--eslag--leaf-01--leaf-02',
    }
    assert fields_of(objects['VPCPeering', 'vpc-01--vpc-02']) == KEY_FIELD_DEFAULTS


# ---------------------------------------------------------------------------- literal objects per kind

SWITCH_SPEC = {
    'role': 'border-leaf',
    'profile': 'celestica-ds3000',
    'asn': 65105,
    'groups': ['border'],
    'redundancy': {'group': 'eslag-1', 'type': 'eslag'},
    'vlanNamespaces': ['default', 'extra'],
}

LITERALS = {
    'VLANNamespace': ({'ranges': [{'from': 1000, 'to': 2999}]}, {}, {}),
    'SwitchGroup': ({}, {}, {}),
    'SwitchProfile': (
        {
            'displayName': 'Dell S5248F-ON',
            'platform': 'x86_64-dellemc_s5248f_c3538-r0',
            'ports': {'E1/1': {'nos': 'Ethernet0'}},
        },
        {},
        {},
    ),
    'Switch': (SWITCH_SPEC, {}, {'role': 'border-leaf', 'profile': 'celestica-ds3000', 'asn': 65105}),
    'ServerProfile': ({'nics': [{'name': 'nic0', 'ports': [{'name': 'enp2s1'}]}]}, {}, {}),
    'Server': ({'description': 'db', 'profile': 'gpu-node'}, {}, {'profile': 'gpu-node'}),
    'Connection': (
        {
            'mesh': {
                'links': [
                    {
                        'leaf1': {'port': 'leaf-03/E1/55', 'ip': '172.30.128.8/31'},
                        'leaf2': {'port': 'leaf-04/E1/55', 'ip': '172.30.128.9/31'},
                    },
                ]
            }
        },
        {},
        {'connection_type': 'mesh', 'devices': ['leaf-03', 'leaf-04'], 'ports': ['leaf-03/E1/55', 'leaf-04/E1/55']},
    ),
    'IPv4Namespace': ({'subnets': ['10.10.0.0/16', '10.20.0.0/16']}, {}, {'subnets': ['10.10.0.0/16', '10.20.0.0/16']}),
    'VPC': (
        {
            'subnets': {'web': {'subnet': '10.0.9.0/24', 'vlan': 1009}, 'app': {'subnet': '10.0.8.0/24'}},
            'ipv4Namespace': 'tenant-a',
            'vlanNamespace': 'vlans-a',
            'mode': 'l3vni',
        },
        {},
        {'subnets': ['10.0.8.0/24', '10.0.9.0/24'], 'ipv4_namespace': 'tenant-a', 'vlan_namespace': 'vlans-a'},
    ),
    'VPCAttachment': (
        {'subnet': 'vpc-7/web', 'connection': 'server-7--unbundled--leaf-01', 'nativeVLAN': True},
        {},
        {'vpc': 'vpc-7', 'subnets': ['web'], 'connection': 'server-7--unbundled--leaf-01'},
    ),
    'VPCPeering': (
        {'permit': [{'vpc-1': {'subnets': ['default']}, 'vpc-2': {}}], 'remote': 'border'},
        {},
        {},
    ),
    'External': (
        {'ipv4Namespace': 'default', 'inboundCommunity': '65102:5000', 'static': {'prefixes': ['0.0.0.0/0']}},
        {},
        {'ipv4_namespace': 'default', 'subnets': ['0.0.0.0/0']},
    ),
    'ExternalAttachment': (
        {
            'connection': 'border--external--edge',
            'external': 'edge',
            'neighbor': {'asn': 65102, 'ip': '100.100.0.6'},
            'switch': {'ip': '100.100.0.1/24', 'vlan': 100},
        },
        {},
        {'connection': 'border--external--edge', 'asn': 65102},
    ),
    'ExternalPeering': (
        {
            'permit': {
                'vpc': {'name': 'vpc-01', 'subnets': ['default']},
                'external': {'name': 'edge', 'prefixes': [{'prefix': '0.0.0.0/0'}]},
            }
        },
        {},
        {'vpc': 'vpc-01'},
    ),
    'DHCPSubnet': (
        {'subnet': 'vpc-01/default', 'cidrBlock': '10.0.1.0/24', 'gateway': '10.0.1.1', 'vrf': 'VrfVvpc-01'},
        {'allocated': {'02:00:00:00:00:01': {'ip': '10.0.1.10'}}},
        {'vpc': 'vpc-01', 'subnets': ['10.0.1.0/24']},
    ),
    'Agent': (
        {'role': 'server-leaf', 'switch': {'role': 'server-leaf', 'profile': 'vs', 'asn': 65101}, 'switches': {}},
        {'lastHeartbeat': '2025-06-01T12:30:45Z', 'lastAppliedGen': 17, 'lastAppliedTime': '2025-06-01T12:00:00Z'},
        {
            'role': 'server-leaf',
            'profile': 'vs',
            'asn': 65101,
            'devices': ['leaf-01'],
            'heartbeat': datetime(2025, 6, 1, 12, 30, 45, tzinfo=UTC),
            'applied_generation': 17,
        },
    ),
    'Gateway': (
        {'asn': 65534, 'protocolIP': '172.30.8.3/32', 'neighbors': [{'asn': 65101, 'ip': '172.30.128.0'}]},
        {},
        {'asn': 65534},
    ),
    'GatewayGroup': ({}, {}, {}),
    'GatewayPeering': ({'gatewayGroup': 'default', 'peering': {'vpc-1': {'expose': []}, 'vpc-2': {}}}, {}, {}),
}


def test_literals_cover_every_fabric_kind():
    assert set(LITERALS) == set(ALL_KINDS)


@pytest.mark.parametrize('kind', ALL_KINDS)
def test_literal_object(kind):
    spec, status, expected = LITERALS[kind]
    name = 'leaf-01' if kind == 'Agent' else 'some-object'
    fields = key_fields(kind, spec, status, name=name)
    assert_fits(fields)
    assert non_default(fields) == expected


CONNECTIONS = [
    (
        {'unbundled': {'link': {'server': {'port': 'srv-1/eth1'}, 'switch': {'port': 'leaf-01/E1/1'}}, 'mtu': 9000}},
        'unbundled',
        ['leaf-01', 'srv-1'],
        {'srv-1/eth1', 'leaf-01/E1/1'},
    ),
    (
        {
            'mclag': {
                'links': [
                    {'server': {'port': 'srv-1/eth1'}, 'switch': {'port': 'leaf-01/E1/1'}},
                    {'server': {'port': 'srv-1/eth2'}, 'switch': {'port': 'leaf-02/E1/1'}},
                ]
            }
        },
        'mclag',
        ['leaf-01', 'leaf-02', 'srv-1'],
        {'srv-1/eth1', 'leaf-01/E1/1', 'srv-1/eth2', 'leaf-02/E1/1'},
    ),
    (
        {
            'mclagDomain': {
                'peerLinks': [{'switch1': {'port': 'leaf-01/E1/50'}, 'switch2': {'port': 'leaf-02/E1/50'}}],
                'sessionLinks': [{'switch1': {'port': 'leaf-01/E1/52'}, 'switch2': {'port': 'leaf-02/E1/52'}}],
            }
        },
        'mclag-domain',
        ['leaf-01', 'leaf-02'],
        {'leaf-01/E1/50', 'leaf-02/E1/50', 'leaf-01/E1/52', 'leaf-02/E1/52'},
    ),
    (
        {
            'gateway': {
                'links': [
                    {
                        'switch': {'port': 'spine-01/E1/5', 'ip': '172.30.128.8/31'},
                        'gateway': {'port': 'gateway-1/enp2s1', 'ip': '172.30.128.9/31'},
                    }
                ]
            }
        },
        'gateway',
        ['gateway-1', 'spine-01'],
        {'spine-01/E1/5', 'gateway-1/enp2s1'},
    ),
    (
        {'vpcLoopback': {'links': [{'switch1': {'port': 'leaf-01/E1/30'}, 'switch2': {'port': 'leaf-01/E1/31'}}]}},
        'vpc-loopback',
        ['leaf-01'],
        {'leaf-01/E1/30', 'leaf-01/E1/31'},
    ),
    ({'external': {'link': {'switch': {'port': 'border/E1/2'}}}}, 'external', ['border'], {'border/E1/2'}),
    (
        {
            'fabric': {
                'links': [
                    {
                        'spine': {'port': 'spine-01/E1/1/2', 'ip': '172.30.128.0/31'},
                        'leaf': {'port': 'leaf-01/E1/49', 'ip': '172.30.128.1/31'},
                    }
                ]
            }
        },
        'fabric',
        ['leaf-01', 'spine-01'],
        {'spine-01/E1/1/2', 'leaf-01/E1/49'},
    ),
]


@pytest.mark.parametrize(('spec', 'connection_type', 'devices', 'ports'), CONNECTIONS, ids=[c[1] for c in CONNECTIONS])
def test_connection_types(spec, connection_type, devices, ports):
    fields = key_fields('Connection', spec, {})
    assert_fits(fields)
    assert fields['connection_type'] == connection_type
    assert fields['devices'] == devices
    assert set(fields['ports']) == ports and len(fields['ports']) == len(ports)


def test_static_external_connection():
    spec = {
        'staticExternal': {
            'link': {
                'switch': {
                    'port': 's5248-04/E1/1',
                    'ip': '172.30.50.5/24',
                    'vlan': 1005,
                    'subnets': ['10.99.0.0/24', '10.199.0.100/32'],
                    'nextHop': '172.30.50.1',
                }
            },
            'withinVPC': 'vpc-infra',
        }
    }
    assert non_default(key_fields('Connection', spec, {})) == {
        'connection_type': 'static-external',
        'devices': ['s5248-04'],
        'ports': ['s5248-04/E1/1'],
        'vpc': 'vpc-infra',
        'subnets': ['10.99.0.0/24', '10.199.0.100/32'],
    }


def test_connection_with_two_types_has_no_type_but_keeps_its_ports():
    spec = {
        'unbundled': {'link': {'switch': {'port': 'leaf-01/E1/1'}}},
        'external': {'link': {'switch': {'port': 'leaf-01/E1/2'}}},
    }
    fields = key_fields('Connection', spec, {})
    assert fields['connection_type'] == ''
    assert set(fields['ports']) == {'leaf-01/E1/1', 'leaf-01/E1/2'} and fields['devices'] == ['leaf-01']


def test_switch_vlan_namespace_only_when_there_is_exactly_one():
    assert key_fields('Switch', {'vlanNamespaces': ['default']}, {})['vlan_namespace'] == 'default'
    assert key_fields('Switch', {'vlanNamespaces': ['a', 'b']}, {})['vlan_namespace'] == ''
    assert key_fields('Switch', {}, {})['vlan_namespace'] == ''


def test_vpc_attachment_without_subnet_part_is_the_default_subnet():
    fields = key_fields('VPCAttachment', {'subnet': 'vpc-1', 'connection': 'c'}, {})
    assert (fields['vpc'], fields['subnets']) == ('vpc-1', ['default'])
    fields = key_fields('VPCAttachment', {'subnet': '/web'}, {})
    assert (fields['vpc'], fields['subnets']) == ('', [])


def test_dhcp_subnet_vpc_from_the_name_when_spec_has_no_subnet():
    fields = key_fields('DHCPSubnet', {'cidrBlock': '10.0.1.0/24'}, {}, name='vpc-01--default')
    assert (fields['vpc'], fields['subnets']) == ('vpc-01', ['10.0.1.0/24'])
    assert key_fields('DHCPSubnet', {}, {}, name='no-separator')['vpc'] == ''


def test_agent_role_falls_back_to_its_switch_and_accepts_a_string_switch():
    fields = key_fields('Agent', {'switch': {'role': 'spine'}}, {})
    assert fields['role'] == 'spine'
    assert key_fields('Agent', {'switch': 'leaf-09'}, {})['devices'] == ['leaf-09']
    assert key_fields('Agent', {'switch': 'leaf-09'}, {}, name='leaf-09')['devices'] == ['leaf-09']


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        ('2025-06-01T12:30:45Z', datetime(2025, 6, 1, 12, 30, 45, tzinfo=UTC)),
        ('2025-06-01T12:30:45.123456789Z', datetime(2025, 6, 1, 12, 30, 45, 123456, tzinfo=UTC)),
        ('2025-06-01T12:30:45.5+02:00', datetime(2025, 6, 1, 12, 30, 45, 500000, tzinfo=timezone(timedelta(hours=2)))),
        (
            '2025-06-01T12:30:45-0130',
            datetime(2025, 6, 1, 12, 30, 45, tzinfo=timezone(-timedelta(hours=1, minutes=30))),
        ),
        ('2025-06-01 12:30:45', datetime(2025, 6, 1, 12, 30, 45, tzinfo=UTC)),
        (datetime(2025, 6, 1, 12, 30, 45), datetime(2025, 6, 1, 12, 30, 45, tzinfo=UTC)),
        ('2025-13-01T12:30:45Z', None),
        ('2025-06-01T12:30:45+25:00', None),
        ('yesterday', None),
        ('', None),
        (1717245045, None),
        (None, None),
    ],
)
def test_heartbeat_parsing(raw, expected):
    parsed = timestamp(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


# ---------------------------------------------------------------------------- odd shapes

ODD_SPECS = [None, [], 'spec', 42, True, {'weird': object()}]


@pytest.mark.parametrize('kind', ALL_KINDS)
@pytest.mark.parametrize('spec', ODD_SPECS, ids=['none', 'list', 'str', 'int', 'bool', 'object'])
def test_odd_spec_gives_defaults(kind, spec):
    assert key_fields(kind, spec, spec) == KEY_FIELD_DEFAULTS


ODD_PARTS = {
    'Switch': {'role': 5, 'asn': True, 'profile': ['x'], 'vlanNamespaces': 'default'},
    'Server': {'profile': {'name': 'x'}},
    'Connection': {
        'bundled': {'links': {'server': {'port': 'a/b'}}},
        'fabric': {'links': [None, 'x', {'spine': 'x'}, {'leaf': {'port': 7}}, {'leaf': {'port': ['a/b']}}]},
        'staticExternal': {'link': [], 'withinVPC': 3},
    },
    'VPC': {'subnets': ['10.0.0.0/24'], 'ipv4Namespace': {}, 'vlanNamespace': None},
    'VPCAttachment': {'subnet': ['vpc-1/default'], 'connection': 5},
    'IPv4Namespace': {'subnets': '10.0.0.0/16'},
    'External': {'static': {'prefixes': [None, 5, {}]}, 'ipv4Namespace': 1},
    'ExternalAttachment': {'neighbor': {'asn': '65102'}, 'connection': None},
    'ExternalPeering': {'permit': {'vpc': 'vpc-1'}},
    'DHCPSubnet': {'subnet': 5, 'cidrBlock': ['10.0.0.0/24']},
    'Agent': {'role': None, 'switch': ['leaf-01']},
    'Gateway': {'asn': 2**40},
}


@pytest.mark.parametrize('kind', sorted(ODD_PARTS))
def test_odd_parts_give_defaults(kind):
    status = {'lastHeartbeat': 12, 'lastAppliedGen': '7'} if kind == 'Agent' else {}
    fields = key_fields(kind, ODD_PARTS[kind], status)
    assert_fits(fields)
    assert fields == KEY_FIELD_DEFAULTS


def test_odd_values_within_usable_parts():
    fields = key_fields(
        'Connection',
        {
            'fabric': {
                'links': [
                    {'leaf': {'port': 7}, 'spine': {'port': 'spine-01/E1/1'}},
                    {'leaf': {'port': 'no-slash'}, 'spine': {'port': 'spine-01/E1/1'}},
                ]
            }
        },
        {},
    )
    assert fields['connection_type'] == 'fabric'
    assert fields['ports'] == ['spine-01/E1/1', 'no-slash']  # repeats dropped, a malformed port kept
    assert fields['devices'] == ['spine-01']  # but it names no device
    assert key_fields('Agent', {}, {'lastAppliedGen': -1})['applied_generation'] is None
    assert key_fields('Agent', {}, {'lastAppliedGen': 2**63})['applied_generation'] is None
    assert key_fields('Switch', {'asn': -1}, {})['asn'] is None
    assert key_fields('Switch', {'asn': 4294967295}, {})['asn'] == 4294967295


def test_long_values_are_cut_to_the_column():
    long = 'x' * 1000
    fields = key_fields('Switch', {'role': long, 'profile': long, 'vlanNamespaces': [long]}, {})
    assert_fits(fields)
    assert fields['role'] == 'x' * 50 and fields['profile'] == 'x' * 253
    fields = key_fields('Connection', {'unbundled': {'link': {'switch': {'port': f'{long}/{long}'}}}}, {})
    assert_fits(fields)
    assert fields['ports'] == [f'{long}/{long}'[:300]] and fields['devices'] == ['x' * 253]
    fields = key_fields('IPv4Namespace', {'subnets': [long]}, {})
    assert fields['subnets'] == ['x' * 64]


def test_an_extractor_that_raises_gives_defaults(monkeypatch):
    def broken(spec, status, name):
        raise RuntimeError('boom')

    monkeypatch.setitem(EXTRACTORS, 'Switch', broken)
    assert key_fields('Switch', {'role': 'spine'}, {}) == KEY_FIELD_DEFAULTS


def test_wrong_types_returned_by_an_extractor_are_fitted(monkeypatch):
    monkeypatch.setitem(
        EXTRACTORS,
        'Switch',
        lambda spec, status, name: {
            'role': 7,
            'asn': '65000',
            'devices': 'leaf-01',
            'heartbeat': datetime(2025, 1, 1),
            'unknown': 1,
        },
    )
    assert key_fields('Switch', {}, {}) == KEY_FIELD_DEFAULTS


# ---------------------------------------------------------------------------- the shared samples

SAMPLE_FILES = sorted(SAMPLES.rglob('*.yaml')) + sorted(SAMPLES.rglob('*.yml')) if SAMPLES.is_dir() else []


@pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f'no shared Hedgehog samples at {SAMPLES} (only present in the team workspace)'
)
def test_samples_exist():
    assert SAMPLE_FILES, f'{SAMPLES} holds no YAML files'


@pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f'no shared Hedgehog samples at {SAMPLES} (only present in the team workspace)'
)
@pytest.mark.parametrize('path', SAMPLE_FILES, ids=[str(path.relative_to(SAMPLES)) for path in SAMPLE_FILES])
def test_every_sample_object_yields_fitting_key_fields(path):
    for doc in load(path):  # a file may hold no object (the demo's reset files are empty)
        metadata = doc.get('metadata') if isinstance(doc.get('metadata'), dict) else {}
        for name in (metadata.get('name', ''), ''):
            assert_fits(key_fields(doc.get('kind'), doc.get('spec'), doc.get('status'), name=name))
