from core.models import ObjectType
from dcim.models import Site
from django import forms
from django.contrib import messages
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from netbox.context import current_request
from netbox.forms import NetBoxModelBulkEditForm, NetBoxModelFilterSetForm, NetBoxModelForm
from netbox.forms.mixins import SavedFiltersMixin
from tenancy.models import Tenant
from utilities.forms import BOOLEAN_WITH_BLANK_CHOICES, FilterForm
from utilities.forms.fields import (
    CommentField,
    ContentTypeMultipleChoiceField,
    DynamicModelChoiceField,
    DynamicModelMultipleChoiceField,
    TagFilterField,
)
from utilities.forms.rendering import FieldSet
from utilities.forms.widgets import BulkEditNullBooleanSelect

from .choices import (
    ConnectionStatusChoices,
    DriftStateChoices,
    ResourceSourceChoices,
    SyncOutcomeChoices,
    SyncStatusChoices,
    SyncTriggerChoices,
)
from .filtersets import KIND_CHOICES
from .models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun

__all__ = (
    'HedgehogFabricBulkEditForm',
    'HedgehogFabricFilterForm',
    'HedgehogFabricForm',
    'HedgehogOwnedObjectFilterForm',
    'HedgehogResourceFilterForm',
    'SyncRunFilterForm',
)


class WriteOnlyFieldsMixin(forms.Form):
    """Model form fields holding secrets: never sent back to the browser, kept when left empty.

    ``write_only_fields`` maps each secret to whether it is multi-line (a textarea) or not (a
    password input). The stored value never reaches the form's initial data, so no widget can
    render it. On edit an empty submission keeps the stored secret (the operator cannot see it,
    so an empty input means "unchanged"); a ``clear_<field>`` checkbox is the way to remove it.
    """

    write_only_fields = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stored_secrets = {}
        for name, multiline in self.write_only_fields.items():
            model_field = self._meta.model._meta.get_field(name)
            stored = self._stored_secrets[name] = getattr(self.instance, name)
            self.initial.pop(name, None)
            self.fields[name] = forms.CharField(
                label=capfirst(model_field.verbose_name),
                required=False,
                widget=forms.Textarea(attrs={'rows': 6, 'class': 'font-monospace', 'autocomplete': 'off'})
                if multiline
                else forms.PasswordInput(render_value=False, attrs={'autocomplete': 'new-password'}),
                help_text=_(
                    'A value is stored. Leave empty to keep it; it is removed if the server or repository host changes.'
                )
                if stored
                else model_field.help_text,
            )
            if stored:
                self.fields[f'clear_{name}'] = forms.BooleanField(
                    label=_('Remove the stored {secret}').format(secret=model_field.verbose_name),
                    required=False,
                )

    def clean(self):
        super().clean()
        cleaned_data = self.cleaned_data
        for name in self.write_only_fields:
            if cleaned_data.get(f'clear_{name}'):
                cleaned_data[name] = ''
            elif not cleaned_data.get(name):
                cleaned_data[name] = self._stored_secrets[name]
        return cleaned_data

    def save(self, *args, **kwargs):
        """Save, and tell the user which stored secrets the model removed because their endpoint changed."""
        instance = super().save(*args, **kwargs)
        request = current_request.get()
        if instance.cleared_secrets and request is not None:
            names = ', '.join(str(instance._meta.get_field(name).verbose_name) for name in instance.cleared_secrets)
            message = _('The endpoint changed, so the stored {secrets} given for the old one were removed.')
            messages.warning(request, message.format(secrets=names))
        return instance


class HedgehogFabricForm(WriteOnlyFieldsMixin, NetBoxModelForm):
    """Create or edit a fabric; field errors come from ``HedgehogFabric.clean()`` through ModelForm validation."""

    write_only_fields = {'kubernetes_token': False, 'kubeconfig': True, 'git_token': False, 'git_ssh_key': True}
    comments = CommentField()
    dcim_site = DynamicModelChoiceField(
        label=_('DCIM site'),
        queryset=Site.objects.all(),
        required=False,
        help_text=HedgehogFabric._meta.get_field('dcim_site').help_text,
    )
    dcim_tenant = DynamicModelChoiceField(
        label=_('DCIM tenant'),
        queryset=Tenant.objects.all(),
        required=False,
        help_text=HedgehogFabric._meta.get_field('dcim_tenant').help_text,
    )

    fieldsets = (
        FieldSet('name', 'description', 'tags', name=_('Fabric')),
        FieldSet(
            'kubernetes_server',
            'kubernetes_namespace',
            'kubernetes_token',
            'clear_kubernetes_token',
            'kubernetes_ca_cert',
            'kubernetes_verify_tls',
            'kubeconfig',
            'clear_kubeconfig',
            'kubernetes_in_cluster',
            name=_('Kubernetes'),
        ),
        FieldSet(
            'git_repository_url',
            'git_branch',
            'git_path',
            'git_token',
            'clear_git_token',
            'git_ssh_key',
            'clear_git_ssh_key',
            name=_('Git'),
        ),
        FieldSet('allow_insecure_transport', name=_('Transport')),
        FieldSet('sync_enabled', 'scheduler_enabled', 'sync_interval', 'prune', name=_('Sync')),
        FieldSet(
            'dcim_sync', 'dcim_site', 'dcim_tenant', 'dcim_source', 'dcim_conflict_policy', name=_('DCIM mapping')
        ),
    )

    class Meta:
        model = HedgehogFabric
        fields = (
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
            'sync_enabled',
            'scheduler_enabled',
            'sync_interval',
            'prune',
            'dcim_sync',
            'dcim_site',
            'dcim_tenant',
            'dcim_source',
            'dcim_conflict_policy',
            'comments',
            'tags',
        )
        widgets = {
            'kubernetes_ca_cert': forms.Textarea(attrs={'rows': 4, 'class': 'font-monospace'}),
        }

    # The DCIM choices came after the other settings: a submission without them (a script written
    # before them) keeps the fabric's current choice instead of failing as "required".
    KEPT_WHEN_EMPTY = ('dcim_source', 'dcim_conflict_policy')

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.KEPT_WHEN_EMPTY:
            self.fields[name].required = False

    def clean_dcim_source(self):
        return self.cleaned_data['dcim_source'] or self.instance.dcim_source

    def clean_dcim_conflict_policy(self):
        return self.cleaned_data['dcim_conflict_policy'] or self.instance.dcim_conflict_policy


class HedgehogFabricBulkEditForm(NetBoxModelBulkEditForm):
    model = HedgehogFabric

    sync_enabled = forms.NullBooleanField(
        label=_('Sync enabled'),
        required=False,
        widget=BulkEditNullBooleanSelect(),
    )
    scheduler_enabled = forms.NullBooleanField(
        label=_('Periodic sync'),
        required=False,
        widget=BulkEditNullBooleanSelect(),
    )
    sync_interval = forms.IntegerField(
        label=_('Sync interval'),
        required=False,
        min_value=0,
        help_text=HedgehogFabric._meta.get_field('sync_interval').help_text,
    )
    prune = forms.NullBooleanField(label=_('Prune'), required=False, widget=BulkEditNullBooleanSelect())
    kubernetes_verify_tls = forms.NullBooleanField(
        label=_('Verify TLS'),
        required=False,
        widget=BulkEditNullBooleanSelect(),
    )
    description = forms.CharField(label=_('Description'), max_length=200, required=False)

    fieldsets = (
        FieldSet('sync_enabled', 'scheduler_enabled', 'sync_interval', 'prune', 'kubernetes_verify_tls', 'description'),
    )
    nullable_fields = ('description',)


class HedgehogFabricFilterForm(NetBoxModelFilterSetForm):
    model = HedgehogFabric

    fieldsets = (
        FieldSet('q', 'filter_id', 'tag'),
        FieldSet('sync_status', 'connection_status', name=_('Status')),
        FieldSet('sync_enabled', 'scheduler_enabled', 'sync_interval', 'prune', name=_('Sync')),
        FieldSet('kubernetes_verify_tls', name=_('Kubernetes')),
    )
    sync_status = forms.MultipleChoiceField(label=_('Sync status'), choices=SyncStatusChoices, required=False)
    connection_status = forms.MultipleChoiceField(
        label=_('Connection status'),
        choices=ConnectionStatusChoices,
        required=False,
    )
    sync_enabled = forms.NullBooleanField(
        label=_('Sync enabled'),
        required=False,
        widget=forms.Select(choices=BOOLEAN_WITH_BLANK_CHOICES),
    )
    scheduler_enabled = forms.NullBooleanField(
        label=_('Periodic sync'),
        required=False,
        widget=forms.Select(choices=BOOLEAN_WITH_BLANK_CHOICES),
    )
    sync_interval = forms.IntegerField(label=_('Sync interval'), required=False, min_value=0)
    prune = forms.NullBooleanField(
        label=_('Prune'),
        required=False,
        widget=forms.Select(choices=BOOLEAN_WITH_BLANK_CHOICES),
    )
    kubernetes_verify_tls = forms.NullBooleanField(
        label=_('Verify TLS'),
        required=False,
        widget=forms.Select(choices=BOOLEAN_WITH_BLANK_CHOICES),
    )
    tag = TagFilterField(model)


class HedgehogResourceFilterForm(NetBoxModelFilterSetForm):
    model = HedgehogResource

    fieldsets = (
        FieldSet('q', 'filter_id', 'tag'),
        FieldSet('fabric_id', 'source', 'kind', 'namespace', 'name', name=_('Resource')),
        FieldSet('drift_state', 'drifted', name=_('Drift')),
        FieldSet(
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
            name=_('Key fields'),
        ),
    )
    fabric_id = DynamicModelMultipleChoiceField(
        queryset=HedgehogFabric.objects.all(),
        required=False,
        label=_('Fabric'),
    )
    source = forms.MultipleChoiceField(label=_('Source'), choices=ResourceSourceChoices, required=False)
    kind = forms.MultipleChoiceField(label=_('Kind'), choices=KIND_CHOICES, required=False)
    namespace = forms.CharField(label=_('Namespace'), required=False)
    name = forms.CharField(label=_('Name'), required=False)
    drift_state = forms.MultipleChoiceField(label=_('Drift'), choices=DriftStateChoices, required=False)
    drifted = forms.NullBooleanField(
        label=_('Drifted'),
        required=False,
        widget=forms.Select(choices=BOOLEAN_WITH_BLANK_CHOICES),
        help_text=_('Differs, or exists in one source only'),
    )
    role = forms.CharField(label=_('Role'), required=False)
    asn = forms.IntegerField(label=_('ASN'), required=False, min_value=0)
    profile = forms.CharField(label=_('Profile'), required=False)
    connection_type = forms.CharField(label=_('Connection type'), required=False)
    devices = forms.CharField(
        label=_('Device'), required=False, help_text=_('Refers to this switch, server or gateway')
    )
    ports = forms.CharField(label=_('Port'), required=False, help_text=_('As device/port, e.g. leaf-01/E1/1'))
    subnets = forms.CharField(label=_('Subnet'), required=False)
    vpc = forms.CharField(label=_('VPC'), required=False)
    connection = forms.CharField(label=_('Connection'), required=False)
    ipv4_namespace = forms.CharField(label=_('IPv4 namespace'), required=False)
    vlan_namespace = forms.CharField(label=_('VLAN namespace'), required=False)
    tag = TagFilterField(model)


class SyncRunFilterForm(SavedFiltersMixin, FilterForm):
    model = SyncRun

    fieldsets = (
        FieldSet('q', 'filter_id'),
        FieldSet('fabric_id', 'trigger', 'outcome', 'dry_run', name=_('Run')),
    )
    fabric_id = DynamicModelMultipleChoiceField(
        queryset=HedgehogFabric.objects.all(),
        required=False,
        label=_('Fabric'),
    )
    trigger = forms.MultipleChoiceField(label=_('Trigger'), choices=SyncTriggerChoices, required=False)
    outcome = forms.MultipleChoiceField(label=_('Outcome'), choices=SyncOutcomeChoices, required=False)
    dry_run = forms.NullBooleanField(
        label=_('Dry run'),
        required=False,
        widget=forms.Select(choices=BOOLEAN_WITH_BLANK_CHOICES),
    )


class HedgehogOwnedObjectFilterForm(SavedFiltersMixin, FilterForm):
    model = HedgehogOwnedObject

    fieldsets = (
        FieldSet('q', 'filter_id'),
        FieldSet('fabric_id', 'object_type_id', 'kind', name=_('Ownership')),
    )
    fabric_id = DynamicModelMultipleChoiceField(
        queryset=HedgehogFabric.objects.all(),
        required=False,
        label=_('Fabric'),
    )
    object_type_id = ContentTypeMultipleChoiceField(
        queryset=ObjectType.objects.public(),
        required=False,
        label=_('Object type'),
    )
    kind = forms.MultipleChoiceField(label=_('Kind'), choices=KIND_CHOICES, required=False)
