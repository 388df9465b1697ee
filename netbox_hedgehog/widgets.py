"""The NetBox dashboard widget: how the fabrics are syncing, failing ones first, and whether anything runs the syncs."""

from django.db.models import Case, IntegerField, Value, When
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from extras.dashboard.utils import register_widget
from extras.dashboard.widgets import DashboardWidget, WidgetConfigForm
from utilities.permissions import get_permission_for_model

from .choices import SyncStatusChoices
from .models import HedgehogFabric
from .tables import fabric_run_state, with_run_state

__all__ = ('FabricSyncWidget',)

# Which statuses need the operator first.
STATUS_ORDER = (
    SyncStatusChoices.ERROR,
    SyncStatusChoices.OUT_OF_SYNC,
    SyncStatusChoices.NEVER_SYNCED,
    SyncStatusChoices.SYNCING,
    SyncStatusChoices.IN_SYNC,
)

ATTENTION_ROWS = 10


@register_widget
class FabricSyncWidget(DashboardWidget):
    """Counts of fabrics by sync status, the fabrics that are not in sync (failing first), and process health."""

    default_title = _('Hedgehog fabrics')
    description = _('Fabrics by sync status, failing ones first, and whether a sync worker and scheduler are alive.')
    template_name = 'netbox_hedgehog/widgets/fabric_sync.html'
    width = 4
    height = 4

    class ConfigForm(WidgetConfigForm):
        pass

    def render(self, request):
        from .views.health import operator_health  # the views package is not imported while plugins load

        if not request.user.has_perm(get_permission_for_model(HedgehogFabric, 'view')):
            return render_to_string(self.template_name, {'permitted': False})
        rank = Case(
            *(When(sync_status=status, then=Value(index)) for index, status in enumerate(STATUS_ORDER)),
            default=Value(len(STATUS_ORDER)),
            output_field=IntegerField(),
        )
        fabrics = list(
            with_run_state(HedgehogFabric.objects.restrict(request.user, 'view'))
            .annotate(rank=rank)
            .order_by('rank', 'name')
        )
        counts = {}
        for fabric in fabrics:
            counts[fabric.sync_status] = counts.get(fabric.sync_status, 0) + 1
        labels = dict(SyncStatusChoices)
        return render_to_string(
            self.template_name,
            {
                'permitted': True,
                'total': len(fabrics),
                'counts': [
                    (status, labels[status], SyncStatusChoices.colors[status], counts[status])
                    for status in STATUS_ORDER
                    if counts.get(status)
                ],
                'attention': [
                    (fabric, *state)
                    for fabric, state in ((fabric, fabric_run_state(fabric)) for fabric in fabrics)
                    if fabric.sync_status != SyncStatusChoices.IN_SYNC or state[3]  # or overdue
                ][:ATTENTION_ROWS],
                'hedgehog_health': operator_health(),
            },
        )
