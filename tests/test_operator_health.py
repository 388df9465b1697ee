"""Process health where the operator looks: the banner on the fabric pages, the dashboard widget, and the warning
that "Sync now", "Dry run", "Test connection" and the API's sync action give when no worker will run the job.

Workers and schedulers are registered in the tasks Redis the way RQ and rq-scheduler register themselves; a
worker's liveness also needs its own Redis connection named after it, as RQ names it, which ``dead`` closes the
way the kernel closes a killed process's socket.
"""

import time
from contextlib import contextmanager
from datetime import timedelta

import django_rq
import redis
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
from tests.live import wait_until

BANNER = 'id="hedgehog-process-health"'
NO_WORKER = 'No rqworker is listening on the netbox_hedgehog.hedgehog_sync queue'
NO_SCHEDULER = 'No rqscheduler is running'
WORKER_COMMAND = 'manage.py rqworker netbox_hedgehog.hedgehog_sync'
TRIGGER_WARNING = 'No worker is listening on netbox_hedgehog.hedgehog_sync'


def tasks_connection():
    return django_rq.get_connection(QUEUE_NAME)


class FakeWorker:
    """An rqworker as Redis sees it: registered for the sync queue, heartbeating, on a connection of its own."""

    def __init__(self, name):
        base = tasks_connection()
        self.connection = redis.Redis(connection_pool=redis.ConnectionPool(**base.connection_pool.connection_kwargs))
        queue = Queue(QUEUE_NAME, connection=self.connection)
        self.worker = Worker([queue], connection=self.connection, name=name)  # names its connection
        self.worker.register_birth()

    def kill(self):
        """What SIGKILL leaves behind: the registration and its last heartbeat, but no connection."""
        self.connection.connection_pool.disconnect()


@contextmanager
def live_processes(worker='worker-1'):
    """A live worker on the sync queue and a live rq-scheduler, for the duration of the block."""
    fake = FakeWorker(worker)
    scheduler_key = f'{Scheduler.redis_scheduler_namespace_prefix}test-scheduler'
    tasks_connection().hset(scheduler_key, 'birth', time.time())
    tasks_connection().expire(scheduler_key, 60)
    try:
        yield fake
    finally:
        fake.kill()
        tasks_connection().delete(scheduler_key)


def queue():
    return Queue(QUEUE_NAME, connection=tasks_connection())


class ProcessHealthTestCase(RQQueueTestMixin, TestCase):
    rq_queue_names = (QUEUE_NAME,)

    def test_a_killed_worker_is_dead_at_once_although_rq_still_lists_it(self):
        fake = FakeWorker('doomed')
        self.assertEqual(process_health(queue()).workers, ['doomed'])

        fake.kill()

        wait_until(lambda: not process_health(queue()).workers, timeout=30, message='the killed worker reported dead')
        health = process_health(queue())
        self.assertIn('doomed', [worker.name for worker in Worker.all(queue=queue())])  # RQ's registry keeps it
        self.assertIsNotNone(health.workers_seen)
        self.assertIn('last seen alive', health.problems()[0])

    def test_a_connected_worker_with_a_stale_heartbeat_is_dead(self):
        with live_processes('frozen') as fake:
            self.assertEqual(process_health(queue()).workers, ['frozen'])
            stale = timezone.now() - timedelta(seconds=DEFAULT_WORKER_TTL + 1)
            tasks_connection().hset(fake.worker.key, 'last_heartbeat', utcformat(stale))  # hung while connected
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
                self.assertIn('rqscheduler --interval 1', content)

    def test_banner_says_since_when_a_worker_is_gone(self):
        with live_processes() as fake:
            list(self.pages())  # seen alive by the pages
            fake.kill()
            wait_until(lambda: not process_health(queue()).workers, timeout=30)
            for url, content in self.pages():
                with self.subTest(url=url):
                    self.assertIn(NO_WORKER, content)
                    self.assertIn('last seen alive', content)
                    self.assertNotIn(NO_SCHEDULER, content)

    def test_no_banner_with_a_live_worker_and_scheduler(self):
        with live_processes():
            for url, content in self.pages():
                with self.subTest(url=url):
                    self.assertNotIn(BANNER, content)

    def test_banner_with_a_scheduler_but_no_worker(self):
        with live_processes() as fake:
            fake.kill()
            wait_until(lambda: not process_health(queue()).workers, timeout=30)
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
        with live_processes():
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
        with live_processes():
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
        with live_processes():
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
