"""Deleting fabrics through the UI: resources, run records and what hangs off them go in bulk, one change record."""

from core.models import ObjectChange, ObjectType
from django.urls import reverse
from django.utils import timezone
from extras.models import JournalEntry, TaggedItem
from utilities.testing import TestCase, create_tags

from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from tests.fabric_data import create_wiring


class FabricDeleteTestCase(TestCase):
    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.delete_hedgehogfabric')
        self.fabrics = [create_wiring(f'wiring-{index}') for index in range(3)]
        tag = create_tags('kept-by-hand')[0]
        for fabric in self.fabrics:
            resource = fabric.resources.first()
            resource.tags.add(tag)
            JournalEntry.objects.create(assigned_object=resource, comments='checked the cabling')
            SyncRun.objects.create(fabric=fabric, trigger='schedule', started_at=timezone.now())
        self.resource_type = ObjectType.objects.get_for_model(HedgehogResource)

    def assertGone(self, fabrics):
        pks = [fabric.pk for fabric in fabrics]
        self.assertFalse(HedgehogFabric.objects.filter(pk__in=pks).exists())
        self.assertFalse(HedgehogResource.objects.filter(fabric_id__in=pks).exists())
        self.assertFalse(SyncRun.objects.filter(fabric_id__in=pks).exists())
        remaining = HedgehogResource.objects.values('pk')
        tagged = TaggedItem.objects.filter(content_type=self.resource_type)
        self.assertFalse(tagged.exclude(object_id__in=remaining).exists())
        journal = JournalEntry.objects.filter(assigned_object_type=self.resource_type)
        self.assertFalse(journal.exclude(assigned_object_id__in=remaining).exists())
        # No change record per resource; the fabric's own deletion is recorded.
        self.assertFalse(ObjectChange.objects.filter(changed_object_type=self.resource_type).exists())
        fabric_changes = ObjectChange.objects.filter(
            changed_object_type=ObjectType.objects.get_for_model(HedgehogFabric), action='delete'
        )
        self.assertEqual(sorted(fabric_changes.values_list('changed_object_id', flat=True)), sorted(pks))

    def test_the_confirmation_counts_what_goes(self):
        fabric = self.fabrics[0]
        response = self.client.get(reverse('plugins:netbox_hedgehog:hedgehogfabric_delete', args=[fabric.pk]))
        self.assertHttpStatus(response, 200)
        self.assertEqual(len(response.context['dependent_objects'][HedgehogResource]), fabric.resources.count())
        self.assertEqual(len(response.context['dependent_objects'][SyncRun]), 1)

    def test_delete_one(self):
        fabric = self.fabrics[0]
        response = self.client.post(
            reverse('plugins:netbox_hedgehog:hedgehogfabric_delete', args=[fabric.pk]), {'confirm': True}
        )
        self.assertHttpStatus(response, 302)
        self.assertGone([fabric])
        self.assertTrue(HedgehogResource.objects.filter(fabric=self.fabrics[1]).exists())

    def test_bulk_delete(self):
        response = self.client.post(
            reverse('plugins:netbox_hedgehog:hedgehogfabric_bulk_delete'),
            {'pk': [fabric.pk for fabric in self.fabrics[:2]], 'confirm': True, '_confirm': True},
        )
        self.assertHttpStatus(response, 302)
        self.assertGone(self.fabrics[:2])
        self.assertEqual(TaggedItem.objects.filter(content_type=self.resource_type).count(), 1)  # the third's
