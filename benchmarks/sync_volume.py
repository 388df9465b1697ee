"""Sync of a large fabric: 10,000 (or 100,000) objects served by an emulated Kubernetes API (kmock).

The objects are a realistic mix generated from the shapes of the Hedgehog samples
(switches, servers, connections, VPCs, attachments, DHCP subnets, agents). Each scenario
runs ``execute_fabric_sync`` in a fresh Django process, as a worker's work horse does, and
reports its wall time (median, min and max of ``--repeat`` runs), how many resource rows it
wrote (PostgreSQL's own counters), the peak RSS of the syncing process and where the time went:

- 10,000 objects: initial sync <= 3 s, unchanged resync <= 0.6 s with 0 writes, 1 % changed <= 1 s;
- 100,000 objects: initial sync <= 30 s, unchanged resync <= 6 s; peak RSS < 600 MB.

    ./benchmarks/run sync_volume [--objects 10000 100000] [--repeat 3] [--profile DIR]

``--profile DIR`` writes a cProfile of every child run to DIR (read it with ``python -m pstats``).
"""

import argparse
import cProfile
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

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
# (seconds for 10,000 objects, seconds for 100,000): the targets; other sizes are not judged.
TARGETS = {
    'initial sync': {10000: 3, 100000: 30},
    'unchanged resync': {10000: 0.6, 100000: 6},
    '1 % changed': {10000: 1},
}
# The order the per-step table lists steps in; the run's own steps outside these are appended.
STEP_ORDER = (
    'fetch_kubernetes',
    'parse_kubernetes',
    'fetch_git',
    'parse_git',
    'diff',
    'apply',
    'search_index',
    'drift',
)
RESOURCE_TABLE = 'netbox_hedgehog_hedgehogresource'


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


def change_objects(api, fraction, round_):
    """Change the spec of ``fraction`` of all objects, taken from the Servers (a new resourceVersion each)."""

    def change():
        from tests.kmock_server import resource_of

        keys = list(api.emulator.objects.keys())
        servers = [key for key in keys if key[0] == resource_of('Server')]
        count = 0
        for key in servers[: int(len(keys) * fraction)]:
            manifest = dict(api.emulator.objects[key])
            manifest['spec'] = {'description': f'moved in round {round_}'}
            manifest['metadata'] = {**manifest['metadata'], 'resourceVersion': str(round_ + 2)}
            api.emulator.objects[key] = manifest
            count += 1
        return count

    return api.call(change)


def run_sync_in_child(fabric_id, profile=None, module='benchmarks.sync_volume'):
    """Run one manual sync in a fresh process (like a work horse) and return its report.

    ``module`` is the benchmark whose ``--child`` runs it (it calls :func:`child`).
    """
    command = [sys.executable, '-m', module, '--child', str(fabric_id)]
    if profile:
        command += ['--profile', str(profile)]
    started = time.perf_counter()
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, cwd=REPO_ROOT, env=os.environ.copy()
    ).stdout
    report = json.loads(output.strip().splitlines()[-1])
    report['process_seconds'] = time.perf_counter() - started
    return report


def rows_written(cursor, tables=(RESOURCE_TABLE,)):
    """Rows inserted, updated and deleted in ``tables`` so far, by PostgreSQL's statistics."""
    cursor.execute('SELECT pg_stat_clear_snapshot()')
    cursor.execute(
        'SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables '
        'WHERE relname = ANY(%s)',
        [list(tables)],
    )
    return cursor.fetchone()[0]


def cpu_seconds():
    """CPU time of this process so far: on a shared machine it varies less with the load than wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(fabric_id, profile, tables=lambda cursor: (RESOURCE_TABLE,)):
    """One sync in this process; prints its report. ``tables(cursor)``: the tables whose written rows count."""
    django.setup()
    from django.db import connection

    from netbox_hedgehog.models import SyncRun
    from netbox_hedgehog.scheduling.jobs import execute_fabric_sync

    with connection.cursor() as cursor:
        tables = tables(cursor)
        written_before = rows_written(cursor, tables)
    profiler = cProfile.Profile() if profile else None
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    if profiler:
        profiler.runcall(execute_fabric_sync, fabric_id, trigger='manual')
    else:
        execute_fabric_sync(fabric_id, trigger='manual')
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    if profiler:
        profiler.dump_stats(profile)
    with connection.cursor() as cursor:
        cursor.execute('SELECT pg_stat_force_next_flush()')  # this session's counters, at the end of this statement
        written = rows_written(cursor, tables) - written_before
    run = SyncRun.objects.filter(fabric_id=fabric_id).latest('started_at')
    steps = dict(run.step_durations)
    steps['run record, lock'] = max(0.0, seconds - sum(steps.values()))
    print(
        json.dumps(
            {
                'seconds': seconds,
                'cpu_seconds': cpu,
                'outcome': run.outcome,
                'error': run.error[:200],
                'created': run.created,
                'updated': run.updated,
                'deleted': run.deleted,
                'unchanged': run.unchanged,
                'rows_written': written,
                'steps': steps,
                'dcim_created': run.dcim_created,
                'dcim_updated': run.dcim_updated,
                'dcim_deleted': run.dcim_deleted,
                'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def measure(api, size, repeat, profile_dir):
    """Run the three scenarios ``repeat`` times on fresh fabrics; return {scenario: [reports]}."""
    from netbox_hedgehog.models import HedgehogFabric

    reports = {}
    for round_ in range(repeat):
        fabric = HedgehogFabric.objects.create(name=f'volume-{size}-{round_}', sync_interval=0, **api.fabric_fields())
        for label, prepare in (
            ('initial sync', None),
            ('unchanged resync', None),
            ('1 % changed', lambda: change_objects(api, 0.01, round_)),
        ):
            if prepare:
                prepare()
            profile = (
                profile_dir / f'{size}-{label.replace(" ", "_").replace("%", "pct")}-{round_}.prof'
                if profile_dir
                else None
            )
            api.forget_requests()
            reports.setdefault(label, []).append(run_sync_in_child(fabric.pk, profile))
        fabric.delete()
    return reports


def print_tables(size, reports, targets=TARGETS, counts=('created', 'updated', 'deleted', 'unchanged')):
    """The scenarios' table (``counts``: the run record's counts shown, of the last run) and the per-step table."""
    print(
        f'\n{size} objects, {len(next(iter(reports.values())))} run(s) per scenario; sync seconds median (min-max), '
        'CPU seconds of the syncing process (median)'
    )
    print(
        f'{"scenario":18} | {"sync s median (min-max)":>25} | {"target":>6} | {"CPU s":>5} | '
        + ''.join(f'{name:>{max(7, len(name))}} | ' for name in counts)
        + f'{"rows written":>12} | {"peak RSS MB":>11} | outcome'
    )
    print('-' * 140)
    for label, runs in reports.items():
        seconds = [run['seconds'] for run in runs]
        last = runs[-1]
        errors = {run['error'] for run in runs if run['error']}
        outcomes = ','.join(sorted({run['outcome'] for run in runs}))
        target = targets[label].get(size, '')
        print(
            f'{label:18} | {statistics.median(seconds):9.2f} ({min(seconds):6.2f}-{max(seconds):6.2f}) | '
            f'{target:>6} | {statistics.median(run["cpu_seconds"] for run in runs):5.2f} | '
            + ''.join(f'{last[name]:{max(7, len(name))}} | ' for name in counts)
            + f'{max(run["rows_written"] for run in runs):12} | {max(run["peak_rss_mb"] for run in runs):11.0f} | '
            f'{outcomes}{": " + "; ".join(sorted(errors)) if errors else ""}'
        )
    names = [name for name in STEP_ORDER if any(name in run['steps'] for runs in reports.values() for run in runs)]
    names += sorted({name for runs in reports.values() for run in runs for name in run['steps']} - set(names))
    print(f'\nwhere the time goes ({size} objects), seconds, median of the runs')
    print(f'{"step":18} | ' + ' | '.join(f'{label:>16}' for label in reports))
    print('-' * (21 + 19 * len(reports)))
    for name in names:
        cells = []
        for runs in reports.values():
            values = [run['steps'][name] for run in runs if name in run['steps']]
            cells.append(f'{statistics.median(values):16.3f}' if values else f'{"-":>16}')
        print(f'{name:18} | ' + ' | '.join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--objects', type=int, nargs='+', default=[10000], help='fabric sizes to measure')
    parser.add_argument('--repeat', type=int, default=3, help='runs of each scenario (median, min and max shown)')
    parser.add_argument('--profile', type=Path, help='write a cProfile of each child run into this directory')
    parser.add_argument('--child', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.profile)

    setup_django()
    from tests.kmock_server import kube_api

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f'load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)')
    for size in args.objects:
        with kube_api() as api:
            load_objects(api, size)
            print_tables(size, measure(api, size, args.repeat, args.profile))
    load = os.getloadavg()
    print(f'\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}')


if __name__ == '__main__':
    main()
