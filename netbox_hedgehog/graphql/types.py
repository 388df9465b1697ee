"""GraphQL types. The fabric type leaves out ``kubernetes_token`` and ``kubeconfig``: secrets are write-only."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from netbox.graphql.types import BaseObjectType, NetBoxObjectType, register_type

from .. import models
from ..models.fabric import SECRET_FIELDS
from .filters import HedgehogFabricFilter, HedgehogResourceFilter, SyncRunFilter

if TYPE_CHECKING:
    from dcim.graphql.types import SiteType
    from tenancy.graphql.types import TenantType

__all__ = (
    'HedgehogFabricType',
    'HedgehogResourceType',
    'SyncRunType',
)

# Never exposed: not as a field, not as a filter.


@register_type(
    models.HedgehogFabric,
    exclude=list(SECRET_FIELDS),
    filters=HedgehogFabricFilter,
    pagination=True,
)
class HedgehogFabricType(NetBoxObjectType):
    dcim_site: Annotated['SiteType', strawberry.lazy('dcim.graphql.types')] | None
    dcim_tenant: Annotated['TenantType', strawberry.lazy('tenancy.graphql.types')] | None
    resources: list[Annotated['HedgehogResourceType', strawberry.lazy('netbox_hedgehog.graphql.types')]]
    sync_runs: list[Annotated['SyncRunType', strawberry.lazy('netbox_hedgehog.graphql.types')]]


@register_type(
    models.HedgehogResource,
    fields='__all__',
    filters=HedgehogResourceFilter,
    pagination=True,
)
class HedgehogResourceType(NetBoxObjectType):
    fabric: Annotated['HedgehogFabricType', strawberry.lazy('netbox_hedgehog.graphql.types')]

    @strawberry_django.field(select_related=['fabric'])
    def last_seen(self) -> datetime | None:
        """When a sync last read the object from its source."""
        return self.last_seen


@register_type(
    models.SyncRun,
    fields='__all__',
    filters=SyncRunFilter,
    pagination=True,
)
class SyncRunType(BaseObjectType):
    fabric: Annotated['HedgehogFabricType', strawberry.lazy('netbox_hedgehog.graphql.types')]

    @strawberry_django.field
    def duration(self) -> float | None:
        return self.duration

    @strawberry_django.field
    def lateness(self) -> float | None:
        return self.lateness
