"""``manage.py hedgehog_scheduler``: rq-scheduler polling at sub-second intervals.

django-rq's ``rqscheduler`` (NetBox's ``manage.py rqscheduler``) takes whole seconds; rq-scheduler
itself takes a float. Polling every 0.2 s starts a periodic sync within about 0.2 s of its
planned second instead of about 1 s, for five small Redis commands per poll
(``benchmarks/schedule_precision`` measures both, side by side).
"""

import django_rq
from django.core.management.base import BaseCommand, CommandError
from rq_scheduler.utils import setup_loghandlers

from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME

DEFAULT_INTERVAL = 0.2


class Command(BaseCommand):
    help = 'Run rq-scheduler for the sync chains (and every other rq-scheduler entry), polling every --interval s'

    def add_arguments(self, parser):
        parser.add_argument(
            '--interval',
            type=float,
            default=DEFAULT_INTERVAL,
            help=f'Seconds between polls of the schedule; fractions allowed (default {DEFAULT_INTERVAL})',
        )

    def handle(self, *args, **options):
        interval = options['interval']
        if not interval > 0:
            raise CommandError(f'--interval must be a positive number of seconds (found {interval})')
        setup_loghandlers({0: 'WARNING', 1: 'INFO'}.get(options['verbosity'], 'DEBUG'))
        django_rq.get_scheduler(name=QUEUE_NAME, interval=interval).run()
