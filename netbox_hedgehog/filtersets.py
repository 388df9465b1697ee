import django_filters
from dcim.models import Site
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from netbox.filtersets import BaseFilterSet, NetBoxModelFilterSet
from tenancy.models import Tenant
from utilities.constants import FILTER_NUMERIC_BASED_LOOKUP_MAP
from utilities.filters import (
    MultiValueArrayFilter,
    MultiValueCharFilter,
    MultiValueContentTypeFilter,
    MultiValueDateTimeFilter,
)
from utilities.filtersets import register_filterset

from .choices import (
    ConnectionStatusChoices,
    DCIMConflictPolicyChoices,
    DCIMSourceChoices,
    DriftStateChoices,
    ResourceSourceChoices,
    SyncOutcomeChoices,
    SyncStatusChoices,
    SyncTriggerChoices,
)
from .kinds import FABRIC_KINDS
from .models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun

__all__ = (
    'KIND_CHOICES',
    'ArrayContainsFilter',
    'HedgehogFabricFilterSet',
    'HedgehogOwnedObjectFilterSet',
    'HedgehogResourceFilterSet',
    'SyncRunFilterSet',
)

# The kinds the sync reads, for a choice filter (a kind name is case-sensitive: "VPC", not "vpc").
KIND_CHOICES = tuple((kind.kind, kind.kind) for kind in FABRIC_KINDS)


class ArrayContainsFilter(MultiValueArrayFilter):
    """Rows whose array column contains the value (any of several values; ``__n``: contains none of them).

    NetBox's ``MultiValueArrayFilter`` hands ``contains`` the bare string, which suits a JSON custom
    field but not a PostgreSQL array column: that wants an array, here of the one value.
    """

    def get_filter_predicate(self, v):
        if v is not None and self.lookup_expr == 'contains':
            return {f'{self.field_name}__contains': [v]}
        return super().get_filter_predicate(v)


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
        choices=ConnectionStatusChoices,
        distinct=False,
        null_value=None,
    )
    dcim_site_id = django_filters.ModelMultipleChoiceFilter(
        queryset=Site.objects.all(),
        distinct=False,
        label=_('DCIM site (ID)'),
    )
    dcim_site = django_filters.ModelMultipleChoiceFilter(
        field_name='dcim_site__slug',
        queryset=Site.objects.all(),
        to_field_name='slug',
        distinct=False,
        label=_('DCIM site (slug)'),
    )
    dcim_tenant_id = django_filters.ModelMultipleChoiceFilter(
        queryset=Tenant.objects.all(),
        distinct=False,
        label=_('DCIM tenant (ID)'),
    )
    dcim_tenant = django_filters.ModelMultipleChoiceFilter(
        field_name='dcim_tenant__slug',
        queryset=Tenant.objects.all(),
        to_field_name='slug',
        distinct=False,
        label=_('DCIM tenant (slug)'),
    )
    dcim_source = django_filters.MultipleChoiceFilter(choices=DCIMSourceChoices, distinct=False, null_value=None)
    dcim_conflict_policy = django_filters.MultipleChoiceFilter(
        choices=DCIMConflictPolicyChoices,
        distinct=False,
        null_value=None,
    )

    class Meta:
        model = HedgehogFabric
        fields = (
            'id',
            'name',
            'description',
            'kubernetes_server',
            'kubernetes_namespace',
            'kubernetes_verify_tls',
            'kubernetes_in_cluster',
            'git_repository_url',
            'git_branch',
            'git_path',
            'allow_insecure_transport',
            'sync_enabled',
            'scheduler_enabled',
            'sync_interval',
            'prune',
            'dcim_sync',
            'sync_error',
            'last_sync',
            'last_sync_planned',
            'last_successful_sync',
            'next_sync',
            'connection_message',
            'connection_checked',
            'drift_count',
            'kubernetes_read_at',
            'git_read_at',
            'last_full_comparison',
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
    """Resources by what they are (kind, name, source) and by their key fields.

    ``devices``, ``ports`` and ``subnets`` match rows whose list contains the value (any of several
    values); ``drifted=true`` selects the objects a fabric's drift count counts.
    """

    source = django_filters.MultipleChoiceFilter(choices=ResourceSourceChoices, distinct=False, null_value=None)
    kind = django_filters.MultipleChoiceFilter(choices=KIND_CHOICES, distinct=False, null_value=None)
    drift_state = django_filters.MultipleChoiceFilter(choices=DriftStateChoices, distinct=False, null_value=None)
    drifted = django_filters.BooleanFilter(method='filter_drifted', label=_('Drifted'))
    devices = ArrayContainsFilter(field_name='devices', label=_('Device (contains)'))
    ports = ArrayContainsFilter(field_name='ports', label=_('Port (contains)'))
    subnets = ArrayContainsFilter(field_name='subnets', label=_('Subnet (contains)'))
    last_seen = MultiValueDateTimeFilter(label=_('Last seen'))

    class Meta:
        model = HedgehogResource
        fields = (
            'id',
            'api_version',
            'namespace',
            'name',
            'resource_version',
            'uid',
            'source_path',
            'role',
            'asn',
            'profile',
            'connection_type',
            'vpc',
            'connection',
            'ipv4_namespace',
            'vlan_namespace',
            'heartbeat',
            'applied_generation',
            'last_listed',
        )

    @classmethod
    def get_additional_lookups(cls, existing_filter_name, existing_filter):
        """The array filters get ``__n`` only: NetBox's text lookups would match the array's text form.

        ``last_seen`` is an annotation, which NetBox cannot derive lookups from: it gets a date's lookups here.
        """
        if existing_filter_name == 'last_seen':
            return {
                f'last_seen__{name}': (
                    django_filters.BooleanFilter if lookup == 'isnull' else MultiValueDateTimeFilter
                )(field_name='last_seen', lookup_expr=lookup, label=existing_filter.label, exclude=name == 'n')
                for name, lookup in FILTER_NUMERIC_BASED_LOOKUP_MAP.items()
            }
        lookups = super().get_additional_lookups(existing_filter_name, existing_filter)
        if isinstance(existing_filter, ArrayContainsFilter):
            return {name: lookup for name, lookup in lookups.items() if name == f'{existing_filter_name}__n'}
        return lookups

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        query = (
            Q(name__icontains=value)
            | Q(kind__icontains=value)
            | Q(namespace__icontains=value)
            | Q(role__icontains=value)
            | Q(profile__icontains=value)
            | Q(connection_type__icontains=value)
            | Q(vpc__icontains=value)
            | Q(connection__icontains=value)
            | Q(devices__contains=[value])
            | Q(subnets__contains=[value])
        )
        if value.isdigit() and int(value) <= 2**32 - 1:  # an ASN; larger numbers would overflow the column
            query |= Q(asn=int(value))
        return queryset.filter(query)

    def filter_queryset(self, queryset):
        """``last_seen`` is no column (see ``HedgehogResource.last_seen``): filters on it need its annotation."""
        if 'last_seen' not in queryset.query.annotations:
            queryset = queryset.with_last_seen()
        return super().filter_queryset(queryset)

    def filter_drifted(self, queryset, name, value):
        drifted = Q(
            drift_state__in=(
                DriftStateChoices.ONLY_IN_GIT,
                DriftStateChoices.ONLY_IN_CLUSTER,
                DriftStateChoices.DIFFERS,
            )
        )
        return queryset.filter(drifted) if value else queryset.exclude(drifted)


@register_filterset
class SyncRunFilterSet(FabricRelationFilterMixin, BaseFilterSet):
    q = django_filters.CharFilter(method='search', label=_('Search'))
    trigger = django_filters.MultipleChoiceFilter(choices=SyncTriggerChoices, distinct=False, null_value=None)
    outcome = django_filters.MultipleChoiceFilter(choices=SyncOutcomeChoices, distinct=False, null_value=None)

    class Meta:
        model = SyncRun
        fields = (
            'id',
            'job_id',
            'planned_at',
            'started_at',
            'finished_at',
            'dry_run',
            'created',
            'updated',
            'deleted',
            'unchanged',
            'invalid',
            'prune_skipped',
            'dcim_created',
            'dcim_updated',
            'dcim_deleted',
            'git_commit',
            'kubernetes_revision',
        )

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(
            Q(fabric__name__icontains=value) | Q(error__icontains=value) | Q(git_commit__istartswith=value)
        )


@register_filterset
class HedgehogOwnedObjectFilterSet(FabricRelationFilterMixin, BaseFilterSet):
    """Owned objects by fabric, by NetBox object type (``dcim.device`` or its ID) and by the fabric object."""

    q = django_filters.CharFilter(method='search', label=_('Search'))
    object_type_id = django_filters.ModelMultipleChoiceFilter(
        queryset=ContentType.objects.all(),
        distinct=False,
        label=_('Object type (ID)'),
    )
    object_type = MultiValueContentTypeFilter(label=_('Object type (app_label.model)'))
    kind = django_filters.MultipleChoiceFilter(choices=KIND_CHOICES, distinct=False, null_value=None)
    namespace = MultiValueCharFilter()
    name = MultiValueCharFilter()

    class Meta:
        model = HedgehogOwnedObject
        fields = ('id', 'object_id', 'key', 'created')

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(Q(key__icontains=value) | Q(name__icontains=value))
