"""Deleting big fabrics while their chains run: the REST API's DELETE and the UI's bulk delete.

Each fabric syncs the same 10,000 generated objects (``benchmarks.sync_volume``) from an emulated
Kubernetes API every 5 s, with a real scheduler and workers. Once every chain has run, one fabric
is deleted through ``DELETE /api/plugins/hedgehog/fabrics/<id>/`` (waiting first, for a while,
until one of its syncs is in progress), then the others with the fabric list's bulk delete.
Target per request: <= 3 s, no error; afterwards no resource, run record or chain entry is left.

    ./benchmarks/run fabric_delete [--objects 10000] [--bulk-fabrics 3] [--workers 2]
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import print_table, setup_django
from benchmarks.sync_volume import load_objects

TARGET_SECONDS = 3
INTERVAL = 5


def timed(request):
    started = time.perf_counter()
    response = request()
    return time.perf_counter() - started, response


def leftovers(fabric_ids):
    """Rows and chain entries still referring to the deleted fabrics."""
    from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
    from netbox_hedgehog.scheduling.scheduler import FabricScheduler

    scheduler = FabricScheduler()
    return {
        'fabrics': HedgehogFabric.objects.filter(pk__in=fabric_ids).count(),
        'resources': HedgehogResource.objects.filter(fabric_id__in=fabric_ids).count(),
        'run records': SyncRun.objects.filter(fabric_id__in=fabric_ids).count(),
        'chain entries': sum(scheduler.planned_time(pk) is not None for pk in fabric_ids),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--objects', type=int, default=10000)
    parser.add_argument('--bulk-fabrics', type=int, default=3)
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args()

    setup_django()
    from django.test import Client
    from django.urls import reverse
    from users.constants import TOKEN_PREFIX
    from users.models import Token, User

    from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
    from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
    from netbox_hedgehog.scheduling.scheduler import FabricScheduler
    from tests.kmock_server import kube_api
    from tests.live import LiveProcesses, wait_until

    user = User.objects.create_user(username='benchmark', is_superuser=True)
    token = Token.objects.create(user=user)
    api_client = Client(HTTP_AUTHORIZATION=f'Bearer {TOKEN_PREFIX}{token.key}.{token.token}')
    ui_client = Client()
    ui_client.force_login(user)
    FabricScheduler().connection.flushdb()
    log_dir = Path(tempfile.mkdtemp(prefix='nbhh-bench-delete-'))

    rows = []
    with kube_api() as api:
        load_objects(api, args.objects)
        fabrics = []
        for index in range(1 + args.bulk_fabrics):
            fabric = HedgehogFabric.objects.create(
                name=f'delete-{index}', sync_interval=INTERVAL, scheduler_enabled=False, **api.fabric_fields()
            )
            execute_fabric_sync(fabric.pk, trigger='manual')  # the initial 10,000 rows, before the clock starts
            fabrics.append(fabric)
        resources = HedgehogResource.objects.filter(fabric__in=fabrics).count()
        HedgehogFabric.objects.filter(pk__in=[fabric.pk for fabric in fabrics]).update(scheduler_enabled=True)
        started = time.monotonic()

        with LiveProcesses(log_dir, workers=args.workers) as processes:
            FabricScheduler().bootstrap()
            wait_until(
                lambda: all(
                    SyncRun.objects.filter(fabric=fabric, trigger='bootstrap').exclude(finished_at=None).exists()
                    for fabric in fabrics
                ),
                timeout=300,
                interval=0.5,
                message='a chain run of every fabric',
            )
            target, others = fabrics[0], fabrics[1:]
            try:
                wait_until(
                    lambda: SyncRun.objects.filter(fabric=target, finished_at=None).exists(),
                    timeout=3 * INTERVAL,
                    interval=0.05,
                    message='a sync in progress',
                )
                running = 'yes'
            except TimeoutError:
                running = 'no (none caught)'
            seconds, response = timed(
                lambda: api_client.delete(
                    reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[target.pk])
                )
            )
            rows.append(('API DELETE: seconds', f'{seconds:.2f} (target <= {TARGET_SECONDS})'))
            rows.append(('API DELETE: status / sync running at the time', f'{response.status_code} / {running}'))

            seconds, response = timed(
                lambda: ui_client.post(
                    reverse('plugins:netbox_hedgehog:hedgehogfabric_bulk_delete'),
                    {'pk': [fabric.pk for fabric in others], 'confirm': 'true', '_confirm': 'true'},
                )
            )
            rows.append((f'UI bulk delete of {len(others)}: seconds', f'{seconds:.2f} (target <= {TARGET_SECONDS})'))
            rows.append((f'UI bulk delete of {len(others)}: status', str(response.status_code)))

            queue = FabricScheduler().queue
            wait_until(
                lambda: not queue.started_job_registry.get_job_ids() and not queue.get_job_ids(),
                timeout=120,
                message='the workers to go idle',
            )
            worker_errors = sum(processes.log(f'worker-{index}').count('Traceback') for index in range(args.workers))
        left = leftovers([fabric.pk for fabric in fabrics])

    rows[:0] = [
        ('fabrics / resources before', f'{len(fabrics)} / {resources}'),
        ('chain interval / workers', f'{INTERVAL} s / {args.workers}'),
        ('chains running before the delete', f'{time.monotonic() - started:.0f} s'),
    ]
    rows.append(('left after: fabrics, resources, run records, chain entries', ', '.join(map(str, left.values()))))
    rows.append(('tracebacks in the worker logs (syncs that met the deletion)', str(worker_errors)))
    print_table(rows)
    shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
