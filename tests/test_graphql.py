"""The GraphQL API: the plugin's types in NetBox's schema, object permissions, and no secrets.

NetBox's ``APIViewTestCases.GraphQLTestCase`` runs the single and list queries (anonymous:
refused; an impossible object-permission constraint: nothing; permitted: everything) and one
filter test per filter kind. tests/test_api.py's cases are built from the REST mixins only
(not ``APIViewTestCase``), so they do not run GraphQL tests; the cases below do.
"""

import json

from dcim.models import Device, Interface
from django.urls import reverse
from django.utils import timezone
from utilities.testing import APITestCase, APIViewTestCases

from netbox_hedgehog.choices import ResourceSourceChoices, SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.graphql.types import (
    HedgehogFabricType,
    HedgehogOwnedObjectType,
    HedgehogResourceType,
    SyncRunType,
)
from netbox_hedgehog.models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun
from netbox_hedgehog.models.fabric import SECRET_FIELDS
from tests.base import FabricViewMixin, GraphQLMixin
from tests.fabric_data import (
    CONNECTION,
    KUBECONFIG_SECRET,
    TOKEN,
    create_fabrics,
    create_owned_switches,
    create_wiring,
)


def create_resources_and_runs():
    fabrics = create_fabrics()
    for fabric in fabrics[:2]:
        for name in ('leaf-1', 'spine-1'):
            HedgehogResource.objects.create(
                fabric=fabric,
                source=ResourceSourceChoices.GIT,
                api_version='wiring.githedgehog.com/v1beta1',
                kind='Switch',
                name=name,
                spec={'role': 'spine' if name.startswith('spine') else 'server-leaf'},
                source_path='wiring.yaml',
            )
    now = timezone.now()
    for fabric, outcome, trigger in (
        (fabrics[0], SyncOutcomeChoices.SUCCESS, SyncTriggerChoices.SCHEDULE),
        (fabrics[0], SyncOutcomeChoices.FAILED, SyncTriggerChoices.MANUAL),
        (fabrics[2], SyncOutcomeChoices.SUCCESS, SyncTriggerChoices.MANUAL),
    ):
        SyncRun.objects.create(
            fabric=fabric,
            trigger=trigger,
            outcome=outcome,
            started_at=now,
            finished_at=now,
            planned_at=now,
            created=3,
            git_commit='0123456789abcdef0123456789abcdef01234567',
            job_id=f'job-{fabric.pk}-{outcome}',
        )
    wiring = create_wiring()
    SyncRun.objects.create(
        fabric=wiring,
        trigger=SyncTriggerChoices.WATCHDOG,
        outcome=SyncOutcomeChoices.PARTIAL,
        started_at=now,
        dry_run=True,
        invalid=1,
        prune_skipped=2,
        kubernetes_revision='Switch=5',
        step_durations={'diff': 0.5},
    )
    return fabrics


class HedgehogFabricGraphQLTestCase(APIViewTestCases.GraphQLTestCase):
    model = HedgehogFabric
    graphql_base_name = 'hedgehog_fabric'

    @classmethod
    def setUpTestData(cls):
        create_resources_and_runs()


class HedgehogResourceGraphQLTestCase(FabricViewMixin, APIViewTestCases.GraphQLTestCase):
    model = HedgehogResource
    graphql_base_name = 'hedgehog_resource'

    @classmethod
    def setUpTestData(cls):
        create_resources_and_runs()


class SyncRunGraphQLTestCase(FabricViewMixin, APIViewTestCases.GraphQLTestCase):
    model = SyncRun
    graphql_base_name = 'hedgehog_sync_run'

    @classmethod
    def setUpTestData(cls):
        create_resources_and_runs()


class HedgehogOwnedObjectGraphQLTestCase(FabricViewMixin, APIViewTestCases.GraphQLTestCase):
    model = HedgehogOwnedObject
    graphql_base_name = 'hedgehog_owned_object'

    @classmethod
    def setUpTestData(cls):
        fabrics = create_fabrics()
        create_owned_switches(fabrics[0], 1, 'vpc-1')
        create_owned_switches(fabrics[1], 2, 'vpc-2')


class HedgehogOwnedObjectGraphQLQueryTestCase(GraphQLMixin, FabricViewMixin, APITestCase):
    """The mapping's ownership records, each with its NetBox object (a union of the types the mapping creates)."""

    @classmethod
    def setUpTestData(cls):
        cls.fabrics = create_fabrics()
        create_owned_switches(cls.fabrics[0], 1, 'vpc-1')
        create_owned_switches(cls.fabrics[1], 2, 'vpc-2')

    def test_rows_with_their_netbox_objects(self):
        self.grant_view(HedgehogOwnedObject)
        self.grant_view(Device)  # An interface's device is restricted like any relation.
        data = self.query(f"""{{
            hedgehog_owned_object_list(filters: {{fabric_id: {self.fabrics[0].pk}}}) {{
                key kind name object_id fabric {{ name }} object_type {{ app_label model }}
                object {{
                    __typename
                    ... on DeviceType {{ display }}
                    ... on InterfaceType {{ display device {{ name }} }}
                    ... on CableType {{ display }}
                    ... on IPAddressType {{ display }}
                    ... on VRFType {{ display }}
                }}
            }}
        }}""")
        self.assertNotIn('errors', data)
        rows = {row['key']: row for row in data['data']['hedgehog_owned_object_list']}
        self.assertEqual(
            {key: row['object']['__typename'] for key, row in rows.items()},
            {
                'vrf:vpc-1': 'VRFType',
                'device:fabric-1-leaf-0': 'DeviceType',
                'interface:fabric-1-leaf-0/E1/1': 'InterfaceType',
                'cable:fabric-1-leaf-0/E1/1': 'CableType',
                'address:fabric-1-leaf-0/E1/1': 'IPAddressType',
            },
        )
        port = rows['interface:fabric-1-leaf-0/E1/1']
        self.assertEqual(
            port['object'], {'__typename': 'InterfaceType', 'display': 'E1/1', 'device': {'name': 'fabric-1-leaf-0'}}
        )
        self.assertEqual(port['object_type'], {'app_label': 'dcim', 'model': 'interface'})
        self.assertEqual(int(port['object_id']), Interface.objects.get(device__name='fabric-1-leaf-0').pk)
        self.assertEqual(
            (port['kind'], port['name'], port['fabric']),
            ('Connection', 'fabric-1-leaf-0--server', {'name': 'fabric-1'}),
        )
        self.assertEqual(rows['address:fabric-1-leaf-0/E1/1']['object']['display'], '10.0.0.1/31')
        self.assertEqual(rows['vrf:vpc-1']['object']['display'], 'vpc-1')

    def test_filter_by_object_type_and_the_fabric_relation(self):
        self.grant_view(HedgehogOwnedObject)
        data = self.query(f"""{{
            devices: hedgehog_owned_object_list(
                filters: {{object_type: {{app_label: {{exact: "dcim"}}, model: {{exact: "device"}}}}}}
            ) {{
                object {{ ... on DeviceType {{ name }} }}
            }}
            fabric_2: hedgehog_fabric(id: {self.fabrics[1].pk}) {{ owned_objects {{ key }} }}
        }}""")
        self.assertNotIn('errors', data)
        self.assertEqual(
            sorted(row['object']['name'] for row in data['data']['devices']),
            ['fabric-1-leaf-0', 'fabric-2-leaf-0', 'fabric-2-leaf-1'],  # not the servers' devices: not owned
        )
        self.assertEqual(len(data['data']['fabric_2']['owned_objects']), 9)

    def test_object_permissions_restrict_results(self):
        self.grant_view(HedgehogOwnedObject, fabric__name='fabric-1')
        data = self.query('{ hedgehog_owned_object_list { fabric { name } } }')
        self.assertNotIn('errors', data)
        self.assertEqual({row['fabric']['name'] for row in data['data']['hedgehog_owned_object_list']}, {'fabric-1'})
        self.assertEqual(len(data['data']['hedgehog_owned_object_list']), 5)

    def test_without_view_permission_nothing_is_returned(self):
        data = self.query('{ hedgehog_owned_object_list { key } }')
        self.assertNotIn('errors', data)
        self.assertEqual(data['data'], {'hedgehog_owned_object_list': []})


class HedgehogSchemaCoverageTestCase(APIViewTestCases.GraphQLSchemaCoverageTestCase):
    """Every root query type of the plugin has a GraphQLTestCase above (a new type without one fails here)."""

    def iter_test_module_names(self):
        yield 'tests.test_graphql'

    def get_schema_type_classes(self):
        return {
            type_class: model
            for type_class, model in super().get_schema_type_classes().items()
            if model._meta.app_label == 'netbox_hedgehog'
        }

    def test_plugin_types_are_in_the_schema(self):
        self.assertEqual(
            set(self.get_schema_type_classes()),
            {HedgehogFabricType, HedgehogOwnedObjectType, HedgehogResourceType, SyncRunType},
        )


class HedgehogGraphQLQueryTestCase(GraphQLMixin, APITestCase):
    """Hand-written queries: what an operator's script would ask."""

    @classmethod
    def setUpTestData(cls):
        cls.fabrics = create_resources_and_runs()

    def test_fabric_with_its_resources_and_runs(self):
        for model in (HedgehogFabric, HedgehogResource, SyncRun):
            self.grant_view(model)
        fabric = self.fabrics[0]
        data = self.query(f"""{{
            hedgehog_fabric(id: {fabric.pk}) {{
                name kubernetes_server sync_status connection_status
                resources {{ kind name source spec }}
                sync_runs {{ trigger outcome created git_commit fabric {{ name }} }}
            }}
        }}""")
        self.assertNotIn('errors', data)
        result = data['data']['hedgehog_fabric']
        self.assertEqual(result['name'], 'fabric-1')
        self.assertEqual(result['kubernetes_server'], 'https://10.0.0.1:6443')
        self.assertEqual(result['sync_status'], 'never_synced')
        self.assertEqual(
            sorted((r['kind'], r['name'], r['source']) for r in result['resources']),
            [('Switch', 'leaf-1', 'git'), ('Switch', 'spine-1', 'git')],
        )
        self.assertIn({'role': 'spine'}, [r['spec'] for r in result['resources']])
        self.assertEqual(
            sorted((r['trigger'], r['outcome']) for r in result['sync_runs']),
            [('manual', 'failed'), ('schedule', 'success')],
        )
        self.assertEqual({r['fabric']['name'] for r in result['sync_runs']}, {'fabric-1'})

    def test_lists_and_filters(self):
        for model in (HedgehogFabric, HedgehogResource, SyncRun):
            self.grant_view(model)
        data = self.query("""{
            hedgehog_fabric_list { name }
            hedgehog_resource_list(filters: {name: {exact: "spine-1"}}) { name fabric { name } }
            hedgehog_sync_run_list(filters: {trigger: {exact: "manual"}}) { outcome fabric { name } }
        }""")
        self.assertNotIn('errors', data)
        self.assertEqual(
            [f['name'] for f in data['data']['hedgehog_fabric_list']],
            ['fabric-1', 'fabric-2', 'fabric-3', 'fabric-wiring'],
        )
        self.assertEqual(
            sorted(r['fabric']['name'] for r in data['data']['hedgehog_resource_list']), ['fabric-1', 'fabric-2']
        )
        self.assertEqual(
            sorted((r['fabric']['name'], r['outcome']) for r in data['data']['hedgehog_sync_run_list']),
            [('fabric-1', 'failed'), ('fabric-3', 'success')],
        )

    def test_key_fields_drift_and_run_fields(self):
        for model in (HedgehogFabric, HedgehogResource, SyncRun):
            self.grant_view(model)
        data = self.query("""{
            hedgehog_fabric_list(filters: {drift_count: {comparison_lookup: {gte: 1}}}) {
                name drift_count prune kubernetes_verify_tls
            }
            connections: hedgehog_resource_list(
                filters: {devices: {contains: ["leaf-01"]}, kind: {exact: "Connection"}}
            ) {
                name source connection_type devices ports drift_state
            }
            by_asn: hedgehog_resource_list(filters: {asn: {filter_lookup: {exact: 65199}}}) {
                name asn source drift_state
            }
            agents: hedgehog_resource_list(filters: {kind: {exact: "Agent"}}) { heartbeat applied_generation status }
            hedgehog_sync_run_list(filters: {dry_run: {exact: true}}) {
                outcome trigger dry_run invalid prune_skipped kubernetes_revision step_durations
            }
        }""")
        self.assertNotIn('errors', data)
        data = data['data']
        self.assertEqual(
            data['hedgehog_fabric_list'],
            [{'name': 'fabric-wiring', 'drift_count': 1, 'prune': True, 'kubernetes_verify_tls': True}],
        )
        self.assertEqual(sorted(r['source'] for r in data['connections']), ['git', 'kubernetes'])
        self.assertEqual(
            {(r['name'], r['connection_type'], r['drift_state']) for r in data['connections']},
            {(CONNECTION, 'unbundled', 'in_sync')},
        )
        self.assertEqual(data['connections'][0]['devices'], ['leaf-01', 'server-01'])
        self.assertEqual(
            data['by_asn'], [{'name': 'leaf-02', 'asn': 65199, 'source': 'kubernetes', 'drift_state': 'differs'}]
        )
        [agent] = data['agents']
        self.assertEqual(agent['applied_generation'], 7)
        self.assertTrue(agent['heartbeat'].startswith('2025-01-02T03:04:05'))
        self.assertEqual(agent['status']['conditions'][0]['type'], 'Applied')
        self.assertEqual(
            data['hedgehog_sync_run_list'],
            [
                {
                    'outcome': 'partial',
                    'trigger': 'watchdog',
                    'dry_run': True,
                    'invalid': 1,
                    'prune_skipped': 2,
                    'kubernetes_revision': 'Switch=5',
                    'step_durations': {'diff': 0.5},
                }
            ],
        )

    def test_secrets_are_not_in_the_schema(self):
        self.grant_view(HedgehogFabric)
        data = self.query('{ __type(name: "HedgehogFabricType") { fields { name } } }')
        fields = {field['name'] for field in data['data']['__type']['fields']}
        self.assertIn('kubernetes_server', fields)
        self.assertIn('connection_status', fields)
        self.assertFalse(fields & set(SECRET_FIELDS))
        data = self.query('{ __type(name: "HedgehogFabricFilter") { inputFields { name } } }')
        filters = {field['name'] for field in data['data']['__type']['inputFields']}
        self.assertIn('kubernetes_server', filters)
        self.assertFalse(filters & set(SECRET_FIELDS))

    def test_asking_for_a_secret_fails(self):
        self.grant_view(HedgehogFabric)
        for field in SECRET_FIELDS:
            with self.subTest(field=field):
                response = self.client.post(
                    reverse('graphql'),
                    data={'query': f'{{ hedgehog_fabric_list {{ name {field} }} }}'},
                    format='json',
                    **self.header,
                )
                body = response.content.decode()
                data = json.loads(body)
                self.assertIsNone(data.get('data'))
                self.assertIn(f"Cannot query field '{field}'", data['errors'][0]['message'])
                self.assertNotIn(TOKEN, body)
                self.assertNotIn(KUBECONFIG_SECRET, body)
        # Through a relation, too.
        self.grant_view(SyncRun)
        data = self.query('{ hedgehog_sync_run_list { fabric { kubernetes_token } } }')
        self.assertIn('errors', data)
        # And filtering on a secret (guessing it one query at a time) is refused.
        data = self.query(f'{{ hedgehog_fabric_list(filters: {{kubernetes_token: {{exact: "{TOKEN}"}}}}) {{ id }} }}')
        self.assertIn('errors', data)

    def test_object_permissions_restrict_results(self):
        self.grant_view(HedgehogFabric, name='fabric-2')
        self.grant_view(HedgehogResource, fabric__name='fabric-1')
        self.grant_view(SyncRun, outcome='failed')
        data = self.query("""{
            hedgehog_fabric_list { name }
            hedgehog_resource_list { name source_path }
            hedgehog_sync_run_list { outcome }
        }""")
        self.assertNotIn('errors', data)
        self.assertEqual([f['name'] for f in data['data']['hedgehog_fabric_list']], ['fabric-2'])
        self.assertEqual(sorted(r['name'] for r in data['data']['hedgehog_resource_list']), ['leaf-1', 'spine-1'])
        self.assertEqual(data['data']['hedgehog_sync_run_list'], [{'outcome': 'failed'}])
        # A fabric outside the constraint cannot be fetched by id either.
        data = self.query(f'{{ hedgehog_fabric(id: {self.fabrics[0].pk}) {{ name }} }}')
        self.assertIsNone(data['data'])
        self.assertIn('errors', data)
        # A related fabric's resources are restricted by the resource permission.
        data = self.query(f'{{ hedgehog_fabric(id: {self.fabrics[1].pk}) {{ name resources {{ name }} }} }}')
        self.assertNotIn('errors', data)
        self.assertEqual(data['data']['hedgehog_fabric'], {'name': 'fabric-2', 'resources': []})

    def test_without_view_permission_nothing_is_returned(self):
        data = self.query('{ hedgehog_fabric_list { name } hedgehog_sync_run_list { id } }')
        self.assertNotIn('errors', data)
        self.assertEqual(data['data'], {'hedgehog_fabric_list': [], 'hedgehog_sync_run_list': []})
