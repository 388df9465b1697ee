"""The answer to "sync now" and "test connection", built in one place: the job, whether it joined a waiting one,
whether a worker listens (a fresh heartbeat on the sync queue), and for a sync the link to its run."""

import django_rq
from django.urls import reverse
from rest_framework import status
from rq import Worker
from utilities.testing import APITestCase
from utilities.testing.mixins import RQQueueTestMixin

from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME


class TriggerResponseAPITestCase(RQQueueTestMixin, APITestCase):
    rq_queue_names = (QUEUE_NAME,)
    model = HedgehogFabric

    @classmethod
    def setUpTestData(cls):
        cls.fabric = HedgehogFabric.objects.create(name='answered', git_repository_url='/nonexistent/wiring')

    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.change_hedgehogfabric', 'netbox_hedgehog.view_syncrun')

    def sync(self):
        url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-sync', args=[self.fabric.pk])
        response = self.client.post(url, **self.header)
        self.assertHttpStatus(response, status.HTTP_202_ACCEPTED)
        return response.data

    def test_sync_answer_links_to_its_run(self):
        answer = self.sync()
        self.assertEqual(answer['fabric'], self.fabric.pk)
        self.assertTrue(answer['run'].endswith(f'/api/plugins/hedgehog/sync-runs/?job_id={answer["job_id"]}'))
        self.assertEqual(self.client.get(answer['run'], **self.header).data['count'], 0)  # not started yet

        self.run_rq_jobs(QUEUE_NAME)

        (run,) = self.client.get(answer['run'], **self.header).data['results']
        self.assertEqual((run['job_id'], run['outcome']['value']), (answer['job_id'], 'failed'))

    def test_sync_answer_says_whether_a_worker_listens(self):
        self.assertFalse(self.sync()['worker_listening'])

        connection = django_rq.get_connection(QUEUE_NAME)
        worker = Worker([django_rq.get_queue(QUEUE_NAME)], connection=connection)
        worker.register_birth()
        worker.heartbeat()
        try:
            self.assertTrue(self.sync()['worker_listening'])
        finally:
            worker.register_death()

    def test_connection_test_answer_has_the_same_shape_without_a_run(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        self.client.force_login(self.user)
        url = reverse('plugins:netbox_hedgehog:hedgehogfabric_test_connection', args=[self.fabric.pk])
        answer = self.client.post(url, HTTP_ACCEPT='application/json').json()
        self.assertEqual(set(answer), {'fabric', 'job_id', 'coalesced', 'worker_listening', 'warning'})
