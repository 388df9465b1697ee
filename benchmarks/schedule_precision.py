"""Schedule precision of the periodic sync under real processes.

N fabrics at an I-second interval, synced from a local Git repository by real
``rqworker`` processes fed by one ``rqscheduler --interval 1``, for D seconds. Prints
start lateness against the planned time, period error, overlapping runs and duplicate
chains. Targets (issue #2): p95 lateness <= 1.2 s, mean period error <= 50 ms, 0 overlaps,
0 duplicate chains.

    ./benchmarks/run schedule_precision [--fabrics 20] [--interval 2] [--duration 60] [--workers 2]
"""

import argparse
import shutil
import statistics
import time
from collections import defaultdict
from datetime import timedelta

from benchmarks.common import REPO_ROOT, make_gitops_repo, percentile, print_table, setup_django


def measure(fabrics, interval, duration, workers):
    import django_rq
    from django.utils import timezone

    from netbox_hedgehog.models import HedgehogFabric, SyncRun
    from netbox_hedgehog.scheduling.scheduler import CHAIN_JOB_PREFIX, QUEUE_NAME, FabricScheduler
    from tests.live import LiveProcesses

    redis = django_rq.get_connection(QUEUE_NAME)
    redis.flushdb()  # the benchmark's own Redis DB
    repo = make_gitops_repo()
    log_dir = REPO_ROOT / 'test-artifacts' / 'benchmarks' / 'schedule_precision'
    shutil.rmtree(log_dir, ignore_errors=True)
    with LiveProcesses(log_dir, workers=workers):
        for index in range(fabrics):
            HedgehogFabric.objects.create(
                name=f'bench-{index:03}', git_repository_url=str(repo), sync_interval=interval
            )
        FabricScheduler().bootstrap()
        started = timezone.now()
        time.sleep(duration)
        chain_entries = [
            job_id
            for job_id in redis.zrange('rq:scheduler:scheduled_jobs', 0, -1)
            if job_id.decode().startswith(CHAIN_JOB_PREFIX)
        ]
        window = SyncRun.objects.filter(planned_at__gte=started, planned_at__lt=started + timedelta(seconds=duration))
        HedgehogFabric.objects.update(sync_enabled=False)  # let in-flight chains end before stopping
    runs = defaultdict(list)
    for run in window.exclude(finished_at=None).order_by('started_at'):
        runs[run.fabric_id].append(run)
    shutil.rmtree(repo, ignore_errors=True)
    return runs, len(chain_entries)


def report(runs, chain_entries, fabrics, interval, duration, workers):
    all_runs = [run for fabric_runs in runs.values() for run in fabric_runs]
    lateness = [run.lateness for run in all_runs]
    periods, overlaps, duplicates = [], 0, 0
    for fabric_runs in runs.values():
        for earlier, later in zip(fabric_runs, fabric_runs[1:]):
            periods.append((later.started_at - earlier.started_at).total_seconds())
            overlaps += later.started_at < earlier.finished_at
            duplicates += later.planned_at == earlier.planned_at
    expected_runs = fabrics * (duration // interval)
    rows = [
        ('fabrics × interval × duration', f'{fabrics} × {interval} s × {duration} s, {workers} worker(s)'),
        ('runs planned in the window, finished', f'{len(all_runs)} (expected {expected_runs})'),
        (
            'skipped / failed runs',
            f'{sum(r.outcome == "skipped" for r in all_runs)} / {sum(r.outcome == "failed" for r in all_runs)}',
        ),
        (
            'start lateness p50 / p95 / max',
            f'{percentile(lateness, 0.5):.3f} / {percentile(lateness, 0.95):.3f} / '
            f'{max(lateness):.3f} s   (target p95 <= 1.2 s)',
        ),
        ('mean period error (signed)', f'{(statistics.mean(periods) - interval) * 1000:+.1f} ms   (target <= 50 ms)'),
        ('mean |period error|', f'{statistics.mean(abs(p - interval) for p in periods) * 1000:.1f} ms'),
        (
            'sync duration p50 / max',
            f'{percentile([r.duration for r in all_runs], 0.5):.3f} / {max(r.duration for r in all_runs):.3f} s',
        ),
        ('overlapping runs', f'{overlaps}   (must be 0)'),
        ('duplicate runs of one slot', f'{duplicates}   (must be 0)'),
        (
            'chain entries at the end',
            f'{chain_entries} for {fabrics} fabrics   (duplicate chains: {max(0, chain_entries - fabrics)})',
        ),
    ]
    print_table(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fabrics', type=int, default=20)
    parser.add_argument('--interval', type=int, default=2)
    parser.add_argument('--duration', type=int, default=60)
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args()

    setup_django()
    runs, chain_entries = measure(args.fabrics, args.interval, args.duration, args.workers)
    report(runs, chain_entries, args.fabrics, args.interval, args.duration, args.workers)


if __name__ == '__main__':
    main()
