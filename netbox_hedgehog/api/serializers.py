from dcim.api.serializers import SiteSerializer
from django.utils.translation import gettext_lazy as _
from netbox.api.fields import ChoiceField, ContentTypeField, RelatedObjectCountField
from netbox.api.gfk_fields import GFKSerializerField
from netbox.api.serializers import BaseModelSerializer, NetBoxModelSerializer
from rest_framework import serializers
from tenancy.api.serializers import TenantSerializer

from ..choices import (
    ConnectionStatusChoices,
    DCIMConflictPolicyChoices,
    DCIMSourceChoices,
    DriftStateChoices,
    ResourceSourceChoices,
    SyncOutcomeChoices,
    SyncStatusChoices,
    SyncTriggerChoices,
)
from ..models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun

__all__ = (
    'HedgehogFabricSerializer',
    'HedgehogOwnedObjectSerializer',
    'HedgehogResourceSerializer',
    'SyncJobSerializer',
    'SyncRequestSerializer',
    'SyncRunSerializer',
)


class HedgehogFabricSerializer(NetBoxModelSerializer):
    """A fabric; the tokens, the kubeconfig and the SSH key can be written but are never returned."""

    kubernetes_token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        style={'input_type': 'password'},
        help_text=_('Write-only; omit it to keep the stored token, send "" to remove it'),
    )
    kubeconfig = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text=_('Write-only; omit it to keep the stored kubeconfig, send "" to remove it'),
    )
    git_token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        style={'input_type': 'password'},
        help_text=_('Write-only; omit it to keep the stored Git token, send "" to remove it'),
    )
    git_ssh_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=_('Write-only; omit it to keep the stored SSH private key, send "" to remove it'),
    )
    cleared_secrets = serializers.SerializerMethodField(
        help_text=_(
            'The stored secrets this write removed because the API server or the Git host changed without new ones'
        )
    )
    sync_status = ChoiceField(choices=SyncStatusChoices, read_only=True)
    connection_status = ChoiceField(choices=ConnectionStatusChoices, read_only=True)
    resource_count = RelatedObjectCountField('resources')
    dcim_site = SiteSerializer(nested=True, required=False, allow_null=True)
    dcim_tenant = TenantSerializer(nested=True, required=False, allow_null=True)
    dcim_source = ChoiceField(choices=DCIMSourceChoices, required=False)
    dcim_conflict_policy = ChoiceField(choices=DCIMConflictPolicyChoices, required=False)

    class Meta:
        model = HedgehogFabric
        fields = [
            'id',
            'url',
            'display_url',
            'display',
            'name',
            'description',
            'kubernetes_server',
            'kubernetes_namespace',
            'kubernetes_token',
            'kubernetes_ca_cert',
            'kubernetes_verify_tls',
            'kubeconfig',
            'kubernetes_in_cluster',
            'git_repository_url',
            'git_branch',
            'git_path',
            'git_token',
            'git_ssh_key',
            'allow_insecure_transport',
            'cleared_secrets',
            'sync_enabled',
            'scheduler_enabled',
            'sync_interval',
            'prune',
            'dcim_sync',
            'dcim_site',
            'dcim_tenant',
            'dcim_source',
            'dcim_conflict_policy',
            'sync_status',
            'sync_error',
            'connection_status',
            'connection_message',
            'connection_checked',
            'last_sync',
            'last_sync_planned',
            'last_successful_sync',
            'next_sync',
            'drift_count',
            'resource_count',
            'comments',
            'tags',
            'custom_fields',
            'created',
            'last_updated',
        ]
        brief_fields = ('id', 'url', 'display', 'name', 'description', 'sync_status')

    def update(self, instance, validated_data):
        """Save, and remember on the request which secrets the save removed.

        NetBox answers a write with a freshly fetched copy of the object, which no longer knows.
        """
        instance = super().update(instance, validated_data)
        request = self.context.get('request')
        if request is not None:
            cleared = getattr(request, 'hedgehog_cleared_secrets', {})
            cleared[instance.pk] = instance.cleared_secrets
            request.hedgehog_cleared_secrets = cleared
        return instance

    def get_cleared_secrets(self, obj) -> list[str]:
        cleared = getattr(self.context.get('request'), 'hedgehog_cleared_secrets', {})
        return list(cleared.get(obj.pk, obj.cleared_secrets))


class HedgehogResourceSerializer(NetBoxModelSerializer):
    """A resource as the sync stored it: everything is read-only (the viewset takes no writes either)."""

    fabric = HedgehogFabricSerializer(nested=True, read_only=True)
    source = ChoiceField(choices=ResourceSourceChoices, read_only=True)
    drift_state = ChoiceField(choices=DriftStateChoices, read_only=True, allow_blank=True)

    class Meta:
        model = HedgehogResource
        fields = [
            'id',
            'url',
            'display_url',
            'display',
            'fabric',
            'source',
            'api_version',
            'kind',
            'namespace',
            'name',
            'spec',
            'status',
            'labels',
            'annotations',
            'resource_version',
            'uid',
            'source_path',
            'role',
            'asn',
            'profile',
            'connection_type',
            'devices',
            'ports',
            'subnets',
            'vpc',
            'connection',
            'ipv4_namespace',
            'vlan_namespace',
            'heartbeat',
            'applied_generation',
            'drift_state',
            'tags',
            'custom_fields',
            'created',
            'last_updated',
        ]
        read_only_fields = fields
        brief_fields = ('id', 'url', 'display', 'fabric', 'kind', 'namespace', 'name', 'source')


class SyncRunSerializer(BaseModelSerializer):
    fabric = HedgehogFabricSerializer(nested=True, read_only=True)
    trigger = ChoiceField(choices=SyncTriggerChoices, read_only=True)
    outcome = ChoiceField(choices=SyncOutcomeChoices, read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            'id',
            'url',
            'display_url',
            'display',
            'fabric',
            'trigger',
            'outcome',
            'dry_run',
            'job_id',
            'planned_at',
            'started_at',
            'finished_at',
            'duration',
            'lateness',
            'created',
            'updated',
            'deleted',
            'unchanged',
            'invalid',
            'prune_skipped',
            'dcim_created',
            'dcim_updated',
            'dcim_deleted',
            'git_commit',
            'kubernetes_revision',
            'step_durations',
            'changes',
            'error',
        ]
        read_only_fields = fields
        brief_fields = ('id', 'url', 'display', 'fabric', 'outcome', 'started_at')


class HedgehogOwnedObjectSerializer(BaseModelSerializer):
    """A NetBox object a fabric's DCIM mapping owns, with the object in its brief form; written by the sync only."""

    fabric = HedgehogFabricSerializer(nested=True, read_only=True)
    object_type = ContentTypeField(read_only=True)
    object = GFKSerializerField(read_only=True)

    class Meta:
        model = HedgehogOwnedObject
        fields = [
            'id',
            'url',
            'display',
            'fabric',
            'object_type',
            'object_id',
            'object',
            'key',
            'kind',
            'namespace',
            'name',
            'created',
        ]
        read_only_fields = fields
        brief_fields = ('id', 'url', 'display', 'fabric', 'object_type', 'object_id', 'key')


class SyncRequestSerializer(serializers.Serializer):
    """The optional body of a sync request."""

    dry_run = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_('Compute and record the diff without applying it'),
    )
    allow_empty_kinds = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_('Prune the objects of kinds that a source suddenly lists as empty (normally refused)'),
    )


class SyncJobSerializer(serializers.Serializer):
    """The answer to a sync request: which job will run it, and whether it joined one already queued."""

    fabric = serializers.IntegerField()
    job_id = serializers.CharField()
    coalesced = serializers.BooleanField()
    worker_listening = serializers.BooleanField(help_text='False: no worker serves the sync queue, nothing runs it')
    run = serializers.URLField(help_text="The run's record (sync-runs filtered by this job), once the worker starts it")
    warning = serializers.CharField(
        allow_blank=True, help_text='Why nothing will run the job (empty: a worker listens)'
    )


class SyncStatusSerializer(serializers.Serializer):
    """Documents ``fabrics/sync-status/``: see ``SchedulingStatus.as_dict``."""

    workers = serializers.ListField(child=serializers.CharField())
    schedulers = serializers.ListField(child=serializers.CharField())
    problems = serializers.ListField(child=serializers.CharField())
    fabrics = serializers.ListField(child=serializers.DictField())
