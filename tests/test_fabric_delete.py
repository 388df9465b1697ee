"""Deleting fabrics: resources, run records and what hangs off them go in bulk, one change record, no sync awaited."""

import psycopg
import pytest
from core.models import ObjectChange, ObjectType
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from extras.models import JournalEntry, TaggedItem
from utilities.testing import TestCase, create_tags

from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.locks import APPLY_LOCK_NAMESPACE
from tests.database import connect
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


@pytest.fixture
def writer(transactional_db):
    """A second database session (a worker's), closed after the test whatever happened to it."""
    session = connect(settings.DATABASES['default']['NAME'])
    yield session
    session.close()


def test_a_deletion_ends_the_sync_writing_to_the_fabric_instead_of_waiting_for_it(writer, tasks_redis):
    fabric = create_wiring('busy')
    # The writer is in the middle of an apply: the fence's advisory lock, the fabric's row, its resources.
    writer.execute('BEGIN')
    writer.execute('SELECT pg_advisory_xact_lock(%s, %s)', [APPLY_LOCK_NAMESPACE, fabric.pk])
    writer.execute(f'SELECT 1 FROM {HedgehogFabric._meta.db_table} WHERE id = %s FOR KEY SHARE', [fabric.pk])
    writer.execute(f'UPDATE {HedgehogResource._meta.db_table} SET name = name WHERE fabric_id = %s', [fabric.pk])
    fabric_id = fabric.pk

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '60s'")  # a deletion that waited for the writer fails, not hangs
        fabric.delete()

    assert not HedgehogFabric.objects.filter(pk=fabric_id).exists()
    assert not HedgehogResource.objects.filter(fabric_id=fabric_id).exists()
    with pytest.raises(psycopg.OperationalError):  # the writer's session was ended, its transaction rolled back
        writer.execute('SELECT 1')
