"""The REST API, through NetBox's API view test cases, and the write-only secrets."""

from dcim.models import Cable, Device, Interface, Site
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework import status
from utilities.testing import APITestCase, APIViewTestCases, TestCase

from netbox_hedgehog.choices import ResourceSourceChoices, SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.fields import reveal
from netbox_hedgehog.models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun
from tests.base import MappingRightsMixin, ObjectPermissionMixin, PluginAPIMixin
from tests.fabric_data import (
    CONNECTION,
    GIT_SSH_KEY,
    GIT_TOKEN,
    KUBECONFIG,
    KUBECONFIG_SECRET,
    SECRETS,
    create_fabrics,
    create_owned_switches,
    create_wiring,
)


class HedgehogFabricAPITestCase(
    PluginAPIMixin,
    MappingRightsMixin,
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.CreateObjectViewTestCase,
    APIViewTestCases.UpdateObjectViewTestCase,
    APIViewTestCases.DeleteObjectViewTestCase,
):
    model = HedgehogFabric
    brief_fields = ['description', 'display', 'id', 'name', 'sync_status', 'url']
    bulk_update_data = {'sync_interval': 600, 'scheduler_enabled': False}
    bulk_update_invalid_data = {'kubernetes_server': 'not-a-url'}
    # Write-only: never in a response (FabricSecretsAPITestCase checks how they are stored).
    validation_excluded_fields = ['kubernetes_token', 'kubeconfig', 'git_token', 'git_ssh_key']

    @classmethod
    def setUpTestData(cls):
        create_fabrics()
        cls.create_data = [
            {
                'name': 'fabric-4',
                'kubernetes_server': 'https://10.4.0.1:6443',
                'kubernetes_token': 'token-4',
                'sync_interval': 60,
            },
            {'name': 'fabric-5', 'kubeconfig': KUBECONFIG, 'sync_enabled': False},
            {
                'name': 'fabric-6',
                'git_repository_url': 'https://example.com/6.git',
                'git_branch': 'release',
                'git_token': 'git-token-6',
                'prune': False,
                'kubernetes_verify_tls': False,
                'dcim_sync': True,
                'dcim_site': Site.objects.create(name='DC 1', slug='dc-1').pk,
                'dcim_conflict_policy': 'adopt',
            },
        ]


class HedgehogResourceAPITestCase(
    PluginAPIMixin,
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
):
    model = HedgehogResource
    brief_fields = ['display', 'fabric', 'id', 'kind', 'name', 'namespace', 'source', 'url']

    @classmethod
    def setUpTestData(cls):
        fabric = create_fabrics()[0]
        for name in ('leaf-1', 'leaf-2', 'spine-1'):
            HedgehogResource.objects.create(
                fabric=fabric,
                source=ResourceSourceChoices.GIT,
                api_version='wiring.githedgehog.com/v1beta1',
                kind='Switch',
                name=name,
                spec={'role': 'spine'},
            )
        create_wiring()

    def test_key_fields_status_and_drift_are_returned(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogresource')
        url = reverse('plugins-api:netbox_hedgehog-api:hedgehogresource-list')
        response = self.client.get(f'{url}?kind=Connection&source=git', **self.header)
        self.assertHttpStatus(response, status.HTTP_200_OK)
        [connection] = response.data['results']
        self.assertEqual(connection['name'], CONNECTION)
        self.assertEqual(connection['connection_type'], 'unbundled')
        self.assertEqual(connection['devices'], ['leaf-01', 'server-01'])
        self.assertEqual(connection['ports'], ['server-01/enp2s1', 'leaf-01/E1/1'])
        self.assertEqual(connection['drift_state']['value'], 'in_sync')

        response = self.client.get(f'{url}?name=leaf-02&source=kubernetes', **self.header)
        [leaf] = response.data['results']
        self.assertEqual((leaf['asn'], leaf['role'], leaf['profile']), (65199, 'server-leaf', 'vs'))
        self.assertEqual(leaf['drift_state'], {'value': 'differs', 'label': 'Differs'})

        response = self.client.get(f'{url}?kind=Agent', **self.header)
        [agent] = response.data['results']
        self.assertEqual(agent['applied_generation'], 7)
        self.assertTrue(agent['heartbeat'].startswith('2025-01-02T03:04:05'))
        self.assertEqual(agent['status']['conditions'][0]['reason'], 'ApplySucceeded')
        self.assertIsNone(agent['drift_state'])  # the controller's own kind: shown, never compared with Git

    def test_key_field_filters(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogresource')
        url = reverse('plugins-api:netbox_hedgehog-api:hedgehogresource-list')
        for params, count in (
            ('devices=leaf-01', 3),
            ('devices=leaf-01&devices=server-01', 3),
            ('devices__n=leaf-01', 19 + 3 - 3),
            ('asn=65101', 3),
            ('connection_type=unbundled', 2),
            ('drift_state=differs', 2),
            ('drifted=true', 2),
            ('subnets=10.0.1.0/24', 2),
            ('vpc=vpc-1', 2),
        ):
            with self.subTest(params=params):
                response = self.client.get(f'{url}?{params}', **self.header)
                self.assertHttpStatus(response, status.HTTP_200_OK)
                self.assertEqual(response.data['count'], count)

    def test_resources_are_read_only(self):
        """The sync owns resources: the API reads them and refuses writes."""
        self.add_permissions('netbox_hedgehog.add_hedgehogresource', 'netbox_hedgehog.change_hedgehogresource')
        resource = HedgehogResource.objects.first()
        response = self.client.patch(self._get_detail_url(resource), {'name': 'x'}, format='json', **self.header)
        self.assertHttpStatus(response, status.HTTP_405_METHOD_NOT_ALLOWED)


class HedgehogOwnedObjectAPITestCase(
    PluginAPIMixin,
    ObjectPermissionMixin,
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
):
    """owned-objects/: read-only, filtered like the UI list, each row with its NetBox object in brief form."""

    model = HedgehogOwnedObject
    brief_fields = ['display', 'fabric', 'id', 'key', 'object_id', 'object_type', 'url']

    @classmethod
    def setUpTestData(cls):
        cls.fabrics = create_fabrics()
        create_owned_switches(cls.fabrics[0], 1, 'vpc-1')
        create_owned_switches(cls.fabrics[1], 10, 'vpc-2')

    def get(self, query=''):
        response = self.client.get(f'{self._get_list_url()}?{query}', **self.header)
        self.assertHttpStatus(response, status.HTTP_200_OK)
        return response.data

    def test_a_row_and_its_netbox_object(self):
        self.grant(HedgehogOwnedObject, 'view')
        [row] = self.get(f'fabric_id={self.fabrics[0].pk}&object_type=dcim.interface')['results']
        port = Interface.objects.get(device__name='fabric-1-leaf-0')
        self.assertEqual(
            {field: row[field] for field in ('object_type', 'object_id', 'key', 'kind', 'namespace', 'name')},
            {
                'object_type': 'dcim.interface',
                'object_id': port.pk,
                'key': 'interface:fabric-1-leaf-0/E1/1',
                'kind': 'Connection',
                'namespace': 'default',
                'name': 'fabric-1-leaf-0--server',
            },
        )
        self.assertEqual(row['display'], 'interface:fabric-1-leaf-0/E1/1 (Connection default/fabric-1-leaf-0--server)')
        self.assertEqual((row['fabric']['id'], row['fabric']['name']), (self.fabrics[0].pk, 'fabric-1'))
        self.assertTrue(row['url'].endswith(f'/api/plugins/hedgehog/owned-objects/{row["id"]}/'))
        self.assertIn('created', row)
        # The object as NetBox's own API nests it: an interface with its device and cable.
        obj = row['object']
        self.assertEqual((obj['id'], obj['name'], obj['display']), (port.pk, 'E1/1', 'E1/1'))
        self.assertTrue(obj['url'].endswith(f'/api/dcim/interfaces/{port.pk}/'))
        self.assertEqual(obj['device']['name'], 'fabric-1-leaf-0')
        self.assertEqual(obj['cable']['id'], port.cable_id)

    def test_each_owned_type_is_nested(self):
        self.grant(HedgehogOwnedObject, 'view')
        rows = self.get(f'fabric_id={self.fabrics[0].pk}')['results']
        self.assertEqual(
            {row['object_type']: row['object']['display'] for row in rows},
            {
                'dcim.device': 'fabric-1-leaf-0',
                'dcim.interface': 'E1/1',
                'dcim.cable': f'#{Cable.objects.get(terminations___device__name="fabric-1-leaf-0").pk}',
                'ipam.ipaddress': '10.0.0.1/31',
                'ipam.vrf': 'vpc-1',
            },
        )

    def test_filters(self):
        self.grant(HedgehogOwnedObject, 'view')
        fabric_1, fabric_2 = (fabric.pk for fabric in self.fabrics[:2])
        for query, count in (
            (f'fabric_id={fabric_1}', 5),
            (f'fabric_id={fabric_2}', 41),
            (f'fabric_id={fabric_1}&fabric_id={fabric_2}', 46),
            ('fabric=fabric-2', 41),
            ('object_type=dcim.device', 11),
            (f'object_type=dcim.device&fabric_id={fabric_2}', 10),
            ('object_type=dcim.cable&object_type=ipam.vrf', 13),
            (f'object_type_id={ContentType.objects.get_for_model(Device).pk}', 11),
            ('kind=VPC', 2),
            ('name=fabric-2-leaf-3', 1),
            ('q=fabric-2-leaf-3', 4),
        ):
            with self.subTest(query=query):
                self.assertEqual(self.get(query)['count'], count)

    def test_brief(self):
        self.grant(HedgehogOwnedObject, 'view')
        [row] = self.get(f'brief=1&object_type=ipam.vrf&fabric_id={self.fabrics[0].pk}')['results']
        self.assertEqual((row['object_type'], row['key']), ('ipam.vrf', 'vrf:vpc-1'))
        self.assertEqual(sorted(row['fabric']), ['description', 'display', 'id', 'name', 'sync_status', 'url'])

    def test_the_view_permission_is_needed(self):
        self.grant(HedgehogFabric, 'view')
        self.grant(Device, 'view')
        response = self.client.get(self._get_list_url(), **self.header)
        self.assertHttpStatus(response, status.HTTP_403_FORBIDDEN)

    def test_a_user_constrained_to_one_fabric_sees_only_its_rows(self):
        self.grant(HedgehogOwnedObject, 'view', fabric__name='fabric-1')
        data = self.get()
        self.assertEqual(data['count'], 5)
        self.assertEqual({row['fabric']['name'] for row in data['results']}, {'fabric-1'})
        other = HedgehogOwnedObject.objects.filter(fabric=self.fabrics[1]).first()
        response = self.client.get(self._get_detail_url(other), **self.header)
        self.assertHttpStatus(response, status.HTTP_404_NOT_FOUND)

    def test_owned_objects_are_read_only(self):
        self.grant(HedgehogOwnedObject, 'view', 'change', 'delete')
        row = HedgehogOwnedObject.objects.first()
        url = self._get_detail_url(row)
        for method in (self.client.patch, self.client.delete):
            with self.subTest(method=method.__name__):
                response = method(url, {'key': 'x'}, format='json', **self.header)
                self.assertHttpStatus(response, status.HTTP_405_METHOD_NOT_ALLOWED)
        self.assertTrue(HedgehogOwnedObject.objects.filter(pk=row.pk, key=row.key).exists())

    def test_the_list_does_not_query_per_row(self):
        """The NetBox objects are read per type, not per row: 5 rows or 41 (10 times each type) cost as much."""
        self.grant(HedgehogOwnedObject, 'view')
        self.get()  # The token's first use is recorded (an UPDATE), once a minute at most: not in the counts.
        counts = []
        for fabric in self.fabrics[:2]:
            with CaptureQueriesContext(connection) as queries:
                self.get(f'fabric_id={fabric.pk}&limit=100')
            counts.append(len(queries))
        self.assertEqual(counts[0], counts[1])


class FabricAndRunFieldsAPITestCase(PluginAPIMixin, APITestCase):
    """The fabric's drift count and a run's new fields, read-only."""

    model = HedgehogFabric

    @classmethod
    def setUpTestData(cls):
        cls.fabric = create_wiring()
        cls.sync_run = SyncRun.objects.create(
            fabric=cls.fabric,
            trigger=SyncTriggerChoices.BOOTSTRAP,
            outcome=SyncOutcomeChoices.PARTIAL,
            started_at=timezone.now(),
            dry_run=True,
            invalid=2,
            prune_skipped=5,
            kubernetes_revision='Switch=12',
            step_durations={'fetch_kubernetes': 0.25, 'diff': 0.001},
        )

    def setUp(self):
        super().setUp()
        self.add_permissions(
            'netbox_hedgehog.view_hedgehogfabric',
            'netbox_hedgehog.change_hedgehogfabric',
            'netbox_hedgehog.view_syncrun',
        )

    def test_fabric_drift_count_is_read_only(self):
        response = self.client.get(self._get_detail_url(self.fabric), **self.header)
        self.assertEqual(
            (response.data['drift_count'], response.data['prune'], response.data['kubernetes_verify_tls']),
            (1, True, True),
        )
        response = self.client.patch(
            self._get_detail_url(self.fabric), {'drift_count': 0, 'prune': False}, format='json', **self.header
        )
        self.assertHttpStatus(response, status.HTTP_200_OK)
        self.fabric.refresh_from_db()
        self.assertEqual((self.fabric.drift_count, self.fabric.prune), (1, False))

    def test_run_fields_and_filters(self):
        url = reverse('plugins-api:netbox_hedgehog-api:syncrun-list')
        response = self.client.get(f'{url}?dry_run=true&outcome=partial&trigger=bootstrap', **self.header)
        self.assertHttpStatus(response, status.HTTP_200_OK)
        [run] = response.data['results']
        self.assertEqual(run['outcome'], {'value': 'partial', 'label': 'Partial'})
        self.assertEqual(run['trigger']['value'], 'bootstrap')
        self.assertEqual(
            (run['dry_run'], run['invalid'], run['prune_skipped'], run['kubernetes_revision']),
            (True, 2, 5, 'Switch=12'),
        )
        self.assertEqual(run['step_durations'], {'fetch_kubernetes': 0.25, 'diff': 0.001})
        self.assertEqual(self.client.get(f'{url}?dry_run=false', **self.header).data['count'], 0)


class FabricSecretsAPITestCase(PluginAPIMixin, APITestCase):
    """The tokens, the kubeconfig and the SSH key can be written through the API and are never returned by it."""

    model = HedgehogFabric

    @classmethod
    def setUpTestData(cls):
        create_fabrics()

    def setUp(self):
        super().setUp()
        self.add_permissions(*(f'netbox_hedgehog.{a}_hedgehogfabric' for a in ('view', 'add', 'change')))
        self.add_permissions('netbox_hedgehog.view_hedgehogresource')

    def assertNoSecrets(self, response, *secrets):
        body = response.content.decode()
        for secret in (*SECRETS, *secrets):
            self.assertNotIn(secret, body)
        for field in ('kubernetes_token', '"kubeconfig"', 'git_token', 'git_ssh_key'):
            self.assertNotIn(field, body)

    def test_read_responses_carry_no_secrets(self):
        HedgehogResource.objects.create(
            fabric=HedgehogFabric.objects.get(name='fabric-1'),
            source=ResourceSourceChoices.KUBERNETES,
            api_version='v1',
            kind='Switch',
            name='leaf-1',
        )
        urls = [
            self._get_list_url(),
            f'{self._get_list_url()}?brief=1',
            reverse('plugins-api:netbox_hedgehog-api:hedgehogresource-list'),
        ]
        urls += [self._get_detail_url(fabric) for fabric in HedgehogFabric.objects.all()]
        for url in urls:
            with self.subTest(url=url):
                response = self.client.get(url, **self.header)
                self.assertHttpStatus(response, status.HTTP_200_OK)
                self.assertNoSecrets(response)

    def test_write_responses_carry_no_secrets_and_omitting_a_secret_keeps_it(self):
        response = self.client.post(
            self._get_list_url(),
            {
                'name': 'fabric-new',
                'kubernetes_server': 'https://10.9.0.1:6443',
                'kubernetes_token': 'new-secret',
            },
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_201_CREATED)
        self.assertNoSecrets(response, 'new-secret')
        fabric = HedgehogFabric.objects.get(name='fabric-new')
        self.assertEqual(reveal(fabric.kubernetes_token), 'new-secret')

        response = self.client.patch(
            self._get_detail_url(fabric),
            {'description': 'edited'},
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_200_OK)
        self.assertNoSecrets(response, 'new-secret')
        fabric.refresh_from_db()
        self.assertEqual(reveal(fabric.kubernetes_token), 'new-secret')

        response = self.client.patch(
            self._get_detail_url(fabric),
            {'kubernetes_token': 'rotated'},
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_200_OK)
        self.assertNoSecrets(response, 'new-secret', 'rotated')
        fabric.refresh_from_db()
        self.assertEqual(reveal(fabric.kubernetes_token), 'rotated')

    def test_git_secrets_are_write_only_like_the_token(self):
        response = self.client.post(
            self._get_list_url(),
            {
                'name': 'fabric-git',
                'git_repository_url': 'ssh://git@example.com/wiring.git',
                'git_token': 'git-secret-1',
                'git_ssh_key': GIT_SSH_KEY.replace('views', 'api'),
                'kubernetes_verify_tls': False,
                'prune': False,
            },
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_201_CREATED)
        self.assertNoSecrets(response, 'git-secret-1', 'secret-git-ssh-key-api-material')
        self.assertEqual((response.data['kubernetes_verify_tls'], response.data['prune']), (False, False))
        fabric = HedgehogFabric.objects.get(name='fabric-git')
        self.assertEqual(reveal(fabric.git_token), 'git-secret-1')
        self.assertEqual(reveal(fabric.git_ssh_key), GIT_SSH_KEY.replace('views', 'api'))

        response = self.client.patch(self._get_detail_url(fabric), {'prune': True}, format='json', **self.header)
        self.assertHttpStatus(response, status.HTTP_200_OK)
        self.assertNoSecrets(response, 'git-secret-1', 'secret-git-ssh-key-api-material')
        fabric.refresh_from_db()
        self.assertEqual((fabric.prune, reveal(fabric.git_token)), (True, 'git-secret-1'))
        self.assertEqual(reveal(fabric.git_ssh_key), GIT_SSH_KEY.replace('views', 'api'))

        response = self.client.patch(
            self._get_detail_url(fabric),
            {'git_token': '', 'git_ssh_key': ''},
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_200_OK)
        fabric.refresh_from_db()
        self.assertEqual((reveal(fabric.git_token), reveal(fabric.git_ssh_key)), ('', ''))

    def test_stored_git_secrets_survive_an_edit(self):
        fabric = HedgehogFabric.objects.get(name='fabric-3')
        response = self.client.patch(
            self._get_detail_url(fabric),
            {'git_branch': 'release'},
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_200_OK)
        self.assertNoSecrets(response)
        fabric.refresh_from_db()
        self.assertEqual(
            (fabric.git_branch, reveal(fabric.git_token), reveal(fabric.git_ssh_key)),
            ('release', GIT_TOKEN, GIT_SSH_KEY),
        )

    def test_model_validation_applies(self):
        response = self.client.post(
            self._get_list_url(),
            {
                'name': 'both',
                'kubernetes_server': 'https://10.9.0.1:6443',
                'kubeconfig': KUBECONFIG,
            },
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_400_BAD_REQUEST)
        self.assertIn('kubeconfig', response.data)
        self.assertNotIn(KUBECONFIG_SECRET, response.content.decode())


class FabricSecretsUITestCase(TestCase):
    """The fabric detail page and its edit form never contain the stored secrets."""

    @classmethod
    def setUpTestData(cls):
        create_fabrics()

    def test_detail_and_edit_pages(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.change_hedgehogfabric')
        for fabric in HedgehogFabric.objects.all():
            for url in (
                fabric.get_absolute_url(),
                reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[fabric.pk]),
            ):
                with self.subTest(url=url):
                    response = self.client.get(url)
                    self.assertEqual(response.status_code, 200)
                    body = response.content.decode()
                    for secret in SECRETS:
                        self.assertNotIn(secret, body)


class SyncStatusAPITestCase(PluginAPIMixin, ObjectPermissionMixin, APITestCase):
    """GET fabrics/sync-status/: the --status report, for the fabrics the caller may view."""

    @classmethod
    def setUpTestData(cls):
        create_fabrics()

    def test_status_lists_only_viewable_fabrics_and_says_when_no_worker_runs(self):
        self.grant(HedgehogFabric, 'view', name='fabric-1')
        url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-sync-status')

        data = self.client.get(url, **self.header).json()

        self.assertEqual([fabric['name'] for fabric in data['fabrics']], ['fabric-1'])
        self.assertIn('next_run', data['fabrics'][0])
        self.assertEqual(data['workers'], [])
        self.assertTrue(any('No rqworker' in problem for problem in data['problems']))

    def test_status_needs_authentication(self):
        url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-sync-status')
        self.assertHttpStatus(self.client.get(url), status.HTTP_403_FORBIDDEN)
