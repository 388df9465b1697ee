"""The plugin's UI views, through NetBox's own generic view test cases."""

from django.urls import reverse
from django.utils import timezone

from netbox_hedgehog.choices import ResourceSourceChoices, SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from utilities.testing import TestCase, ViewTestCases, create_tags

from tests.fabric_data import GIT_SSH_KEY, GIT_TOKEN, KUBECONFIG, SECRETS, TOKEN, create_fabrics


class PluginURLMixin:
    """NetBox's view test cases name URLs ``app:model_action``; a plugin's live under ``plugins:``."""

    def _get_base_url(self):
        return f'plugins:{self.model._meta.app_label}:{self.model._meta.model_name}_{{}}'


class HedgehogFabricViewTestCase(
    PluginURLMixin,
    ViewTestCases.GetObjectViewTestCase,
    ViewTestCases.GetObjectChangelogViewTestCase,
    ViewTestCases.CreateObjectViewTestCase,
    ViewTestCases.EditObjectViewTestCase,
    ViewTestCases.DeleteObjectViewTestCase,
    ViewTestCases.ListObjectsViewTestCase,
    ViewTestCases.BulkEditObjectsViewTestCase,
    ViewTestCases.BulkDeleteObjectsViewTestCase,
):
    model = HedgehogFabric

    @classmethod
    def setUpTestData(cls):
        create_fabrics()
        tags = create_tags('Alpha', 'Bravo', 'Charlie')
        cls.form_data = {
            'name': 'fabric-new',
            'description': 'A new fabric',
            'kubernetes_server': 'https://10.1.0.1:6443',
            'kubernetes_namespace': 'fab',
            'kubernetes_token': 'new-token',
            'kubernetes_verify_tls': False,
            'git_repository_url': 'https://example.com/new.git',
            'git_branch': 'main',
            'git_token': 'new-git-token',
            'sync_enabled': True,
            'prune': False,
            'scheduler_enabled': True,
            'sync_interval': 60,
            'tags': [t.pk for t in tags],
        }
        cls.bulk_edit_data = {
            'sync_enabled': False,
            'scheduler_enabled': False,
            'sync_interval': 120,
        }


class HedgehogFabricFormTestCase(TestCase):
    """The edit form's validation and its write-only secret fields, through the real edit view."""

    @classmethod
    def setUpTestData(cls):
        create_fabrics()

    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.change_hedgehogfabric', 'netbox_hedgehog.view_hedgehogfabric')
        self.fabric = HedgehogFabric.objects.get(name='fabric-1')
        self.url = reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[self.fabric.pk])

    def post(self, **data):
        form = {
            'name': self.fabric.name, 'kubernetes_server': self.fabric.kubernetes_server,
            'kubernetes_namespace': 'default', 'git_branch': 'main', 'sync_interval': 300, 'sync_enabled': True,
            **data,
        }
        return self.client.post(self.url, {k: v for k, v in form.items() if v is not None})

    def test_edit_form_never_shows_the_stored_secrets(self):
        for fabric in HedgehogFabric.objects.all():
            response = self.client.get(reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[fabric.pk]))
            self.assertHttpStatus(response, 200)
            content = response.content.decode()
            for secret in SECRETS:
                self.assertNotIn(secret, content)
            self.assertIn('type="password"', content)
        content = self.client.get(reverse(
            'plugins:netbox_hedgehog:hedgehogfabric_edit', args=[HedgehogFabric.objects.get(name='fabric-3').pk],
        )).content.decode()
        self.assertIn('name="clear_git_token"', content)
        self.assertIn('name="clear_git_ssh_key"', content)
        self.assertNotIn('name="clear_kubernetes_token"', content)  # nothing stored, nothing to remove

    def test_empty_secret_on_edit_keeps_the_stored_one(self):
        response = self.post(description='edited', kubernetes_token='')
        self.assertHttpStatus(response, 302)
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.description, 'edited')
        self.assertEqual(self.fabric.kubernetes_token, TOKEN)

    def test_new_secret_replaces_the_stored_one(self):
        self.assertHttpStatus(self.post(kubernetes_token='rotated'), 302)
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.kubernetes_token, 'rotated')

    def test_clear_checkbox_removes_the_stored_secret(self):
        self.assertHttpStatus(self.post(clear_kubernetes_token='on'), 302)
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.kubernetes_token, '')

    def test_git_secrets_are_kept_replaced_and_removed_like_the_token(self):
        fabric = HedgehogFabric.objects.get(name='fabric-3')
        self.url = reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[fabric.pk])
        self.fabric = fabric
        git = {'git_repository_url': fabric.git_repository_url, 'kubernetes_server': ''}

        self.assertHttpStatus(self.post(description='edited', git_token='', git_ssh_key='', **git), 302)
        fabric.refresh_from_db()
        self.assertEqual((fabric.description, fabric.git_token, fabric.git_ssh_key), ('edited', GIT_TOKEN, GIT_SSH_KEY))

        self.assertHttpStatus(self.post(git_token='rotated-git-token', **git), 302)
        fabric.refresh_from_db()
        self.assertEqual((fabric.git_token, fabric.git_ssh_key), ('rotated-git-token', GIT_SSH_KEY))

        self.assertHttpStatus(self.post(clear_git_token='on', clear_git_ssh_key='on', **git), 302)
        fabric.refresh_from_db()
        self.assertEqual((fabric.git_token, fabric.git_ssh_key), ('', ''))

    def test_verify_tls_and_prune_are_edited(self):
        self.assertTrue(self.fabric.kubernetes_verify_tls)
        # An unchecked checkbox is absent from the POST: both turn off.
        self.assertHttpStatus(self.post(), 302)
        self.fabric.refresh_from_db()
        self.assertEqual((self.fabric.kubernetes_verify_tls, self.fabric.prune), (False, False))
        self.assertHttpStatus(self.post(kubernetes_verify_tls='on', prune='on'), 302)
        self.fabric.refresh_from_db()
        self.assertEqual((self.fabric.kubernetes_verify_tls, self.fabric.prune), (True, True))
        self.assertEqual(self.fabric.kubernetes_token, TOKEN)

    def test_model_validation_reaches_the_form(self):
        response = self.post(sync_interval=0, kubeconfig=KUBECONFIG)
        self.assertHttpStatus(response, 200)
        self.assertIn('Give either a kubeconfig or an API server, not both.', response.content.decode())
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.kubeconfig, '')


class HedgehogFabricDetailTestCase(TestCase):

    @classmethod
    def setUpTestData(cls):
        fabrics = create_fabrics()
        now = timezone.now()
        for i in range(12):
            SyncRun.objects.create(
                fabric=fabrics[0], trigger=SyncTriggerChoices.SCHEDULE, started_at=now - timezone.timedelta(minutes=i),
                outcome=SyncOutcomeChoices.SUCCESS, git_commit=f'{i:040x}',
            )

    def test_detail_page_shows_status_and_recent_runs_but_no_secrets(self):
        self.add_permissions(
            'netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.view_syncrun',
            'netbox_hedgehog.change_hedgehogfabric',
        )
        for fabric in HedgehogFabric.objects.all():
            content = self.client.get(fabric.get_absolute_url()).content.decode()
            for secret in SECRETS:
                self.assertNotIn(secret, content)
        content = self.client.get(HedgehogFabric.objects.get(name='fabric-3').get_absolute_url()).content.decode()
        for label in ('Verify TLS', 'Prune', 'SSH key'):
            self.assertIn(label, content)
        content = self.client.get(HedgehogFabric.objects.get(name='fabric-1').get_absolute_url()).content.decode()
        self.assertIn('Not set', content)  # the kubeconfig
        self.assertIn('Set', content)  # the token
        self.assertIn('Sync status', content)
        self.assertIn('Sync now', content)
        shown = [i for i in range(12) if f'{i:040x}' in content]
        self.assertEqual(shown, list(range(10)))

    def test_sync_now_button_needs_the_change_permission(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')
        content = self.client.get(HedgehogFabric.objects.first().get_absolute_url()).content.decode()
        self.assertNotIn('Sync now', content)


class HedgehogResourceViewTestCase(
    PluginURLMixin,
    ViewTestCases.GetObjectViewTestCase,
    ViewTestCases.GetObjectChangelogViewTestCase,
    ViewTestCases.ListObjectsViewTestCase,
):
    model = HedgehogResource

    @classmethod
    def setUpTestData(cls):
        fabric = create_fabrics()[0]
        for name in ('leaf-1', 'leaf-2', 'spine-1'):
            HedgehogResource.objects.create(
                fabric=fabric, source=ResourceSourceChoices.KUBERNETES, api_version='wiring.githedgehog.com/v1beta1',
                kind='Switch', name=name, spec={'role': 'server-leaf', 'portBreakouts': {'E1/1': '4x25G'}},
            )

    def test_spec_is_rendered_as_yaml(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogresource')
        content = self.client.get(HedgehogResource.objects.first().get_absolute_url()).content.decode()
        self.assertIn('role: server-leaf', content)
        self.assertIn('E1/1: 4x25G', content)


class SyncRunViewTestCase(
    PluginURLMixin,
    ViewTestCases.GetObjectViewTestCase,
    ViewTestCases.ListObjectsViewTestCase,
):
    model = SyncRun

    @classmethod
    def setUpTestData(cls):
        fabric = create_fabrics()[0]
        now = timezone.now()
        for outcome in (SyncOutcomeChoices.SUCCESS, SyncOutcomeChoices.FAILED, SyncOutcomeChoices.SKIPPED):
            SyncRun.objects.create(
                fabric=fabric, trigger=SyncTriggerChoices.MANUAL, started_at=now, finished_at=now, outcome=outcome,
                error='boom' if outcome == SyncOutcomeChoices.FAILED else '',
            )
