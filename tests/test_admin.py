"""The opt-in Django admin and its "Schedule sync" action.

``django.contrib.admin`` is installed only with the plugin setting ``enable_django_admin``,
and INSTALLED_APPS cannot change inside a process: the admin tests below run in a pytest
subprocess whose configuration turns the setting on (``HEDGEHOG_ENABLE_DJANGO_ADMIN``, on
a database of its own), launched by ``test_admin_enabled_suite``. In the default process they
are skipped, and the tests there check that the plugin works without the admin.
"""

import os
import subprocess
import sys
from pathlib import Path

import django_rq
import pytest
from core.models import ObjectType
from django.apps import apps
from django.conf import settings
from users.models import ObjectPermission
from utilities.testing import TestCase
from utilities.testing.mixins import RQQueueTestMixin

from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME

ADMIN_INSTALLED = apps.is_installed('django.contrib.admin')
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
@pytest.mark.skipif(ADMIN_INSTALLED, reason='this process is the admin-enabled run')
def test_admin_enabled_suite():
    """Run this module with the admin enabled, in a subprocess on its own database, and require it to pass."""
    env = {
        **os.environ,
        'HEDGEHOG_ENABLE_DJANGO_ADMIN': '1',
        'HEDGEHOG_DB_NAME': f'{settings.DATABASES["default"]["NAME"]}_admin',
    }
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', __file__, '-q', '-p', 'no:cacheprovider', '-rs'],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert ' passed' in result.stdout and ' skipped' in result.stdout


@pytest.mark.skipif(ADMIN_INSTALLED, reason='checks the default, admin-less configuration')
class WithoutAdminTestCase(TestCase):
    def test_no_admin_url(self):
        self.assertEqual(self.client.get('/plugins/hedgehog/admin/').status_code, 404)

    def test_admin_module_is_harmless(self):
        import netbox_hedgehog.admin as module

        self.assertFalse(hasattr(module, 'admin_site'))


@pytest.mark.skipif(not ADMIN_INSTALLED, reason='needs enable_django_admin (run by test_admin_enabled_suite)')
class AdminScheduleSyncTestCase(RQQueueTestMixin, TestCase):
    rq_queue_names = (QUEUE_NAME,)

    @classmethod
    def setUpTestData(cls):
        cls.fabrics = [
            HedgehogFabric.objects.create(
                name='fabric-1', kubernetes_server='https://10.0.0.1:6443', kubernetes_token='admin-secret-token'
            ),
            HedgehogFabric.objects.create(name='fabric-2'),
        ]

    def setUp(self):
        super().setUp()
        # Admin URLs reverse only inside an admin request (see netbox_hedgehog.admin), so spell them out.
        self.changelist = '/plugins/hedgehog/admin/netbox_hedgehog/hedgehogfabric/'

    def grant(self, *actions):
        permission = ObjectPermission.objects.create(name='fabrics', actions=list(actions))
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))

    def run_action(self):
        return self.client.post(
            self.changelist,
            {
                'action': 'schedule_sync',
                '_selected_action': [f.pk for f in self.fabrics],
                'index': 0,
            },
        )

    def queued_fabric_ids(self):
        return sorted(job.args[0] for job in django_rq.get_queue(QUEUE_NAME).get_jobs())

    def test_admin_is_served_under_the_plugin(self):
        self.grant('view', 'change')
        self.assertEqual(self.client.get('/plugins/hedgehog/admin/').status_code, 200)
        response = self.client.get(self.changelist)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'Schedule sync')
        change = self.client.get(f'{self.changelist}{self.fabrics[0].pk}/change/')
        self.assertEqual(change.status_code, 200)
        self.assertNotContains(change, 'admin-secret-token')
        self.assertNotContains(change, 'kubernetes_token')

    def test_schedule_sync_action_queues_the_selected_fabrics(self):
        self.grant('view', 'change')
        response = self.run_action()
        self.assertRedirects(response, self.changelist, fetch_redirect_response=False)
        self.assertEqual(self.queued_fabric_ids(), [f.pk for f in self.fabrics])
        self.run_action()
        self.assertEqual(self.queued_fabric_ids(), [f.pk for f in self.fabrics])

    def test_schedule_sync_action_needs_the_change_permission(self):
        self.grant('view')
        response = self.client.get(self.changelist)
        self.assertNotContains(response, 'value="schedule_sync"')
        self.run_action()
        self.assertEqual(self.queued_fabric_ids(), [])

    def test_anonymous_users_are_sent_to_netbox_login(self):
        self.client.logout()
        response = self.client.get(self.changelist, follow=True)
        self.assertTrue(response.redirect_chain[-1][0].startswith(settings.LOGIN_URL), response.redirect_chain)

    def test_schedule_sync_action_checks_the_permission_itself(self):
        from django.core.exceptions import PermissionDenied
        from django.test import RequestFactory

        from netbox_hedgehog.admin import admin_site

        self.grant('view')
        request = RequestFactory().post(self.changelist)
        request.user = self.user
        model_admin = admin_site.get_model_admin(HedgehogFabric)
        with self.assertRaises(PermissionDenied):
            model_admin.schedule_sync(request, HedgehogFabric.objects.all())
        self.assertEqual(self.queued_fabric_ids(), [])


@pytest.mark.skipif(not ADMIN_INSTALLED, reason='needs enable_django_admin (run by test_admin_enabled_suite)')
class AdminObjectPermissionsTestCase(TestCase):
    """The admin obeys NetBox's constrained object permissions, as NetBox's own views do."""

    @classmethod
    def setUpTestData(cls):
        cls.allowed = HedgehogFabric.objects.create(
            name='fabric-a', kubernetes_server='https://10.0.0.1:6443', kubernetes_token='admin-secret-token-a'
        )
        cls.other = HedgehogFabric.objects.create(
            name='fabric-b', kubernetes_server='https://10.0.0.2:6443', kubernetes_token='admin-secret-token-b'
        )

    def setUp(self):
        super().setUp()
        self.changelist = '/plugins/hedgehog/admin/netbox_hedgehog/hedgehogfabric/'

    def grant(self, actions, **constraints):
        permission = ObjectPermission.objects.create(
            name=f'fabrics {actions}', actions=list(actions), constraints=constraints or None
        )
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))

    def change_data(self, fabric, **changes):
        return {
            'name': fabric.name,
            'description': '',
            'kubernetes_server': fabric.kubernetes_server,
            'kubernetes_namespace': 'default',
            'kubernetes_ca_cert': '',
            'git_repository_url': '',
            'git_branch': 'main',
            'git_path': '',
            'sync_enabled': 'on',
            'scheduler_enabled': 'on',
            'sync_interval': 300,
            **changes,
        }

    def fetch(self, fabric):
        return HedgehogFabric.objects.filter(pk=fabric.pk).first()

    def test_list_and_pages_show_only_permitted_fabrics(self):
        self.grant(('view', 'change', 'delete'), name='fabric-a')
        response = self.client.get(self.changelist)
        self.assertContains(response, 'fabric-a')
        self.assertNotContains(response, 'fabric-b')
        self.assertEqual(self.client.get(f'{self.changelist}{self.allowed.pk}/change/').status_code, 200)
        # Another fabric is "not found" for this user: the admin redirects to its index.
        self.assertEqual(self.client.get(f'{self.changelist}{self.other.pk}/change/').status_code, 302)

    def test_other_fabric_cannot_be_edited_or_deleted(self):
        self.grant(('view', 'change', 'delete'), name='fabric-a')
        self.client.post(
            f'{self.changelist}{self.other.pk}/change/',
            self.change_data(self.other, kubernetes_server='https://attacker.example:6443'),
        )
        self.client.post(f'{self.changelist}{self.other.pk}/delete/', {'post': 'yes'})
        self.assertEqual(self.fetch(self.other).kubernetes_server, 'https://10.0.0.2:6443')

    def test_view_everything_change_one(self):
        self.grant(('view',))
        self.grant(('change', 'delete'), name='fabric-a')
        self.assertContains(self.client.get(self.changelist), 'fabric-b')
        response = self.client.post(
            f'{self.changelist}{self.other.pk}/change/', self.change_data(self.other, description='edited')
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(
            self.client.post(f'{self.changelist}{self.other.pk}/delete/', {'post': 'yes'}).status_code, 403
        )
        bulk_delete = self.client.post(
            self.changelist,
            {'action': 'delete_selected', '_selected_action': [self.allowed.pk, self.other.pk], 'post': 'yes'},
        )
        self.assertEqual(bulk_delete.status_code, 403)
        self.assertIsNotNone(self.fetch(self.allowed))
        self.assertEqual(self.fetch(self.other).description, '')

    def test_an_edit_must_stay_inside_the_constraints(self):
        self.grant(('view', 'change'), name='fabric-a')
        response = self.client.post(
            f'{self.changelist}{self.allowed.pk}/change/', self.change_data(self.allowed, name='fabric-renamed')
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.fetch(self.allowed).name, 'fabric-a')

    def test_permitted_edit_works_and_a_new_server_drops_the_token(self):
        from netbox_hedgehog.fields import reveal

        self.grant(('view', 'change'), name='fabric-a')
        response = self.client.post(
            f'{self.changelist}{self.allowed.pk}/change/',
            self.change_data(self.allowed, kubernetes_server='https://10.0.9.9:6443'),
        )
        self.assertEqual(response.status_code, 302)
        fabric = self.fetch(self.allowed)
        self.assertEqual((fabric.kubernetes_server, reveal(fabric.kubernetes_token)), ('https://10.0.9.9:6443', ''))
