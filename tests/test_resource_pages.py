"""Resource pages for finding related objects and spotting stale rows: the Kind choice filter, "Referenced by",
"last seen" with its stale badge (set by a real sync run), and no changelog button that always opens an empty log."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from utilities.testing import TestCase

from netbox_hedgehog.choices import ResourceSourceChoices
from netbox_hedgehog.filtersets import KIND_CHOICES, HedgehogResourceFilterSet
from netbox_hedgehog.kinds import FABRIC_KINDS
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource
from netbox_hedgehog.sync.pipeline import sync_fabric
from netbox_hedgehog.views.resources import referencing_resources
from tests.fabric_data import ATTACHMENT, CONNECTION, create_wiring
from tests.kmock_server import kube_api

GIT, CLUSTER = ResourceSourceChoices.GIT, ResourceSourceChoices.KUBERNETES
LIST_URL = reverse('plugins:netbox_hedgehog:hedgehogresource_list')


class ResourcePagesTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fabric = create_wiring()

    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.view_hedgehogresource', 'netbox_hedgehog.view_hedgehogfabric')

    def row(self, kind, name, source=GIT):
        return HedgehogResource.objects.get(fabric=self.fabric, kind=kind, name=name, source=source)

    def get(self, url, **params):
        response = self.client.get(url, params)
        self.assertHttpStatus(response, 200)
        return response.content.decode()

    def referenced_by(self, resource):
        """The links of the page's "Referenced by" panel (empty when the panel is not there)."""
        content = self.get(resource.get_absolute_url())
        if 'Referenced by' not in content:
            return set()
        panel = content.split('Referenced by', 1)[1]
        return {
            row.pk
            for row in HedgehogResource.objects.filter(fabric=self.fabric)
            if f'href="{row.get_absolute_url()}"' in panel
        }

    def test_kind_is_a_choice_of_the_known_kinds(self):
        self.assertEqual([value for value, _label in KIND_CHOICES], [kind.kind for kind in FABRIC_KINDS])
        self.assertEqual(len(KIND_CHOICES), 19)
        form = self.get(LIST_URL)
        for kind in ('Switch', 'VPCAttachment', 'GatewayPeering'):
            self.assertIn(f'<option value="{kind}"', form)

        switches = HedgehogResourceFilterSet({'kind': ['Switch', 'Agent']}, HedgehogResource.objects.all()).qs
        self.assertEqual({row.kind for row in switches}, {'Switch', 'Agent'})
        self.assertEqual(switches.count(), HedgehogResource.objects.filter(kind__in=('Switch', 'Agent')).count())
        # A kind is spelled as the CRD spells it: "switch" is not a kind, and says so instead of listing nothing.
        wrong = HedgehogResourceFilterSet({'kind': ['switch']}, HedgehogResource.objects.all())
        self.assertFalse(wrong.is_valid())

        content = self.get(LIST_URL, kind='VPC')
        self.assertIn(self.row('VPC', 'vpc-1').get_absolute_url(), content)
        self.assertNotIn(self.row('Switch', 'leaf-01').get_absolute_url(), content)

    def test_a_switch_lists_its_connections_attachments_and_agent(self):
        expected = {
            self.row('Connection', CONNECTION).pk,
            self.row('Connection', CONNECTION, CLUSTER).pk,
            self.row('VPCAttachment', ATTACHMENT).pk,
            self.row('VPCAttachment', ATTACHMENT, CLUSTER).pk,
            self.row('Agent', 'leaf-01', CLUSTER).pk,
        }
        self.assertEqual(self.referenced_by(self.row('Switch', 'leaf-01')), expected)
        self.assertEqual(self.referenced_by(self.row('Switch', 'leaf-01', CLUSTER)), expected)

    def test_a_vpc_lists_its_attachments_and_a_connection_its_attachments(self):
        attachments = {self.row('VPCAttachment', ATTACHMENT).pk, self.row('VPCAttachment', ATTACHMENT, CLUSTER).pk}
        self.assertEqual(self.referenced_by(self.row('VPC', 'vpc-1')), attachments)
        self.assertEqual(self.referenced_by(self.row('Connection', CONNECTION)), attachments)

    def test_a_profile_lists_the_switches_using_it(self):
        users = {row.pk for row in referencing_resources(self.row('SwitchProfile', 'vs'), HedgehogResource.objects)}
        self.assertIn(self.row('Switch', 'leaf-01').pk, users)
        self.assertIn(self.row('Agent', 'leaf-01', CLUSTER).pk, users)
        self.assertFalse(HedgehogResource.objects.filter(pk__in=users).exclude(kind__in=('Switch', 'Agent')).exists())

    def test_referenced_by_respects_permissions_and_another_fabric(self):
        other = create_wiring(name='other-wiring')
        switch = self.row('Switch', 'leaf-01')
        found = referencing_resources(switch, HedgehogResource.objects.all())
        self.assertFalse(found.filter(fabric=other).exists())
        self.assertFalse(referencing_resources(switch, HedgehogResource.objects.none()).exists())
        self.assertEqual(referencing_resources(switch, HedgehogResource.objects.filter(source=GIT)).count(), 2)

    def test_an_object_nothing_refers_to_has_no_panel(self):
        self.assertNotIn('Referenced by', self.get(self.row('VPCAttachment', ATTACHMENT).get_absolute_url()))

    def test_last_seen_older_than_two_intervals_is_marked_stale(self):
        interval = self.fabric.sync_interval
        fresh, stale = self.row('Switch', 'leaf-01'), self.row('Switch', 'leaf-01', CLUSTER)
        HedgehogResource.objects.filter(pk=stale.pk).update(
            last_listed=timezone.now() - timedelta(seconds=2 * interval + 60)
        )
        content = self.get(LIST_URL, kind='Switch', name='leaf-01')
        self.assertEqual(content.count('>stale</span>'), 1)
        self.assertIn('>stale</span>', self.get(stale.get_absolute_url()))
        self.assertNotIn('>stale</span>', self.get(fresh.get_absolute_url()))

        # Without periodic sync nothing is expected to refresh the rows: nothing is stale.
        HedgehogFabric.objects.filter(pk=self.fabric.pk).update(sync_interval=0)
        self.assertNotIn('>stale</span>', self.get(LIST_URL, kind='Switch', name='leaf-01'))

    def test_rows_have_no_changelog_button(self):
        content = self.get(LIST_URL)
        for row in HedgehogResource.objects.filter(fabric=self.fabric)[:5]:
            self.assertNotIn(reverse('plugins:netbox_hedgehog:hedgehogresource_changelog', args=[row.pk]), content)


class LastSeenSyncTestCase(TestCase):
    """``last_seen`` through real sync runs against a kmock-served cluster."""

    def test_a_run_marks_what_it_read_and_not_what_it_kept(self):
        with kube_api() as api:
            for name in ('leaf-01', 'leaf-02'):
                api.add(
                    {
                        'apiVersion': 'wiring.githedgehog.com/v1beta1',
                        'kind': 'Switch',
                        'metadata': {'name': name},
                        'spec': {'role': 'server-leaf'},
                    }
                )
            fabric = HedgehogFabric.objects.create(name='seen', prune=False, **api.fabric_fields())
            sync_fabric(fabric)
            first = dict(
                HedgehogResource.objects.filter(fabric=fabric).with_last_seen().values_list('name', 'last_seen')
            )
            self.assertEqual(set(first), {'leaf-01', 'leaf-02'})
            self.assertTrue(all(first.values()))

            api.delete('Switch', 'leaf-02')
            result = sync_fabric(fabric)
            self.assertEqual(result.prune_skipped, 1)
            second = dict(
                HedgehogResource.objects.filter(fabric=fabric).with_last_seen().values_list('name', 'last_seen')
            )
            self.assertGreater(second['leaf-01'], first['leaf-01'])  # read again, although unchanged
            self.assertEqual(second['leaf-02'], first['leaf-02'])  # kept, not seen

            sync_fabric(fabric, dry_run=True)
            self.assertEqual(
                dict(HedgehogResource.objects.filter(fabric=fabric).with_last_seen().values_list('name', 'last_seen')),
                second,
            )

    def test_a_row_listed_again_is_seen_with_its_source_and_filters_and_sorts_by_it(self):
        self.add_permissions('netbox_hedgehog.view_hedgehogresource', 'netbox_hedgehog.view_hedgehogfabric')
        switch = {
            'apiVersion': 'wiring.githedgehog.com/v1beta1',
            'kind': 'Switch',
            'metadata': {'name': 'leaf-01'},
            'spec': {'role': 'server-leaf'},
        }
        with kube_api() as api:
            api.add(switch)
            api.add({**switch, 'metadata': {'name': 'leaf-02'}})
            fabric = HedgehogFabric.objects.create(name='back', prune=False, **api.fabric_fields())
            sync_fabric(fabric)
            api.delete('Switch', 'leaf-02')
            sync_fabric(fabric)
            kept = HedgehogResource.objects.get(fabric=fabric, name='leaf-02')
            self.assertIsNotNone(kept.last_listed)
            self.assertLess(kept.last_seen, HedgehogResource.objects.get(fabric=fabric, name='leaf-01').last_seen)

            filtered = HedgehogResourceFilterSet({'last_seen__lt': [fabric.kubernetes_read_at.isoformat()]}).qs
            self.assertEqual(list(filtered.filter(fabric=fabric).values_list('name', flat=True)), ['leaf-02'])
            content = self.client.get(LIST_URL, {'fabric_id': fabric.pk, 'sort': 'last_seen'}).content.decode()
            self.assertLess(content.index('leaf-02'), content.index('leaf-01'))

            api.add({**switch, 'metadata': {'name': 'leaf-02'}})
            sync_fabric(fabric)

        again = HedgehogResource.objects.get(fabric=fabric, name='leaf-02')
        self.assertIsNone(again.last_listed)
        self.assertEqual(again.last_seen, HedgehogFabric.objects.get(pk=fabric.pk).kubernetes_read_at)
