"""Recovery from a Redis flush with nothing but the product's own machinery.

N fabrics at an I-second interval run under one ``rqworker`` that also serves ``default``
(where NetBox runs the watchdog system job) and one ``rqscheduler --interval 1`` (whose keeper
thread re-seeds the watchdog every 30 s). Once every chain ran, the plugin's Redis database is
flushed — every schedule, queue entry, lock and the watchdog's own job are gone — at a moment
when no sync runs. Measured from the flush: when the watchdog was seeded again, when every
chain entry was back, and when every fabric's chain had run again. Target: every chain running
again within 70 s (keeper period 30 s + one interval + slack).

    ./benchmarks/run recovery [--fabrics 50] [--interval 10] [--repeat 1]
"""

import argparse
import shutil
import time

from benchmarks.common import REPO_ROOT, make_gitops_repo, percentile, print_table, setup_django

TARGET = 70


def recover_once(redis, fabrics, timeout):
    """Flush while nothing runs; return seconds to watchdog seeded, chains restored, each fabric's first run."""
    from core.models import Job
    from django.utils import timezone

    from netbox_hedgehog.models import SyncRun
    from netbox_hedgehog.scheduling.scheduler import FabricScheduler
    from netbox_hedgehog.scheduling.watchdog import SyncWatchdog

    while SyncRun.objects.filter(outcome='running').exists():
        time.sleep(0.02)
    redis.flushdb()
    flushed, clock = timezone.now(), time.monotonic()
    scheduler = FabricScheduler()
    seeded = restored = None
    first_runs = {}
    while time.monotonic() - clock < timeout and len(first_runs) < len(fabrics):
        elapsed = time.monotonic() - clock
        if seeded is None and Job.objects.filter(name=SyncWatchdog.name, created__gt=flushed).exists():
            seeded = elapsed
        if restored is None and all(scheduler.planned_time(pk) or pk in first_runs for pk in fabrics):
            restored = elapsed
        for fabric_id, started in (
            SyncRun.objects.filter(started_at__gt=flushed, trigger='schedule')
            .exclude(fabric_id__in=list(first_runs))
            .values_list('fabric_id', 'started_at')
        ):
            first_runs.setdefault(fabric_id, (started - flushed).total_seconds())
        time.sleep(0.2)
    return seeded, restored, first_runs


def measure(fabrics, interval, repeat):
    import django_rq
    from django.utils import timezone

    from netbox_hedgehog.models import HedgehogFabric, SyncRun
    from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, FabricScheduler
    from netbox_hedgehog.scheduling.watchdog import SyncWatchdog
    from tests.live import LiveProcesses, wait_until

    redis = django_rq.get_connection(QUEUE_NAME)
    redis.flushdb()  # the benchmark's own Redis DB
    repo = make_gitops_repo()
    log_dir = REPO_ROOT / 'test-artifacts' / 'benchmarks' / 'recovery'
    shutil.rmtree(log_dir, ignore_errors=True)
    results = []
    with LiveProcesses(log_dir, workers=0) as processes:
        processes.start('worker-0', 'rqworker', QUEUE_NAME, 'default')
        HedgehogFabric.objects.bulk_create(
            [
                HedgehogFabric(name=f'recover-{index:03}', git_repository_url=str(repo), sync_interval=interval)
                for index in range(fabrics)
            ]
        )
        created = timezone.now()
        FabricScheduler().bootstrap()
        pks = list(HedgehogFabric.objects.values_list('pk', flat=True))
        wait_until(
            lambda: SyncRun.objects.filter(started_at__gt=created).values('fabric').distinct().count() == fabrics,
            timeout=120,
            interval=0.5,
            message='every fabric ran once',
        )
        wait_until(
            lambda: SyncWatchdog.get_jobs().filter(status='completed').exists(),
            timeout=90,
            message='the watchdog ran once',
        )
        for _ in range(repeat):
            results.append(recover_once(redis, pks, timeout=180))
        HedgehogFabric.objects.update(sync_enabled=False)
    shutil.rmtree(repo, ignore_errors=True)
    return results


def report(results, fabrics, interval):
    rows = [('fabrics × interval', f'{fabrics} × {interval} s, 1 worker (plugin queue + default), 1 rqscheduler')]
    for number, (seeded, restored, first_runs) in enumerate(results, 1):
        times = sorted(first_runs.values())
        missing = fabrics - len(times)
        fmt = lambda value: 'never' if value is None else f'{value:.1f} s'  # noqa: E731
        rows += [
            (f'flush {number}: watchdog seeded again', fmt(seeded)),
            (f'flush {number}: every chain entry back', fmt(restored)),
            (
                f'flush {number}: first run p50 / max',
                f'{percentile(times, 0.5):.1f} / {times[-1]:.1f} s'
                + (f'   ({missing} fabric(s) never ran)' if missing else '')
                if times
                else 'no run',
            ),
            (
                f'flush {number}: within target',
                f'{"yes" if times and not missing and times[-1] <= TARGET else "NO"}   (target <= {TARGET} s)',
            ),
        ]
    print_table(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fabrics', type=int, default=50)
    parser.add_argument('--interval', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=1)
    args = parser.parse_args()

    setup_django()
    results = measure(args.fabrics, args.interval, args.repeat)
    report(results, args.fabrics, args.interval)


if __name__ == '__main__':
    main()
