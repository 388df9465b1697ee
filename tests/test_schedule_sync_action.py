"""The "schedule sync" actions through their real URLs: the list's bulk action, the per-fabric
URL (JSON for scripts, a redirect for the detail page's button) and the REST API action.

Each queues ``execute_fabric_sync(fabric_id)`` on the plugin's RQ queue (checked in Redis);
a second request while the first job waits is coalesced into it.
"""

import django_rq
from core.models import ObjectType
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework import status
from users.models import ObjectPermission
from utilities.testing import APITestCase, TestCase
from utilities.testing.mixins import RQQueueTestMixin

from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, SYNC_FUNCTION


class QueueAssertions(RQQueueTestMixin):
    rq_queue_names = (QUEUE_NAME,)

    def queued_fabric_ids(self):
        jobs = django_rq.get_queue(QUEUE_NAME).get_jobs()
        self.assertTrue(all(job.func_name == SYNC_FUNCTION for job in jobs))
        return sorted(job.args[0] for job in jobs)

    def queued_options(self):
        """(fabric id, dry_run, allow_empty_kinds) of each queued sync."""
        return sorted(
            (job.args[0], job.kwargs['dry_run'], job.kwargs['allow_empty_kinds'])
            for job in django_rq.get_queue(QUEUE_NAME).get_jobs()
        )

    def grant_change(self, **constraints):
        permission = ObjectPermission.objects.create(
            name='change fabrics',
            actions=['change'],
            constraints=constraints or None,
        )
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))


class ScheduleSyncUITestCase(QueueAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fabrics = [HedgehogFabric.objects.create(name=f'fabric-{i}') for i in (1, 2, 3)]

    def bulk(self, *fabrics):
        return self.client.post(
            reverse('plugins:netbox_hedgehog:hedgehogfabric_bulk_schedule_sync'),
            {'pk': [f.pk for f in fabrics], 'return_url': reverse('plugins:netbox_hedgehog:hedgehogfabric_list')},
        )

    def schedule_url(self, pk):
        return reverse('plugins:netbox_hedgehog:hedgehogfabric_schedule_sync', args=[pk])

    def test_bulk_action_queues_one_job_per_fabric_and_coalesces(self):
        self.grant_change()
        first, second = self.fabrics[:2]
        response = self.bulk(first, second)
        self.assertRedirects(
            response, reverse('plugins:netbox_hedgehog:hedgehogfabric_list'), fetch_redirect_response=False
        )
        self.assertEqual(self.queued_fabric_ids(), [first.pk, second.pk])
        self.assertEqual(
            [m.level_tag for m in get_messages(response.wsgi_request)],
            ['warning', 'warning'],  # queued, but no worker listens here (tests/test_operator_health.py)
        )

        response = self.bulk(first, second)
        self.assertEqual(self.queued_fabric_ids(), [first.pk, second.pk])
        coalesced = [str(m) for m in get_messages(response.wsgi_request) if 'already queued' in str(m)]
        self.assertEqual(len(coalesced), 2)

    def test_list_offers_the_bulk_action_to_users_who_may_change(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        list_url = reverse('plugins:netbox_hedgehog:hedgehogfabric_list')
        bulk_url = reverse('plugins:netbox_hedgehog:hedgehogfabric_bulk_schedule_sync')
        self.assertNotContains(self.client.get(list_url), bulk_url)
        self.grant_change()
        self.assertContains(self.client.get(list_url), bulk_url)

    def test_bulk_action_without_permission_is_refused(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        self.assertHttpStatus(self.bulk(*self.fabrics), 403)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_bulk_action_honours_object_permissions(self):
        allowed = self.fabrics[0]
        self.grant_change(pk=allowed.pk)
        self.bulk(*self.fabrics)
        self.assertEqual(self.queued_fabric_ids(), [allowed.pk])

    def test_bulk_action_rejects_get(self):
        self.grant_change()
        self.assertHttpStatus(
            self.client.get(reverse('plugins:netbox_hedgehog:hedgehogfabric_bulk_schedule_sync')), 405
        )

    def test_fabric_url_returns_json_and_coalesces(self):
        self.grant_change()
        fabric = self.fabrics[0]
        response = self.client.post(self.schedule_url(fabric.pk))
        self.assertHttpStatus(response, 202)
        first = response.json()
        self.assertEqual(first['fabric'], fabric.pk)
        self.assertFalse(first['coalesced'])
        self.assertEqual(self.queued_fabric_ids(), [fabric.pk])
        self.assertEqual(django_rq.get_queue(QUEUE_NAME).get_job_ids(), [first['job_id']])

        second = self.client.post(self.schedule_url(fabric.pk)).json()
        self.assertEqual(second, {**first, 'coalesced': True})
        self.assertEqual(self.queued_fabric_ids(), [fabric.pk])

    def dry_run_url(self, pk):
        return reverse('plugins:netbox_hedgehog:hedgehogfabric_dry_run', args=[pk])

    def test_dry_run_url_queues_a_dry_run_beside_a_sync(self):
        self.grant_change()
        fabric = self.fabrics[0]
        response = self.client.post(self.dry_run_url(fabric.pk))
        self.assertHttpStatus(response, 202)
        self.assertFalse(response.json()['coalesced'])
        self.assertEqual(self.queued_options(), [(fabric.pk, True, False)])
        # A sync is another action: it does not join the queued dry run.
        self.assertFalse(self.client.post(self.schedule_url(fabric.pk)).json()['coalesced'])
        self.assertEqual(self.queued_options(), [(fabric.pk, False, False), (fabric.pk, True, False)])
        self.assertTrue(self.client.post(self.dry_run_url(fabric.pk)).json()['coalesced'])

    def test_dry_run_button_redirects_with_a_message(self):
        self.grant_change()
        fabric = self.fabrics[0]
        response = self.client.post(
            self.dry_run_url(fabric.pk),
            {'return_url': fabric.get_absolute_url()},
            HTTP_ACCEPT='text/html',
        )
        self.assertRedirects(response, fabric.get_absolute_url(), fetch_redirect_response=False)
        [message] = get_messages(response.wsgi_request)
        self.assertTrue(str(message).startswith('Queued a dry run of fabric-1 (job '))

    def test_dry_run_url_needs_the_change_permission(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        self.assertHttpStatus(self.client.post(self.dry_run_url(self.fabrics[0].pk)), 403)
        self.grant_change(pk=self.fabrics[0].pk)
        self.assertHttpStatus(self.client.post(self.dry_run_url(self.fabrics[1].pk)), 404)
        self.assertHttpStatus(self.client.get(self.dry_run_url(self.fabrics[0].pk)), 405)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_fabric_url_redirects_a_browser_back_with_a_message(self):
        self.grant_change()
        fabric = self.fabrics[0]
        response = self.client.post(
            self.schedule_url(fabric.pk),
            {'return_url': fabric.get_absolute_url()},
            HTTP_ACCEPT='text/html',
        )
        self.assertRedirects(response, fabric.get_absolute_url(), fetch_redirect_response=False)
        [message] = get_messages(response.wsgi_request)
        self.assertTrue(str(message).startswith('Queued a sync of fabric-1 (job '))
        self.assertEqual(self.queued_fabric_ids(), [fabric.pk])

    def test_fabric_url_without_permission_is_refused(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        self.assertHttpStatus(self.client.post(self.schedule_url(self.fabrics[0].pk)), 403)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_fabric_url_outside_object_permission_is_not_found(self):
        self.grant_change(pk=self.fabrics[0].pk)
        self.assertHttpStatus(self.client.post(self.schedule_url(self.fabrics[1].pk)), 404)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_fabric_url_unknown_fabric(self):
        self.grant_change()
        self.assertHttpStatus(self.client.post(self.schedule_url(999999)), 404)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_fabric_url_rejects_get(self):
        self.grant_change()
        self.assertHttpStatus(self.client.get(self.schedule_url(self.fabrics[0].pk)), 405)
        self.assertEqual(self.queued_fabric_ids(), [])


class ScheduleSyncAPITestCase(QueueAssertions, APITestCase):
    model = HedgehogFabric

    @classmethod
    def setUpTestData(cls):
        cls.fabric = HedgehogFabric.objects.create(name='fabric-api')

    def sync_url(self, pk):
        return reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-sync', args=[pk])

    def test_sync_action_returns_202_and_coalesces(self):
        self.grant_change()
        response = self.client.post(self.sync_url(self.fabric.pk), **self.header)
        self.assertHttpStatus(response, status.HTTP_202_ACCEPTED)
        self.assertEqual(response.data['fabric'], self.fabric.pk)
        self.assertFalse(response.data['coalesced'])
        self.assertEqual(django_rq.get_queue(QUEUE_NAME).get_job_ids(), [response.data['job_id']])
        self.assertEqual(self.queued_fabric_ids(), [self.fabric.pk])

        again = self.client.post(self.sync_url(self.fabric.pk), **self.header)
        self.assertHttpStatus(again, status.HTTP_202_ACCEPTED)
        self.assertTrue(again.data['coalesced'])
        self.assertEqual(again.data['job_id'], response.data['job_id'])
        self.assertEqual(self.queued_fabric_ids(), [self.fabric.pk])

    def test_sync_action_takes_dry_run_and_allow_empty_kinds(self):
        self.grant_change()
        response = self.client.post(self.sync_url(self.fabric.pk), {'dry_run': True}, format='json', **self.header)
        self.assertHttpStatus(response, status.HTTP_202_ACCEPTED)
        self.assertEqual(self.queued_options(), [(self.fabric.pk, True, False)])
        response = self.client.post(
            self.sync_url(self.fabric.pk),
            {'allow_empty_kinds': True},
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_202_ACCEPTED)
        self.assertEqual(self.queued_options(), [(self.fabric.pk, False, True), (self.fabric.pk, True, False)])

    def test_sync_action_without_a_body_is_a_plain_sync(self):
        self.grant_change()
        self.assertHttpStatus(self.client.post(self.sync_url(self.fabric.pk), **self.header), 202)
        self.assertEqual(self.queued_options(), [(self.fabric.pk, False, False)])

    def test_sync_action_rejects_an_invalid_body(self):
        self.grant_change()
        for body in ({'dry_run': 'maybe'}, {'allow_empty_kinds': [True]}, {'dry_run': {'x': 1}}, [True]):
            with self.subTest(body=body):
                response = self.client.post(self.sync_url(self.fabric.pk), body, format='json', **self.header)
                self.assertHttpStatus(response, status.HTTP_400_BAD_REQUEST)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_dry_run_through_the_api_needs_the_change_permission(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.add_hedgehogfabric')
        response = self.client.post(self.sync_url(self.fabric.pk), {'dry_run': True}, format='json', **self.header)
        self.assertHttpStatus(response, status.HTTP_403_FORBIDDEN)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_sync_action_without_change_permission(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.add_hedgehogfabric')
        self.assertHttpStatus(self.client.post(self.sync_url(self.fabric.pk), **self.header), 403)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_sync_action_unknown_fabric(self):
        self.grant_change()
        self.assertHttpStatus(self.client.post(self.sync_url(999999), **self.header), 404)
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_sync_action_rejects_get(self):
        self.grant_change()
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        self.assertHttpStatus(self.client.get(self.sync_url(self.fabric.pk), **self.header), 405)
        self.assertEqual(self.queued_fabric_ids(), [])
