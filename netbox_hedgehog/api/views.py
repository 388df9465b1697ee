from dcim.models import Interface
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from netbox.api.authentication import TokenPermissions
from netbox.api.viewsets import NetBoxModelViewSet, NetBoxReadOnlyModelViewSet
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import APIRootView

from .. import filtersets
from ..models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun
from ..scheduling.scheduler import FabricScheduler
from ..views.health import trigger_answer
from . import serializers


class HedgehogRootView(APIRootView):
    def get_view_name(self):
        return 'Hedgehog'


class TokenChangePermission(TokenPermissions):
    """A sync request acts on the fabric without adding anything: require change, not the add a POST maps to."""

    perms_map = {
        **TokenPermissions.perms_map,
        'POST': ['%(app_label)s.change_%(model_name)s'],
    }


class HedgehogFabricViewSet(NetBoxModelViewSet):
    queryset = HedgehogFabric.objects.all()
    serializer_class = serializers.HedgehogFabricSerializer
    filterset_class = filtersets.HedgehogFabricFilterSet

    def get_permissions(self):
        if self.action == 'sync':
            return [TokenChangePermission()]
        return super().get_permissions()

    @extend_schema(request=serializers.SyncRequestSerializer, responses={202: serializers.SyncJobSerializer})
    @action(detail=True, methods=['post'])
    def sync(self, request, pk):
        """Queue an immediate sync (or dry run) of the fabric, or join the one already queued; it runs in the worker.

        The body is optional: ``{"dry_run": bool, "allow_empty_kinds": bool}``, both false by default.
        When no worker listens on the sync queue, ``worker_listening`` is false and ``warning`` (also
        sent as the ``X-Hedgehog-Warning`` header) says so: the job waits until a worker starts.
        """
        fabric = get_object_or_404(HedgehogFabric.objects.restrict(request.user, 'change'), pk=pk)
        options = serializers.SyncRequestSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        result = FabricScheduler().trigger_now(fabric, **options.validated_data)
        data, headers = trigger_answer(result, request)
        return Response(serializers.SyncJobSerializer(data).data, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(responses={200: serializers.SyncStatusSerializer})
    @action(detail=False, methods=['get'], url_path='sync-status')
    def sync_status(self, request):
        """The scheduling state of the fabrics the caller may view (filters apply), and worker/scheduler health.

        The same report as ``manage.py start_periodic_sync --status --json``.
        """
        fabrics = self.filter_queryset(self.get_queryset())
        return Response(FabricScheduler().status(fabrics).as_dict())


class HedgehogResourceViewSet(NetBoxReadOnlyModelViewSet):
    """Resources are written by the sync only; the API reads them."""

    queryset = HedgehogResource.objects.all()
    serializer_class = serializers.HedgehogResourceSerializer
    filterset_class = filtersets.HedgehogResourceFilterSet


class HedgehogOwnedObjectViewSet(NetBoxReadOnlyModelViewSet):
    """Ownership is recorded by the DCIM mapping only; the API reads it."""

    queryset = HedgehogOwnedObject.objects.all()
    serializer_class = serializers.HedgehogOwnedObjectSerializer
    filterset_class = filtersets.HedgehogOwnedObjectFilterSet
    field_prefetches = {
        # An interface's brief form names its device and cable; the other owned types' brief forms read no relation.
        ('object',): (GenericPrefetch('object', [Interface.objects.select_related('device', 'cable')]),),
    }


class SyncRunViewSet(NetBoxReadOnlyModelViewSet):
    queryset = SyncRun.objects.all()
    serializer_class = serializers.SyncRunSerializer
    filterset_class = filtersets.SyncRunFilterSet

    @staticmethod
    def _get_etag(run):
        """NetBox builds the ETag from ``created``, which on a run is the count of created objects."""
        moment = run.finished_at or run.started_at
        return f'W/"{moment.isoformat()}-{run.outcome}"'
