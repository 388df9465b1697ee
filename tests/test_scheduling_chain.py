"""The self-rescheduling chain, on fakeredis: stable ids, anchoring, survival and ending."""

from datetime import timedelta

import fakeredis
import pytest
from django.utils import timezone
from rq import Queue

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling import jobs
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from netbox_hedgehog.scheduling.locks import fabric_lock
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, FabricScheduler, chain_job_id
from netbox_hedgehog.sync.pipeline import SyncResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis(monkeypatch):
    """Every FabricScheduler (including the one the job creates) talks to one fakeredis."""
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr('django_rq.get_connection', lambda *args, **kwargs: connection)
    return connection


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


def test_bootstrap_keeps_the_planned_slot_of_a_lost_entry(redis):
    planned = whole_now() - timedelta(seconds=1)
    fabric = make_fabric('lost', last_sync=planned, sync_interval=30)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(last_sync_planned=planned)

    FabricScheduler().bootstrap()

    assert FabricScheduler().planned_time(fabric.pk) == planned + timedelta(seconds=30)


def test_run_schedules_its_successor_anchored_on_the_planned_time(redis, sync_calls):
    fabric = make_fabric('anchored')
    planned = whole_now() - timedelta(seconds=5)
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
    with pytest.raises(RuntimeError):
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


def test_interval_change_moves_the_entry_to_the_new_period(redis):
    planned = whole_now() - timedelta(seconds=1)
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

    def fake_sync(fabric, dry_run, allow_empty_kinds):
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
