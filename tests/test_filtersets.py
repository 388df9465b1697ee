"""The filtersets, through NetBox's filterset test mixins (which also check that every model field has a filter)."""

from datetime import timedelta

from dcim.models import Site
from django.test import TestCase
from django.utils import timezone
from utilities.testing import BaseFilterSetTestMixin, ChangeLoggedFilterSetTestMixin

from netbox_hedgehog.choices import (
    ConnectionStatusChoices,
    DriftStateChoices,
    ResourceSourceChoices,
    SyncOutcomeChoices,
    SyncStatusChoices,
    SyncTriggerChoices,
)
from netbox_hedgehog.filtersets import HedgehogFabricFilterSet, HedgehogResourceFilterSet, SyncRunFilterSet
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.models.fabric import SECRET_FIELDS
from tests.fabric_data import ATTACHMENT, CONNECTION, create_wiring


class HedgehogFabricFilterSetTestCase(TestCase, ChangeLoggedFilterSetTestMixin):
    # NetBox's test_missing_filters imports "<top-level package of the test>.filtersets": name ours.
    __module__ = 'netbox_hedgehog.tests.test_filtersets'

    queryset = HedgehogFabric.objects.all()
    filterset = HedgehogFabricFilterSet
    # Secrets get no filter (it would be an oracle for guessing them); certificates and comments are blobs.
    ignore_fields = (*SECRET_FIELDS, 'kubernetes_ca_cert', 'git_files')

    @classmethod
    def setUpTestData(cls):
        now = timezone.now()
        HedgehogFabric.objects.bulk_create(
            [
                HedgehogFabric(
                    name='fabric-1',
                    description='lab',
                    kubernetes_server='https://10.0.0.1:6443',
                    sync_interval=60,
                    sync_status=SyncStatusChoices.IN_SYNC,
                    connection_status=ConnectionStatusChoices.CONNECTED,
                    last_sync=now,
                    next_sync=now + timedelta(minutes=1),
                ),
                HedgehogFabric(
                    name='fabric-2',
                    description='prod',
                    git_repository_url='https://example.com/2.git',
                    git_branch='release',
                    sync_interval=300,
                    sync_enabled=False,
                    sync_status=SyncStatusChoices.ERROR,
                    connection_status=ConnectionStatusChoices.FAILED,
                ),
                HedgehogFabric(
                    name='fabric-3',
                    kubernetes_namespace='fab',
                    sync_interval=0,
                    scheduler_enabled=False,
                    sync_status=SyncStatusChoices.NEVER_SYNCED,
                ),
            ]
        )

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

    def test_prune_and_drift_count(self):
        HedgehogFabric.objects.filter(name='fabric-1').update(prune=False, drift_count=3)
        self.assertEqual(self.filterset({'prune': 'false'}, self.queryset).qs.count(), 1)
        self.assertEqual(self.filterset({'drift_count__gte': [1]}, self.queryset).qs.count(), 1)

    def test_dcim_settings(self):
        site = Site.objects.create(name='DC 1', slug='dc-1')
        HedgehogFabric.objects.filter(name='fabric-1').update(
            dcim_sync=True, dcim_site=site, dcim_source='git', dcim_conflict_policy='adopt'
        )
        for params in (
            {'dcim_sync': 'true'},
            {'dcim_site_id': [site.pk]},
            {'dcim_site': ['dc-1']},
            {'dcim_source': ['git']},
            {'dcim_conflict_policy': ['adopt']},
        ):
            self.assertEqual(self.filterset(params, self.queryset).qs.count(), 1, params)
        self.assertEqual(self.filterset({'dcim_tenant_id': ['null']}, self.queryset).qs.count(), 3)

    def test_secrets_have_no_filter(self):
        self.assertNotIn('kubernetes_token', HedgehogFabricFilterSet.get_filters())
        self.assertNotIn('kubeconfig', HedgehogFabricFilterSet.get_filters())


class HedgehogResourceFilterSetTestCase(TestCase, ChangeLoggedFilterSetTestMixin):
    __module__ = 'netbox_hedgehog.tests.test_filtersets'

    queryset = HedgehogResource.objects.all()
    filterset = HedgehogResourceFilterSet
    # Whole documents: searched through the key-field columns lifted out of them.
    ignore_fields = ('spec', 'status', 'labels', 'annotations')

    @classmethod
    def setUpTestData(cls):
        create_wiring()  # 9 objects in Git and in the cluster, leaf-02 differing, and a cluster-only Agent
        create_wiring('fabric-other')

    def count(self, **params):
        return self.filterset(params, self.queryset).qs.count()

    def names(self, **params):
        return sorted({(r.kind, r.name) for r in self.filterset(params, self.queryset).qs})

    def test_fabric(self):
        fabric = HedgehogFabric.objects.get(name='fabric-wiring')
        self.assertEqual(self.count(fabric_id=[fabric.pk]), 19)
        self.assertEqual(self.count(fabric=['fabric-other']), 19)

    def test_source_kind_namespace(self):
        self.assertEqual(self.count(source=[ResourceSourceChoices.GIT]), 18)
        self.assertEqual(self.count(kind=['Switch', 'Server']), 12)
        self.assertEqual(self.count(namespace=['default']), 38)
        self.assertEqual(self.count(namespace__n=['default']), 0)

    def test_asn(self):
        self.assertEqual(self.names(asn=[65101]), [('Agent', 'leaf-01'), ('Switch', 'leaf-01')])
        self.assertEqual(self.count(asn=[65199]), 2)  # leaf-02 in the cluster of both fabrics
        self.assertEqual(self.names(asn__gte=[65102]), [('Switch', 'leaf-02')])

    def test_role_and_profile(self):
        self.assertEqual(
            self.names(role=['server-leaf']), [('Agent', 'leaf-01'), ('Switch', 'leaf-01'), ('Switch', 'leaf-02')]
        )
        self.assertEqual(self.count(profile=['vs']), 10)

    def test_connection_type(self):
        self.assertEqual(self.names(connection_type=['unbundled']), [('Connection', CONNECTION)])
        self.assertEqual(self.count(connection_type=['mclag']), 0)

    def test_devices_contains(self):
        self.assertEqual(self.names(devices=['leaf-01']), [('Agent', 'leaf-01'), ('Connection', CONNECTION)])
        self.assertEqual(self.names(devices=['server-01']), [('Connection', CONNECTION)])
        self.assertEqual(
            self.names(devices=['server-01', 'leaf-01']), [('Agent', 'leaf-01'), ('Connection', CONNECTION)]
        )
        self.assertEqual(self.count(devices=['leaf']), 0)  # whole names, not substrings
        self.assertEqual(self.count(devices__n=['leaf-01']), 38 - 6)

    def test_ports_and_subnets_contain(self):
        self.assertEqual(self.names(ports=['leaf-01/E1/1']), [('Connection', CONNECTION)])
        self.assertEqual(self.names(subnets=['10.0.1.0/24']), [('VPC', 'vpc-1')])
        self.assertEqual(
            self.names(subnets=['10.0.0.0/16', 'default']),
            [('IPv4Namespace', 'default'), ('VPCAttachment', ATTACHMENT)],
        )

    def test_references(self):
        self.assertEqual(self.names(vpc=['vpc-1']), [('VPCAttachment', ATTACHMENT)])
        self.assertEqual(self.names(connection=[CONNECTION]), [('VPCAttachment', ATTACHMENT)])
        self.assertEqual(self.names(ipv4_namespace=['default']), [('VPC', 'vpc-1')])
        self.assertEqual(self.names(vlan_namespace=['default']), [('Switch', 'leaf-01'), ('VPC', 'vpc-1')])

    def test_agent_status_fields(self):
        self.assertEqual(self.count(applied_generation=[7]), 2)
        self.assertEqual(self.count(heartbeat__empty='false'), 2)

    def test_drift_state(self):
        self.assertEqual(self.names(drift_state=[DriftStateChoices.DIFFERS]), [('Switch', 'leaf-02')])
        # The Agents are the controller's own objects: never drift, so they have no drift state at all.
        self.assertEqual(self.count(drift_state=[DriftStateChoices.DIFFERS, DriftStateChoices.ONLY_IN_CLUSTER]), 4)
        self.assertEqual(self.count(drift_state__n=[DriftStateChoices.IN_SYNC]), 10)  # 4 drift + 6 without state

    def test_drifted_is_what_the_drift_count_counts(self):
        fabric = HedgehogFabric.objects.get(name='fabric-wiring')
        self.assertEqual(fabric.drift_count, 1)  # the Agent only the cluster has is the controller's: no drift
        self.assertEqual(self.names(fabric_id=[fabric.pk], drifted='true'), [('Switch', 'leaf-02')])
        self.assertEqual(self.count(fabric_id=[fabric.pk], drifted='false'), 19 - 2)

    def test_q(self):
        self.assertEqual(self.names(q='vpc-1'), [('VPC', 'vpc-1'), ('VPCAttachment', ATTACHMENT)])
        self.assertEqual(self.names(q='65102'), [('Switch', 'leaf-02')])
        self.assertEqual(
            self.names(q='server-01'),
            [('Connection', CONNECTION), ('Server', 'server-01'), ('VPCAttachment', ATTACHMENT)],
        )
        self.assertEqual(self.count(q='99999999999999999999'), 0)


class SyncRunFilterSetTestCase(TestCase, BaseFilterSetTestMixin):
    __module__ = 'netbox_hedgehog.tests.test_filtersets'

    queryset = SyncRun.objects.all()
    filterset = SyncRunFilterSet
    ignore_fields = ('step_durations', 'error', 'changes')

    @classmethod
    def setUpTestData(cls):
        fabric = HedgehogFabric.objects.create(name='fabric-1')
        now = timezone.now()
        for trigger, outcome, dry_run in (
            (SyncTriggerChoices.SCHEDULE, SyncOutcomeChoices.SUCCESS, False),
            (SyncTriggerChoices.MANUAL, SyncOutcomeChoices.SUCCESS, True),
            (SyncTriggerChoices.BOOTSTRAP, SyncOutcomeChoices.PARTIAL, False),
            (SyncTriggerChoices.WATCHDOG, SyncOutcomeChoices.FAILED, False),
        ):
            SyncRun.objects.create(
                fabric=fabric,
                trigger=trigger,
                outcome=outcome,
                dry_run=dry_run,
                started_at=now,
                invalid=2 if outcome == SyncOutcomeChoices.PARTIAL else 0,
                prune_skipped=1 if dry_run else 0,
                kubernetes_revision='Switch=100' if outcome != SyncOutcomeChoices.FAILED else '',
            )

    def count(self, **params):
        return self.filterset(params, self.queryset).qs.count()

    def test_dry_run(self):
        self.assertEqual(self.count(dry_run='true'), 1)
        self.assertEqual(self.count(dry_run='false'), 3)

    def test_outcome(self):
        self.assertEqual(self.count(outcome=[SyncOutcomeChoices.PARTIAL]), 1)
        self.assertEqual(self.count(outcome=[SyncOutcomeChoices.SUCCESS, SyncOutcomeChoices.FAILED]), 3)

    def test_trigger(self):
        self.assertEqual(self.count(trigger=[SyncTriggerChoices.BOOTSTRAP, SyncTriggerChoices.WATCHDOG]), 2)

    def test_counts_and_revision(self):
        self.assertEqual(self.count(invalid__gte=[1]), 1)
        self.assertEqual(self.count(prune_skipped=[1]), 1)
        self.assertEqual(self.count(kubernetes_revision=['Switch=100']), 3)
