"""Schedule precision of the periodic sync under real processes.

N fabrics at an I-second interval, synced from a local Git repository by W real workers
running the shipped worker command, for D seconds, once per scheduler: the shipped
``hedgehog_scheduler --interval 0.2`` (sub-second polling) and django-rq's
``rqscheduler --interval 1`` (whole seconds only). Prints, per scheduler, start lateness
against the planned time, period error, overlapping runs and duplicate chains. Targets:
p95 lateness <= 0.3 s with the shipped scheduler, mean period error <= 50 ms, 0 overlaps,
0 duplicate chains.

    ./benchmarks/run schedule_precision [--fabrics 20] [--interval 2] [--duration 60] [--workers 2]
                                        [--schedulers hedgehog_scheduler:0.2,rqscheduler:1]
"""

import argparse
import shutil
import statistics
import time
from collections import defaultdict
from datetime import timedelta

from benchmarks.common import REPO_ROOT, make_gitops_repo, percentile, print_table, setup_django


def measure(fabrics, interval, duration, workers, scheduler, poll):
    import django_rq
    from django.utils import timezone

    from benchmarks.scale import shipped_worker_command
    from netbox_hedgehog.models import HedgehogFabric, SyncRun
    from netbox_hedgehog.scheduling.scheduler import CHAIN_JOB_PREFIX, QUEUE_NAME, FabricScheduler
    from tests.live import LiveProcesses

    redis = django_rq.get_connection(QUEUE_NAME)
    redis.flushdb()  # the benchmark's own Redis DB
    repo = make_gitops_repo()
    log_dir = REPO_ROOT / 'test-artifacts' / 'benchmarks' / 'schedule_precision'
    shutil.rmtree(log_dir, ignore_errors=True)
    worker_options = [arg for arg in shipped_worker_command()[1:] if arg != QUEUE_NAME]
    HedgehogFabric.objects.filter(name__startswith='bench-').delete()
    with LiveProcesses(log_dir, workers=workers, worker_options=worker_options, scheduler=scheduler,
                       scheduler_interval=poll):  # fmt: skip
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


def report(runs, chain_entries, fabrics, interval, duration, workers, scheduler):
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
        ('scheduler', scheduler),
        ('fabrics × interval × duration', f'{fabrics} × {interval} s × {duration} s, {workers} shipped worker(s)'),
        ('runs planned in the window, finished', f'{len(all_runs)} (expected {expected_runs})'),
        (
            'skipped / failed runs',
            f'{sum(r.outcome == "skipped" for r in all_runs)} / {sum(r.outcome == "failed" for r in all_runs)}',
        ),
        (
            'start lateness p50 / p95 / max',
            f'{percentile(lateness, 0.5):.3f} / {percentile(lateness, 0.95):.3f} / {max(lateness):.3f} s',
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
    parser.add_argument(
        '--schedulers',
        default='hedgehog_scheduler:0.2,rqscheduler:1',
        help='comma-separated COMMAND:POLL_SECONDS, measured one after the other on the same fabrics',
    )
    args = parser.parse_args()

    setup_django()
    for entry in args.schedulers.split(','):
        scheduler, poll = entry.split(':')
        runs, chain_entries = measure(args.fabrics, args.interval, args.duration, args.workers, scheduler, poll)
        label = f'{scheduler} --interval {poll}'
        report(runs, chain_entries, args.fabrics, args.interval, args.duration, args.workers, label)


if __name__ == '__main__':
    main()
