"""Detail-page panels, declared with NetBox's ``netbox.ui`` layout machinery."""

import yaml
from django.utils.translation import gettext_lazy as _

from netbox.ui import attrs, panels
from netbox.ui.actions import CopyContent

__all__ = (
    'FabricConnectionPanel',
    'FabricGitPanel',
    'FabricKubernetesPanel',
    'FabricPanel',
    'FabricStatusPanel',
    'FabricSyncSettingsPanel',
    'ResourcePanel',
    'SyncRunCountsPanel',
    'SyncRunPanel',
    'YAMLPanel',
)


class PresenceAttr(attrs.TextAttr):
    """Render "Set" or "Not set" instead of a value: for secrets, which must never reach a page."""

    def get_value(self, obj):
        return _('Set') if getattr(obj, self.accessor) else _('Not set')


class MultilineTextAttr(attrs.TextAttr):
    """Text whose lines stay lines (one per source, for example)."""

    template_name = 'netbox_hedgehog/attrs/multiline.html'


class FabricPanel(panels.ObjectAttributesPanel):
    title = _('Fabric')
    name = attrs.TextAttr('name')
    description = attrs.TextAttr('description')


class FabricKubernetesPanel(panels.ObjectAttributesPanel):
    title = _('Kubernetes')
    kubernetes_server = attrs.TextAttr('kubernetes_server', label=_('API server'), style='font-monospace')
    kubernetes_namespace = attrs.TextAttr('kubernetes_namespace', label=_('Namespace'))
    kubernetes_token = PresenceAttr('kubernetes_token', label=_('Token'))
    kubernetes_ca_cert = PresenceAttr('kubernetes_ca_cert', label=_('CA certificate'))
    kubernetes_verify_tls = attrs.BooleanAttr('kubernetes_verify_tls', label=_('Verify TLS'))
    kubeconfig = PresenceAttr('kubeconfig', label=_('kubeconfig'))


class FabricGitPanel(panels.ObjectAttributesPanel):
    title = _('Git')
    git_repository_url = attrs.TextAttr(
        'git_repository_url', label=_('Repository'), style='font-monospace', copy_button=True,
    )
    git_branch = attrs.TextAttr('git_branch', label=_('Branch'))
    git_path = attrs.TextAttr('git_path', label=_('Path'), style='font-monospace')
    git_token = PresenceAttr('git_token', label=_('Token'))
    git_ssh_key = PresenceAttr('git_ssh_key', label=_('SSH key'))


class FabricSyncSettingsPanel(panels.ObjectAttributesPanel):
    title = _('Sync settings')
    sync_enabled = attrs.BooleanAttr('sync_enabled', label=_('Sync enabled'))
    scheduler_enabled = attrs.BooleanAttr('scheduler_enabled', label=_('Periodic sync'))
    sync_interval = attrs.TextAttr('sync_interval', label=_('Interval'), format_string='{} s')
    prune = attrs.BooleanAttr('prune', label=_('Prune'))


class FabricStatusPanel(panels.ObjectAttributesPanel):
    title = _('Sync status')
    sync_status = attrs.ChoiceAttr('sync_status', label=_('Status'))
    sync_error = attrs.TextAttr('sync_error', label=_('Error'), style='font-monospace text-danger')
    last_sync = attrs.DateTimeAttr('last_sync', label=_('Last run'))
    last_successful_sync = attrs.DateTimeAttr('last_successful_sync', label=_('Last success'))
    next_sync = attrs.DateTimeAttr('next_sync', label=_('Next run'))
    connection_status = attrs.ChoiceAttr('connection_status', label=_('Source connection'))


class FabricConnectionPanel(panels.ObjectAttributesPanel):
    """The outcome of the last "Test connection" (the status is also set by every sync)."""

    title = _('Connection test')
    connection_checked = attrs.DateTimeAttr('connection_checked', label=_('Last tested'))
    connection_message = MultilineTextAttr('connection_message', label=_('Result'), style='font-monospace')


class ResourcePanel(panels.ObjectAttributesPanel):
    title = _('Resource')
    fabric = attrs.RelatedObjectAttr('fabric', linkify=True)
    source = attrs.ChoiceAttr('source')
    api_version = attrs.TextAttr('api_version', label=_('API version'), style='font-monospace')
    kind = attrs.TextAttr('kind')
    namespace = attrs.TextAttr('namespace')
    name = attrs.TextAttr('name', copy_button=True)
    resource_version = attrs.TextAttr('resource_version', label=_('Resource version'), style='font-monospace')
    uid = attrs.TextAttr('uid', label=_('UID'), style='font-monospace')
    source_path = attrs.TextAttr('source_path', label=_('Source path'), style='font-monospace')


class SyncRunPanel(panels.ObjectAttributesPanel):
    title = _('Sync run')
    fabric = attrs.RelatedObjectAttr('fabric', linkify=True)
    trigger = attrs.ChoiceAttr('trigger')
    outcome = attrs.ChoiceAttr('outcome')
    planned_at = attrs.DateTimeAttr('planned_at', label=_('Planned'))
    started_at = attrs.DateTimeAttr('started_at', label=_('Started'))
    finished_at = attrs.DateTimeAttr('finished_at', label=_('Finished'))
    lateness = attrs.TextAttr('lateness', label=_('Late by'), format_string='{:.2f} s')
    duration = attrs.TextAttr('duration', label=_('Duration'), format_string='{:.2f} s')
    job_id = attrs.TextAttr('job_id', label=_('RQ job'), style='font-monospace')
    git_commit = attrs.TextAttr('git_commit', label=_('Git commit'), style='font-monospace', copy_button=True)


class SyncRunCountsPanel(panels.ObjectAttributesPanel):
    title = _('Changes')
    created = attrs.NumericAttr('created', label=_('Created'))
    updated = attrs.NumericAttr('updated', label=_('Updated'))
    deleted = attrs.NumericAttr('deleted', label=_('Deleted'))
    unchanged = attrs.NumericAttr('unchanged', label=_('Unchanged'))


class YAMLPanel(panels.ObjectPanel):
    """A JSON field shown as YAML, the form operators write Hedgehog resources in."""

    template_name = 'netbox_hedgehog/panels/yaml.html'

    def __init__(self, field_name, **kwargs):
        super().__init__(**kwargs)
        self.field_name = field_name
        self.actions.append(CopyContent(f'panel_{field_name}'))

    def get_context(self, context):
        ctx = super().get_context(context)
        data = getattr(ctx['object'], self.field_name)
        return {
            **ctx,
            'field_name': self.field_name,
            'yaml': yaml.safe_dump(data, sort_keys=False, default_flow_style=False) if data else '',
        }
