"""A fabric editor cannot make the worker write devices they may not write themselves.

The DCIM mapping creates, adopts, changes and deletes devices, interfaces and cables with the
worker's rights. Turning it on, aiming it (site, tenant, source, conflict policy), turning pruning
on, or moving where a mapped fabric reads from needs the mapping's rights and a visible site and
tenant (``netbox_hedgehog.dcim.rights``); the UI form, the bulk edit and the REST API all refuse it
otherwise, and leave the fabric as it was.
"""

from dcim.models import Site
from django.urls import reverse
from rest_framework import status
from tenancy.models import Tenant
from utilities.testing import APITestCase, TestCase

from netbox_hedgehog.dcim.rights import MAPPING_PERMISSIONS
from netbox_hedgehog.models import HedgehogFabric
from tests.base import ObjectPermissionMixin

FABRIC_RIGHTS = ('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.change_hedgehogfabric')
GIT_URL = 'https://git.example.com/org/fabric.git'


def fabric_and_sites():
    site = Site.objects.create(name='DC 1', slug='dc-1')
    hidden = Site.objects.create(name='DC 2', slug='dc-2')
    fabric = HedgehogFabric.objects.create(name='mapped', git_repository_url=GIT_URL, prune=False)
    return fabric, site, hidden


def map_as_administrator(fabric, site, **fields):
    """Turn the mapping on as an administrator would (no request, so no rights check)."""
    for name, value in {'dcim_sync': True, 'dcim_site': site, **fields}.items():
        setattr(fabric, name, value)
    fabric.save()


class MappingRightsAPITestCase(ObjectPermissionMixin, APITestCase):
    def setUp(self):
        super().setUp()
        self.fabric, self.site, self.hidden = fabric_and_sites()
        self.add_permissions(*FABRIC_RIGHTS)
        self.url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[self.fabric.pk])

    def patch(self, **data):
        return self.client.patch(self.url, data, format='json', **self.header)

    def assert_refused(self, response, field, text):
        self.assertHttpStatus(response, status.HTTP_400_BAD_REQUEST)
        self.assertIn(field, response.json())
        self.assertIn(text, str(response.json()[field]))

    def test_a_fabric_editor_cannot_turn_the_mapping_on(self):
        response = self.patch(dcim_sync=True, dcim_site=self.site.pk)
        self.assert_refused(response, 'dcim_sync', 'dcim.delete_device')
        self.fabric.refresh_from_db()
        self.assertFalse(self.fabric.dcim_sync)

    def test_with_the_mappings_rights_the_editor_can_turn_it_on_in_a_site_they_see(self):
        self.add_permissions(*MAPPING_PERMISSIONS)
        self.grant(Site, 'view', slug='dc-1')
        self.assertHttpStatus(self.patch(dcim_sync=True, dcim_site=self.site.pk), status.HTTP_200_OK)
        self.fabric.refresh_from_db()
        self.assertEqual((self.fabric.dcim_sync, self.fabric.dcim_site), (True, self.site))

    def test_a_site_or_tenant_the_editor_cannot_see_is_refused(self):
        self.add_permissions(*MAPPING_PERMISSIONS)
        self.grant(Site, 'view', slug='dc-1')
        tenant = Tenant.objects.create(name='Other', slug='other')
        self.assert_refused(self.patch(dcim_sync=True, dcim_site=self.hidden.pk), 'dcim_site', 'may not view this site')
        self.assert_refused(
            self.patch(dcim_sync=True, dcim_site=self.site.pk, dcim_tenant=tenant.pk),
            'dcim_tenant',
            'may not view this tenant',
        )
        self.fabric.refresh_from_db()
        self.assertFalse(self.fabric.dcim_sync)

    def test_on_a_mapped_fabric_the_editor_cannot_move_its_source_aim_it_or_turn_pruning_on(self):
        map_as_administrator(self.fabric, self.site)
        for field, value in (
            ('git_repository_url', 'https://attacker.example/fabric.git'),
            ('git_branch', 'other'),
            ('git_path', 'elsewhere'),
            ('kubernetes_server', 'https://10.9.0.1:6443'),
            ('dcim_site', self.hidden.pk),
            ('dcim_conflict_policy', 'adopt'),
            ('dcim_source', 'kubernetes'),
            ('prune', True),
        ):
            with self.subTest(field=field):
                self.assert_refused(self.patch(**{field: value}), field, 'needs those rights of your own')
        stored = HedgehogFabric.objects.get(pk=self.fabric.pk)
        self.assertEqual(
            (stored.git_repository_url, stored.dcim_site, stored.dcim_conflict_policy, stored.prune),
            (GIT_URL, self.site, 'report', False),
        )

    def test_on_a_mapped_fabric_other_edits_and_turning_the_mapping_off_need_nothing_more(self):
        map_as_administrator(self.fabric, self.site, prune=True)
        self.assertHttpStatus(
            self.patch(description='rack row 4', sync_interval=120, git_token='rotated-token'), status.HTTP_200_OK
        )
        self.assertHttpStatus(self.patch(prune=False), status.HTTP_200_OK)
        self.assertHttpStatus(self.patch(dcim_sync=False), status.HTTP_200_OK)
        self.fabric.refresh_from_db()
        self.assertEqual(
            (self.fabric.description, self.fabric.prune, self.fabric.dcim_sync), ('rack row 4', False, False)
        )


class MappingRightsUITestCase(TestCase):
    """The same through the edit form and the bulk edit, as a user who may edit fabrics only."""

    def setUp(self):
        super().setUp()
        self.fabric, self.site, _hidden = fabric_and_sites()
        self.add_permissions(*FABRIC_RIGHTS, 'dcim.view_site')

    def post_edit(self, **changes):
        data = {
            'name': 'mapped',
            'git_repository_url': GIT_URL,
            'git_branch': 'main',
            'kubernetes_namespace': 'default',
            'sync_enabled': 'on',
            'scheduler_enabled': 'on',
            'sync_interval': 300,
            'dcim_source': 'auto',
            'dcim_conflict_policy': 'report',
            **changes,
        }
        url = reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[self.fabric.pk])
        return self.client.post(url, data)

    def test_the_edit_form_refuses_to_turn_the_mapping_on(self):
        response = self.post_edit(dcim_sync='on', dcim_site=self.site.pk)
        self.assertHttpStatus(response, 200)
        self.assertContains(response, 'needs those rights of your own')
        self.fabric.refresh_from_db()
        self.assertFalse(self.fabric.dcim_sync)

    def test_the_bulk_edit_refuses_to_turn_pruning_on_for_a_mapped_fabric(self):
        map_as_administrator(self.fabric, self.site)
        response = self.client.post(
            reverse('plugins:netbox_hedgehog:hedgehogfabric_bulk_edit'),
            {'pk': [self.fabric.pk], '_apply': True, 'prune': 'true'},
            follow=True,
        )
        self.assertHttpStatus(response, 200)
        self.assertContains(response, 'needs those rights of your own')
        self.fabric.refresh_from_db()
        self.assertFalse(self.fabric.prune)
