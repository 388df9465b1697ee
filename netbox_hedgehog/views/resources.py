from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from extras.ui.panels import CustomFieldsPanel, TagsPanel
from netbox.object_actions import BulkExport
from netbox.ui import layout
from netbox.views import generic
from utilities.views import register_model_view

from .. import filtersets, forms, panels, tables
from ..choices import ResourceSourceChoices, SyncOutcomeChoices
from ..models import HedgehogResource, SyncRun
from ..sync.drift import drift_diff

__all__ = (
    'HedgehogResourceListView',
    'HedgehogResourceView',
    'resource_links',
)

# Key fields that name other objects of the fabric: field -> the kinds such a name may be.
REFERENCE_KINDS = {
    'devices': ('Switch', 'Server', 'Gateway'),
    'vpc': ('VPC',),
    'connection': ('Connection',),
    'ipv4_namespace': ('IPv4Namespace',),
    'vlan_namespace': ('VLANNamespace',),
    'profile': ('SwitchProfile',),  # a Switch's or an Agent's; a Server's: see _referenced_kinds
}


def _referenced_kinds(resource, field):
    if field == 'profile' and resource.kind == 'Server':
        return ('ServerProfile',)
    return REFERENCE_KINDS[field]


def _names(value):
    return [name for name in (value if isinstance(value, list) else [value]) if name]


def resource_links(resource, queryset):
    """The rows the resource's key fields name, as ``{field: {name: HedgehogResource}}``, in one query.

    Candidates are the rows of the same fabric with a matching kind and name; of several (one per
    source, or in other namespaces) the one of the resource's own source and namespace is preferred.
    ``queryset`` is what the user may view.
    """
    wanted = {
        field: (_referenced_kinds(resource, field), _names(getattr(resource, field))) for field in REFERENCE_KINDS
    }
    wanted = {field: (kinds, names) for field, (kinds, names) in wanted.items() if names}
    if not wanted:
        return {}
    kinds = {kind for field_kinds, _names_ in wanted.values() for kind in field_kinds}
    names = {name for _kinds, field_names in wanted.values() for name in field_names}
    best = {}
    candidates = queryset.filter(fabric_id=resource.fabric_id, kind__in=kinds, name__in=names).exclude(pk=resource.pk)
    for row in candidates.only('pk', 'fabric_id', 'source', 'kind', 'namespace', 'name'):
        rank = (row.source == resource.source, row.namespace == resource.namespace, -row.pk)
        key = (row.kind, row.name)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, row)
    links = {}
    for field, (field_kinds, field_names) in wanted.items():
        for name in field_names:
            match = next((best[(kind, name)][1] for kind in field_kinds if (kind, name) in best), None)
            if match is not None:
                links.setdefault(field, {})[name] = match
    return links


def _drift_version(resource):
    return {
        'kind': resource.kind,
        'spec': resource.spec,
        'labels': resource.labels,
        'annotations': resource.annotations,
    }


@register_model_view(HedgehogResource, 'list', path='', detail=False)
class HedgehogResourceListView(generic.ObjectListView):
    """Resources are written by the sync only, so the list offers no add, edit or delete."""

    queryset = HedgehogResource.objects.select_related('fabric')
    filterset = filtersets.HedgehogResourceFilterSet
    filterset_form = forms.HedgehogResourceFilterForm
    table = tables.HedgehogResourceTable
    actions = (BulkExport,)


@register_model_view(HedgehogResource)
class HedgehogResourceView(generic.ObjectView):
    """One row: its key fields (linked to the rows they name), its source, status and drift against the other source."""

    queryset = HedgehogResource.objects.select_related('fabric')
    actions = ()
    layout = layout.SimpleLayout(
        left_panels=[
            panels.ResourcePanel(),
            panels.ResourceClusterSourcePanel(),
            panels.ResourceGitSourcePanel(),
            panels.ResourceKeyFieldsPanel(),
            panels.ResourceAgentPanel(),
            TagsPanel(),
        ],
        right_panels=[
            panels.ResourceDriftPanel(),
            panels.YAMLPanel('labels', title=_('Labels')),
            panels.YAMLPanel('annotations', title=_('Annotations')),
            CustomFieldsPanel(),
        ],
        bottom_panels=[
            panels.ResourceConditionsPanel(),
            panels.YAMLPanel('spec', title=_('Spec')),
            panels.YAMLPanel('status', title=_('Status')),
        ],
    )

    def get_extra_context(self, request, instance):
        visible = HedgehogResource.objects.restrict(request.user, 'view')
        counterpart = (
            visible.filter(
                fabric_id=instance.fabric_id,
                kind=instance.kind,
                namespace=instance.namespace,
                name=instance.name,
            )
            .exclude(source=instance.source)
            .first()
        )
        drift_lines = None
        if counterpart is not None:
            git, cluster = (
                (instance, counterpart) if instance.source == ResourceSourceChoices.GIT else (counterpart, instance)
            )
            drift_lines = drift_diff(_drift_version(git), _drift_version(cluster), kind=instance.kind)
        return {
            'resource_links': resource_links(instance, visible),
            'counterpart': counterpart,
            'drift_lines': drift_lines,
            'git_commit_link': self._git_commit_link(request, instance),
        }

    @staticmethod
    def _git_commit_link(request, instance):
        """The commit the last applied run read from Git, linked to that run (Git rows only)."""
        if instance.source != ResourceSourceChoices.GIT:
            return None
        run = (
            SyncRun.objects.restrict(request.user, 'view')
            .filter(
                fabric_id=instance.fabric_id,
                dry_run=False,
                outcome__in=(SyncOutcomeChoices.SUCCESS, SyncOutcomeChoices.PARTIAL),
            )
            .exclude(git_commit='')
            .order_by('-started_at')
            .only('pk', 'git_commit')
            .first()
        )
        if run is None:
            return None
        return format_html('<a href="{}">{}</a>', run.get_absolute_url(), run.git_commit)
