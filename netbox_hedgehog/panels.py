"""Detail-page panels, declared with NetBox's ``netbox.ui`` layout machinery."""

from contextvars import ContextVar

import yaml
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from netbox.ui import attrs, panels

from .choices import ResourceSourceChoices
from .tables import (
    drifted_resources_url,
    last_seen_text,
    next_sync_text,
    run_sources_badges,
    step_durations,
    sync_status_badges,
)

__all__ = (
    'FabricConnectionPanel',
    'FabricDCIMPanel',
    'FabricGitPanel',
    'FabricKubernetesPanel',
    'FabricOwnedCountsPanel',
    'FabricPanel',
    'FabricStatusPanel',
    'FabricSyncSettingsPanel',
    'ResourceAgentPanel',
    'ResourceClusterSourcePanel',
    'ResourceConditionsPanel',
    'ResourceDriftPanel',
    'ResourceGitSourcePanel',
    'ResourceKeyFieldsPanel',
    'ResourcePanel',
    'SyncRunChangesPanel',
    'SyncRunCountsPanel',
    'SyncRunPanel',
    'SyncRunStepsPanel',
    'YAMLPanel',
)


class PresenceAttr(attrs.TextAttr):
    """Render "Set" or "Not set" instead of a value: for secrets, which must never reach a page."""

    def get_value(self, obj):
        return _('Set') if getattr(obj, self.accessor) else _('Not set')


class MultilineTextAttr(attrs.TextAttr):
    """Text whose lines stay lines (one per source, for example)."""

    def get_value(self, obj):
        value = super().get_value(obj)
        return linebreaksbr(value, autoescape=True) if value else value


# The context of the page being rendered, while a ContextAttributesPanel renders its attributes: NetBox hands an
# attribute only the object, its name and the user's permissions and preferences, not what the view computed.
page_context = ContextVar('page_context', default=None)


class ContextAttributesPanel(panels.ObjectAttributesPanel):
    """An attributes panel whose attributes may read the page's context, and whose empty rows may be left out.

    NetBox's own ``get_context`` renders the rows; attributes read the page through :data:`page_context`
    (what the view's ``get_extra_context`` added, for example).
    """

    hide_empty = False

    def get_context(self, context):
        token = page_context.set(context)
        try:
            ctx = super().get_context(context)
        finally:
            page_context.reset(token)
        if self.hide_empty:
            ctx['attrs'] = [row for row in ctx['attrs'] if row['value'] != attrs.ObjectAttribute.placeholder]
        return ctx

    def should_render(self, context):
        return bool(context['attrs'])


def page_value(name):
    """What the view put into the page's context under ``name``; None outside a ContextAttributesPanel."""
    return (page_context.get() or {}).get(name)


class PageValueAttr(attrs.TextAttr):
    """A value the view put into the page's context (under ``accessor``), not one of the object's fields."""

    def get_value(self, obj):
        return page_value(self.accessor)


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
    kubernetes_in_cluster = attrs.BooleanAttr('kubernetes_in_cluster', label=_('In-cluster account'))


class FabricGitPanel(panels.ObjectAttributesPanel):
    title = _('Git')
    git_repository_url = attrs.TextAttr(
        'git_repository_url',
        label=_('Repository'),
        style='font-monospace',
        copy_button=True,
    )
    git_branch = attrs.TextAttr('git_branch', label=_('Branch'))
    git_path = attrs.TextAttr('git_path', label=_('Path'), style='font-monospace')
    git_token = PresenceAttr('git_token', label=_('Token'))
    git_ssh_key = PresenceAttr('git_ssh_key', label=_('SSH key'))
    allow_insecure_transport = attrs.BooleanAttr('allow_insecure_transport', label=_('Insecure transport allowed'))


class FabricSyncSettingsPanel(panels.ObjectAttributesPanel):
    title = _('Sync settings')
    sync_enabled = attrs.BooleanAttr('sync_enabled', label=_('Sync enabled'))
    scheduler_enabled = attrs.BooleanAttr('scheduler_enabled', label=_('Periodic sync'))
    sync_interval = attrs.TextAttr('sync_interval', label=_('Interval'), format_string='{} s')
    prune = attrs.BooleanAttr('prune', label=_('Prune'))


class OwnedObjectsAttr(attrs.TextAttr):
    """How many NetBox objects the fabric's DCIM mapping owns."""

    def get_value(self, obj):
        return obj.owned_objects.count()


class FabricDCIMPanel(panels.ObjectAttributesPanel):
    """How the fabric maps into NetBox's devices, interfaces and cables (see docs/dcim.md)."""

    title = _('DCIM mapping')
    dcim_sync = attrs.BooleanAttr('dcim_sync', label=_('Map to DCIM'))
    dcim_site = attrs.RelatedObjectAttr('dcim_site', label=_('Site'), linkify=True)
    dcim_tenant = attrs.RelatedObjectAttr('dcim_tenant', label=_('Tenant'), linkify=True)
    dcim_source = attrs.ChoiceAttr('dcim_source', label=_('Source'))
    dcim_conflict_policy = attrs.ChoiceAttr('dcim_conflict_policy', label=_('Conflict policy'))
    owned_objects = OwnedObjectsAttr('owned_objects', label=_('Owned NetBox objects'))


class FabricOwnedCountsPanel(panels.ObjectPanel):
    """How many NetBox objects of each type the fabric owns, each count linked to the filtered owned-object list.

    The view computes the rows (:func:`~.views.owned_objects.owned_counts`), one per content type the
    ownership table holds for the fabric, so a type the mapping starts to own shows up by itself.
    """

    title = _('Managed NetBox objects')
    template_name = 'netbox_hedgehog/panels/owned_counts.html'

    def get_context(self, context):
        return {**super().get_context(context), 'owned_counts': context.get('owned_counts') or []}

    def should_render(self, context):
        return bool(context['owned_counts'])


class DriftCountAttr(attrs.ObjectAttribute):
    """A fabric's drift count, linked to the list of its drifted resources."""

    def render(self, obj, context):
        count = self.get_value(obj)
        if not count:
            return format_html('<span id="attr_{}">{}</span>', context['name'], count)
        return format_html(
            '<a id="attr_{}" href="{}" class="badge text-bg-orange">{}</a>',
            context['name'],
            drifted_resources_url(obj),
            count,
        )


class RenderedAttr(attrs.ObjectAttribute):
    """An attribute drawn by a function of the object (the one the tables use), so both show the same."""

    def __init__(self, accessor, render, **kwargs):
        super().__init__(accessor, **kwargs)
        self._render = render

    def render(self, obj, context):
        value = self._render(obj)
        return self.placeholder if value in (None, '') else format_html('<span>{}</span>', value)


class FabricStatusPanel(panels.ObjectAttributesPanel):
    """The last outcome (with "running since" during a run), and the next run flagged when overdue."""

    title = _('Sync status')
    sync_status = RenderedAttr('sync_status', sync_status_badges, label=_('Status'))
    drift_count = DriftCountAttr('drift_count', label=_('Drift'))
    prune = attrs.BooleanAttr('prune', label=_('Prune'))
    sync_error = attrs.TextAttr('sync_error', label=_('Error'), style='font-monospace text-danger')
    last_sync = attrs.DateTimeAttr('last_sync', label=_('Last run'))
    last_successful_sync = attrs.DateTimeAttr('last_successful_sync', label=_('Last success'))
    next_sync = RenderedAttr('next_sync', next_sync_text, label=_('Next run'))
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
    last_seen = RenderedAttr('last_seen', last_seen_text, label=_('Last seen'))


class ResourceClusterSourcePanel(panels.ObjectAttributesPanel):
    """Where a cluster row was read: its UID and resourceVersion."""

    title = _('Source')
    uid = attrs.TextAttr('uid', label=_('UID'), style='font-monospace')
    resource_version = attrs.TextAttr('resource_version', label=_('Resource version'), style='font-monospace')

    def should_render(self, context):
        return context['object'].source == ResourceSourceChoices.KUBERNETES


class ResourceGitSourcePanel(ContextAttributesPanel):
    """Where a Git row was read: its file, and the commit the last applied run read."""

    title = _('Source')
    source_path = attrs.TextAttr('source_path', label=_('Path'), style='font-monospace', copy_button=True)
    git_commit = PageValueAttr('git_commit_link', label=_('Commit (last run)'), style='font-monospace')

    def should_render(self, context):
        return context['object'].source == ResourceSourceChoices.GIT


class ReferenceAttr(attrs.TextAttr):
    """Names of other objects (one, or a list), each linked to its row when the view found one.

    The view resolves them, all fields at once, into the page's ``resource_links``:
    ``{field: {name: HedgehogResource}}``; a name without a row stays plain text.
    """

    def get_value(self, obj):
        value = getattr(obj, self.accessor)
        return value if value else None

    def render(self, obj, context):
        value = self.get_value(obj)
        if not value:
            return self.placeholder
        names = value if isinstance(value, list) else [value]
        found = (page_value('resource_links') or {}).get(self.accessor, {})
        links = format_html_join(', ', '{}', ((_reference(name, found.get(name)),) for name in names))
        return format_html('<span>{}</span>', links)  # one element: the attribute cell spreads its children


def _reference(name, target):
    if target is None:
        return format_html('<span class="font-monospace">{}</span>', name)
    return format_html(
        '<a href="{}" class="font-monospace" title="{} ({})">{}</a>',
        target.get_absolute_url(),
        target.kind,
        target.get_source_display(),
        name,
    )


class ResourceKeyFieldsPanel(ContextAttributesPanel):
    """The kind's key fields (only those set); names of other objects link to their rows."""

    title = _('Key fields')
    hide_empty = True
    role = attrs.TextAttr('role')
    asn = attrs.NumericAttr('asn', label=_('ASN'), copy_button=True)
    profile = ReferenceAttr('profile')
    connection_type = attrs.TextAttr('connection_type', label=_('Connection type'))
    devices = ReferenceAttr('devices')
    ports = attrs.ArrayAttr('ports', style='font-monospace')
    subnets = attrs.ArrayAttr('subnets', style='font-monospace')
    vpc = ReferenceAttr('vpc', label=_('VPC'))
    connection = ReferenceAttr('connection')
    ipv4_namespace = ReferenceAttr('ipv4_namespace', label=_('IPv4 namespace'))
    vlan_namespace = ReferenceAttr('vlan_namespace', label=_('VLAN namespace'))


class ResourceAgentPanel(ContextAttributesPanel):
    """What an Agent reports in its status (shown only when it reports it)."""

    title = _('Agent status')
    hide_empty = True
    heartbeat = attrs.DateTimeAttr('heartbeat', label=_('Last heartbeat'))
    applied_generation = attrs.NumericAttr('applied_generation', label=_('Applied generation'))


class ResourceConditionsPanel(panels.ObjectPanel):
    """The Kubernetes conditions in the object's status, one row each."""

    title = _('Conditions')
    template_name = 'netbox_hedgehog/panels/conditions.html'

    def get_context(self, context):
        ctx = super().get_context(context)
        status = ctx['object'].status
        conditions = status.get('conditions') if isinstance(status, dict) else None
        return {
            **ctx,
            'conditions': [c for c in conditions if isinstance(c, dict)] if isinstance(conditions, list) else [],
        }

    def should_render(self, context):
        return bool(context['conditions'])


class ResourceDriftPanel(panels.ObjectPanel):
    """The object's drift state and, when the other source has it too, what differs (from the view's context)."""

    title = _('Drift')
    template_name = 'netbox_hedgehog/panels/drift.html'

    def get_context(self, context):
        return {
            **super().get_context(context),
            'counterpart': context.get('counterpart'),
            'drift_lines': context.get('drift_lines'),
        }

    def should_render(self, context):
        return bool(context['object'].drift_state or context['counterpart'])


class SyncRunPanel(panels.ObjectAttributesPanel):
    title = _('Sync run')
    fabric = attrs.RelatedObjectAttr('fabric', linkify=True)
    trigger = attrs.ChoiceAttr('trigger')
    outcome = attrs.ChoiceAttr('outcome')
    sources = RenderedAttr('step_durations', run_sources_badges, label=_('Sources'))
    planned_at = attrs.DateTimeAttr('planned_at', label=_('Planned'))
    started_at = attrs.DateTimeAttr('started_at', label=_('Started'))
    finished_at = attrs.DateTimeAttr('finished_at', label=_('Finished'))
    lateness = attrs.TextAttr('lateness', label=_('Late by'), format_string='{:.2f} s')
    duration = attrs.TextAttr('duration', label=_('Duration'), format_string='{:.2f} s')
    dry_run = attrs.BooleanAttr('dry_run', label=_('Dry run'))
    job_id = attrs.TextAttr('job_id', label=_('RQ job'), style='font-monospace')
    git_commit = attrs.TextAttr('git_commit', label=_('Git commit'), style='font-monospace', copy_button=True)
    kubernetes_revision = attrs.TextAttr(
        'kubernetes_revision',
        label=_('Kubernetes revision'),
        style='font-monospace',
    )


class SyncRunCountsPanel(panels.ObjectAttributesPanel):
    title = _('Changes')
    created = attrs.NumericAttr('created', label=_('Created'))
    updated = attrs.NumericAttr('updated', label=_('Updated'))
    deleted = attrs.NumericAttr('deleted', label=_('Deleted'))
    unchanged = attrs.NumericAttr('unchanged', label=_('Unchanged'))
    invalid = attrs.NumericAttr('invalid', label=_('Invalid'))
    prune_skipped = attrs.NumericAttr('prune_skipped', label=_('Prune skipped'))
    dcim_created = attrs.NumericAttr('dcim_created', label=_('DCIM created'))
    dcim_updated = attrs.NumericAttr('dcim_updated', label=_('DCIM updated'))
    dcim_deleted = attrs.NumericAttr('dcim_deleted', label=_('DCIM deleted'))


class SyncRunStepsPanel(panels.ObjectPanel):
    """How long each step of the run took (seconds, 3 decimals)."""

    title = _('Step durations')
    template_name = 'netbox_hedgehog/panels/step_durations.html'

    def get_context(self, context):
        ctx = super().get_context(context)
        return {**ctx, 'steps': step_durations(ctx['object'].step_durations)}


class SyncRunChangesPanel(panels.ObjectPanel):
    """The objects the run changed (or would change, in a dry run), with each changed field: the fabric's resources,
    then the NetBox objects the DCIM mapping writes (source ``netbox``, kind the NetBox model, name the mapping key)."""

    title = _('Changed objects')
    template_name = 'netbox_hedgehog/panels/run_changes.html'

    def get_context(self, context):
        ctx = super().get_context(context)
        run = ctx['object']
        total = run.created + run.updated + run.deleted + run.dcim_created + run.dcim_updated + run.dcim_deleted
        return {**ctx, 'changes': run.changes, 'total': total}


class YAMLPanel(panels.JSONPanel):
    """A JSON field shown as YAML, the form operators write Hedgehog resources in."""

    template_name = 'netbox_hedgehog/panels/yaml.html'

    def get_context(self, context):
        ctx = super().get_context(context)
        data = ctx['data']
        return {**ctx, 'yaml': yaml.safe_dump(data, sort_keys=False, default_flow_style=False) if data else ''}
