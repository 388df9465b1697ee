"""``manage.py hedgehog_health``: exit 0 when the sync worker and/or scheduler are alive, 1 otherwise.

Meant for container health checks, Kubernetes probes and monitoring: it asks Redis what the
processes themselves registered there (a worker's heartbeat, rq-scheduler's expiring instance
key), so it checks the real processes, not whether the code imports.
"""

import json

import django_rq
from django.core.management.base import BaseCommand, CommandError
from rq import Queue
from rq.defaults import DEFAULT_WORKER_TTL

from netbox_hedgehog.scheduling.health import process_health
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME


class Command(BaseCommand):
    help = (
        'Exit 0 if an rqworker on the plugin queue (--worker) and an rqscheduler (--scheduler) are alive, '
        '1 with the reason otherwise. Without flags, checks both.'
    )
    # Django's system checks import every URLconf and the GraphQL schema (~8 s of CPU): far too
    # much for a probe that runs every 30 s, and irrelevant to whether the processes are alive.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument('--worker', action='store_true', help=f'Check for a live rqworker on {QUEUE_NAME}')
        parser.add_argument('--scheduler', action='store_true', help='Check for a live rqscheduler')
        parser.add_argument('--hostname', help="Only count workers on this host (e.g. the container's $HOSTNAME)")
        parser.add_argument(
            '--worker-ttl',
            type=int,
            default=DEFAULT_WORKER_TTL,
            help=(
                'Oldest acceptable worker heartbeat in seconds '
                f"(the worker's --worker-ttl, default {DEFAULT_WORKER_TTL})"
            ),
        )
        parser.add_argument('--json', action='store_true', help='Print the result as JSON')

    def handle(self, *args, **options):
        check_worker = options['worker'] or not options['scheduler']
        check_scheduler = options['scheduler'] or not options['worker']
        hostname = options['hostname']
        try:
            queue = Queue(QUEUE_NAME, connection=django_rq.get_connection(QUEUE_NAME))
            health = process_health(queue, hostname=hostname, worker_ttl=options['worker_ttl'])
        except Exception as exc:  # Redis down or misconfigured: unhealthy, with the reason on one line
            self._finish(options, {}, [f'cannot read process state from Redis: {_one_line(exc)}'])
            return

        problems = []
        if check_worker and not health.workers:
            where = f' on host {hostname}' if hostname else ''
            problems.append(f'no rqworker{where} with a fresh heartbeat is serving {QUEUE_NAME}')
        if check_scheduler and not health.schedulers:
            problems.append('no rqscheduler is running')
        found = {}
        if check_worker:
            found['workers'] = health.workers
        if check_scheduler:
            found['schedulers'] = health.schedulers
        self._finish(options, found, problems)

    def _finish(self, options, found, problems):
        if options['json']:
            self.stdout.write(json.dumps({'healthy': not problems, **found, 'problems': problems}))
        elif not problems:
            self.stdout.write('OK: ' + '; '.join(f'{kind}: {", ".join(names)}' for kind, names in found.items()))
        if problems:
            # CommandError prints "CommandError: <reason>" on stderr and exits with returncode.
            raise CommandError('; '.join(problems), returncode=1)


def _one_line(exc):
    return ' '.join(str(exc).split()) or exc.__class__.__name__
