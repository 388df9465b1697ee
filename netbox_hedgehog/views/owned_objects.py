from django.contrib.contenttypes.models import ContentType
from django.db.models import Count
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import capfirst
from netbox.object_actions import BulkExport
from netbox.views import generic
from utilities.views import register_model_view

from .. import filtersets, forms, tables
from ..models import HedgehogOwnedObject

__all__ = (
    'HedgehogOwnedObjectListView',
    'owned_counts',
    'owned_objects_table',
)

LIST_VIEW = 'plugins:netbox_hedgehog:hedgehogownedobject_list'


@register_model_view(HedgehogOwnedObject, 'list', path='', detail=False)
class HedgehogOwnedObjectListView(generic.ObjectListView):
    """The NetBox objects the fabrics' mapping owns, each linked to its page; written by the sync only."""

    queryset = HedgehogOwnedObject.objects.select_related('fabric', 'object_type').prefetch_related('object')
    filterset = filtersets.HedgehogOwnedObjectFilterSet
    filterset_form = forms.HedgehogOwnedObjectFilterForm
    table = tables.HedgehogOwnedObjectTable
    actions = (BulkExport,)


def owned_counts(fabric, user):
    """``(type label, count, URL of the owned-object list filtered to the fabric and type)`` per type the fabric owns.

    One query; empty when the user may not view owned objects. Generic over the ownership table's
    content types: whatever the mapping owns (devices, interfaces, cables, prefixes, ...) is counted.
    """
    rows = (
        HedgehogOwnedObject.objects.restrict(user, 'view')
        .filter(fabric=fabric)
        .values('object_type')
        .annotate(count=Count('pk'))
        .order_by()
    )
    counts = []
    for row in rows:
        object_type = ContentType.objects.get_for_id(row['object_type'])
        model = object_type.model_class()
        label = capfirst(model._meta.verbose_name_plural) if model else object_type.model
        query = urlencode({'fabric_id': fabric.pk, 'object_type_id': object_type.pk})
        counts.append((label, row['count'], f'{reverse(LIST_VIEW)}?{query}'))
    return sorted(counts)


def owned_objects_table(request, fabric_id, kind, namespace, name):
    """The NetBox objects a fabric object maps to (its ownership rows), as a table; None when there are none."""
    rows = (
        HedgehogOwnedObject.objects.restrict(request.user, 'view')
        .filter(fabric_id=fabric_id, kind=kind, namespace=namespace, name=name)
        .select_related('object_type')
        .prefetch_related('object')
        .order_by('object_type', 'key')
    )
    if not rows.exists():
        return None
    table = tables.ResourceOwnedObjectTable(rows, exclude=('pk', 'actions'), orderable=False)
    table.configure(request)
    return table
