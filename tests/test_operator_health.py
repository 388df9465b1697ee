"""Process health where the operator looks: the banner on the fabric pages, the dashboard widget, and the warning
that "Sync now", "Dry run", "Test connection" and the API's sync action give when no worker will run the job.

Workers and schedulers are written into the tasks Redis the way RQ and rq-scheduler register themselves (a
dead worker as RQ leaves it: registered, its heartbeat overdue); one integration test SIGKILLs a real rqworker.
"""

import os
import signal
import time
from contextlib import contextmanager, suppress
from datetime import timedelta

import django_rq
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from extras.models import Dashboard
from rest_framework import status
from rq import Queue, Worker
from rq.defaults import DEFAULT_WORKER_TTL
from rq.utils import utcformat
from rq_scheduler import Scheduler
from utilities.testing import APITestCase, TestCase
from utilities.testing.mixins import RQQueueTestMixin

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.health import process_health
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME
from netbox_hedgehog.views.health import WARNING_HEADER
from netbox_hedgehog.widgets import FabricSyncWidget
from tests.integration.conftest import ARTIFACTS
from tests.live import LiveProcesses, wait_until

BANNER = 'id="hedgehog-process-health"'
NO_WORKER = 'No rqworker is listening on the netbox_hedgehog.hedgehog_sync queue'
NO_SCHEDULER = 'No rqscheduler is running'
WORKER_COMMAND = 'manage.py rqworker netbox_hedgehog.hedgehog_sync'
TRIGGER_WARNING = 'No worker is listening on netbox_hedgehog.hedgehog_sync'


def tasks_connection():
    return django_rq.get_connection(QUEUE_NAME)


class FakeWorker:
    """An rqworker as Redis sees it: registered for the sync queue, with the heartbeat RQ writes."""

    def __init__(self, name, worker_ttl=30):
        self.worker = Worker([queue()], connection=tasks_connection(), name=name, worker_ttl=worker_ttl)
        self.worker.register_birth()  # last_heartbeat now, key expiring worker_ttl + 60 s from now

    def kill(self, seconds_ago=None):
        """Redis as a killed worker leaves it ``seconds_ago`` after its last heartbeat (default: 11 s past due).

        RQ keeps the worker registered, and its key alive until 60 s past the promised heartbeat.
        """
        seconds_ago = self.worker.worker_ttl + 11 if seconds_ago is None else seconds_ago
        connection = tasks_connection()
        connection.hset(self.worker.key, 'last_heartbeat', utcformat(timezone.now() - timedelta(seconds=seconds_ago)))
        connection.expire(self.worker.key, self.worker.worker_ttl + 60 - seconds_ago)


@contextmanager
def fake_processes(worker='worker-1'):
    """A live worker on the sync queue and a live rq-scheduler, for the duration of the block."""
    fake = FakeWorker(worker)
    scheduler_key = f'{Scheduler.redis_scheduler_namespace_prefix}test-scheduler'
    tasks_connection().hset(scheduler_key, 'birth', time.time())
    tasks_connection().expire(scheduler_key, 60)
    try:
        yield fake
    finally:
        fake.worker.register_death()
        tasks_connection().delete(scheduler_key)


def queue():
    return Queue(QUEUE_NAME, connection=tasks_connection())


class ProcessHealthTestCase(RQQueueTestMixin, TestCase):
    rq_queue_names = (QUEUE_NAME,)

    def test_a_worker_past_its_promised_heartbeat_is_dead_although_rq_still_lists_it(self):
        fake = FakeWorker('doomed', worker_ttl=30)
        self.assertEqual(process_health(queue()).workers, ['doomed'])
        fake.kill(seconds_ago=35)  # its heartbeat is 5 s late: a loaded machine, not yet dead
        self.assertEqual(process_health(queue()).workers, ['doomed'])

        fake.kill(seconds_ago=41)

        health = process_health(queue())
        self.assertEqual(health.workers, [])
        self.assertIn('doomed', [worker.name for worker in Worker.all(queue=queue())])  # RQ's registry keeps it
        self.assertIsNotNone(health.workers_seen)
        self.assertIn('last seen alive', health.problems()[0])

    def test_a_long_job_is_not_taken_for_death(self):
        """A SimpleWorker heartbeats only before a job, promising the job's timeout: silence until then is fine."""
        fake = FakeWorker('busy', worker_ttl=30)
        fake.worker.heartbeat(900 + 60)  # what SimpleWorker.prepare_execution does for a 900 s job
        tasks_connection().hset(fake.worker.key, 'last_heartbeat', utcformat(timezone.now() - timedelta(seconds=300)))
        tasks_connection().expire(fake.worker.key, 900 + 60 - 300)
        self.assertEqual(process_health(queue()).workers, ['busy'])

    def test_a_worker_beyond_the_oldest_accepted_heartbeat_is_dead(self):
        fake = FakeWorker('frozen', worker_ttl=DEFAULT_WORKER_TTL)
        tasks_connection().hset(
            fake.worker.key,
            'last_heartbeat',
            utcformat(timezone.now() - timedelta(seconds=DEFAULT_WORKER_TTL + 1)),
        )
        self.assertEqual(process_health(queue()).workers, [])


class BannerTestCase(RQQueueTestMixin, TestCase):
    rq_queue_names = (QUEUE_NAME,)

    @classmethod
    def setUpTestData(cls):
        cls.fabric = HedgehogFabric.objects.create(name='fabric-1')

    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')

    def pages(self):
        for url in (
            reverse('plugins:netbox_hedgehog:hedgehogfabric_list'),
            self.fabric.get_absolute_url(),
            reverse('plugins:netbox_hedgehog:hedgehogfabric_changelog', args=[self.fabric.pk]),
        ):
            response = self.client.get(url)
            self.assertHttpStatus(response, 200)
            yield url, response.content.decode()

    def test_banner_without_worker_and_scheduler_says_what_to_start(self):
        for url, content in self.pages():
            with self.subTest(url=url):
                self.assertIn(BANNER, content)
                self.assertIn(NO_WORKER, content)
                self.assertIn(WORKER_COMMAND, content)
                self.assertIn(NO_SCHEDULER, content)
                self.assertIn('hedgehog_scheduler --interval 0.2', content)

    def test_banner_says_since_when_a_worker_is_gone(self):
        with fake_processes() as fake:
            list(self.pages())  # seen alive by the pages
            fake.kill()
            for url, content in self.pages():
                with self.subTest(url=url):
                    self.assertIn(NO_WORKER, content)
                    self.assertIn('last seen alive', content)
                    self.assertNotIn(NO_SCHEDULER, content)

    def test_no_banner_with_a_live_worker_and_scheduler(self):
        with fake_processes():
            for url, content in self.pages():
                with self.subTest(url=url):
                    self.assertNotIn(BANNER, content)

    def test_banner_with_a_scheduler_but_no_worker(self):
        with fake_processes() as fake:
            fake.kill()
            for url, content in self.pages():
                with self.subTest(url=url):
                    self.assertIn(NO_WORKER, content)
                    self.assertNotIn(NO_SCHEDULER, content)


class TriggerWarningUITestCase(RQQueueTestMixin, TestCase):
    rq_queue_names = (QUEUE_NAME,)

    @classmethod
    def setUpTestData(cls):
        cls.fabric = HedgehogFabric.objects.create(name='fabric-1')

    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.change_hedgehogfabric')

    def press(self, action):
        response = self.client.post(
            reverse(f'plugins:netbox_hedgehog:hedgehogfabric_{action}', args=[self.fabric.pk]),
            HTTP_ACCEPT='text/html',
        )
        self.assertHttpStatus(response, 302)
        message = list(get_messages(response.wsgi_request))[-1]  # the redirect is not followed: earlier ones stay
        return message.level_tag, message.message

    def test_buttons_warn_when_no_worker_listens(self):
        for action in ('schedule_sync', 'dry_run', 'test_connection'):
            with self.subTest(action=action):
                level, text = self.press(action)
                self.assertEqual(level, 'warning')
                self.assertIn('Queued', text)
                self.assertIn(TRIGGER_WARNING, text)

    def test_buttons_report_success_when_a_worker_listens(self):
        with fake_processes():
            for action in ('schedule_sync', 'dry_run', 'test_connection'):
                with self.subTest(action=action):
                    level, text = self.press(action)
                    self.assertEqual(level, 'success')
                    self.assertNotIn(TRIGGER_WARNING, text)

    def test_bulk_sync_warns_when_no_worker_listens(self):
        response = self.client.post(
            reverse('plugins:netbox_hedgehog:hedgehogfabric_bulk_schedule_sync'),
            {'pk': [self.fabric.pk]},
        )
        [message] = get_messages(response.wsgi_request)
        self.assertEqual(message.level_tag, 'warning')
        self.assertIn(TRIGGER_WARNING, message.message)

    def test_a_script_gets_the_warning_as_field_and_header(self):
        url = reverse('plugins:netbox_hedgehog:hedgehogfabric_schedule_sync', args=[self.fabric.pk])
        response = self.client.post(url, HTTP_ACCEPT='application/json')
        self.assertHttpStatus(response, 202)
        self.assertFalse(response.json()['worker_listening'])
        self.assertIn(TRIGGER_WARNING, response.json()['warning'])
        self.assertEqual(response[WARNING_HEADER], response.json()['warning'])


class TriggerWarningAPITestCase(RQQueueTestMixin, APITestCase):
    rq_queue_names = (QUEUE_NAME,)

    @classmethod
    def setUpTestData(cls):
        cls.fabric = HedgehogFabric.objects.create(name='fabric-1')

    def sync(self):
        self.add_permissions('netbox_hedgehog.change_hedgehogfabric')
        url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-sync', args=[self.fabric.pk])
        response = self.client.post(url, {}, format='json', **self.header)
        self.assertHttpStatus(response, status.HTTP_202_ACCEPTED)
        return response

    def test_sync_action_warns_in_a_field_and_a_header_when_no_worker_listens(self):
        response = self.sync()
        self.assertFalse(response.data['worker_listening'])
        self.assertIn(TRIGGER_WARNING, response.data['warning'])
        self.assertEqual(response[WARNING_HEADER], response.data['warning'])
        self.assertTrue(response.data['job_id'])  # queued all the same: it runs once a worker starts

    def test_sync_action_has_no_warning_when_a_worker_listens(self):
        with fake_processes():
            response = self.sync()
        self.assertTrue(response.data['worker_listening'])
        self.assertEqual(response.data['warning'], '')
        self.assertNotIn(WARNING_HEADER, response)


class DashboardWidgetTestCase(RQQueueTestMixin, TestCase):
    rq_queue_names = (QUEUE_NAME,)

    @classmethod
    def setUpTestData(cls):
        HedgehogFabric.objects.create(name='a-fine')
        HedgehogFabric.objects.filter(name='a-fine').update(sync_status=SyncStatusChoices.IN_SYNC)
        HedgehogFabric.objects.create(name='b-new')
        failing = HedgehogFabric.objects.create(name='c-failing')
        HedgehogFabric.objects.filter(pk=failing.pk).update(
            sync_status=SyncStatusChoices.ERROR,
            sync_error='Kubernetes: connection refused',
        )

    def setUp(self):
        super().setUp()
        dashboard = Dashboard(user=self.user)
        dashboard.add_widget(FabricSyncWidget())
        dashboard.save()

    def home(self):
        response = self.client.get(reverse('home'))
        self.assertHttpStatus(response, 200)
        content = response.content.decode()
        self.assertNotIn('An error was encountered when attempting to render this widget', content)
        return content

    def test_widget_lists_failing_fabrics_first_and_counts_by_status(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        content = self.home()
        self.assertIn('Hedgehog fabrics', content)
        self.assertIn('Error: 1', content)
        self.assertIn('Never synced: 1', content)
        self.assertIn('In sync: 1', content)
        self.assertLess(content.index('c-failing'), content.index('b-new'))
        self.assertIn('Kubernetes: connection refused', content)
        self.assertNotIn('>a-fine<', content)  # in sync: counted, not listed

    def test_widget_shows_process_health(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        content = self.home()
        self.assertIn('id="hedgehog-widget-health"', content)
        self.assertIn(NO_WORKER, content)
        with fake_processes():
            content = self.home()
        self.assertIn('1 worker(s) and 1 scheduler(s) alive', content)
        self.assertNotIn(NO_WORKER, content)

    def test_widget_without_permission_shows_no_fabric(self):
        content = self.home()
        self.assertIn('No permission to view fabrics', content)
        self.assertNotIn('c-failing', content)


class RunStatusTestCase(RQQueueTestMixin, TestCase):
    """During a run the status stays the last outcome, with "running since" beside it; an overdue next run is shown."""

    rq_queue_names = (QUEUE_NAME,)

    @classmethod
    def setUpTestData(cls):
        cls.now = timezone.now()
        cls.fabric = HedgehogFabric.objects.create(name='fabric-1')
        SyncRun.objects.create(
            fabric=cls.fabric,
            trigger=SyncTriggerChoices.SCHEDULE,
            outcome=SyncOutcomeChoices.FAILED,
            started_at=cls.now - timedelta(minutes=5),
            finished_at=cls.now - timedelta(minutes=5),
            error='Kubernetes: connection refused',
        )

    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.view_syncrun')

    def pages(self):
        for url in (reverse('plugins:netbox_hedgehog:hedgehogfabric_list'), self.fabric.get_absolute_url()):
            response = self.client.get(url)
            self.assertHttpStatus(response, 200)
            yield url, response.content.decode()

    def test_a_running_fabric_shows_its_last_outcome_and_since_when_it_runs(self):
        HedgehogFabric.objects.filter(pk=self.fabric.pk).update(sync_status=SyncStatusChoices.SYNCING)
        started = self.now - timedelta(seconds=7)
        SyncRun.objects.create(fabric=self.fabric, trigger=SyncTriggerChoices.SCHEDULE, started_at=started)
        for url, content in self.pages():
            with self.subTest(url=url):
                self.assertIn('>Failed</span>', content)
                self.assertNotIn('>Syncing</span>', content)
                self.assertIn('running since', content)
                self.assertIn(timezone.localtime(started).strftime('%H:%M:%S'), content)

    def test_a_next_run_in_the_past_is_shown_as_a_problem(self):
        HedgehogFabric.objects.filter(pk=self.fabric.pk).update(
            sync_status=SyncStatusChoices.ERROR,
            next_sync=self.now - timedelta(minutes=2),
        )
        for url, content in self.pages():
            with self.subTest(url=url):
                self.assertIn('(overdue)', content)
                self.assertNotIn('running since', content)

        HedgehogFabric.objects.filter(pk=self.fabric.pk).update(next_sync=timezone.now() + timedelta(minutes=2))
        for url, content in self.pages():
            with self.subTest(url=url):
                self.assertNotIn('(overdue)', content)

    def test_the_run_table_labels_each_source_of_a_partial_run_and_keeps_the_error_whole_on_hover(self):
        error = 'Kubernetes: ' + 'cannot reach https://10.0.0.1:6443 ' * 5 + 'because the certificate expired'
        run = SyncRun.objects.create(
            fabric=self.fabric,
            trigger=SyncTriggerChoices.MANUAL,
            outcome=SyncOutcomeChoices.PARTIAL,
            started_at=self.now,
            step_durations={'fetch_kubernetes': 0.5, 'fetch_git': 0.2, 'diff': 0.01},
            git_commit='0123456789abcdef' * 2 + '01234567',
            error=error,
        )
        response = self.client.get(reverse('plugins:netbox_hedgehog:syncrun_list'), {'id': run.pk})
        content = response.content.decode()
        self.assertIn('title="failed">Kubernetes</span>', content)
        self.assertIn('title="read">Git</span>', content)
        self.assertIn('>0123456789ab</span>', content)  # 12 characters shown, all 40 on hover
        self.assertIn(f'title="{run.git_commit}"', content)
        self.assertIn(f'title="{error}"', content)
        self.assertNotIn(f'>{error}<', content)
        detail = self.client.get(run.get_absolute_url()).content.decode()
        self.assertIn('title="failed">Kubernetes</span>', detail)
        self.assertIn('title="read">Git</span>', detail)
        self.assertIn('because the certificate expired', detail)  # the whole error on the run's page


@pytest.mark.integration
def test_a_sigkilled_rqworker_is_reported_dead_within_60_s(tasks_redis, transactional_db):
    """The real thing: ``rqworker --worker-ttl 30`` killed with SIGKILL; its forked scheduler lives on."""
    log_dir = ARTIFACTS / 'integration' / 'sigkilled-worker'
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = LiveProcesses(log_dir)  # only its process handling: no scheduler is needed here
    processes.start('worker', 'rqworker', '--worker-ttl', '30', QUEUE_NAME)
    process = processes.processes['worker']
    try:
        # Starting NetBox takes minutes on a loaded machine; that is not what is measured.
        [name] = wait_until(lambda: process_health(queue()).workers, timeout=300, message='the worker alive')
        os.kill(process.pid, signal.SIGKILL)  # the worker only, as the OOM killer would
        killed = time.monotonic()
        wait_until(lambda: not process_health(queue()).workers, timeout=60, message='the dead worker reported')
        print(f'reported dead {time.monotonic() - killed:.1f} s after SIGKILL')
        assert name in [worker.name for worker in Worker.all(queue=queue())]  # RQ still lists it
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the worker and its orphaned scheduler
        process.wait()
