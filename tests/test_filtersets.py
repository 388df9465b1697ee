"""HedgehogFabricFilterSet, through NetBox's filterset test mixin."""

from datetime import timedelta

from django.test import TestCase
from django.utils import timezone

from netbox_hedgehog.choices import ConnectionStatusChoices, SyncStatusChoices
from netbox_hedgehog.filtersets import HedgehogFabricFilterSet
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.models.fabric import SECRET_FIELDS
from utilities.testing import ChangeLoggedFilterSetTestMixin


class HedgehogFabricFilterSetTestCase(TestCase, ChangeLoggedFilterSetTestMixin):
    # NetBox's test_missing_filters imports "<top-level package of the test>.filtersets": name ours.
    __module__ = 'netbox_hedgehog.tests.test_filtersets'

    queryset = HedgehogFabric.objects.all()
    filterset = HedgehogFabricFilterSet
    # Secrets get no filter (it would be an oracle for guessing them); certificates and comments are blobs.
    ignore_fields = (*SECRET_FIELDS, 'kubernetes_ca_cert')

    @classmethod
    def setUpTestData(cls):
        now = timezone.now()
        HedgehogFabric.objects.bulk_create([
            HedgehogFabric(
                name='fabric-1', description='lab', kubernetes_server='https://10.0.0.1:6443', sync_interval=60,
                sync_status=SyncStatusChoices.IN_SYNC, connection_status=ConnectionStatusChoices.CONNECTED,
                last_sync=now, next_sync=now + timedelta(minutes=1),
            ),
            HedgehogFabric(
                name='fabric-2', description='prod', git_repository_url='https://example.com/2.git',
                git_branch='release', sync_interval=300, sync_enabled=False,
                sync_status=SyncStatusChoices.ERROR, connection_status=ConnectionStatusChoices.FAILED,
            ),
            HedgehogFabric(
                name='fabric-3', kubernetes_namespace='fab', sync_interval=0, scheduler_enabled=False,
                sync_status=SyncStatusChoices.NEVER_SYNCED,
            ),
        ])

    def test_q(self):
        self.assertEqual(self.filterset({'q': 'example.com'}, self.queryset).qs.count(), 1)
        self.assertEqual(self.filterset({'q': 'fabric'}, self.queryset).qs.count(), 3)

    def test_name(self):
        params = {'name': ['fabric-1', 'fabric-2']}
        self.assertEqual(self.filterset(params, self.queryset).qs.count(), 2)

    def test_description(self):
        self.assertEqual(self.filterset({'description': ['lab']}, self.queryset).qs.count(), 1)

    def test_sync_status(self):
        params = {'sync_status': [SyncStatusChoices.IN_SYNC, SyncStatusChoices.ERROR]}
        self.assertEqual(self.filterset(params, self.queryset).qs.count(), 2)

    def test_connection_status(self):
        params = {'connection_status': [ConnectionStatusChoices.FAILED]}
        self.assertEqual(self.filterset(params, self.queryset).qs.count(), 1)

    def test_sync_enabled(self):
        self.assertEqual(self.filterset({'sync_enabled': 'false'}, self.queryset).qs.count(), 1)

    def test_scheduler_enabled(self):
        self.assertEqual(self.filterset({'scheduler_enabled': 'true'}, self.queryset).qs.count(), 2)

    def test_sync_interval(self):
        self.assertEqual(self.filterset({'sync_interval': [60, 300]}, self.queryset).qs.count(), 2)
        self.assertEqual(self.filterset({'sync_interval__gte': [60]}, self.queryset).qs.count(), 2)

    def test_kubernetes_namespace(self):
        self.assertEqual(self.filterset({'kubernetes_namespace': ['fab']}, self.queryset).qs.count(), 1)

    def test_git_branch(self):
        self.assertEqual(self.filterset({'git_branch': ['release']}, self.queryset).qs.count(), 1)

    def test_last_sync(self):
        self.assertEqual(self.filterset({'last_sync__empty': 'true'}, self.queryset).qs.count(), 2)

    def test_secrets_have_no_filter(self):
        self.assertNotIn('kubernetes_token', HedgehogFabricFilterSet.get_filters())
        self.assertNotIn('kubeconfig', HedgehogFabricFilterSet.get_filters())
