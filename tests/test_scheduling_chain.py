"""The self-rescheduling chain, on fakeredis: stable ids, anchoring, survival, recovery and ending."""

from datetime import timedelta
from types import SimpleNamespace

import fakeredis
import pytest
from django.db import OperationalError
from django.utils import timezone
from fakeredis._commands import SUPPORTED_COMMANDS
from redis.exceptions import ResponseError
from rq import Queue
from rq.job import Job, JobStatus

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling import jobs
from netbox_hedgehog.scheduling.chains import OVERDUE_SPREAD
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from netbox_hedgehog.scheduling.locks import fabric_lock
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, FabricScheduler, chain_job_id
from netbox_hedgehog.scheduling.timing import retry_delay
from netbox_hedgehog.sync.apply import FabricDeleted
from netbox_hedgehog.sync.pipeline import SyncResult

# Commands that Redis 6.2 or later added; NetBox 4.7 supports Redis 6.0.
REDIS_6_2_COMMANDS = (
    'getdel',
    'getex',
    'lmove',
    'blmove',
    'copy',
    'zrangestore',
    'zunion',
    'zinter',
    'zdiff',
    'zdiffstore',
    'zrandmember',
    'smismember',
    'hrandfield',
    'geosearch',
    'geosearchstore',
    'xautoclaim',
    'reset',
    'failover',
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis(monkeypatch):
    """Every FabricScheduler (including the one the job creates) talks to one fakeredis."""
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr('django_rq.get_connection', lambda *args, **kwargs: connection)
    return connection


@pytest.fixture
def clock(monkeypatch):
    """Time stands still until the test moves it: slots and back-off are checked exactly, not against the wall."""
    clock = SimpleNamespace(moment=whole_now())
    monkeypatch.setattr('django.utils.timezone.now', lambda: clock.moment)
    return clock


@pytest.fixture
def sync_calls(monkeypatch):
    """Replace the pipeline: the chain must not depend on what a sync does."""
    calls = []

    def fake_sync(fabric, **options):
        calls.append(fabric.pk)
        return SyncResult(created=1)

    monkeypatch.setattr(jobs, 'sync_fabric', fake_sync)
    return calls


def whole_now():
    """Planned times are whole seconds (rq-scheduler's resolution)."""
    return timezone.now().replace(microsecond=0)


def make_fabric(name, **fields):
    fields.setdefault('git_repository_url', '/nonexistent')
    fields.setdefault('sync_interval', 2)
    # Saved without the post_save hook's on_commit: these tests schedule explicitly.
    return HedgehogFabric.objects.create(name=name, **fields)


def chain_entries(redis):
    return [job_id.decode() for job_id in redis.zrange('rq:scheduler:scheduled_jobs', 0, -1)]


def test_bootstrap_ten_times_keeps_one_entry_per_periodic_fabric(redis):
    fabrics = [make_fabric(f'fab-{i}') for i in range(3)]
    make_fabric('disabled', sync_enabled=False)
    make_fabric('manual-only', scheduler_enabled=False)
    make_fabric('interval-zero', sync_interval=0)

    for _ in range(10):
        FabricScheduler().bootstrap()

    assert sorted(chain_entries(redis)) == sorted(chain_job_id(fabric.pk) for fabric in fabrics)


def test_bootstrap_removes_entries_of_deleted_fabrics(redis):
    fabric = make_fabric('short-lived')
    FabricScheduler().bootstrap()
    HedgehogFabric.objects.filter(pk=fabric.pk).delete()

    summary = FabricScheduler().bootstrap()

    assert summary['orphans_removed'] == 1
    assert chain_entries(redis) == []


def test_bootstrap_keeps_the_planned_slot_of_a_lost_entry(redis, clock):
    planned = clock.moment - timedelta(seconds=1)
    fabric = make_fabric('lost', last_sync=planned, sync_interval=30)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(last_sync_planned=planned)

    FabricScheduler().bootstrap()

    assert FabricScheduler().planned_time(fabric.pk) == planned + timedelta(seconds=30)


def test_run_schedules_its_successor_anchored_on_the_planned_time(redis, clock, sync_calls):
    fabric = make_fabric('anchored')
    planned = clock.moment - timedelta(seconds=5)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(next_sync=planned)

    execute_fabric_sync(fabric.pk)

    assert sync_calls == [fabric.pk]
    # planned + 3·2 s is the first slot after the run; the missed ones are skipped.
    assert FabricScheduler().planned_time(fabric.pk) == planned + timedelta(seconds=6)
    fabric.refresh_from_db()
    assert fabric.next_sync == planned + timedelta(seconds=6)
    assert fabric.last_sync_planned == planned
    assert fabric.sync_status == SyncStatusChoices.IN_SYNC
    assert fabric.last_successful_sync == fabric.last_sync
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]


def test_chain_survives_an_exception_in_the_sync(redis, monkeypatch):
    fabric = make_fabric('exploding')
    FabricScheduler().ensure(fabric)

    def explode(fabric, **options):
        raise RuntimeError('boom')

    monkeypatch.setattr(jobs, 'sync_fabric', explode)
    with pytest.raises(jobs.UnexpectedSyncError, match='^RuntimeError in the sync of fabric'):
        execute_fabric_sync(fabric.pk)

    assert chain_entries(redis) == [chain_job_id(fabric.pk)]
    assert FabricScheduler().planned_time(fabric.pk) > timezone.now()
    fabric.refresh_from_db()
    assert fabric.sync_status == SyncStatusChoices.ERROR
    assert fabric.sync_error == 'Unexpected error: RuntimeError (see the worker log)'  # never the exception's text
    assert fabric.last_successful_sync is None
    run = SyncRun.objects.get(fabric=fabric)
    assert run.outcome == SyncOutcomeChoices.FAILED
    assert run.finished_at is not None


def test_failed_sync_is_recorded_as_error_and_chain_continues(redis, monkeypatch):
    fabric = make_fabric('failing')
    monkeypatch.setattr(jobs, 'sync_fabric', lambda fabric, **options: SyncResult(errors=['Git: remote unreachable']))

    execute_fabric_sync(fabric.pk)

    fabric.refresh_from_db()
    assert fabric.sync_status == SyncStatusChoices.ERROR
    assert fabric.sync_error == 'Git: remote unreachable'
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]


def test_chain_ends_for_a_deleted_fabric(redis, sync_calls):
    fabric = make_fabric('deleted')
    FabricScheduler().ensure(fabric)
    fabric_id = fabric.pk
    HedgehogFabric.objects.filter(pk=fabric_id).delete()

    execute_fabric_sync(fabric_id)

    assert sync_calls == []
    assert chain_entries(redis) == []


def test_chain_ends_for_a_fabric_disabled_during_its_run(redis, monkeypatch):
    fabric = make_fabric('disabled-midway')

    def disable_then_sync(fabric, **options):
        HedgehogFabric.objects.filter(pk=fabric.pk).update(sync_enabled=False)
        return SyncResult()

    monkeypatch.setattr(jobs, 'sync_fabric', disable_then_sync)
    execute_fabric_sync(fabric.pk)

    assert chain_entries(redis) == []
    fabric.refresh_from_db()
    assert fabric.next_sync is None


def _deleted_then_returns(fabric):
    return SyncResult(created=1)


def _deleted_then_found_gone(fabric):
    raise FabricDeleted(f'Fabric {fabric} was deleted during its sync; nothing was written.')


def _deleted_then_session_ended(fabric):
    raise OperationalError('terminating connection due to administrator command')


@pytest.mark.django_db(transaction=True)  # the run record's foreign key is checked at commit, as in a worker
@pytest.mark.parametrize('ending', [_deleted_then_returns, _deleted_then_found_gone, _deleted_then_session_ended])
def test_a_run_whose_fabric_is_deleted_meanwhile_ends_quietly(redis, monkeypatch, ending):
    fabric = make_fabric('deleted-midway')
    FabricScheduler().ensure(fabric)

    def delete_during_sync(fabric, **options):
        HedgehogFabric.objects.get(pk=fabric.pk).delete()
        return ending(fabric)

    monkeypatch.setattr(jobs, 'sync_fabric', delete_during_sync)
    execute_fabric_sync(fabric.pk)  # neither the deletion nor the sync's failure against it is an error

    assert not SyncRun.objects.filter(fabric_id=fabric.pk).exists()
    assert chain_entries(redis) == []


@pytest.mark.parametrize('change', [{'scheduler_enabled': False}, {'sync_interval': 0}])
def test_chain_ends_when_periodic_sync_is_switched_off(redis, sync_calls, change):
    fabric = make_fabric('switched-off', **change)

    execute_fabric_sync(fabric.pk)

    assert sync_calls == [fabric.pk]
    assert chain_entries(redis) == []


def test_run_finding_the_lock_held_records_a_skip_and_keeps_the_chain(redis, sync_calls):
    fabric = make_fabric('contended')
    other_worker = fabric_lock(redis, fabric.pk)
    assert other_worker.acquire(blocking=False)
    try:
        execute_fabric_sync(fabric.pk)
    finally:
        other_worker.release()

    assert sync_calls == []
    run = SyncRun.objects.get(fabric=fabric)
    assert run.outcome == SyncOutcomeChoices.SKIPPED
    assert 'running' in run.error
    fabric.refresh_from_db()
    assert fabric.sync_status == SyncStatusChoices.NEVER_SYNCED  # a skip changes nothing about the data
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]


def test_lock_is_released_after_a_run(redis, sync_calls):
    fabric = make_fabric('released')
    execute_fabric_sync(fabric.pk)
    assert not fabric_lock(redis, fabric.pk).locked()


def test_manual_trigger_is_coalesced_until_it_starts(redis, sync_calls):
    fabric = make_fabric('manual')
    scheduler = FabricScheduler()

    first = scheduler.trigger_now(fabric)
    second = scheduler.trigger_now(fabric)

    assert not first.coalesced
    assert second.coalesced and second.job_id == first.job_id
    queue = Queue(QUEUE_NAME, connection=redis)
    assert queue.get_job_ids() == [first.job_id]
    job = queue.fetch_job(first.job_id)
    assert job.args == (fabric.pk,)
    assert job.kwargs == {'trigger': SyncTriggerChoices.MANUAL, 'dry_run': False, 'allow_empty_kinds': False}

    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)

    assert sync_calls == [fabric.pk]
    assert not scheduler.trigger_now(fabric).coalesced  # the next request queues a new run
    assert chain_entries(redis) == []  # a manual run never creates or moves a chain


def test_manual_run_leaves_the_chain_anchor_alone(redis, sync_calls):
    fabric = make_fabric('manual-anchor')
    planned = whole_now() + timedelta(seconds=30)
    FabricScheduler().schedule(fabric, planned)

    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)

    fabric.refresh_from_db()
    assert fabric.last_sync_planned is None
    assert FabricScheduler().planned_time(fabric.pk) == planned


def test_saving_a_fabric_updates_its_schedule(redis, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fabric = HedgehogFabric(name='edited', git_repository_url='/x', sync_interval=60)
        fabric.full_clean()
        fabric.save()
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]

    with django_capture_on_commit_callbacks(execute=True):
        fabric.sync_enabled = False
        fabric.save()
    assert chain_entries(redis) == []

    with django_capture_on_commit_callbacks(execute=True):
        fabric.sync_enabled = True
        fabric.save()
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]

    with django_capture_on_commit_callbacks(execute=True):
        fabric.delete()
    assert chain_entries(redis) == []


def test_interval_change_moves_the_entry_to_the_new_period(redis, clock):
    planned = clock.moment - timedelta(seconds=1)
    fabric = make_fabric('retimed', sync_interval=3600)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(last_sync_planned=planned, last_sync=planned)
    fabric.refresh_from_db()
    FabricScheduler().ensure(fabric)
    assert FabricScheduler().planned_time(fabric.pk) == planned + timedelta(seconds=3600)

    fabric.sync_interval = 10
    FabricScheduler().ensure(fabric, reanchor=True)

    assert FabricScheduler().planned_time(fabric.pk) == planned + timedelta(seconds=10)
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]


def test_an_edit_never_rolls_back_the_sync_state(redis):
    fabric = make_fabric('concurrent')
    stale_copy = HedgehogFabric.objects.get(pk=fabric.pk)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(sync_status=SyncStatusChoices.IN_SYNC)

    stale_copy.description = 'edited by an operator'
    stale_copy.save()

    fabric.refresh_from_db()
    assert fabric.description == 'edited by an operator'
    assert fabric.sync_status == SyncStatusChoices.IN_SYNC


def test_sync_interval_must_be_zero_or_at_least_the_minimum(settings, monkeypatch):
    from django.core.exceptions import ValidationError

    monkeypatch.setitem(settings.PLUGINS_CONFIG['netbox_hedgehog'], 'min_sync_interval', 30)
    HedgehogFabric(name='off', sync_interval=0).full_clean()
    HedgehogFabric(name='slow-enough', sync_interval=30).full_clean()
    with pytest.raises(ValidationError) as error:
        HedgehogFabric(name='too-fast', sync_interval=29).full_clean()
    assert 'at least 30 seconds' in error.value.message_dict['sync_interval'][0]


def test_first_run_of_a_bootstrapped_chain_is_recorded_as_such(redis, sync_calls):
    fabric = make_fabric('origin')
    FabricScheduler().bootstrap()

    execute_fabric_sync(fabric.pk)
    execute_fabric_sync(fabric.pk)

    triggers = list(SyncRun.objects.filter(fabric=fabric).order_by('started_at').values_list('trigger', flat=True))
    assert triggers == [SyncTriggerChoices.BOOTSTRAP, SyncTriggerChoices.SCHEDULE]


def test_a_dry_run_is_recorded_but_leaves_the_fabric_alone(redis, monkeypatch):
    fabric = make_fabric('dry')
    seen = []

    def fake_sync(fabric, dry_run, allow_empty_kinds, **options):
        seen.append(dry_run)
        return SyncResult(created=5)

    monkeypatch.setattr(jobs, 'sync_fabric', fake_sync)
    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL, dry_run=True)

    assert seen == [True]
    run = SyncRun.objects.get(fabric=fabric)
    assert run.dry_run and run.created == 5 and run.outcome == SyncOutcomeChoices.SUCCESS
    fabric.refresh_from_db()
    assert fabric.sync_status == SyncStatusChoices.NEVER_SYNCED and fabric.last_sync is None


@pytest.mark.parametrize(
    ('result', 'status'),
    [
        (SyncResult(), SyncStatusChoices.IN_SYNC),
        (SyncResult(drift_count=3), SyncStatusChoices.OUT_OF_SYNC),
        (SyncResult(problems=['x.yaml: invalid']), SyncStatusChoices.OUT_OF_SYNC),
        (SyncResult(errors=['Git: unreachable']), SyncStatusChoices.ERROR),
    ],
)
def test_fabric_status_follows_the_outcome_honestly(redis, monkeypatch, result, status):
    fabric = make_fabric('honest')
    monkeypatch.setattr(jobs, 'sync_fabric', lambda fabric, **options: result)

    execute_fabric_sync(fabric.pk)

    fabric.refresh_from_db()
    assert fabric.sync_status == status
    assert (fabric.last_successful_sync is not None) == (result.outcome == SyncOutcomeChoices.SUCCESS)


def test_old_run_records_are_trimmed(redis, sync_calls, settings, monkeypatch):
    monkeypatch.setitem(settings.PLUGINS_CONFIG['netbox_hedgehog'], 'sync_run_retention', 3)
    fabric = make_fabric('retained')
    for _ in range(5):
        execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)
    assert SyncRun.objects.filter(fabric=fabric).count() == 3


@pytest.mark.parametrize(
    ('fields', 'field', 'message'),
    [
        ({'kubernetes_server': 'k8s.example.com:6443'}, 'kubernetes_server', 'http:// or https://'),
        ({'kubernetes_ca_cert': 'not a certificate'}, 'kubernetes_ca_cert', 'not a PEM certificate'),
        ({'kubeconfig': 'clusters: [\n'}, 'kubeconfig', 'not valid YAML'),
        ({'kubeconfig': 'x: 1', 'kubernetes_server': 'https://k:6443'}, 'kubeconfig', 'not both'),
        ({'git_repository_url': 'example.com/wiring'}, 'git_repository_url', 'absolute local path'),
    ],
)
def test_bad_connection_settings_are_refused_with_a_clear_message(fields, field, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        HedgehogFabric(name='bad', **fields).full_clean()
    assert message in ' '.join(error.value.message_dict[field])


@pytest.mark.parametrize(
    'url',
    [
        'https://github.com/org/wiring.git',
        'ssh://git@host/wiring.git',
        'git@github.com:org/wiring.git',
        '/srv/wiring',
    ],
)
def test_every_git_location_form_is_accepted(url):
    HedgehogFabric(name='good', git_repository_url=url).full_clean()


# Nothing before the try ends the chain


@pytest.mark.parametrize(
    'step',
    [
        'netbox_hedgehog.scheduling.jobs.holding_fabric_lock',
        'netbox_hedgehog.scheduling.jobs.get_current_job',
        'netbox_hedgehog.scheduling.scheduler.FabricScheduler.chain_origin',
    ],
)
def test_an_error_before_the_sync_starts_never_ends_the_chain(redis, clock, sync_calls, monkeypatch, step):
    fabric = make_fabric('fragile', sync_interval=300)

    def fail(*args, **kwargs):
        raise RuntimeError('the step before the sync failed')

    monkeypatch.setattr(step, fail)
    with pytest.raises(RuntimeError):
        execute_fabric_sync(fabric.pk)

    assert sync_calls == []
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]
    # It counts as a failure: retried after the first back-off step, not at once and not a whole interval later.
    assert FabricScheduler().planned_time(fabric.pk) == clock.moment + timedelta(seconds=10)


def test_a_run_that_cannot_read_its_fabric_keeps_the_chain_alive(redis, clock, sync_calls, monkeypatch):
    fabric = make_fabric('database-away')

    class DatabaseAway:
        class objects:
            @staticmethod
            def filter(**kwargs):
                raise OperationalError('the database system is shutting down')

    monkeypatch.setattr(jobs, 'HedgehogFabric', DatabaseAway)
    monkeypatch.setattr(jobs.connection, 'close', lambda: None)  # keep the test's transaction usable
    with pytest.raises(OperationalError):
        execute_fabric_sync(fabric.pk)

    assert chain_entries(redis) == [chain_job_id(fabric.pk)]
    assert FabricScheduler().planned_time(fabric.pk) == clock.moment + timedelta(seconds=10)


def test_a_manual_run_reads_the_fabric_after_waiting_for_the_lock(redis, monkeypatch):
    fabric = make_fabric('edited-while-waiting')
    take_lock = jobs.holding_fabric_lock

    def edited_while_waiting(*args, **kwargs):
        HedgehogFabric.objects.filter(pk=fabric.pk).update(prune=False, git_branch='release')
        return take_lock(*args, **kwargs)

    seen = []
    monkeypatch.setattr(jobs, 'holding_fabric_lock', edited_while_waiting)
    monkeypatch.setattr(
        jobs, 'sync_fabric', lambda fabric, **options: seen.append((fabric.prune, fabric.git_branch)) or SyncResult()
    )

    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)

    assert seen == [(False, 'release')]


# Redis 6.0


@pytest.fixture
def redis_6_0(redis, monkeypatch):
    """The fakeredis answers like Redis 6.0: the commands of Redis 6.2 and later are unknown."""
    for name in REDIS_6_2_COMMANDS:
        monkeypatch.delitem(SUPPORTED_COMMANDS, name, raising=False)
    return redis


def test_the_chain_needs_no_command_newer_than_redis_6_0(redis_6_0, sync_calls):
    with pytest.raises(ResponseError, match='unknown command'):
        redis_6_0.getdel('anything')  # the emulation holds
    fabric = make_fabric('old-redis')
    FabricScheduler().bootstrap()

    execute_fabric_sync(fabric.pk)
    execute_fabric_sync(fabric.pk)
    scheduler = FabricScheduler()
    first = scheduler.trigger_now(fabric)
    assert scheduler.trigger_now(fabric).job_id == first.job_id
    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)

    runs = SyncRun.objects.filter(fabric=fabric).order_by('started_at')
    assert [(run.trigger, run.outcome) for run in runs] == [
        (SyncTriggerChoices.BOOTSTRAP, SyncOutcomeChoices.SUCCESS),
        (SyncTriggerChoices.SCHEDULE, SyncOutcomeChoices.SUCCESS),
        (SyncTriggerChoices.MANUAL, SyncOutcomeChoices.SUCCESS),
    ]
    assert chain_entries(redis_6_0) == [chain_job_id(fabric.pk)]


# Saves and re-anchoring


def move_to_queue(redis, fabric):
    """What rq-scheduler does when the chain entry is due: the job leaves the schedule for the queue."""
    scheduler = FabricScheduler()
    scheduler.scheduler.enqueue_job(Job.fetch(chain_job_id(fabric.pk), connection=redis))
    assert scheduler.planned_time(fabric.pk) is None
    assert Queue(QUEUE_NAME, connection=redis).get_job_ids() == [chain_job_id(fabric.pk)]


def test_a_save_while_the_chain_job_waits_in_the_queue_never_skips_a_slot(
    redis, clock, sync_calls, django_capture_on_commit_callbacks
):
    fabric = make_fabric('edited-while-queued', sync_interval=60)
    planned = clock.moment
    FabricScheduler().schedule(fabric, planned)
    move_to_queue(redis, fabric)
    clock.moment += timedelta(seconds=1)
    (report,) = FabricScheduler().status([HedgehogFabric.objects.get(pk=fabric.pk)]).fabrics
    assert not report.chain_missing and report.next_run == planned + timedelta(seconds=60)

    with django_capture_on_commit_callbacks(execute=True):
        fabric.description = 'edited while its run waits'
        fabric.sync_interval = 30
        fabric.save()
    assert chain_entries(redis) == []  # the queued run was left alone: it schedules its successor itself
    execute_fabric_sync(fabric.pk)

    assert SyncRun.objects.get(fabric=fabric).planned_at == planned
    assert FabricScheduler().planned_time(fabric.pk) == planned + timedelta(seconds=30)


def test_only_an_interval_or_switch_change_moves_a_waiting_chain(redis, clock, django_capture_on_commit_callbacks):
    anchor = clock.moment - timedelta(seconds=50)
    fabric = make_fabric('re-anchored', sync_interval=60)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(last_sync_planned=anchor, last_sync=anchor)
    fabric.refresh_from_db()
    FabricScheduler().ensure(fabric)
    assert FabricScheduler().planned_time(fabric.pk) == anchor + timedelta(seconds=60)
    # The worker marks the job that scheduled this entry finished, on the hash the entry shares.
    Job.fetch(chain_job_id(fabric.pk), connection=redis).set_status(JobStatus.FINISHED)

    with django_capture_on_commit_callbacks(execute=True):
        fabric.description = 'a comment'
        fabric.prune = False
        fabric.save()
    assert FabricScheduler().planned_time(fabric.pk) == anchor + timedelta(seconds=60)

    with django_capture_on_commit_callbacks(execute=True):
        fabric.sync_interval = 45
        fabric.save()
    assert FabricScheduler().planned_time(fabric.pk) == anchor + timedelta(seconds=90)
    fabric.refresh_from_db()
    assert fabric.next_sync == anchor + timedelta(seconds=90)
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]


# Recovery


@pytest.mark.parametrize(('failures', 'delay'), [(1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (40, 300)])
def test_retry_delay_doubles_and_is_capped_at_the_interval(failures, delay):
    assert retry_delay(failures, 300) == delay


def test_failed_runs_retry_with_backoff_then_return_to_the_grid(redis, clock, monkeypatch):
    fabric = make_fabric('recovering', sync_interval=300)
    planned = clock.moment
    HedgehogFabric.objects.filter(pk=fabric.pk).update(next_sync=planned)
    errors = iter([['Kubernetes: API unreachable']] * 3 + [[]])
    monkeypatch.setattr(jobs, 'sync_fabric', lambda fabric, **options: SyncResult(errors=next(errors)))

    retries = []
    for _ in range(3):
        clock.moment += timedelta(seconds=1)  # each run starts a second after its time
        execute_fabric_sync(fabric.pk)
        retries.append(FabricScheduler().planned_time(fabric.pk) - clock.moment)
        clock.moment = FabricScheduler().planned_time(fabric.pk)
    execute_fabric_sync(fabric.pk)  # the source is back

    assert retries == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert FabricScheduler().planned_time(fabric.pk) == planned + timedelta(seconds=300)
    fabric.refresh_from_db()
    assert fabric.sync_status == SyncStatusChoices.IN_SYNC
    assert fabric.last_sync_planned == planned  # retries ran between the slots and never moved the grid
    outcomes = SyncRun.objects.filter(fabric=fabric).order_by('started_at').values_list('outcome', flat=True)
    assert list(outcomes) == [SyncOutcomeChoices.FAILED] * 3 + [SyncOutcomeChoices.SUCCESS]


def test_overdue_fabrics_start_at_once_spread_over_a_few_seconds(redis, clock):
    long_ago = clock.moment - timedelta(hours=2)
    overdue = [make_fabric(f'overdue-{i}', sync_interval=300) for i in range(3 * OVERDUE_SPREAD)]
    HedgehogFabric.objects.filter(pk__in=[f.pk for f in overdue]).update(last_sync_planned=long_ago)
    on_time = make_fabric('on-time', sync_interval=300)
    HedgehogFabric.objects.filter(pk=on_time.pk).update(last_sync_planned=clock.moment - timedelta(seconds=100))

    FabricScheduler().bootstrap()

    starts = [FabricScheduler().planned_time(fabric.pk) - clock.moment for fabric in overdue]
    assert all(timedelta(0) <= start < timedelta(seconds=OVERDUE_SPREAD) for start in starts)
    assert len(set(starts)) == OVERDUE_SPREAD  # a thousand overdue fabrics are spread, not started together
    assert FabricScheduler().planned_time(on_time.pk) == clock.moment + timedelta(seconds=200)


def test_a_lost_chain_that_missed_its_slot_is_started_by_the_watchdog(redis, clock, sync_calls):
    fabric = make_fabric('missed', sync_interval=60)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(last_sync_planned=clock.moment - timedelta(seconds=61))

    FabricScheduler().repair()
    at = FabricScheduler().planned_time(fabric.pk)
    assert at - clock.moment < timedelta(seconds=OVERDUE_SPREAD)
    clock.moment = at
    execute_fabric_sync(fabric.pk)

    run = SyncRun.objects.get(fabric=fabric)
    assert run.trigger == SyncTriggerChoices.WATCHDOG and run.planned_at == at
    assert FabricScheduler().planned_time(fabric.pk) == at + timedelta(seconds=60)  # a new grid from there


# Status during a run


def test_during_a_run_the_status_is_the_last_outcome_and_next_run_is_ahead(redis, clock, monkeypatch):
    planned = clock.moment
    fabric = make_fabric('observed', sync_interval=60)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(
        next_sync=planned,
        last_sync_planned=planned - timedelta(seconds=60),
        sync_status=SyncStatusChoices.ERROR,
        sync_error='Git: unreachable',
    )
    seen = {}

    def observe(fabric, **options):
        current = HedgehogFabric.objects.get(pk=fabric.pk)
        (report,) = FabricScheduler().status([current]).fabrics
        seen.update(fabric=current, running_since=current.running_since, report=report)
        return SyncResult()

    monkeypatch.setattr(jobs, 'sync_fabric', observe)
    clock.moment += timedelta(seconds=2)
    execute_fabric_sync(fabric.pk)

    during, report = seen['fabric'], seen['report']
    assert during.sync_status == SyncStatusChoices.ERROR  # the last outcome, not a "syncing" state
    assert seen['running_since'] == clock.moment == report.running_since
    assert during.next_sync == planned + timedelta(seconds=60) == report.next_run
    assert not report.chain_missing and not report.stale and not report.next_run_late
    after = HedgehogFabric.objects.get(pk=fabric.pk)
    assert after.running_since is None and after.sync_status == SyncStatusChoices.IN_SYNC


def test_a_dry_run_in_progress_is_not_a_sync_in_progress(redis, monkeypatch):
    fabric = make_fabric('dry-observed')
    seen = []
    monkeypatch.setattr(
        jobs,
        'sync_fabric',
        lambda fabric, **options: seen.append(HedgehogFabric.objects.get(pk=fabric.pk).running_since) or SyncResult(),
    )
    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL, dry_run=True)
    assert seen == [None]


def test_a_retention_of_zero_keeps_every_run_and_never_breaks_the_chain(redis, sync_calls, settings, monkeypatch):
    monkeypatch.setitem(settings.PLUGINS_CONFIG['netbox_hedgehog'], 'sync_run_retention', 0)
    fabric = make_fabric('kept')
    for _ in range(3):
        execute_fabric_sync(fabric.pk)
    assert SyncRun.objects.filter(fabric=fabric, outcome=SyncOutcomeChoices.SUCCESS).count() == 3
    assert chain_entries(redis) == [chain_job_id(fabric.pk)]
