import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from netbox.tables import NetBoxTable, columns

from .models import HedgehogFabric, HedgehogResource, SyncRun

__all__ = (
    'HedgehogFabricTable',
    'HedgehogResourceTable',
    'SyncRunTable',
)


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
    resource_count = columns.LinkedCountColumn(
        viewname='plugins:netbox_hedgehog:hedgehogresource_list',
        url_params={'fabric_id': 'pk'},
        verbose_name=_('Resources'),
    )
    tags = columns.TagColumn(url_name='plugins:netbox_hedgehog:hedgehogfabric_list')

    class Meta(NetBoxTable.Meta):
        model = HedgehogFabric
        fields = (
            'pk', 'id', 'name', 'description', 'sync_status', 'connection_status', 'sync_enabled',
            'scheduler_enabled', 'sync_interval', 'last_sync', 'last_successful_sync', 'next_sync',
            'resource_count', 'kubernetes_server', 'kubernetes_namespace', 'git_repository_url', 'git_branch',
            'git_path', 'sync_error', 'tags', 'created', 'last_updated', 'actions',
        )
        default_columns = (
            'pk', 'name', 'sync_status', 'connection_status', 'sync_interval', 'last_sync', 'last_successful_sync',
            'next_sync', 'resource_count',
        )


class HedgehogResourceTable(NetBoxTable):
    name = tables.Column(verbose_name=_('Name'), linkify=True)
    fabric = tables.Column(verbose_name=_('Fabric'), linkify=True)
    source = columns.ChoiceFieldColumn(verbose_name=_('Source'))
    tags = columns.TagColumn(url_name='plugins:netbox_hedgehog:hedgehogresource_list')
    actions = columns.ActionsColumn(actions=('changelog',))

    class Meta(NetBoxTable.Meta):
        model = HedgehogResource
        fields = (
            'pk', 'id', 'fabric', 'source', 'api_version', 'kind', 'namespace', 'name', 'resource_version', 'uid',
            'source_path', 'tags', 'created', 'last_updated', 'actions',
        )
        default_columns = ('pk', 'fabric', 'source', 'kind', 'namespace', 'name', 'resource_version')


class SyncRunTable(NetBoxTable):
    started_at = columns.DateTimeColumn(verbose_name=_('Started'), linkify=True)
    fabric = tables.Column(verbose_name=_('Fabric'), linkify=True)
    trigger = columns.ChoiceFieldColumn(verbose_name=_('Trigger'))
    outcome = columns.ChoiceFieldColumn(verbose_name=_('Outcome'))
    planned_at = columns.DateTimeColumn(verbose_name=_('Planned'))
    finished_at = columns.DateTimeColumn(verbose_name=_('Finished'))
    duration = columns.TemplateColumn(
        verbose_name=_('Duration (s)'), orderable=False, template_code='{{ value|floatformat:3 }}',
    )
    lateness = columns.TemplateColumn(
        verbose_name=_('Late by (s)'), orderable=False, template_code='{{ value|floatformat:3 }}',
    )
    error = columns.TemplateColumn(verbose_name=_('Error'), template_code='{{ value|truncatechars:80 }}')
    actions = columns.ActionsColumn(actions=())

    class Meta(NetBoxTable.Meta):
        model = SyncRun
        fields = (
            'pk', 'id', 'started_at', 'fabric', 'trigger', 'outcome', 'planned_at', 'finished_at', 'duration',
            'lateness', 'created', 'updated', 'deleted', 'unchanged', 'git_commit', 'job_id', 'error', 'actions',
        )
        default_columns = (
            'started_at', 'fabric', 'trigger', 'outcome', 'duration', 'created', 'updated', 'deleted', 'unchanged',
            'git_commit', 'error',
        )
