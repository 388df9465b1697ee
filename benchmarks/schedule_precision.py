"""Schedule precision of the periodic sync under real processes.

N fabrics at an I-second interval, synced from a local Git repository by W real workers
running the shipped worker command, for D seconds, their first runs spread over one interval
(in whole seconds: rq-scheduler keeps times to the second) as fabrics created over time would
be, once per scheduler: the shipped ``hedgehog_scheduler --interval 0.2`` (sub-second polling)
and django-rq's ``rqscheduler --interval 1`` (whole seconds only). Prints, per scheduler, start lateness
against the planned time, period error, overlapping runs and duplicate chains. Targets:
p95 lateness <= 0.3 s with the shipped scheduler, mean period error <= 50 ms, 0 overlaps,
0 duplicate chains.

Then, on the same fabrics at a 60 s interval, what a user gets from each way of running a
periodic sync, side by side: the shipped chain, the same chain under ``rqscheduler`` at its
default 60 s poll, and NetBox's own recurring ``JobRunner`` jobs (whole-minute intervals,
each run rescheduled one minute after it *ends*). ``--compare-duration 0`` skips it.

    ./benchmarks/run schedule_precision [--fabrics 20] [--interval 2] [--duration 60] [--workers 2]
                                        [--schedulers hedgehog_scheduler:0.2,rqscheduler:1]
                                        [--compare-duration 300]
"""

import argparse
import shutil
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from benchmarks.common import REPO_ROOT, make_gitops_repo, percentile, print_table, setup_django, spread_first_runs

JOBRUNNER = 'jobrunner'  # "scheduler" name for NetBox's own recurring jobs (RQ's built-in scheduler in the workers)
JOB_NAME_PREFIX = 'bench-sync fabric '
COMPARED = (('hedgehog_scheduler', '0.2'), ('rqscheduler', '60'), (JOBRUNNER, '1'))


@dataclass
class Start:
    """One run of one fabric's periodic sync: when it was due, when it started and ended, how it ended."""

    fabric_id: int
    planned: datetime
    started: datetime
    finished: datetime
    outcome: str


def chain_starts(since, until):
    """The chain runs planned in the window, from the plugin's run records."""
    from netbox_hedgehog.models import SyncRun

    runs = SyncRun.objects.filter(planned_at__gte=since, planned_at__lt=until).exclude(finished_at=None)
    return [Start(run.fabric_id, run.planned_at, run.started_at, run.finished_at, run.outcome) for run in runs]


def jobrunner_starts(since, until):
    """The JobRunner runs scheduled in the window, from NetBox's Job records (one job name per fabric)."""
    from core.models import Job

    jobs = Job.objects.filter(name__startswith=JOB_NAME_PREFIX, scheduled__gte=since, scheduled__lt=until)
    return [
        Start(int(job.name.removeprefix(JOB_NAME_PREFIX)), job.scheduled, job.started, job.completed, job.status)
        for job in jobs.exclude(completed=None)
    ]


def measure(fabrics, interval, duration, workers, scheduler, poll):
    """Sync ``fabrics`` Git fabrics every ``interval`` s for ``duration`` s; return (runs, chain entries at the end).

    ``scheduler`` is the command polling the chains every ``poll`` s, or :data:`JOBRUNNER` for
    NetBox's recurring jobs every ``poll`` minutes instead of chains.
    """
    import django_rq
    from core.models import Job
    from django.utils import timezone

    from benchmarks.jobrunner import FabricSyncJobRunner
    from benchmarks.scale import shipped_worker_command
    from netbox_hedgehog.models import HedgehogFabric
    from netbox_hedgehog.scheduling.scheduler import CHAIN_JOB_PREFIX, QUEUE_NAME, FabricScheduler
    from tests.live import LiveProcesses

    redis = django_rq.get_connection(QUEUE_NAME)
    redis.flushdb()  # the benchmark's own Redis DB
    repo = make_gitops_repo()
    log_dir = REPO_ROOT / 'test-artifacts' / 'benchmarks' / 'schedule_precision' / f'{scheduler}-{poll}'
    shutil.rmtree(log_dir, ignore_errors=True)
    worker_options = [arg for arg in shipped_worker_command()[1:] if arg != QUEUE_NAME]
    HedgehogFabric.objects.filter(name__startswith='bench-').delete()
    Job.objects.filter(name__startswith=JOB_NAME_PREFIX).delete()
    chains = scheduler != JOBRUNNER
    if not chains:  # JobRunner reschedules onto NetBox's default queue, whatever queue the first run used
        worker_options.append('default')
    processes = LiveProcesses(
        log_dir,
        workers=workers,
        worker_options=worker_options,
        scheduler=scheduler if chains else 'rqscheduler',  # started but idle: no fabric has a chain
        scheduler_interval=poll if chains else 1,
    )
    with processes:
        # bulk_create: no save signals, so nothing is scheduled before the first runs are spread.
        HedgehogFabric.objects.bulk_create(
            HedgehogFabric(name=f'bench-{index:03}', git_repository_url=str(repo), sync_interval=interval,
                           scheduler_enabled=chains)
            for index in range(fabrics)
        )  # fmt: skip
        created = list(HedgehogFabric.objects.filter(name__startswith='bench-').order_by('name'))
        started = spread_first_runs(created, interval, lead_seconds=3)
        if chains:
            FabricScheduler().bootstrap()
        else:
            for index, fabric in enumerate(created):
                FabricSyncJobRunner.enqueue(
                    name=f'{JOB_NAME_PREFIX}{fabric.pk}',
                    schedule_at=started + timedelta(seconds=(index * interval) // fabrics),
                    interval=int(poll),
                    fabric_id=fabric.pk,
                )
        # Runs planned in the window count even where they start after it (a 60 s poll starts them up to 60 s late).
        grace = max(interval, float(poll) if chains else 1) + 10
        time.sleep((started - timezone.now()).total_seconds() + duration + grace)
        chain_entries = [
            job_id
            for job_id in redis.zrange('rq:scheduler:scheduled_jobs', 0, -1)
            if job_id.decode().startswith(CHAIN_JOB_PREFIX)
        ]
        HedgehogFabric.objects.update(sync_enabled=False)  # let in-flight chains end before stopping
    until = started + timedelta(seconds=duration)
    runs = defaultdict(list)
    for run in sorted(chain_starts(started, until) if chains else jobrunner_starts(started, until), key=_started):
        runs[run.fabric_id].append(run)
    shutil.rmtree(repo, ignore_errors=True)
    return runs, len(chain_entries)


def _started(run):
    return run.started


def figures(runs, fabrics, interval, duration):
    """(metric, value) rows for one way of scheduling."""
    all_runs = [run for fabric_runs in runs.values() for run in fabric_runs]
    if not all_runs:
        return [('runs planned in the window, finished', '0')]
    lateness = [(run.started - run.planned).total_seconds() for run in all_runs]
    durations = [(run.finished - run.started).total_seconds() for run in all_runs]
    periods, overlaps, duplicates = [], 0, 0
    for fabric_runs in runs.values():
        for earlier, later in zip(fabric_runs, fabric_runs[1:]):
            periods.append((later.started - earlier.started).total_seconds())
            overlaps += later.started < earlier.finished
            duplicates += later.planned == earlier.planned
    period_rows = [
        ('mean period error (signed)', f'{(statistics.mean(periods) - interval) * 1000:+.1f} ms'),
        ('mean |period error|', f'{statistics.mean(abs(p - interval) for p in periods) * 1000:.1f} ms'),
    ] if periods else [('mean period error', 'n/a (one run per fabric)')]  # fmt: skip
    outcomes = defaultdict(int)
    for run in all_runs:
        outcomes[run.outcome] += 1
    return [
        ('runs in the window, finished', f'{len(all_runs)} (one per interval: {fabrics * duration // interval})'),
        ('outcomes', ', '.join(f'{outcome} {count}' for outcome, count in sorted(outcomes.items()))),
        (
            'start lateness p50 / p95 / max',
            f'{percentile(lateness, 0.5):.3f} / {percentile(lateness, 0.95):.3f} / {max(lateness):.3f} s',
        ),
        *period_rows,
        ('sync duration p50 / max', f'{percentile(durations, 0.5):.3f} / {max(durations):.3f} s'),
        ('overlapping runs', f'{overlaps}   (must be 0)'),
        ('duplicate runs of one slot', f'{duplicates}   (must be 0)'),
    ]


def describe(scheduler, poll):
    if scheduler == JOBRUNNER:
        return f"NetBox JobRunner (interval {poll} min, RQ's scheduler in the workers)"
    return f'{scheduler} --interval {poll}'


def print_side_by_side(columns):
    """Print {label: [(metric, value), ...]} as one table, a column per label."""
    metrics = list(dict.fromkeys(metric for rows in columns.values() for metric, _ in rows))
    values = {label: dict(rows) for label, rows in columns.items()}
    width = max(len(metric) for metric in metrics)
    widths = {label: max(len(label), *(len(value) for value in values[label].values())) for label in columns}
    print('\n' + ' | '.join(['metric'.ljust(width), *(label.ljust(widths[label]) for label in columns)]))
    print('-|-'.join(['-' * width, *('-' * widths[label] for label in columns)]))
    for metric in metrics:
        cells = (values[label].get(metric, '').ljust(widths[label]) for label in columns)
        print(' | '.join([metric.ljust(width), *cells]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fabrics', type=int, default=20)
    parser.add_argument('--interval', type=int, default=2)
    parser.add_argument('--duration', type=int, default=60)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument(
        '--schedulers',
        default='hedgehog_scheduler:0.2,rqscheduler:1',
        help='comma-separated COMMAND:POLL_SECONDS, measured one after the other on the same fabrics; empty: none',
    )
    parser.add_argument(
        '--compare-duration', type=int, default=300, help='seconds per way of scheduling at a 60 s interval; 0 skips'
    )
    args = parser.parse_args()

    setup_django()
    for entry in filter(None, args.schedulers.split(',')):
        scheduler, poll = entry.split(':')
        runs, chain_entries = measure(args.fabrics, args.interval, args.duration, args.workers, scheduler, poll)
        print_table(
            [
                ('scheduler', describe(scheduler, poll)),
                ('fabrics × interval × duration', f'{args.fabrics} × {args.interval} s × {args.duration} s, '
                 f'{args.workers} shipped worker(s)'),
                *figures(runs, args.fabrics, args.interval, args.duration),
                ('chain entries at the end', f'{chain_entries} for {args.fabrics} fabrics   '
                 f'(duplicate chains: {max(0, chain_entries - args.fabrics)})'),
            ]
        )  # fmt: skip
    if args.compare_duration:
        interval = 60
        columns = {}
        for scheduler, poll in COMPARED:
            runs, _ = measure(args.fabrics, interval, args.compare_duration, args.workers, scheduler, poll)
            columns[describe(scheduler, poll)] = figures(runs, args.fabrics, interval, args.compare_duration)
        print(f'\nSame {args.fabrics} fabrics at a {interval} s interval, {args.compare_duration} s each, '
              f'{args.workers} shipped workers:')  # fmt: skip
        print_side_by_side(columns)


if __name__ == '__main__':
    main()
