import json
import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from netbox_hedgehog.settings import plugin_setting

ACTIONS = ('bootstrap', 'status', 'manual_trigger')
# Outcomes with which --wait exits 0: the run applied what its sources hold (partial: minus invalid objects).
GOOD_OUTCOMES = (SyncOutcomeChoices.SUCCESS, SyncOutcomeChoices.PARTIAL)
WAIT_POLL = 0.5  # seconds between looks at the run record
COUNTS = ('created', 'updated', 'deleted', 'unchanged', 'invalid')


class Command(BaseCommand):
    help = (
        'Operate the periodic fabric sync: create the rq-scheduler chains (--bootstrap), show the sync '
        'state and process health (--status), or queue an immediate sync (--manual-trigger), optionally waiting '
        'for its outcome (--wait).'
    )

    def add_arguments(self, parser):
        parser.add_argument('--bootstrap', action='store_true', help='Ensure one sync chain per periodic fabric')
        parser.add_argument('--status', action='store_true', help='Show sync state and worker/scheduler health')
        parser.add_argument('--manual-trigger', action='store_true', help='Queue an immediate sync')
        parser.add_argument(
            '--dry-run',
            action='store_true',
            help='With --manual-trigger: compute and record the diff without applying it',
        )
        parser.add_argument(
            '--allow-empty-kinds',
            action='store_true',
            help='With --manual-trigger: also prune kinds that a source suddenly lists as empty',
        )
        parser.add_argument(
            '--wait',
            action='store_true',
            help='With --manual-trigger: wait for the run(s), print outcome, duration and counts; exit 1 unless all '
            'succeeded',
        )
        parser.add_argument(
            '--timeout',
            type=float,
            default=None,
            help='With --wait: give up after this many seconds (default: twice the sync_job_timeout setting)',
        )
        parser.add_argument('--fabric-id', type=int, help='Act on this fabric only')
        parser.add_argument('--json', action='store_true', help='Print machine-readable JSON')

    def handle(self, *args, **options):
        chosen = [action for action in ACTIONS if options[action]]
        if len(chosen) != 1:
            raise CommandError('Choose exactly one of --bootstrap, --status, --manual-trigger.')
        if (options['dry_run'] or options['allow_empty_kinds'] or options['wait']) and chosen != ['manual_trigger']:
            raise CommandError('--dry-run, --allow-empty-kinds and --wait go with --manual-trigger only.')
        if options['timeout'] is not None and not options['wait']:
            raise CommandError('--timeout goes with --wait only.')
        fabrics = self._fabrics(options['fabric_id'])
        scheduler = FabricScheduler()
        result = getattr(self, f'_{chosen[0]}')(scheduler, fabrics, options)
        if options['json']:
            self.stdout.write(json.dumps(result, indent=2, default=str))
        else:
            self._print_human(chosen[0], result)
        waited = [item for item in result.get('triggered', ()) if 'outcome' in item]
        failed = [item for item in waited if item['outcome'] not in GOOD_OUTCOMES]
        if failed:
            raise CommandError(f'{len(failed)} of {len(result["triggered"])} run(s) did not succeed.')

    def _fabrics(self, fabric_id):
        if fabric_id is None:
            return list(HedgehogFabric.objects.all())
        fabric = HedgehogFabric.objects.filter(pk=fabric_id).first()
        if fabric is None:
            raise CommandError(f'No fabric with id {fabric_id}.')
        return [fabric]

    def _bootstrap(self, scheduler, fabrics, options):
        if options['fabric_id'] is None:
            return scheduler.bootstrap()
        at = scheduler.ensure(fabrics[0])
        return {'fabrics': 1, 'scheduled': int(at is not None), 'orphans_removed': 0}

    def _status(self, scheduler, fabrics, options):
        return scheduler.status(fabrics).as_dict()

    def _manual_trigger(self, scheduler, fabrics, options):
        triggered = []
        for fabric in fabrics:
            if not fabric.sync_enabled:
                if options['fabric_id'] is not None:
                    raise CommandError(f'Sync is disabled for fabric {fabric.name} (id {fabric.pk}).')
                continue
            result = scheduler.trigger_now(
                fabric,
                dry_run=options['dry_run'],
                allow_empty_kinds=options['allow_empty_kinds'],
            )
            triggered.append({**result.as_dict(), 'fabric_name': fabric.name})
        if options['wait']:
            timeout = options['timeout'] or 2 * plugin_setting('sync_job_timeout')
            deadline = time.monotonic() + timeout
            for item in triggered:
                item.update(_wait_for_run(scheduler, item['job_id'], deadline, timeout))
        return {'triggered': triggered}

    # Human-readable output

    def _print_human(self, action, result):
        if action == 'bootstrap':
            self.stdout.write(
                f'Bootstrapped {result["fabrics"]} fabric(s): {result["scheduled"]} chain(s) (re)created, '
                f'{result["orphans_removed"]} orphaned entr(y/ies) removed.'
            )
        elif action == 'manual_trigger':
            if not result['triggered']:
                self.stdout.write('No fabric with sync enabled.')
            for item in result['triggered']:
                verb = 'already queued as' if item['coalesced'] else 'queued as'
                self.stdout.write(f'Sync of fabric {item["fabric_name"]} (id {item["fabric"]}) {verb} {item["job_id"]}')
                if not item['worker_listening']:
                    self.stdout.write(self.style.WARNING('  WARNING: no rqworker listens on the sync queue'))
                if 'outcome' in item:
                    self._print_outcome(item)
        else:
            self._print_status(result)

    def _print_outcome(self, item):
        if item['outcome'] is None:
            self.stdout.write(self.style.ERROR(f'  {item["error"]}'))
            return
        style = self.style.SUCCESS if item['outcome'] in GOOD_OUTCOMES else self.style.ERROR
        self.stdout.write(style(f'  {item["outcome"]} in {item["duration"]:.1f}s (run {item["run_id"]})'))
        self.stdout.write('  ' + ', '.join(f'{item[name]} {name}' for name in COUNTS))
        if item['error']:
            self.stdout.write(self.style.ERROR('  error: ' + item['error'].replace('\n', '\n' + ' ' * 9)))

    def _print_status(self, status):
        self.stdout.write(f'rqworkers on netbox_hedgehog.hedgehog_sync: {", ".join(status["workers"]) or "NONE"}')
        self.stdout.write(f'rqschedulers: {", ".join(status["schedulers"]) or "NONE"}')
        for problem in status['problems']:
            self.stdout.write(self.style.ERROR(f'PROBLEM: {problem}'))
        now = timezone.now()
        for fabric in status['fabrics']:
            state = fabric['sync_status'] + (' (STALE: no sync holds the lock)' if fabric['stale'] else '')
            schedule = f'every {fabric["sync_interval"]}s' if fabric['periodic'] else 'periodic sync off'
            self.stdout.write('')
            self.stdout.write(self.style.MIGRATE_HEADING(f'Fabric {fabric["name"]} (id {fabric["id"]}): {state}'))
            self.stdout.write(f'  schedule:      {schedule}; sources: {fabric["connection_status"]}')
            self.stdout.write(f'  last run:      {_when(fabric["last_sync"], now)}')
            if fabric['last_start_lateness'] is not None:
                self.stdout.write(
                    f'  last periodic run started {fabric["last_start_lateness"]:.2f}s after its planned time'
                )
            self.stdout.write(f'  last success:  {_when(fabric["last_successful_sync"], now)}')
            self.stdout.write(f'  next run:      {_when(fabric["next_run"], now, missing="not scheduled")}')
            if fabric['chain_missing']:
                self.stdout.write(self.style.ERROR('  PROBLEM: no chain is scheduled; run --bootstrap'))
            if fabric['sync_error']:
                self.stdout.write(
                    self.style.ERROR('  error:         ' + fabric['sync_error'].replace('\n', '\n' + ' ' * 17))
                )


def _wait_for_run(scheduler, job_id, deadline, timeout):
    """Wait until the job's run record is final (or the job ended without one, or the deadline passed)."""
    while True:
        run = SyncRun.objects.filter(job_id=job_id).exclude(outcome=SyncOutcomeChoices.RUNNING).first()
        if run is not None:
            return {
                'outcome': run.outcome,
                'run_id': run.pk,
                'duration': run.duration,
                'error': run.error,
                **{name: getattr(run, name) for name in COUNTS},
            }
        try:
            job = Job.fetch(job_id, connection=scheduler.connection)
            ended = job.get_status() in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
        except NoSuchJobError:
            ended = True
        if ended and not SyncRun.objects.filter(job_id=job_id).exists():
            return {'outcome': None, 'error': f'Job {job_id} ended without recording a run (see the worker log).'}
        if time.monotonic() >= deadline:
            return {'outcome': None, 'error': f'Timed out after {timeout:.0f}s waiting for job {job_id}.'}
        time.sleep(WAIT_POLL)


def _when(iso, now, missing='never'):
    if iso is None:
        return missing
    moment = datetime.fromisoformat(iso)
    seconds = (moment - now).total_seconds()
    relative = f'in {seconds:.0f}s' if seconds >= 0 else f'{-seconds:.0f}s ago'
    return f'{moment:%Y-%m-%d %H:%M:%S} UTC ({relative})'
