"""GraphQL filters. Like the REST filtersets, the fabric's secrets have no filter (one could guess them)."""

from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from netbox.graphql.filters import BaseModelFilter, NetBoxModelFilter, register_filter
from strawberry.scalars import ID
from strawberry_django import DatetimeFilterLookup, FilterLookup, StrFilterLookup

from .. import models

if TYPE_CHECKING:
    from core.graphql.filters import ContentTypeFilter
    from netbox.graphql.filter_lookups import BigIntegerLookup, IntegerLookup, StringArrayLookup

IntegerLookupType = Annotated['IntegerLookup', strawberry.lazy('netbox.graphql.filter_lookups')]
BigIntegerLookupType = Annotated['BigIntegerLookup', strawberry.lazy('netbox.graphql.filter_lookups')]
StringArrayLookupType = Annotated['StringArrayLookup', strawberry.lazy('netbox.graphql.filter_lookups')]

__all__ = (
    'HedgehogFabricFilter',
    'HedgehogOwnedObjectFilter',
    'HedgehogResourceFilter',
    'SyncRunFilter',
)


@register_filter(models.HedgehogFabric, lookups=True)
class HedgehogFabricFilter(NetBoxModelFilter):
    name: StrFilterLookup | None = strawberry_django.filter_field()
    description: StrFilterLookup | None = strawberry_django.filter_field()
    kubernetes_server: StrFilterLookup | None = strawberry_django.filter_field()
    kubernetes_namespace: StrFilterLookup | None = strawberry_django.filter_field()
    git_repository_url: StrFilterLookup | None = strawberry_django.filter_field()
    git_branch: StrFilterLookup | None = strawberry_django.filter_field()
    git_path: StrFilterLookup | None = strawberry_django.filter_field()
    sync_enabled: FilterLookup[bool] | None = strawberry_django.filter_field()
    scheduler_enabled: FilterLookup[bool] | None = strawberry_django.filter_field()
    sync_interval: IntegerLookupType | None = strawberry_django.filter_field()
    kubernetes_verify_tls: FilterLookup[bool] | None = strawberry_django.filter_field()
    prune: FilterLookup[bool] | None = strawberry_django.filter_field()
    drift_count: IntegerLookupType | None = strawberry_django.filter_field()
    sync_status: StrFilterLookup | None = strawberry_django.filter_field()
    connection_status: StrFilterLookup | None = strawberry_django.filter_field()
    last_sync: DatetimeFilterLookup | None = strawberry_django.filter_field()
    last_successful_sync: DatetimeFilterLookup | None = strawberry_django.filter_field()
    next_sync: DatetimeFilterLookup | None = strawberry_django.filter_field()


@register_filter(models.HedgehogResource, lookups=True)
class HedgehogResourceFilter(NetBoxModelFilter):
    fabric: Annotated['HedgehogFabricFilter', strawberry.lazy('netbox_hedgehog.graphql.filters')] | None = (
        strawberry_django.filter_field()
    )
    fabric_id: ID | None = strawberry_django.filter_field()
    source: StrFilterLookup | None = strawberry_django.filter_field()
    api_version: StrFilterLookup | None = strawberry_django.filter_field()
    kind: StrFilterLookup | None = strawberry_django.filter_field()
    namespace: StrFilterLookup | None = strawberry_django.filter_field()
    name: StrFilterLookup | None = strawberry_django.filter_field()
    source_path: StrFilterLookup | None = strawberry_django.filter_field()
    role: StrFilterLookup | None = strawberry_django.filter_field()
    asn: BigIntegerLookupType | None = strawberry_django.filter_field()
    profile: StrFilterLookup | None = strawberry_django.filter_field()
    connection_type: StrFilterLookup | None = strawberry_django.filter_field()
    devices: StringArrayLookupType | None = strawberry_django.filter_field()
    ports: StringArrayLookupType | None = strawberry_django.filter_field()
    subnets: StringArrayLookupType | None = strawberry_django.filter_field()
    vpc: StrFilterLookup | None = strawberry_django.filter_field()
    connection: StrFilterLookup | None = strawberry_django.filter_field()
    ipv4_namespace: StrFilterLookup | None = strawberry_django.filter_field()
    vlan_namespace: StrFilterLookup | None = strawberry_django.filter_field()
    heartbeat: DatetimeFilterLookup | None = strawberry_django.filter_field()
    applied_generation: BigIntegerLookupType | None = strawberry_django.filter_field()
    drift_state: StrFilterLookup | None = strawberry_django.filter_field()


@register_filter(models.HedgehogOwnedObject, lookups=True)
class HedgehogOwnedObjectFilter(BaseModelFilter):
    fabric: Annotated['HedgehogFabricFilter', strawberry.lazy('netbox_hedgehog.graphql.filters')] | None = (
        strawberry_django.filter_field()
    )
    fabric_id: ID | None = strawberry_django.filter_field()
    object_type: Annotated['ContentTypeFilter', strawberry.lazy('core.graphql.filters')] | None = (
        strawberry_django.filter_field()
    )
    object_type_id: ID | None = strawberry_django.filter_field()
    object_id: ID | None = strawberry_django.filter_field()
    key: StrFilterLookup | None = strawberry_django.filter_field()
    kind: StrFilterLookup | None = strawberry_django.filter_field()
    namespace: StrFilterLookup | None = strawberry_django.filter_field()
    name: StrFilterLookup | None = strawberry_django.filter_field()
    created: DatetimeFilterLookup | None = strawberry_django.filter_field()


@register_filter(models.SyncRun, lookups=True)
class SyncRunFilter(BaseModelFilter):
    fabric: Annotated['HedgehogFabricFilter', strawberry.lazy('netbox_hedgehog.graphql.filters')] | None = (
        strawberry_django.filter_field()
    )
    fabric_id: ID | None = strawberry_django.filter_field()
    trigger: StrFilterLookup | None = strawberry_django.filter_field()
    outcome: StrFilterLookup | None = strawberry_django.filter_field()
    dry_run: FilterLookup[bool] | None = strawberry_django.filter_field()
    invalid: IntegerLookupType | None = strawberry_django.filter_field()
    prune_skipped: IntegerLookupType | None = strawberry_django.filter_field()
    kubernetes_revision: StrFilterLookup | None = strawberry_django.filter_field()
    job_id: StrFilterLookup | None = strawberry_django.filter_field()
    planned_at: DatetimeFilterLookup | None = strawberry_django.filter_field()
    started_at: DatetimeFilterLookup | None = strawberry_django.filter_field()
    finished_at: DatetimeFilterLookup | None = strawberry_django.filter_field()
    git_commit: StrFilterLookup | None = strawberry_django.filter_field()
