"""DCIM mapping of a large fabric: 1,000 and 10,000 objects served by an emulated Kubernetes API (kmock), dcim_sync on.

The generated fabric has the samples' shape: spines (``dell-s5232f-on``) and leaves in MCLAG pairs
(``dell-s5248f-on``), both profiles served as SwitchProfiles (with the real profiles' ports) so that
every port a connection names is one its switch's profile has; servers; connections (fabric
spine-leaf links, server connections unbundled / bundled / MCLAG), each port claimed once; VPCs and
VPC attachments. Each scenario runs ``execute_fabric_sync`` in a fresh Django process (as a work
horse does, :func:`benchmarks.sync_volume.run_sync_in_child`) on a new fabric each round (names
prefixed by the round, so rounds do not meet each other's devices), and reports its wall time
(median, min and max of ``--repeat`` runs), the rows written to DCIM and IPAM tables and the
ownership table (PostgreSQL's own counters), the peak RSS of the syncing process and the run's
steps. Targets (issue 13):

- 1,000 objects: initial <= 20 s, unchanged resync <= 2 s with 0 writes;
- 10,000 objects: initial <= 3 min, unchanged resync <= 10 s; peak RSS < 600 MB.

    ./benchmarks/run dcim_volume [--objects 1000 10000] [--repeat 3] [--profile DIR]
"""

import argparse
import os
from pathlib import Path

from benchmarks import sync_volume
from benchmarks.common import setup_django

TARGETS = {
    'initial sync': {1000: 20, 10000: 180},
    'unchanged resync': {1000: 2, 10000: 10},
}
SPINE_PROFILE, LEAF_PROFILE = 'dell-s5232f-on', 'dell-s5248f-on'
LEAF_SERVER_PORTS = range(1, 49)  # E1/1-E1/48 (25G); E1/49-E1/56 (100G) are the uplinks
LEAF_UPLINKS = ('E1/49', 'E1/50')
SPINE_PORTS = 32
SPINES_PER_LEAF = len(LEAF_UPLINKS)
SWITCH_SHARE, SERVER_SHARE, VPC_SHARE = 0.08, 0.30, 0.06
COUNTED = ('dcim_created', 'dcim_updated', 'dcim_deleted', 'created', 'unchanged')


def switch_profiles():
    """The two SwitchProfiles as the cluster serves them: the real profiles' names, display names and ports
    (``dell-s5248f-on``: E1/1-E1/48 SFP28 25G, E1/49-E1/56 QSFP28 100G; ``dell-s5232f-on``: E1/1-E1/32 QSFP28 100G),
    without the rest of their specs, which the mapping does not read."""
    leaf = {
        f'E1/{n}': {'nos': f'Ethernet{n - 1}', 'profile': 'SFP28-25G' if n <= 48 else 'QSFP28-100G'}
        for n in range(1, 57)
    }
    spine = {f'E1/{n}': {'nos': f'Ethernet{(n - 1) * 4}', 'profile': 'QSFP28-100G'} for n in range(1, 33)}
    return [
        {
            'apiVersion': sync_volume.GROUP_VERSIONS['wiring'],
            'kind': 'SwitchProfile',
            'metadata': {'name': name, 'namespace': 'default'},
            'spec': {'displayName': display, 'ports': ports},
        }
        for name, display, ports in ((SPINE_PROFILE, 'Dell S5232F-ON', spine), (LEAF_PROFILE, 'Dell S5248F-ON', leaf))
    ]


def switch_addresses(index, round_):
    """A switch's management, protocol and VTEP addresses, as the samples give them (``ip`` in a /21, /32 loopbacks).

    Each round has its own 172.16-31.0.0/16 network: the addresses are in NetBox's global table,
    where they are unique, and the devices of earlier rounds keep theirs.
    """
    network, host = f'172.{16 + round_ % 16}', f'{index % 250 + 2}'
    return {
        'ip': f'{network}.{index // 250}.{host}/21',
        'protocolIP': f'{network}.{8 + index // 250}.{host}/32',
        'vtepIP': f'{network}.{16 + index // 250}.{host}/32',
    }


def generated_objects(total, prefix, round_=0):
    """Yield ``(group, kind, name, spec)`` for a fabric of ``total`` objects (the 2 SwitchProfiles included).

    The default VLAN and IPv4 namespaces as the samples have them; switches 8 % (with their
    management, protocol and VTEP addresses), servers 30 % (one connection each), VPCs 6 % (a
    subnet each, with its VLAN, gateway and DHCP range), a fabric connection per spine-leaf pair,
    and VPC attachments for the rest, each on a server connection.
    """
    switches = max(4, int(total * SWITCH_SHARE))
    spines = max(2, switches // 8)
    leaves = (switches - spines) // 2 * 2  # MCLAG pairs
    servers, vpcs = int(total * SERVER_SHARE), max(1, int(total * VPC_SHARE))
    attachments = total - 4 - spines - leaves - servers * 2 - leaves * SPINES_PER_LEAF - vpcs
    assert 0 <= attachments <= servers, f'{total} objects do not fit the mix'
    spine, leaf, server = f'{prefix}spine-{{:03}}', f'{prefix}leaf-{{:04}}', f'{prefix}server-{{:05}}'
    base = 16 * (round_ % 8)  # the round's VPC subnets: 10.<base>.0.0/12, global container prefixes are unique
    yield 'vpc', 'VLANNamespace', 'default', {'ranges': [{'from': 1000, 'to': 2999}]}
    yield 'vpc', 'IPv4Namespace', 'default', {'subnets': [f'10.{base}.0.0/12']}
    for index in range(spines):
        spec = {'role': 'spine', 'profile': SPINE_PROFILE, 'asn': 65000, **switch_addresses(index, round_)}
        yield 'wiring', 'Switch', spine.format(index), spec
    for index in range(leaves):
        spec = {'role': 'server-leaf', 'profile': LEAF_PROFILE, 'asn': 65100 + index // 2}
        spec |= {
            'redundancy': {'group': f'mclag-{index // 2}', 'type': 'mclag'},
            **switch_addresses(spines + index, round_),
        }
        yield 'wiring', 'Switch', leaf.format(index), spec
    spine_ports = [0] * spines
    for index in range(leaves):
        for uplink, offset in zip(LEAF_UPLINKS, range(SPINES_PER_LEAF), strict=True):
            target = (index * SPINES_PER_LEAF + offset) % spines
            spine_ports[target] += 1
            assert spine_ports[target] <= SPINE_PORTS, 'more leaves than the spines have ports'
            link = {
                'spine': {'port': f'{spine.format(target)}/E1/{spine_ports[target]}'},
                'leaf': {'port': f'{leaf.format(index)}/{uplink}'},
            }
            yield (
                'wiring',
                'Connection',
                f'{spine.format(target)}--fabric--{leaf.format(index)}',
                {'fabric': {'links': [link]}},
            )
    leaf_ports = [iter(LEAF_SERVER_PORTS) for _ in range(leaves)]
    connections = []
    for index in range(servers):
        name = server.format(index)
        yield 'wiring', 'Server', name, {'description': f'rack {index % 40}'}
        first = index % (leaves // 2) * 2
        kind = ('unbundled', 'unbundled', 'unbundled', 'bundled', 'mclag')[index % 5]
        switches_of = {'unbundled': [first + index % 2], 'bundled': [first, first], 'mclag': [first, first + 1]}[kind]
        links = [
            {
                'server': {'port': f'{name}/enp2s{nic}'},
                'switch': {'port': f'{leaf.format(switch)}/E1/{next(leaf_ports[switch])}'},
            }
            for nic, switch in enumerate(switches_of, start=1)
        ]
        connection = f'{name}--{kind}--{leaf.format(switches_of[0])}'
        connections.append(connection)
        body = {'link': links[0]} if kind == 'unbundled' else {'links': links}
        yield 'wiring', 'Connection', connection, {kind: body}
    for index in range(vpcs):
        network = f'10.{base + index // 250}.{index % 250}'
        subnet = {'subnet': f'{network}.0/24', 'gateway': f'{network}.1', 'vlan': 1000 + index % 2000}
        subnet['dhcp'] = {'enable': True, 'range': {'start': f'{network}.10', 'end': f'{network}.99'}}
        yield 'vpc', 'VPC', f'{prefix}vpc-{index:04}', {'subnets': {'default': subnet}}
    for index in range(attachments):
        vpc = f'{prefix}vpc-{index % vpcs:04}'
        attachment = {'subnet': f'{vpc}/default', 'connection': connections[index]}
        yield 'vpc', 'VPCAttachment', f'{vpc}--default--{connections[index]}'[:253], attachment


def load_objects(api, total, prefix, round_):
    """Serve the fabric's objects (replacing what the API served before)."""

    def store_all():
        from tests.kmock_server import resource_of

        api.emulator.objects.clear()
        for manifest in switch_profiles():
            api.emulator.objects[resource_of('SwitchProfile'), 'default', manifest['metadata']['name']] = {
                **manifest,
                'metadata': {
                    **manifest['metadata'],
                    'resourceVersion': '1',
                    'uid': f'uid-{manifest["metadata"]["name"]}',
                },
            }
        for group, kind, name, spec in generated_objects(total, prefix, round_):
            api.emulator.objects[resource_of(kind), 'default', name] = {
                'apiVersion': sync_volume.GROUP_VERSIONS[group],
                'kind': kind,
                'metadata': {'name': name, 'namespace': 'default', 'resourceVersion': '1', 'uid': f'uid-{kind}-{name}'},
                'spec': spec,
            }
        return len(api.emulator.objects)

    return api.call(store_all)


def mapped_tables(cursor):
    """The tables whose written rows count: NetBox's DCIM and IPAM tables and the ownership table."""
    cursor.execute(
        "SELECT relname FROM pg_stat_user_tables WHERE relname LIKE 'dcim\\_%%' OR relname LIKE 'ipam\\_%%' "
        "OR relname = 'netbox_hedgehog_hedgehogownedobject'"
    )
    return [row[0] for row in cursor.fetchall()]


def measure(api, size, repeat, profile_dir, first_space=0):
    """Initial sync and unchanged resync, each in a fresh process, on a new fabric per round.

    Round ``n`` takes the addresses of space ``first_space + n``: the devices and addresses of
    earlier rounds (and sizes) stay in NetBox, and NetBox's global table keeps addresses unique.
    """
    from dcim.models import Site

    from netbox_hedgehog.models import HedgehogFabric

    site, _ = Site.objects.get_or_create(name='DCIM volume', slug='dcim-volume')
    reports = {}
    for round_ in range(repeat):
        served = load_objects(api, size, prefix=f'r{round_}-{size}-', round_=first_space + round_)
        assert served == size, served
        fabric = HedgehogFabric.objects.create(
            name=f'dcim-volume-{size}-{round_}',
            sync_interval=0,
            dcim_sync=True,
            dcim_site=site,
            **api.fabric_fields(),
        )
        for label in ('initial sync', 'unchanged resync'):
            slug = label.replace(' ', '_')
            profile = profile_dir / f'dcim-{size}-{slug}-{round_}.prof' if profile_dir else None
            api.forget_requests()
            reports.setdefault(label, []).append(
                sync_volume.run_sync_in_child(fabric.pk, profile, module='benchmarks.dcim_volume')
            )
        fabric.delete()
    return reports


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--objects', type=int, nargs='+', default=[1000, 10000], help='fabric sizes to measure')
    parser.add_argument('--repeat', type=int, default=3, help='runs of each scenario (median, min and max shown)')
    parser.add_argument('--profile', type=Path, help='write a cProfile of each child run into this directory')
    parser.add_argument('--child', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return sync_volume.child(args.child, args.profile, tables=mapped_tables)

    setup_django()
    from tests.kmock_server import kube_api

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f'load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)')
    with kube_api() as api:
        for index, size in enumerate(args.objects):
            reports = measure(api, size, args.repeat, args.profile, first_space=index * args.repeat)
            sync_volume.print_tables(size, reports, targets=TARGETS, counts=COUNTED)
    print('rows written: DCIM, IPAM and ownership tables; created/unchanged: resource rows')
    load = os.getloadavg()
    print(f'\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}')


if __name__ == '__main__':
    main()
