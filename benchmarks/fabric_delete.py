"""Deleting big fabrics while their chains run: the REST API's DELETE and the UI's bulk delete.

Each fabric syncs the same 10,000 generated objects (``benchmarks.sync_volume``) from an emulated
Kubernetes API every 5 s, with a real scheduler and workers. Once every chain has run, one fabric
is deleted through ``DELETE /api/plugins/hedgehog/fabrics/<id>/`` (waiting first, for a while,
until one of its syncs is in progress), then the others with the fabric list's bulk delete. Before
that, one more fabric is created and deleted through the API while its first sync writes its rows.
Target per request: <= 3 s, no error; afterwards no resource, run record or chain entry is left.

The requests are made from a process of their own, as a web server would serve them: the
emulated API runs in this process's threads and, while it serves 40,000 objects every 5 s,
holds the interpreter lock for seconds at a time.

    ./benchmarks/run fabric_delete [--objects 10000] [--bulk-fabrics 3] [--workers 2]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT, print_table, setup_django
from benchmarks.sync_volume import load_objects

TARGET_SECONDS = 3
INTERVAL = 5
USERNAME = 'benchmark'


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


def applying(fabric_id):
    """True while a sync of the fabric is in its write transaction (holding the apply fence's lock)."""
    from django.db import connection

    from netbox_hedgehog.scheduling.locks import APPLY_LOCK_NAMESPACE

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s AND objid = %s",
            [APPLY_LOCK_NAMESPACE, fabric_id],
        )
        return cursor.fetchone() is not None


def delete_requests(writing_id, target_id, other_ids):
    """In a process of its own: the API DELETE of a fabric while its first sync writes its rows, of another
    during one of its (unchanged) syncs, then the UI bulk delete of the rest."""
    import django

    django.setup()
    from django.test import Client
    from django.urls import reverse
    from users.constants import TOKEN_PREFIX
    from users.models import Token, User

    from netbox_hedgehog.models import SyncRun
    from tests.live import wait_until

    # Loading the URLs builds NetBox's GraphQL schema (seconds): a running web server did that long ago.
    api_urls = {
        pk: reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[pk])
        for pk in (writing_id, target_id)
    }
    bulk_url = reverse('plugins:netbox_hedgehog:hedgehogfabric_bulk_delete')
    user = User.objects.get(username=USERNAME)
    token = Token.objects.create(user=user)
    api_client = Client(HTTP_AUTHORIZATION=f'Bearer {TOKEN_PREFIX}{token.key}.{token.token}')
    ui_client = Client()
    ui_client.force_login(user)
    answers = {}
    for label, fabric_id, in_progress in (
        ('writing', writing_id, lambda: applying(writing_id)),
        ('syncing', target_id, lambda: SyncRun.objects.filter(fabric_id=target_id, finished_at=None).exists()),
    ):
        try:
            wait_until(in_progress, timeout=120, interval=0.02, message=f'{label} fabric')
            caught = 'yes'
        except TimeoutError:
            caught = 'no (none caught)'
        seconds, response = timed(lambda: api_client.delete(api_urls[fabric_id]))
        answers[label] = {'seconds': seconds, 'status': response.status_code, 'caught': caught}
    seconds, response = timed(
        lambda: ui_client.post(bulk_url, {'pk': other_ids, 'confirm': 'true', '_confirm': 'true'})
    )
    answers['bulk'] = {'seconds': seconds, 'status': response.status_code}
    print(json.dumps(answers))


def run_delete_requests(fabric_ids):
    output = subprocess.run(
        [sys.executable, '-m', 'benchmarks.fabric_delete', '--delete', *map(str, fabric_ids)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=os.environ.copy(),
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--objects', type=int, default=10000)
    parser.add_argument('--bulk-fabrics', type=int, default=3)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--delete', type=int, nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.delete:
        return delete_requests(args.delete[0], args.delete[1], args.delete[2:])

    setup_django()
    from users.models import User

    from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
    from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
    from netbox_hedgehog.scheduling.scheduler import FabricScheduler
    from tests.kmock_server import kube_api
    from tests.live import LiveProcesses, wait_until

    User.objects.create_user(username=USERNAME, is_superuser=True)
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
            chains_ran = time.monotonic() - started
            target, others = fabrics[0], fabrics[1:]
            # Its first sync will write its 10,000 rows: the deletion meets that write transaction.
            writing = HedgehogFabric.objects.create(
                name='delete-writing', sync_interval=INTERVAL, **api.fabric_fields()
            )
            fabrics.append(writing)
            answer = run_delete_requests([writing.pk, target.pk, *(fabric.pk for fabric in others)])
            target_line = f'(target <= {TARGET_SECONDS})'
            for label, what in (('writing', 'while its first sync writes'), ('syncing', 'during an unchanged resync')):
                rows += [
                    (f'API DELETE {what}: seconds', f'{answer[label]["seconds"]:.2f} {target_line}'),
                    (f'API DELETE {what}: status / caught', f'{answer[label]["status"]} / {answer[label]["caught"]}'),
                ]
            rows.append((f'UI bulk delete of {len(others)}: seconds', f'{answer["bulk"]["seconds"]:.2f} {target_line}'))
            rows.append((f'UI bulk delete of {len(others)}: status', str(answer['bulk']['status'])))

            queue = FabricScheduler().queue
            wait_until(
                lambda: not queue.started_job_registry.get_job_ids() and not queue.get_job_ids(),
                timeout=120,
                message='the workers to go idle',
            )
            worker_errors = sum(processes.log(f'worker-{index}').count('Traceback') for index in range(args.workers))
        left = leftovers([fabric.pk for fabric in fabrics])

    rows[:0] = [
        ('fabrics synced / resources before', f'{len(fabrics) - 1} / {resources} (and one in its first sync)'),
        ('chain interval / workers', f'{INTERVAL} s / {args.workers}'),
        ('chains running before the delete', f'{chains_ran:.0f} s'),
    ]
    rows.append(('left after: fabrics, resources, run records, chain entries', ', '.join(map(str, left.values()))))
    rows.append(('tracebacks in the worker logs (syncs that met the deletion)', str(worker_errors)))
    print_table(rows)
    shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
