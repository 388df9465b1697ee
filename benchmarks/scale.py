"""Scale of the periodic sync: many fabrics on few workers, under real processes.

N fabrics at an I-second interval for D seconds, synced by W real ``rqworker`` processes fed by
one scheduler. The fabrics are small and all read the same source: a local
Git repository (default; the demo wiring, 20+ objects) or, with ``--source kmock``, one emulated
Kubernetes API in this process holding a handful of objects. Their first runs are spread evenly
over one interval (as fabrics created over time would be), not all due in the same second.

Prints start lateness, missed slots, duplicate chains, the scheduler's CPU use (from
/proc/<pid>/stat) and Redis memory: ``used_memory`` of the whole server (shared with every
other database on it) and the plugin's own keys (MEMORY USAGE of the schedule zset, the chain
job hashes and the queue).

    ./benchmarks/run scale [--fabrics 1000] [--interval 60] [--duration 300] [--workers 2] [--source git|kmock]
                           [--worker-class rq.Worker]

The workers and the scheduler run the commands the deployment files ship (deploy/systemd/netbox-hedgehog-
{worker,scheduler}.service; the tests check compose and Kubernetes ship the same) unless ``--worker-class``
asks for another worker.
"""

import argparse
import contextlib
import os
import shlex
import shutil
import time
from collections import defaultdict
from datetime import timedelta

from benchmarks.common import REPO_ROOT, make_gitops_repo, percentile, print_table, setup_django, spread_first_runs

CLOCK_TICKS = os.sysconf('SC_CLK_TCK')
SHIPPED_WORKER_UNIT = REPO_ROOT / 'deploy' / 'systemd' / 'netbox-hedgehog-worker.service'
SHIPPED_SCHEDULER_UNIT = REPO_ROOT / 'deploy' / 'systemd' / 'netbox-hedgehog-scheduler.service'


def shipped_command(unit):
    """The ``manage.py`` arguments a shipped systemd unit runs (its ExecStart); tests/test_deploy_files.py
    checks that compose and Kubernetes ship the same."""
    for line in unit.read_text().splitlines():
        if line.startswith('ExecStart='):
            return shlex.split(line.removeprefix('ExecStart='))[2:]
    raise ValueError(f'{unit} has no ExecStart')


def shipped_worker_command():
    return shipped_command(SHIPPED_WORKER_UNIT)


def shipped_scheduler():
    """(command, poll interval) of the shipped scheduler unit, e.g. ('hedgehog_scheduler', '0.2')."""
    command, *options = shipped_command(SHIPPED_SCHEDULER_UNIT)
    return command, options[options.index('--interval') + 1]


def cpu_seconds(pid):
    """User + system CPU seconds of one process so far."""
    fields = open(f'/proc/{pid}/stat').read().rpartition(')')[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def plugin_key_memory(redis, fabric_ids):
    """Bytes (MEMORY USAGE) of the schedule zset, the chain job hashes and the plugin's queue."""
    from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, chain_job_id

    pipeline = redis.pipeline(transaction=False)
    pipeline.memory_usage('rq:scheduler:scheduled_jobs')
    pipeline.memory_usage(f'rq:queue:{QUEUE_NAME}')
    for fabric_id in fabric_ids:
        pipeline.memory_usage(f'rq:job:{chain_job_id(fabric_id)}')
    zset, queue, *jobs = pipeline.execute()
    return zset or 0, queue or 0, sum(size or 0 for size in jobs), sum(1 for size in jobs if size)


@contextlib.contextmanager
def fabric_source(kind):
    """Yield the fields every benchmark fabric uses to reach its source."""
    if kind == 'git':
        repo = make_gitops_repo()
        try:
            yield {'git_repository_url': str(repo)}
        finally:
            shutil.rmtree(repo, ignore_errors=True)
    else:
        from tests.kmock_server import kube_api

        with kube_api() as api:
            for index in range(4):
                api.add(
                    {
                        'apiVersion': 'wiring.githedgehog.com/v1beta1',
                        'kind': 'Switch',
                        'metadata': {'name': f'leaf-{index:02}'},
                        'spec': {'role': 'server-leaf'},
                    }
                )
            yield api.fabric_fields()


def measure(fabrics, interval, duration, workers, source, worker_options):
    import django_rq
    from django.utils import timezone

    from netbox_hedgehog.models import HedgehogFabric, SyncRun
    from netbox_hedgehog.scheduling.scheduler import CHAIN_JOB_PREFIX, QUEUE_NAME, FabricScheduler
    from tests.live import LiveProcesses

    redis = django_rq.get_connection(QUEUE_NAME)
    redis.flushdb()  # the benchmark's own Redis DB
    log_dir = REPO_ROOT / 'test-artifacts' / 'benchmarks' / 'scale'
    shutil.rmtree(log_dir, ignore_errors=True)
    scheduler, poll = shipped_scheduler()
    live = LiveProcesses(
        log_dir, workers=workers, worker_options=worker_options, scheduler=scheduler, scheduler_interval=poll
    )
    with fabric_source(source) as fields, live as processes:
        # bulk_create: no save signals, so nothing is scheduled before the whole set exists.
        HedgehogFabric.objects.bulk_create(
            [HedgehogFabric(name=f'scale-{index:04}', sync_interval=interval, **fields) for index in range(fabrics)],
            batch_size=500,
        )
        # Spread the first runs over one interval: fabric i "last ran" at start + i·interval/N - interval.
        base = spread_first_runs(list(HedgehogFabric.objects.order_by('name')), interval, 10 + fabrics // 100)
        setup = time.monotonic()
        summary = FabricScheduler().bootstrap()
        bootstrap_seconds = time.monotonic() - setup
        fabric_ids = list(HedgehogFabric.objects.values_list('pk', flat=True))
        scheduler_pid = processes.processes['scheduler'].pid
        worker_pids = [processes.processes[f'worker-{index}'].pid for index in range(workers)]
        started = base
        time.sleep(max(0.0, (started - timezone.now()).total_seconds()))
        cpu_before = cpu_seconds(scheduler_pid), sum(cpu_seconds(pid) for pid in worker_pids)
        wall_before = time.monotonic()
        memory_peak = 0
        end = time.monotonic() + duration
        while time.monotonic() < end:
            memory_peak = max(memory_peak, redis.info('memory')['used_memory'])
            time.sleep(min(5, max(0.0, end - time.monotonic())))
        wall = time.monotonic() - wall_before
        cpu_after = cpu_seconds(scheduler_pid), sum(cpu_seconds(pid) for pid in worker_pids)
        memory = redis.info('memory')['used_memory']
        keys = plugin_key_memory(redis, fabric_ids)
        chain_entries = [
            job_id
            for job_id in redis.zrange('rq:scheduler:scheduled_jobs', 0, -1)
            if job_id.decode().startswith(CHAIN_JOB_PREFIX)
        ]
        window_end = started + timedelta(seconds=duration)
        # Runs that were planned in the window and had time to start; let the queue drain a little first.
        time.sleep(min(30, interval))
        runs = list(
            SyncRun.objects.filter(planned_at__gte=started, planned_at__lt=window_end)
            .exclude(finished_at=None)
            .order_by('started_at')
        )
        HedgehogFabric.objects.update(sync_enabled=False)  # let in-flight chains end before stopping
    figures = {
        'bootstrap': (summary, bootstrap_seconds),
        'scheduler_cpu': (cpu_after[0] - cpu_before[0]) / wall,
        'worker_cpu': (cpu_after[1] - cpu_before[1]) / wall,
        'memory': memory,
        'memory_peak': memory_peak,
        'keys': keys,
        'chain_entries': len(chain_entries),
    }
    return runs, figures, started


def report(runs, figures, started, fabrics, interval, duration, workers, source):
    by_fabric = defaultdict(list)
    for run in runs:
        by_fabric[run.fabric_id].append(run)
    done = [run for run in runs if run.outcome != 'skipped']
    lateness = [run.lateness for run in done] or [0.0]
    # Every fabric's slots in the window: its first planned run there, then every interval.
    expected_slots = fabrics * (duration // interval)
    ran_slots = sum(len({run.planned_at for run in fabric_runs}) for fabric_runs in by_fabric.values())
    duplicates = sum(
        len(fabric_runs) - len({run.planned_at for run in fabric_runs}) for fabric_runs in by_fabric.values()
    )
    overlaps = 0
    for fabric_runs in by_fabric.values():
        for earlier, later in zip(fabric_runs, fabric_runs[1:]):
            overlaps += later.started_at < earlier.finished_at
    zset, queue, jobs, job_count = figures['keys']
    summary, bootstrap_seconds = figures['bootstrap']
    rows = [
        (
            'fabrics × interval × duration',
            f'{fabrics} × {interval} s × {duration} s, {workers} worker(s), source {source}',
        ),
        ('bootstrap', f'{summary["scheduled"]} chains in {bootstrap_seconds:.1f} s'),
        ('slots in the window: expected / ran', f'{expected_slots} / {ran_slots}'),
        ('missed slots', f'{max(0, expected_slots - ran_slots)}'),
        (
            'skipped / failed runs',
            f'{sum(r.outcome == "skipped" for r in runs)} / {sum(r.outcome == "failed" for r in runs)}',
        ),
        (
            'start lateness p50 / p95 / max',
            f'{percentile(lateness, 0.5):.3f} / {percentile(lateness, 0.95):.3f} / {max(lateness):.3f} s',
        ),
        (
            'sync duration p50 / p95',
            f'{percentile([r.duration for r in done] or [0], 0.5):.3f} / '
            f'{percentile([r.duration for r in done] or [0], 0.95):.3f} s',
        ),
        ('duplicate runs of one slot', f'{duplicates}   (must be 0)'),
        ('overlapping runs', f'{overlaps}   (must be 0)'),
        (
            'chain entries at the end',
            f'{figures["chain_entries"]} for {fabrics} fabrics   (duplicate chains: '
            f'{max(0, figures["chain_entries"] - fabrics)})',
        ),
        (
            'scheduler CPU ({} --interval {})'.format(*shipped_scheduler()),
            f'{figures["scheduler_cpu"] * 100:.1f} % of one core',
        ),
        ('workers CPU (parents only, not horses)', f'{figures["worker_cpu"] * 100:.1f} % of one core'),
        (
            'Redis used_memory (whole server, shared)',
            f'{figures["memory"] / 2**20:.1f} MiB (peak seen {figures["memory_peak"] / 2**20:.1f} MiB)',
        ),
        ('plugin keys: schedule zset / queue', f'{zset / 1024:.1f} KiB / {queue / 1024:.1f} KiB'),
        (
            'plugin keys: chain job hashes',
            f'{jobs / 1024:.1f} KiB in {job_count} hashes ({jobs / max(1, job_count):.0f} B each)',
        ),
    ]
    print_table(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fabrics', type=int, default=1000)
    parser.add_argument('--interval', type=int, default=60)
    parser.add_argument('--duration', type=int, default=300)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument(
        '--worker-class',
        help='run plain `rqworker --worker-class CLASS` (e.g. rq.Worker, forking) instead of the shipped command',
    )
    parser.add_argument('--source', choices=('git', 'kmock'), default='git')
    args = parser.parse_args()

    setup_django()
    from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME

    if args.worker_class:
        options, label = ['--worker-class', args.worker_class], f'rqworker --worker-class {args.worker_class}'
    else:
        shipped = shipped_worker_command()
        options, label = [arg for arg in shipped[1:] if arg != QUEUE_NAME], 'shipped: ' + ' '.join(shipped)
    runs, figures, started = measure(args.fabrics, args.interval, args.duration, args.workers, args.source, options)
    report(
        runs,
        figures,
        started,
        args.fabrics,
        args.interval,
        args.duration,
        f'{args.workers} × {label}',
        args.source,
    )


if __name__ == '__main__':
    main()
