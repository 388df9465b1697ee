"""The plugin's UI views, through NetBox's own generic view test cases."""

import re

from dcim.models import Site
from django.urls import reverse
from django.utils import timezone
from utilities.testing import TestCase, ViewTestCases, create_tags

from netbox_hedgehog.choices import ResourceSourceChoices, SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.fields import reveal
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.models.fabric import SECRET_FIELDS
from netbox_hedgehog.tables import SyncRunTable
from netbox_hedgehog.views.resources import resource_links
from tests.base import MappingRightsMixin, PluginURLMixin
from tests.fabric_data import (
    ATTACHMENT,
    CONNECTION,
    DRIFT_LINE,
    GIT_SSH_KEY,
    GIT_TOKEN,
    KUBECONFIG,
    SECRETS,
    TOKEN,
    create_fabrics,
    create_wiring,
)

GIT, CLUSTER = ResourceSourceChoices.GIT, ResourceSourceChoices.KUBERNETES


class HedgehogFabricViewTestCase(
    PluginURLMixin,
    MappingRightsMixin,
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
    validation_excluded_fields = list(SECRET_FIELDS)  # Secret attributes; the form tests below check them

    @classmethod
    def setUpTestData(cls):
        create_fabrics()
        tags = create_tags('Alpha', 'Bravo', 'Charlie')
        site = Site.objects.create(name='DC 1', slug='dc-1')
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
            'dcim_sync': True,
            'dcim_site': site.pk,
            'dcim_source': 'git',
            'dcim_conflict_policy': 'adopt',
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
            'name': self.fabric.name,
            'kubernetes_server': self.fabric.kubernetes_server,
            'kubernetes_namespace': 'default',
            'git_branch': 'main',
            'sync_interval': 300,
            'sync_enabled': True,
            'dcim_source': 'auto',
            'dcim_conflict_policy': 'report',
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
        content = self.client.get(
            reverse(
                'plugins:netbox_hedgehog:hedgehogfabric_edit',
                args=[HedgehogFabric.objects.get(name='fabric-3').pk],
            )
        ).content.decode()
        self.assertIn('name="clear_git_token"', content)
        self.assertIn('name="clear_git_ssh_key"', content)
        self.assertNotIn('name="clear_kubernetes_token"', content)  # nothing stored, nothing to remove

    def test_empty_secret_on_edit_keeps_the_stored_one(self):
        response = self.post(description='edited', kubernetes_token='')
        self.assertHttpStatus(response, 302)
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.description, 'edited')
        self.assertEqual(reveal(self.fabric.kubernetes_token), TOKEN)

    def test_new_secret_replaces_the_stored_one(self):
        self.assertHttpStatus(self.post(kubernetes_token='rotated'), 302)
        self.fabric.refresh_from_db()
        self.assertEqual(reveal(self.fabric.kubernetes_token), 'rotated')

    def test_clear_checkbox_removes_the_stored_secret(self):
        self.assertHttpStatus(self.post(clear_kubernetes_token='on'), 302)
        self.fabric.refresh_from_db()
        self.assertEqual(reveal(self.fabric.kubernetes_token), '')

    def test_git_secrets_are_kept_replaced_and_removed_like_the_token(self):
        fabric = HedgehogFabric.objects.get(name='fabric-3')
        self.url = reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[fabric.pk])
        self.fabric = fabric
        git = {'git_repository_url': fabric.git_repository_url, 'kubernetes_server': ''}

        self.assertHttpStatus(self.post(description='edited', git_token='', git_ssh_key='', **git), 302)
        fabric.refresh_from_db()
        self.assertEqual(
            (fabric.description, reveal(fabric.git_token), reveal(fabric.git_ssh_key)),
            ('edited', GIT_TOKEN, GIT_SSH_KEY),
        )

        self.assertHttpStatus(self.post(git_token='rotated-git-token', **git), 302)
        fabric.refresh_from_db()
        self.assertEqual((reveal(fabric.git_token), reveal(fabric.git_ssh_key)), ('rotated-git-token', GIT_SSH_KEY))

        self.assertHttpStatus(self.post(clear_git_token='on', clear_git_ssh_key='on', **git), 302)
        fabric.refresh_from_db()
        self.assertEqual((reveal(fabric.git_token), reveal(fabric.git_ssh_key)), ('', ''))

    def test_verify_tls_and_prune_are_edited(self):
        self.assertTrue(self.fabric.kubernetes_verify_tls)
        # An unchecked checkbox is absent from the POST: both turn off.
        self.assertHttpStatus(self.post(), 302)
        self.fabric.refresh_from_db()
        self.assertEqual((self.fabric.kubernetes_verify_tls, self.fabric.prune), (False, False))
        self.assertHttpStatus(self.post(kubernetes_verify_tls='on', prune='on'), 302)
        self.fabric.refresh_from_db()
        self.assertEqual((self.fabric.kubernetes_verify_tls, self.fabric.prune), (True, True))
        self.assertEqual(reveal(self.fabric.kubernetes_token), TOKEN)

    def test_a_submission_without_the_dcim_choices_keeps_them(self):
        HedgehogFabric.objects.filter(pk=self.fabric.pk).update(dcim_source='git', dcim_conflict_policy='adopt')
        response = self.post(dcim_source=None, dcim_conflict_policy='')
        self.assertHttpStatus(response, 302)
        self.fabric.refresh_from_db()
        self.assertEqual((self.fabric.dcim_source, self.fabric.dcim_conflict_policy), ('git', 'adopt'))

    def test_mapping_to_dcim_without_a_site_is_refused(self):
        response = self.post(dcim_sync=True)
        self.assertHttpStatus(response, 200)
        self.assertIn('Choose the site the mapped devices belong to', response.content.decode())
        self.fabric.refresh_from_db()
        self.assertFalse(self.fabric.dcim_sync)

    def test_model_validation_reaches_the_form(self):
        response = self.post(sync_interval=0, kubeconfig=KUBECONFIG)
        self.assertHttpStatus(response, 200)
        self.assertIn('Give either a kubeconfig or an API server, not both.', response.content.decode())
        self.fabric.refresh_from_db()
        self.assertEqual(reveal(self.fabric.kubeconfig), '')


class HedgehogFabricDetailTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        fabrics = create_fabrics()
        now = timezone.now()
        for i in range(12):
            SyncRun.objects.create(
                fabric=fabrics[0],
                trigger=SyncTriggerChoices.SCHEDULE,
                started_at=now - timezone.timedelta(minutes=i),
                outcome=SyncOutcomeChoices.SUCCESS,
                git_commit=f'{i:040x}',
            )

    def test_detail_page_shows_status_and_recent_runs_but_no_secrets(self):
        self.add_permissions(
            'netbox_hedgehog.view_hedgehogfabric',
            'netbox_hedgehog.view_syncrun',
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
        fabric = HedgehogFabric.objects.first()
        content = self.client.get(fabric.get_absolute_url()).content.decode()
        self.assertNotIn('Sync now', content)
        self.assertNotIn(reverse('plugins:netbox_hedgehog:hedgehogfabric_dry_run', args=[fabric.pk]), content)

    def test_dry_run_button_posts_to_the_dry_run_view(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.change_hedgehogfabric')
        fabric = HedgehogFabric.objects.first()
        content = self.client.get(fabric.get_absolute_url()).content.decode()
        self.assertIn('Dry run', content)
        self.assertIn(
            f'action="{reverse("plugins:netbox_hedgehog:hedgehogfabric_dry_run", args=[fabric.pk])}"', content
        )

    def test_drift_count_links_to_the_drifted_resources(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.view_hedgehogresource')
        fabric = create_wiring()
        drifted_url = (
            f'{reverse("plugins:netbox_hedgehog:hedgehogresource_list")}?fabric_id={fabric.pk}&amp;drifted=true'
        )
        content = self.client.get(fabric.get_absolute_url()).content.decode()
        self.assertIn(f'href="{drifted_url}" class="badge text-bg-orange">1</a>', content)  # leaf-02; not the Agent
        content = self.client.get(reverse('plugins:netbox_hedgehog:hedgehogfabric_list')).content.decode()
        self.assertIn(f'<a href="{drifted_url}">1</a>', content)
        # The link's filter lists what the count counts: the rows of the drifting object.
        response = self.client.get(drifted_url.replace('&amp;', '&'))
        self.assertEqual(
            sorted((row.record.kind, row.record.name, row.record.source) for row in response.context['table'].rows),
            [('Switch', 'leaf-02', GIT), ('Switch', 'leaf-02', CLUSTER)],
        )


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
                fabric=fabric,
                source=ResourceSourceChoices.KUBERNETES,
                api_version='wiring.githedgehog.com/v1beta1',
                kind='Switch',
                name=name,
                spec={'role': 'server-leaf', 'portBreakouts': {'E1/1': '4x25G'}},
            )
        create_wiring()

    def test_spec_is_rendered_as_yaml(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogresource')
        resource = HedgehogResource.objects.get(fabric__name='fabric-1', name='leaf-1')
        content = self.client.get(resource.get_absolute_url()).content.decode()
        self.assertIn('role: server-leaf', content)
        self.assertIn('E1/1: 4x25G', content)

    def test_list_filters_by_key_fields(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogresource')
        url = reverse('plugins:netbox_hedgehog:hedgehogresource_list')
        for params, expected in (
            ('devices=leaf-01', {('Agent', 'leaf-01'), ('Connection', CONNECTION)}),
            ('asn=65101&kind=Switch', {('Switch', 'leaf-01')}),
            ('connection_type=unbundled&source=git', {('Connection', CONNECTION)}),
            ('drift_state=differs', {('Switch', 'leaf-02')}),
            ('vpc=vpc-1', {('VPCAttachment', ATTACHMENT)}),
        ):
            with self.subTest(params=params):
                response = self.client.get(f'{url}?{params}')
                self.assertHttpStatus(response, 200)
                self.assertEqual(
                    {(row.record.kind, row.record.name) for row in response.context['table'].rows}, expected
                )

    def test_list_shows_the_key_field_columns(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogresource')
        content = self.client.get(
            f'{reverse("plugins:netbox_hedgehog:hedgehogresource_list")}?kind=Switch&source=git',
        ).content.decode()
        for text in ('Drift', 'Role', 'ASN', 'Connection type', 'VPC', '65101', 'server-leaf', 'Differs'):
            self.assertIn(text, content)


class HedgehogResourceDetailTestCase(TestCase):
    """The detail page: key fields linked to the rows they name, source, status, and drift against the other source."""

    @classmethod
    def setUpTestData(cls):
        cls.fabric = create_wiring()

    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.view_hedgehogresource', 'netbox_hedgehog.view_syncrun')

    def row(self, kind, name, source=GIT):
        return HedgehogResource.objects.get(fabric=self.fabric, kind=kind, name=name, source=source)

    def page(self, kind, name, source=GIT):
        response = self.client.get(self.row(kind, name, source).get_absolute_url())
        self.assertHttpStatus(response, 200)
        return response.content.decode()

    def assertLinks(self, content, *rows):
        for row in rows:
            self.assertIn(f'href="{row.get_absolute_url()}"', content)

    def test_connection_links_its_switch_and_server_of_the_same_source(self):
        content = self.page('Connection', CONNECTION)
        self.assertLinks(content, self.row('Switch', 'leaf-01'), self.row('Server', 'server-01'))
        self.assertNotIn(f'href="{self.row("Switch", "leaf-01", CLUSTER).get_absolute_url()}"', content)
        self.assertIn('unbundled', content)
        self.assertIn('leaf-01/E1/1', content)
        content = self.page('Connection', CONNECTION, CLUSTER)
        self.assertLinks(content, self.row('Switch', 'leaf-01', CLUSTER), self.row('Server', 'server-01', CLUSTER))

    def test_attachment_links_its_vpc_and_connection(self):
        content = self.page('VPCAttachment', ATTACHMENT)
        self.assertLinks(content, self.row('VPC', 'vpc-1'), self.row('Connection', CONNECTION))

    def test_vpc_and_switch_link_namespaces_and_profile(self):
        content = self.page('VPC', 'vpc-1')
        self.assertLinks(content, self.row('IPv4Namespace', 'default'), self.row('VLANNamespace', 'default'))
        self.assertIn('10.0.1.0/24', content)
        content = self.page('Switch', 'leaf-01')
        self.assertLinks(content, self.row('SwitchProfile', 'vs'), self.row('VLANNamespace', 'default'))
        self.assertIn('65101', content)

    def test_a_name_without_a_row_stays_text(self):
        HedgehogResource.objects.filter(fabric=self.fabric, kind='Server').delete()
        content = self.page('Connection', CONNECTION)
        self.assertIn('server-01', content)
        self.assertLinks(content, self.row('Switch', 'leaf-01'))

    def test_links_are_resolved_in_one_query_and_respect_permissions(self):
        connection = self.row('Connection', CONNECTION)
        with self.assertNumQueries(1):
            links = resource_links(connection, HedgehogResource.objects.all())
        self.assertEqual(
            links['devices'],
            {
                'leaf-01': self.row('Switch', 'leaf-01'),
                'server-01': self.row('Server', 'server-01'),
            },
        )
        links = resource_links(connection, HedgehogResource.objects.filter(source=CLUSTER))
        self.assertEqual(links['devices']['leaf-01'], self.row('Switch', 'leaf-01', CLUSTER))
        self.assertEqual(resource_links(connection, HedgehogResource.objects.none()), {})

    def test_agent_shows_its_status_and_links_its_switch(self):
        content = self.page('Agent', 'leaf-01', CLUSTER)
        for text in (
            'Agent status',
            'Applied generation',
            'Conditions',
            'ApplySucceeded',
            'Config applied to the switch',
            'lastHeartbeat',
        ):
            self.assertIn(text, content)
        self.assertLinks(content, self.row('Switch', 'leaf-01', CLUSTER), self.row('SwitchProfile', 'vs', CLUSTER))

    def test_drifting_object_shows_the_diff_and_the_other_row(self):
        for source in (GIT, CLUSTER):
            with self.subTest(source=source):
                content = self.page('Switch', 'leaf-02', source)
                self.assertIn('Differs', content)
                self.assertIn(DRIFT_LINE, content)
                other = CLUSTER if source == GIT else GIT
                self.assertLinks(content, self.row('Switch', 'leaf-02', other))

    def test_object_in_sync_has_no_diff_lines(self):
        content = self.page('Switch', 'leaf-01')
        self.assertIn('In sync', content)
        self.assertIn('No differences.', content)
        self.assertNotIn('id="drift_lines"', content)

    def test_source_panel(self):
        content = self.page('Switch', 'leaf-01', CLUSTER)
        self.assertIn('uid-Switch-leaf-01', content)
        now = timezone.now()
        applied = SyncRun.objects.create(
            fabric=self.fabric,
            trigger=SyncTriggerChoices.SCHEDULE,
            outcome=SyncOutcomeChoices.PARTIAL,
            started_at=now - timezone.timedelta(minutes=5),
            git_commit='a' * 40,
        )
        SyncRun.objects.create(  # later, but a dry run applies nothing
            fabric=self.fabric,
            trigger=SyncTriggerChoices.MANUAL,
            outcome=SyncOutcomeChoices.SUCCESS,
            dry_run=True,
            started_at=now,
            git_commit='b' * 40,
        )
        content = self.page('Switch', 'leaf-01')
        self.assertIn('wiring.yaml', content)
        self.assertIn(f'<a href="{applied.get_absolute_url()}">{"a" * 40}</a>', content)
        self.assertNotIn('b' * 40, content)
        self.assertNotIn('uid-Switch-leaf-01', content)

    def rows(self, content):
        return re.findall(r'<th scope="row">([^<]+)</th>', content)

    def test_key_fields_panel_leaves_out_unset_fields_and_agent_panel_is_hidden(self):
        rows = self.rows(self.page('Switch', 'leaf-01'))
        self.assertIn('ASN', rows)
        self.assertIn('Profile', rows)
        for label in ('VPC', 'Connection type', 'IPv4 namespace', 'Last heartbeat'):
            self.assertNotIn(label, rows)
        self.assertNotIn('Agent status', self.page('Switch', 'leaf-01'))

    def test_source_panel_shows_the_rows_of_the_resources_source(self):
        git_rows = self.rows(self.page('Switch', 'leaf-01', GIT))
        self.assertIn('Path', git_rows)
        self.assertIn('Commit (last run)', git_rows)  # a placeholder until a run applied something
        self.assertNotIn('UID', git_rows)
        cluster_rows = self.rows(self.page('Switch', 'leaf-01', CLUSTER))
        self.assertIn('UID', cluster_rows)
        self.assertIn('Resource version', cluster_rows)
        self.assertNotIn('Commit (last run)', cluster_rows)


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
                fabric=fabric,
                trigger=SyncTriggerChoices.MANUAL,
                started_at=now,
                finished_at=now,
                outcome=outcome,
                error='boom' if outcome == SyncOutcomeChoices.FAILED else '',
            )
        cls.partial = SyncRun.objects.create(
            fabric=fabric,
            trigger=SyncTriggerChoices.WATCHDOG,
            started_at=now,
            finished_at=now,
            outcome=SyncOutcomeChoices.PARTIAL,
            dry_run=True,
            invalid=3,
            prune_skipped=4,
            kubernetes_revision='Switch=1201,Server=1202',
            step_durations={'fetch_kubernetes': 0.123456, 'fetch_git': 1.5, 'diff': 0.0004},
        )

    def test_detail_shows_the_run_fields_and_step_durations(self):
        self.add_permissions('netbox_hedgehog.view_syncrun', 'netbox_hedgehog.view_hedgehogfabric')
        content = self.client.get(self.partial.get_absolute_url()).content.decode()
        for text in (
            'Partial',
            'text-bg-orange',
            'Watchdog',
            'Dry run',
            'Prune skipped',
            'Switch=1201,Server=1202',
            'Step durations',
            'fetch_kubernetes',
            '0.123',
            '1.500',
            '0.000',
        ):
            self.assertIn(text, content)

    def test_list_shows_and_filters_dry_runs(self):
        self.add_permissions('netbox_hedgehog.view_syncrun')
        url = reverse('plugins:netbox_hedgehog:syncrun_list')
        response = self.client.get(f'{url}?dry_run=true')
        self.assertEqual([row.record for row in response.context['table'].rows], [self.partial])
        self.assertIn('Partial', response.content.decode())
        response = self.client.get(f'{url}?outcome=partial&outcome=failed&trigger=watchdog')
        self.assertEqual([row.record for row in response.context['table'].rows], [self.partial])
        # The export's text form of the step durations.
        table = SyncRunTable(SyncRun.objects.filter(pk=self.partial.pk))
        others = [name for name in table.columns.names() if name != 'step_durations']
        self.assertEqual(
            list(table.as_values(exclude_columns=others))[1], ['fetch_kubernetes=0.123, fetch_git=1.500, diff=0.000']
        )
