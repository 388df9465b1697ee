from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from extras.ui.panels import CustomFieldsPanel, TagsPanel
from netbox.object_actions import BulkExport
from netbox.ui import layout
from netbox.ui.panels import ContextTablePanel
from netbox.views import generic
from utilities.views import register_model_view

from .. import filtersets, forms, panels, tables
from ..choices import ResourceSourceChoices, SyncOutcomeChoices
from ..models import HedgehogResource, SyncRun
from ..sync.drift import drift_diff
from .owned_objects import owned_objects_table

__all__ = (
    'HedgehogResourceListView',
    'HedgehogResourceView',
    'referencing_resources',
    'resource_links',
)

# Objects that hold a device's traffic through one of its connections (two hops: device <- Connection <- these).
VIA_CONNECTION_KINDS = ('VPCAttachment', 'ExternalAttachment')

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


def referencing_resources(resource, queryset):
    """The rows of the same fabric whose key fields name ``resource``, from ``queryset`` (what the user may view).

    The reverse of :func:`resource_links`: a Switch's Connections and Agent, a VPC's attachments, a
    namespace's or profile's users. A device also gets the attachments that reach it through one of
    its Connections. Both sources' rows are listed (an Agent exists only in the cluster).
    """
    name = resource.name
    query = Q()
    for field, kinds in REFERENCE_KINDS.items():
        if field == 'profile':
            if resource.kind == 'ServerProfile':
                query |= Q(kind='Server', profile=name)
            elif resource.kind == 'SwitchProfile':
                query |= Q(profile=name) & ~Q(kind='Server')
        elif resource.kind in kinds:
            query |= Q(devices__contains=[name]) if field == 'devices' else Q(**{field: name})
    if not query:
        return queryset.none()
    rows = queryset.filter(fabric_id=resource.fabric_id)
    if resource.kind in REFERENCE_KINDS['devices']:
        connections = rows.filter(kind='Connection', devices__contains=[name]).values('name')
        query |= Q(kind__in=VIA_CONNECTION_KINDS, connection__in=connections)
    return rows.filter(query).exclude(pk=resource.pk).order_by('kind', 'namespace', 'name', 'source')


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

    queryset = HedgehogResource.objects.select_related('fabric').with_last_seen()
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
            ContextTablePanel('owned_objects_table', title=_('NetBox objects')),
            ContextTablePanel('referenced_by_table', title=_('Referenced by')),
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
        referenced_by = referencing_resources(instance, visible).select_related('fabric')
        if referenced_by.exists():
            referenced_by_table = tables.HedgehogResourceTable(
                referenced_by,
                exclude=('fabric', 'pk', 'actions'),
                orderable=False,
            )
            referenced_by_table.configure(request)
        else:
            referenced_by_table = None
        return {
            'owned_objects_table': owned_objects_table(
                request, instance.fabric_id, instance.kind, instance.namespace, instance.name
            ),
            'referenced_by_table': referenced_by_table,
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
