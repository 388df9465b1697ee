from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from extras.ui.panels import CustomFieldsPanel, TagsPanel
from netbox.models.deletion import CountOnly
from netbox.object_actions import AddObject, BulkDelete, BulkEdit, BulkExport, CloneObject, DeleteObject, EditObject
from netbox.ui import layout
from netbox.ui.actions import LinkAction
from netbox.ui.panels import CommentsPanel, ContextTablePanel, ObjectsTablePanel
from netbox.views import generic
from netbox.views.generic.base import BaseMultiObjectView, BaseObjectView
from utilities.permissions import get_permission_for_model
from utilities.query import count_related
from utilities.views import GetReturnURLMixin, register_model_view

from .. import filtersets, forms, panels, tables
from ..models import HedgehogFabric, HedgehogResource, SyncRun
from ..object_actions import BulkScheduleSync, ConnectionTestAction, DryRunSync, ScheduleSync
from ..scheduling.scheduler import FabricScheduler
from .health import operator_health, trigger_answer, trigger_warning
from .owned_objects import owned_counts

__all__ = (
    'HedgehogFabricBulkDeleteView',
    'HedgehogFabricBulkEditView',
    'HedgehogFabricBulkScheduleSyncView',
    'HedgehogFabricDeleteView',
    'HedgehogFabricDryRunView',
    'HedgehogFabricEditView',
    'HedgehogFabricListView',
    'HedgehogFabricScheduleSyncView',
    'HedgehogFabricTestConnectionView',
    'HedgehogFabricView',
)

RECENT_SYNC_RUNS = 10


def _fabric_list_queryset():
    return tables.with_run_state(HedgehogFabric.objects.all()).annotate(
        resource_count=count_related(HedgehogResource, 'fabric')
    )


@register_model_view(HedgehogFabric, 'list', path='', detail=False)
class HedgehogFabricListView(generic.ObjectListView):
    queryset = _fabric_list_queryset()
    filterset = filtersets.HedgehogFabricFilterSet
    filterset_form = forms.HedgehogFabricFilterForm
    table = tables.HedgehogFabricTable
    actions = (AddObject, BulkExport, BulkScheduleSync, BulkEdit, BulkDelete)
    template_name = 'netbox_hedgehog/hedgehogfabric_list.html'

    def get_extra_context(self, request):
        return {'hedgehog_health': operator_health()}


@register_model_view(HedgehogFabric)
class HedgehogFabricView(generic.ObjectView):
    queryset = tables.with_run_state(HedgehogFabric.objects.all())
    actions = (ScheduleSync, DryRunSync, ConnectionTestAction, CloneObject, EditObject, DeleteObject)
    layout = layout.SimpleLayout(
        left_panels=[
            panels.FabricPanel(),
            panels.FabricKubernetesPanel(),
            panels.FabricGitPanel(),
            TagsPanel(),
            CommentsPanel(),
        ],
        right_panels=[
            panels.FabricStatusPanel(),
            panels.FabricConnectionPanel(),
            panels.FabricSyncSettingsPanel(),
            panels.FabricDCIMPanel(),
            panels.FabricOwnedCountsPanel(),
            CustomFieldsPanel(),
        ],
        bottom_panels=[
            ContextTablePanel(
                'sync_run_table',
                title=gettext_lazy('Last sync runs'),
                actions=[
                    LinkAction(
                        'plugins:netbox_hedgehog:syncrun_list',
                        url_params={'fabric_id': lambda ctx: ctx['object'].pk},
                        label=gettext_lazy('All runs'),
                        button_icon='history',
                    ),
                ],
            ),
            ObjectsTablePanel(
                model='netbox_hedgehog.HedgehogResource',
                filters={'fabric_id': lambda ctx: ctx['object'].pk},
                exclude_columns=['fabric'],
            ),
        ],
    )

    def get_extra_context(self, request, instance):
        runs = instance.sync_runs.restrict(request.user, 'view')[:RECENT_SYNC_RUNS]
        table = tables.SyncRunTable(runs, exclude=('fabric',), orderable=False)
        table.configure(request)
        return {'sync_run_table': table, 'owned_counts': owned_counts(instance, request.user)}


@register_model_view(HedgehogFabric, 'add', detail=False)
@register_model_view(HedgehogFabric, 'edit')
class HedgehogFabricEditView(generic.ObjectEditView):
    queryset = HedgehogFabric.objects.all()
    form = forms.HedgehogFabricForm


@register_model_view(HedgehogFabric, 'delete')
class HedgehogFabricDeleteView(generic.ObjectDeleteView):
    queryset = HedgehogFabric.objects.all()

    def _get_dependent_objects(self, obj):
        """Count the resources and run records the deletion removes: loading thousands would stall the dialog."""
        return {
            HedgehogResource: CountOnly(obj.resources.count()),
            SyncRun: CountOnly(obj.sync_runs.count()),
        }


@register_model_view(HedgehogFabric, 'bulk_edit', path='edit', detail=False)
class HedgehogFabricBulkEditView(generic.BulkEditView):
    queryset = _fabric_list_queryset()
    filterset = filtersets.HedgehogFabricFilterSet
    table = tables.HedgehogFabricTable
    form = forms.HedgehogFabricBulkEditForm


@register_model_view(HedgehogFabric, 'bulk_delete', path='delete', detail=False)
class HedgehogFabricBulkDeleteView(generic.BulkDeleteView):
    queryset = _fabric_list_queryset()
    filterset = filtersets.HedgehogFabricFilterSet
    table = tables.HedgehogFabricTable


class ChangePermissionMixin:
    """Triggering a sync changes no field, but acts on the fabric: it takes the change permission.

    ``ObjectPermissionRequiredMixin`` then narrows ``self.queryset`` with
    ``restrict(user, 'change')``, so object-level constraints apply as well.
    """

    def get_required_permission(self):
        return get_permission_for_model(HedgehogFabric, 'change')


@register_model_view(HedgehogFabric, 'schedule_sync', path='schedule-sync')
class HedgehogFabricScheduleSyncView(ChangePermissionMixin, GetReturnURLMixin, BaseObjectView):
    """Queue an immediate sync of one fabric; the sync runs in the worker, never in this request.

    A browser's form POST (which prefers HTML) is redirected back with a message (a warning when
    no worker listens); any other client gets :func:`~.health.trigger_answer` as JSON with status
    202, the warning also in the ``X-Hedgehog-Warning`` header.
    """

    queryset = HedgehogFabric.objects.all()
    dry_run = False

    def post(self, request, pk):
        fabric = self.get_object(pk=pk)
        result = FabricScheduler().trigger_now(fabric, dry_run=self.dry_run)
        warning = trigger_warning(result)
        if request.get_preferred_type(('application/json', 'text/html')) == 'text/html':
            _message_for(request, fabric, result, warning, dry_run=self.dry_run)
            return redirect(self.get_return_url(request, fabric))
        return _job_response(result, request)


@register_model_view(HedgehogFabric, 'dry_run', path='dry-run')
class HedgehogFabricDryRunView(HedgehogFabricScheduleSyncView):
    """Queue an immediate dry run: the worker computes the diff and records it on a sync run, applying nothing."""

    dry_run = True


@register_model_view(HedgehogFabric, 'test_connection', path='test-connection')
class HedgehogFabricTestConnectionView(ChangePermissionMixin, GetReturnURLMixin, BaseObjectView):
    """Queue a test of the fabric's sources; the worker runs it and records the result on the fabric.

    Like "Sync now": a browser's form POST is redirected back with a message; any other
    client gets the same JSON (the job's result, and the fabric's
    ``connection_status``/``connection_message``, hold the outcome).
    """

    queryset = HedgehogFabric.objects.all()

    def post(self, request, pk):
        fabric = self.get_object(pk=pk)
        result = FabricScheduler().trigger_connection_test(fabric)
        warning = trigger_warning(result)
        if request.get_preferred_type(('application/json', 'text/html')) == 'text/html':
            if result.coalesced:
                text = _('A connection test of {fabric} is already queued (job {job}).')
            else:
                text = _(
                    'Queued a connection test of {fabric} (job {job}); reload the page in a few seconds for the result.'
                )
            _notify(request, text.format(fabric=fabric, job=result.job_id), warning, queued=not result.coalesced)
            return redirect(self.get_return_url(request, fabric))
        return _job_response(result, request)


@register_model_view(HedgehogFabric, 'bulk_schedule_sync', path='schedule-sync', detail=False)
class HedgehogFabricBulkScheduleSyncView(ChangePermissionMixin, GetReturnURLMixin, BaseMultiObjectView):
    """The list's "Schedule sync" bulk action: queue an immediate sync of each selected fabric."""

    queryset = HedgehogFabric.objects.all()
    filterset = filtersets.HedgehogFabricFilterSet

    def post(self, request):
        if request.POST.get('_all'):
            fabrics = self.filterset(request.GET, self.queryset, request=request).qs
        else:
            fabrics = self.queryset.filter(pk__in=request.POST.getlist('pk'))
        if not fabrics:
            messages.warning(request, _('No fabrics were selected that you may sync.'))
        scheduler = FabricScheduler()
        for fabric in fabrics:
            result = scheduler.trigger_now(fabric)
            _message_for(request, fabric, result, trigger_warning(result))
        return redirect(self.get_return_url(request))


def _message_for(request, fabric, result, warning, dry_run=False):
    what = _('dry run') if dry_run else _('sync')
    if result.coalesced:
        text = _('A {what} of {fabric} was already queued (job {job}).')
    else:
        text = _('Queued a {what} of {fabric} (job {job}).')
    _notify(request, text.format(what=what, fabric=fabric, job=result.job_id), warning, queued=not result.coalesced)


def _notify(request, text, warning, queued):
    """Success (or info for a joined job) only when a worker will run it; otherwise a warning saying why not."""
    if warning:
        messages.warning(request, f'{text} {warning}')
    elif queued:
        messages.success(request, text)
    else:
        messages.info(request, text)


def _job_response(result, request):
    data, headers = trigger_answer(result, request)
    return JsonResponse(data, status=202, headers=headers)
