"""Sync of a large fabric: 10,000 objects served by an emulated Kubernetes API (kmock).

The objects are a realistic mix generated from the shapes of the Hedgehog samples
(switches, servers, connections, VPCs, attachments, DHCP subnets, agents). Each scenario
runs ``execute_fabric_sync`` in a fresh Django process, as a worker's work horse does,
and reports its wall time, counts and peak RSS:

- initial sync (target <= 15 s), unchanged resync (<= 3 s, 0 writes), 1 % changed (<= 4 s);
- peak RSS of the syncing process (target < 400 MB).

    ./benchmarks/run sync_volume [--objects 10000]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import django

from benchmarks.common import REPO_ROOT, setup_django

MIX = (  # share of each kind in the generated fabric
    ('Switch', 0.08),
    ('Server', 0.30),
    ('Connection', 0.34),
    ('VPC', 0.06),
    ('VPCAttachment', 0.14),
    ('DHCPSubnet', 0.04),
    ('Agent', 0.04),
)


def generated_objects(total):
    """Yield ``total`` manifests shaped like the samples, with names that reference each other."""
    counts = {kind: max(1, int(total * share)) for kind, share in MIX}
    counts['Connection'] += total - sum(counts.values())
    switches = counts['Switch']
    for index in range(counts['Switch']):
        yield (
            'wiring',
            'Switch',
            f'leaf-{index:04}',
            {
                'role': 'server-leaf',
                'profile': 'dell-s5248f-on',
                'asn': 65100 + index,
                'ip': f'172.30.{index // 250}.{index % 250}/21',
                'protocolIP': f'172.30.8.{index % 250}/32',
                'vtepIP': f'172.30.12.{index % 250}/32',
                'boot': {'mac': f'0c:20:12:fe:{index // 256:02x}:{index % 256:02x}'},
                'groups': ['eslag-1'],
                'vlanNamespaces': ['default'],
            },
        )
    for index in range(counts['Server']):
        yield 'wiring', 'Server', f'server-{index:05}', {'description': f'rack {index % 40}'}
    for index in range(counts['Connection']):
        leaf = f'leaf-{index % switches:04}'
        yield (
            'wiring',
            'Connection',
            f'server-{index:05}--unbundled--{leaf}',
            {
                'unbundled': {
                    'link': {
                        'server': {'port': f'server-{index:05}/enp2s1'},
                        'switch': {'port': f'{leaf}/E1/{index % 48 + 1}'},
                    }
                },
            },
        )
    for index in range(counts['VPC']):
        yield (
            'vpc',
            'VPC',
            f'vpc-{index:04}',
            {
                'ipv4Namespace': 'default',
                'vlanNamespace': 'default',
                'subnets': {
                    'default': {
                        'subnet': f'10.{index // 250}.{index % 250}.0/24',
                        'gateway': f'10.{index // 250}.{index % 250}.1',
                        'vlan': 1000 + index % 2000,
                        'dhcp': {'enable': True, 'range': {'start': f'10.{index // 250}.{index % 250}.10'}},
                    }
                },
            },
        )
    for index in range(counts['VPCAttachment']):
        yield (
            'vpc',
            'VPCAttachment',
            f'vpc-{index % counts["VPC"]:04}--default--server-{index:05}',
            {
                'subnet': f'vpc-{index % counts["VPC"]:04}/default',
                'connection': f'server-{index:05}--unbundled--leaf-{index % switches:04}',
            },
        )
    for index in range(counts['DHCPSubnet']):
        yield (
            'dhcp',
            'DHCPSubnet',
            f'vpc-{index:04}--default',
            {
                'subnet': f'vpc-{index:04}/default',
                'cidrBlock': f'10.{index // 250}.{index % 250}.0/24',
                'gateway': f'10.{index // 250}.{index % 250}.1',
                'startIP': f'10.{index // 250}.{index % 250}.10',
                'vrf': f'VrfV{index}',
            },
        )
    for index in range(counts['Agent']):
        yield 'agent', 'Agent', f'leaf-{index:04}', {'role': 'server-leaf', 'description': 'agent'}


GROUP_VERSIONS = {
    'wiring': 'wiring.githedgehog.com/v1beta1',
    'vpc': 'vpc.githedgehog.com/v1beta1',
    'dhcp': 'dhcp.githedgehog.com/v1beta1',
    'agent': 'agent.githedgehog.com/v1beta1',
}


def load_objects(api, total):
    def store_all():
        from tests.kmock_server import resource_of

        for group, kind, name, spec in generated_objects(total):
            api.emulator.objects[resource_of(kind), 'default', name] = {
                'apiVersion': GROUP_VERSIONS[group],
                'kind': kind,
                'metadata': {'name': name, 'namespace': 'default', 'resourceVersion': '1', 'uid': f'uid-{kind}-{name}'},
                'spec': spec,
            }

    api.call(store_all)


def change_objects(api, fraction):
    """Change the spec of ``fraction`` of the Server objects' descriptions (a new resourceVersion each)."""

    def change():
        from tests.kmock_server import resource_of

        keys = list(api.emulator.objects.keys())
        servers = [key for key in keys if key[0] == resource_of('Server')]
        count = 0
        for key in servers[: int(len(keys) * fraction)]:
            manifest = dict(api.emulator.objects[key])
            manifest['spec'] = {'description': 'moved'}
            manifest['metadata'] = {**manifest['metadata'], 'resourceVersion': '2'}
            api.emulator.objects[key] = manifest
            count += 1
        return count

    return api.call(change)


def run_sync_in_child(fabric_id):
    """Run one manual sync in a fresh process (like a work horse) and return its report."""
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, '-m', 'benchmarks.sync_volume', '--child', str(fabric_id)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=os.environ.copy(),
    ).stdout
    report = json.loads(output.strip().splitlines()[-1])
    report['process_seconds'] = time.perf_counter() - started
    return report


def child(fabric_id):
    django.setup()
    from netbox_hedgehog.models import SyncRun
    from netbox_hedgehog.scheduling.jobs import execute_fabric_sync

    started = time.perf_counter()
    execute_fabric_sync(fabric_id, trigger='manual')
    seconds = time.perf_counter() - started
    run = SyncRun.objects.filter(fabric_id=fabric_id).latest('started_at')
    print(
        json.dumps(
            {
                'seconds': seconds,
                'outcome': run.outcome,
                'error': run.error[:200],
                'created': run.created,
                'updated': run.updated,
                'deleted': run.deleted,
                'unchanged': run.unchanged,
                'steps': run.step_durations,
                'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--objects', type=int, default=10000)
    parser.add_argument('--child', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    setup_django()
    from netbox_hedgehog.models import HedgehogFabric
    from tests.kmock_server import kube_api

    rows = []
    with kube_api() as api:
        load_objects(api, args.objects)
        fabric = HedgehogFabric.objects.create(
            name='volume',
            sync_interval=0,
            **api.fabric_fields(),
        )
        for label, prepare, target in (
            ('initial sync', None, 15),
            ('unchanged resync', None, 3),
            ('1 % changed', lambda: change_objects(api, 0.01), 4),
        ):
            if prepare:
                prepare()
            report = run_sync_in_child(fabric.pk)
            rows.append((label, report, target))

    print(
        f'\n{"scenario":18} | {"sync s":>7} | {"target":>6} | {"obj/s":>7} | {"created":>7} | {"updated":>7} | '
        f'{"deleted":>7} | {"unchanged":>9} | {"peak RSS MB":>11} | steps (s)'
    )
    print('-' * 140)
    for label, report, target in rows:
        total = report['created'] + report['updated'] + report['unchanged']
        steps = ', '.join(f'{name} {value:.2f}' for name, value in report['steps'].items())
        error = f': {report["error"]}' if report['error'] else ''
        print(
            f'{label:18} | {report["seconds"]:7.2f} | {target:6} | {total / report["seconds"]:7.0f} | '
            f'{report["created"]:7} | {report["updated"]:7} | {report["deleted"]:7} | {report["unchanged"]:9} | '
            f'{report["peak_rss_mb"]:11.0f} | {steps}   [{report["outcome"]}{error}]'
        )


if __name__ == '__main__':
    main()
