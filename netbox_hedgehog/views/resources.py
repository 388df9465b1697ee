from django.utils.translation import gettext_lazy as _

from netbox.object_actions import BulkExport
from netbox.ui import layout
from netbox.views import generic
from extras.ui.panels import CustomFieldsPanel, TagsPanel
from utilities.views import register_model_view

from .. import filtersets, forms, panels, tables
from ..models import HedgehogResource

__all__ = (
    'HedgehogResourceListView',
    'HedgehogResourceView',
)


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
    queryset = HedgehogResource.objects.select_related('fabric')
    actions = ()
    layout = layout.SimpleLayout(
        left_panels=[
            panels.ResourcePanel(),
            TagsPanel(),
        ],
        right_panels=[
            panels.YAMLPanel('labels', title=_('Labels')),
            panels.YAMLPanel('annotations', title=_('Annotations')),
            CustomFieldsPanel(),
        ],
        bottom_panels=[
            panels.YAMLPanel('spec', title=_('Spec')),
        ],
    )
