from django.utils.translation import gettext_lazy as _
from netbox.object_actions import BulkExport
from netbox.ui import layout
from netbox.ui.panels import TextCodePanel
from netbox.views import generic
from utilities.views import register_model_view

from .. import filtersets, forms, panels, tables
from ..models import SyncRun

__all__ = (
    'SyncRunListView',
    'SyncRunView',
)


@register_model_view(SyncRun, 'list', path='', detail=False)
class SyncRunListView(generic.ObjectListView):
    """The record of every sync; runs are written by the sync job only."""

    queryset = SyncRun.objects.select_related('fabric')
    filterset = filtersets.SyncRunFilterSet
    filterset_form = forms.SyncRunFilterForm
    table = tables.SyncRunTable
    actions = (BulkExport,)


@register_model_view(SyncRun)
class SyncRunView(generic.ObjectView):
    queryset = SyncRun.objects.select_related('fabric')
    actions = ()
    layout = layout.SimpleLayout(
        left_panels=[panels.SyncRunPanel()],
        right_panels=[panels.SyncRunCountsPanel(), panels.SyncRunStepsPanel()],
        bottom_panels=[TextCodePanel('error', title=_('Error')), panels.SyncRunChangesPanel()],
    )
