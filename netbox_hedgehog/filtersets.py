import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from netbox.filtersets import BaseFilterSet, NetBoxModelFilterSet
from utilities.filtersets import register_filterset

from .choices import (
    ConnectionStatusChoices, ResourceSourceChoices, SyncOutcomeChoices, SyncStatusChoices, SyncTriggerChoices,
)
from .models import HedgehogFabric, HedgehogResource, SyncRun

__all__ = (
    'HedgehogFabricFilterSet',
    'HedgehogResourceFilterSet',
    'SyncRunFilterSet',
)


class FabricRelationFilterMixin(django_filters.FilterSet):
    """Filter by fabric, by ID or by name, as NetBox filters by site."""

    fabric_id = django_filters.ModelMultipleChoiceFilter(
        queryset=HedgehogFabric.objects.all(),
        distinct=False,
        label=_('Fabric (ID)'),
    )
    fabric = django_filters.ModelMultipleChoiceFilter(
        field_name='fabric__name',
        queryset=HedgehogFabric.objects.all(),
        to_field_name='name',
        distinct=False,
        label=_('Fabric (name)'),
    )


@register_filterset
class HedgehogFabricFilterSet(NetBoxModelFilterSet):
    """Fabrics by their settings and sync state.

    The tokens, the kubeconfig and the SSH key have no filters: matching on a secret would let anyone
    with view permission guess it one query at a time.
    """

    sync_status = django_filters.MultipleChoiceFilter(choices=SyncStatusChoices, distinct=False, null_value=None)
    connection_status = django_filters.MultipleChoiceFilter(
        choices=ConnectionStatusChoices, distinct=False, null_value=None,
    )

    class Meta:
        model = HedgehogFabric
        fields = (
            'id', 'name', 'description', 'kubernetes_server', 'kubernetes_namespace', 'kubernetes_verify_tls',
            'git_repository_url', 'git_branch', 'git_path', 'sync_enabled', 'scheduler_enabled', 'sync_interval',
            'prune', 'sync_error',
            'last_sync', 'last_sync_planned', 'last_successful_sync', 'next_sync', 'connection_message',
            'connection_checked', 'drift_count',
        )

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(kubernetes_server__icontains=value)
            | Q(git_repository_url__icontains=value)
            | Q(comments__icontains=value)
        )


@register_filterset
class HedgehogResourceFilterSet(FabricRelationFilterMixin, NetBoxModelFilterSet):
    source = django_filters.MultipleChoiceFilter(choices=ResourceSourceChoices, distinct=False, null_value=None)

    class Meta:
        model = HedgehogResource
        fields = (
            'id', 'api_version', 'kind', 'namespace', 'name', 'resource_version', 'uid', 'source_path',
        )

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(kind__icontains=value) | Q(namespace__icontains=value)
        )


@register_filterset
class SyncRunFilterSet(FabricRelationFilterMixin, BaseFilterSet):
    q = django_filters.CharFilter(method='search', label=_('Search'))
    trigger = django_filters.MultipleChoiceFilter(choices=SyncTriggerChoices, distinct=False, null_value=None)
    outcome = django_filters.MultipleChoiceFilter(choices=SyncOutcomeChoices, distinct=False, null_value=None)

    class Meta:
        model = SyncRun
        fields = ('id', 'job_id', 'planned_at', 'started_at', 'finished_at', 'git_commit')

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(
            Q(fabric__name__icontains=value) | Q(error__icontains=value) | Q(git_commit__istartswith=value)
        )
