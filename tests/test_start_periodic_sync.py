"""``manage.py start_periodic_sync`` through Django's command runner and as the real ``netbox`` CLI."""

import json
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rq import Queue, SimpleWorker

from netbox_hedgehog.management.commands import start_periodic_sync
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, chain_job_id
from tests.live import PATIENCE

NETBOX = str(Path(sys.executable).with_name('netbox'))


def run(*args):
    out = StringIO()
    call_command('start_periodic_sync', *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_bootstrap_then_status_as_json(tasks_redis):
    fabric = HedgehogFabric.objects.create(name='alpha', git_repository_url='/repo', sync_interval=60)
    HedgehogFabric.objects.create(name='off', git_repository_url='/repo', scheduler_enabled=False)

    for _ in range(3):
        assert json.loads(run('--bootstrap', '--json'))['fabrics'] == 2
    status = json.loads(run('--status', '--json'))

    assert [job.decode() for job in tasks_redis.zrange('rq:scheduler:scheduled_jobs', 0, -1)] == [
        chain_job_id(fabric.pk)
    ]
    by_name = {item['name']: item for item in status['fabrics']}
    assert by_name['alpha']['next_run'] is not None and by_name['alpha']['chain_missing'] is False
    assert by_name['off']['next_run'] is None and by_name['off']['periodic'] is False
    assert by_name['alpha']['sync_status'] == 'never_synced'
    # No worker or scheduler runs in this test: the status must say so.
    assert status['workers'] == [] and status['schedulers'] == []
    assert any('No rqworker' in problem for problem in status['problems'])
    assert any('No rqscheduler' in problem for problem in status['problems'])


@pytest.mark.django_db
def test_status_reports_the_lateness_of_the_last_periodic_run(tasks_redis):
    fabric = HedgehogFabric.objects.create(name='timed', git_repository_url='/repo')
    planned = timezone.now() - timedelta(minutes=5)
    SyncRun.objects.create(
        fabric=fabric,
        trigger='schedule',
        planned_at=planned,
        started_at=planned + timedelta(seconds=0.5),
        finished_at=planned + timedelta(seconds=1),
    )
    SyncRun.objects.create(fabric=fabric, trigger='manual', started_at=timezone.now())

    (status,) = json.loads(run('--status', '--json', '--fabric-id', str(fabric.pk)))['fabrics']
    assert status['last_start_lateness'] == 0.5
    assert 'last periodic run started 0.50s after its planned time' in run('--status')


@pytest.mark.django_db
def test_human_status_shows_missing_processes_and_chains(tasks_redis):
    HedgehogFabric.objects.create(name='lost', git_repository_url='/repo', sync_interval=60)

    output = run('--status')

    assert 'rqworkers on netbox_hedgehog.hedgehog_sync: NONE' in output
    assert 'PROBLEM: No rqscheduler is running' in output
    assert 'Fabric lost' in output and 'next run:      not scheduled' in output
    assert 'PROBLEM: no chain is scheduled; run --bootstrap' in output


@pytest.mark.django_db
def test_manual_trigger_queues_one_job_and_coalesces(tasks_redis):
    fabric = HedgehogFabric.objects.create(name='now', git_repository_url='/repo')

    first = json.loads(run('--manual-trigger', '--fabric-id', str(fabric.pk), '--json'))['triggered'][0]
    second = json.loads(run('--manual-trigger', '--fabric-id', str(fabric.pk), '--json'))['triggered'][0]

    assert first['coalesced'] is False and second == {**first, 'coalesced': True}
    assert Queue(QUEUE_NAME, connection=tasks_redis).get_job_ids() == [first['job_id']]


@pytest.mark.django_db
def test_manual_trigger_of_a_disabled_fabric_is_refused(tasks_redis):
    fabric = HedgehogFabric.objects.create(name='disabled', git_repository_url='/repo', sync_enabled=False)
    with pytest.raises(CommandError, match='Sync is disabled for fabric disabled'):
        run('--manual-trigger', '--fabric-id', str(fabric.pk))


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['--status', '--bootstrap'], 'Choose exactly one of --bootstrap, --status, --manual-trigger.'),
        ([], 'Choose exactly one of --bootstrap, --status, --manual-trigger.'),
        (['--status', '--fabric-id', '999999'], 'No fabric with id 999999.'),
        (['--status', '--wait'], '--dry-run, --allow-empty-kinds and --wait go with --manual-trigger only.'),
    ],
)
def test_wrong_input_gives_a_one_line_error_and_a_non_zero_exit(args, message):
    completed = subprocess.run([NETBOX, 'start_periodic_sync', *args], capture_output=True, text=True, timeout=PATIENCE)

    assert completed.returncode != 0
    assert completed.stderr.strip() == f'CommandError: {message}'
    assert completed.stdout == ''


@pytest.fixture
def worker_between_polls(tasks_redis, monkeypatch):
    """While ``--wait`` polls, the queued jobs run in-process (a SimpleWorker), as a worker would run them."""

    def run_queued_jobs(seconds):
        SimpleWorker([Queue(QUEUE_NAME, connection=tasks_redis)], connection=tasks_redis).work(burst=True)

    monkeypatch.setattr(start_periodic_sync.time, 'sleep', run_queued_jobs)


@pytest.mark.django_db
def test_manual_trigger_wait_prints_the_outcome_of_a_good_run(worker_between_polls, gitops_repo):
    fabric = HedgehogFabric.objects.create(name='waited', git_repository_url=str(gitops_repo), sync_interval=0)

    output = run('--manual-trigger', '--wait', '--fabric-id', str(fabric.pk))

    run_record = SyncRun.objects.get(fabric=fabric)
    assert run_record.outcome == 'success' and run_record.created > 0
    assert f'success in {run_record.duration:.1f}s (run {run_record.pk})' in output
    assert f'{run_record.created} created, 0 updated, 0 deleted, 0 unchanged, 0 invalid' in output


@pytest.mark.django_db
def test_manual_trigger_wait_fails_when_the_run_fails(worker_between_polls):
    fabric = HedgehogFabric.objects.create(name='broken', git_repository_url='/nonexistent/wiring', sync_interval=0)
    out = StringIO()

    with pytest.raises(CommandError, match='1 of 1 run'):
        call_command('start_periodic_sync', '--manual-trigger', '--wait', '--json', stdout=out)

    (item,) = json.loads(out.getvalue())['triggered']
    assert item['fabric'] == fabric.pk and item['outcome'] == 'failed' and '/nonexistent/wiring' in item['error']
    assert item['worker_listening'] is False  # no worker was registered when the request was made


@pytest.mark.django_db
def test_manual_trigger_wait_gives_up_after_its_timeout(tasks_redis, monkeypatch):
    fabric = HedgehogFabric.objects.create(name='no-worker', git_repository_url='/repo')
    clock = iter(range(0, 1000, 2))  # each look at the clock finds two more seconds gone
    monkeypatch.setattr(start_periodic_sync.time, 'monotonic', lambda: next(clock))
    monkeypatch.setattr(start_periodic_sync.time, 'sleep', lambda seconds: None)
    out = StringIO()

    with pytest.raises(CommandError):
        call_command('start_periodic_sync', '--manual-trigger', '--wait', '--timeout', '5', stdout=out)

    assert 'Timed out after 5s waiting for job' in out.getvalue()
    assert 'WARNING: no rqworker listens on the sync queue' in out.getvalue()
    assert SyncRun.objects.filter(fabric=fabric).count() == 0
