import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from netbox.tables import NetBoxTable, columns

from .models import HedgehogFabric, HedgehogResource, SyncRun
from .sources.base import source_classes

__all__ = (
    'DriftCountColumn',
    'HedgehogFabricTable',
    'HedgehogResourceTable',
    'SyncRunTable',
)


def drifted_resources_url(fabric):
    """The resource list showing the objects a fabric's drift count counts."""
    return '{}?{}'.format(
        reverse('plugins:netbox_hedgehog:hedgehogresource_list'),
        urlencode({'fabric_id': fabric.pk, 'drifted': 'true'}),
    )


class DriftCountColumn(tables.Column):
    """A fabric's drift count, linked to the list of its drifted resources."""

    def render(self, record, value):
        if not value:
            return value
        return format_html('<a href="{}">{}</a>', drifted_resources_url(record), value)

    def value(self, value):
        return value


# The steps of a run in the order they run (jsonb keeps a dict's keys in an order of its own).
STEP_ORDER = (*(source.step for source in source_classes()), 'diff', 'apply')


def step_durations(durations):
    """A run's ``step_durations`` as ``[(step, "seconds with 3 decimals")]``, in the order the steps run."""
    if not isinstance(durations, dict):
        return []
    rank = {step: index for index, step in enumerate(STEP_ORDER)}
    steps = sorted(durations, key=lambda step: (rank.get(step, len(STEP_ORDER)), str(step)))
    return [(step, format_seconds(durations[step])) for step in steps]


def format_seconds(seconds):
    """Seconds with 3 decimals; anything that is not a number as it is."""
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return f'{seconds:.3f}'
    return str(seconds)


class StepDurationsColumn(tables.Column):
    """A run's ``step_durations`` as ``step: seconds``, one per line (3 decimals)."""

    def render(self, value):
        steps = step_durations(value)
        if not steps:
            return self.default
        return format_html_join(format_html('<br />'), '{}: {}', steps)

    def value(self, value):
        return ', '.join(f'{step}={seconds}' for step, seconds in step_durations(value))


class HedgehogFabricTable(NetBoxTable):
    """Fabrics with their sync health at a glance; the secrets have no column (so no export either)."""

    name = tables.Column(verbose_name=_('Name'), linkify=True)
    sync_status = columns.ChoiceFieldColumn(verbose_name=_('Sync status'))
    connection_status = columns.ChoiceFieldColumn(verbose_name=_('Connection'))
    sync_enabled = columns.BooleanColumn(verbose_name=_('Sync enabled'))
    scheduler_enabled = columns.BooleanColumn(verbose_name=_('Periodic'))
    sync_interval = tables.Column(verbose_name=_('Interval (s)'))
    last_sync = columns.DateTimeColumn(verbose_name=_('Last sync'))
    last_successful_sync = columns.DateTimeColumn(verbose_name=_('Last success'))
    next_sync = columns.DateTimeColumn(verbose_name=_('Next sync'))
    prune = columns.BooleanColumn(verbose_name=_('Prune'))
    kubernetes_verify_tls = columns.BooleanColumn(verbose_name=_('Verify TLS'))
    drift_count = DriftCountColumn(verbose_name=_('Drift'))
    resource_count = columns.LinkedCountColumn(
        viewname='plugins:netbox_hedgehog:hedgehogresource_list',
        url_params={'fabric_id': 'pk'},
        verbose_name=_('Resources'),
    )
    tags = columns.TagColumn(url_name='plugins:netbox_hedgehog:hedgehogfabric_list')

    class Meta(NetBoxTable.Meta):
        model = HedgehogFabric
        fields = (
            'pk',
            'id',
            'name',
            'description',
            'sync_status',
            'connection_status',
            'sync_enabled',
            'scheduler_enabled',
            'sync_interval',
            'last_sync',
            'last_successful_sync',
            'next_sync',
            'resource_count',
            'drift_count',
            'prune',
            'kubernetes_server',
            'kubernetes_namespace',
            'kubernetes_verify_tls',
            'git_repository_url',
            'git_branch',
            'git_path',
            'sync_error',
            'tags',
            'created',
            'last_updated',
            'actions',
        )
        default_columns = (
            'pk',
            'name',
            'sync_status',
            'connection_status',
            'sync_interval',
            'last_sync',
            'last_successful_sync',
            'next_sync',
            'resource_count',
            'drift_count',
        )


class HedgehogResourceTable(NetBoxTable):
    name = tables.Column(verbose_name=_('Name'), linkify=True)
    fabric = tables.Column(verbose_name=_('Fabric'), linkify=True)
    source = columns.ChoiceFieldColumn(verbose_name=_('Source'))
    drift_state = columns.ChoiceFieldColumn(verbose_name=_('Drift'))
    role = tables.Column(verbose_name=_('Role'))
    asn = tables.Column(verbose_name=_('ASN'))
    profile = tables.Column(verbose_name=_('Profile'))
    connection_type = tables.Column(verbose_name=_('Connection type'))
    devices = columns.ArrayColumn(verbose_name=_('Devices'), orderable=False)
    ports = columns.ArrayColumn(verbose_name=_('Ports'), orderable=False)
    subnets = columns.ArrayColumn(verbose_name=_('Subnets'), orderable=False)
    vpc = tables.Column(verbose_name=_('VPC'))
    connection = tables.Column(verbose_name=_('Connection'))
    ipv4_namespace = tables.Column(verbose_name=_('IPv4 namespace'))
    vlan_namespace = tables.Column(verbose_name=_('VLAN namespace'))
    heartbeat = columns.DateTimeColumn(verbose_name=_('Last heartbeat'))
    applied_generation = tables.Column(verbose_name=_('Applied generation'))
    tags = columns.TagColumn(url_name='plugins:netbox_hedgehog:hedgehogresource_list')
    actions = columns.ActionsColumn(actions=('changelog',))

    class Meta(NetBoxTable.Meta):
        model = HedgehogResource
        fields = (
            'pk',
            'id',
            'fabric',
            'source',
            'api_version',
            'kind',
            'namespace',
            'name',
            'drift_state',
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
            'resource_version',
            'uid',
            'source_path',
            'tags',
            'created',
            'last_updated',
            'actions',
        )
        default_columns = (
            'pk',
            'fabric',
            'kind',
            'namespace',
            'name',
            'source',
            'drift_state',
            'role',
            'asn',
            'connection_type',
            'vpc',
        )


class SyncRunTable(NetBoxTable):
    started_at = columns.DateTimeColumn(verbose_name=_('Started'), linkify=True)
    fabric = tables.Column(verbose_name=_('Fabric'), linkify=True)
    trigger = columns.ChoiceFieldColumn(verbose_name=_('Trigger'))
    outcome = columns.ChoiceFieldColumn(verbose_name=_('Outcome'))
    planned_at = columns.DateTimeColumn(verbose_name=_('Planned'))
    finished_at = columns.DateTimeColumn(verbose_name=_('Finished'))
    duration = columns.TemplateColumn(
        verbose_name=_('Duration (s)'),
        orderable=False,
        template_code='{{ value|floatformat:3 }}',
    )
    lateness = columns.TemplateColumn(
        verbose_name=_('Late by (s)'),
        orderable=False,
        template_code='{{ value|floatformat:3 }}',
    )
    dry_run = columns.BooleanColumn(verbose_name=_('Dry run'))
    invalid = tables.Column(verbose_name=_('Invalid'))
    prune_skipped = tables.Column(verbose_name=_('Prune skipped'))
    kubernetes_revision = tables.Column(verbose_name=_('Kubernetes revision'))
    step_durations = StepDurationsColumn(verbose_name=_('Step durations (s)'), orderable=False)
    error = columns.TemplateColumn(verbose_name=_('Error'), template_code='{{ value|truncatechars:80 }}')
    actions = columns.ActionsColumn(actions=())

    class Meta(NetBoxTable.Meta):
        model = SyncRun
        fields = (
            'pk',
            'id',
            'started_at',
            'fabric',
            'trigger',
            'outcome',
            'dry_run',
            'planned_at',
            'finished_at',
            'duration',
            'lateness',
            'created',
            'updated',
            'deleted',
            'unchanged',
            'invalid',
            'prune_skipped',
            'git_commit',
            'kubernetes_revision',
            'step_durations',
            'job_id',
            'error',
            'actions',
        )
        default_columns = (
            'started_at',
            'fabric',
            'trigger',
            'outcome',
            'dry_run',
            'duration',
            'created',
            'updated',
            'deleted',
            'unchanged',
            'invalid',
            'prune_skipped',
            'git_commit',
            'error',
        )
