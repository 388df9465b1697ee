"""GraphQL types. The fabric type leaves out ``kubernetes_token`` and ``kubeconfig``: secrets are write-only."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from dcim.models import Cable, Device, Interface
from ipam.models import VLAN, VRF, IPAddress, IPRange, Prefix, VLANGroup
from netbox.graphql.optimization import build_gfk_prefetch
from netbox.graphql.types import BaseObjectType, NetBoxObjectType, register_type

from .. import models
from ..models.fabric import SECRET_FIELDS
from .filters import HedgehogFabricFilter, HedgehogOwnedObjectFilter, HedgehogResourceFilter, SyncRunFilter

if TYPE_CHECKING:
    from dcim.graphql.types import CableType, DeviceType, InterfaceType, SiteType
    from ipam.graphql.types import IPAddressType, IPRangeType, PrefixType, VLANGroupType, VLANType, VRFType
    from netbox.graphql.types import ContentTypeType
    from tenancy.graphql.types import TenantType

__all__ = (
    'HedgehogFabricType',
    'HedgehogOwnedObjectType',
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
    owned_objects: list[Annotated['HedgehogOwnedObjectType', strawberry.lazy('netbox_hedgehog.graphql.types')]]


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
    models.HedgehogOwnedObject,
    fields='__all__',
    filters=HedgehogOwnedObjectFilter,
    pagination=True,
)
class HedgehogOwnedObjectType(BaseObjectType):
    fabric: Annotated['HedgehogFabricType', strawberry.lazy('netbox_hedgehog.graphql.types')]
    object_type: Annotated['ContentTypeType', strawberry.lazy('netbox.graphql.types')]

    # The types the DCIM mapping creates (dcim.plan.object_types), read per type, not per row.
    @strawberry_django.field(
        prefetch_related=build_gfk_prefetch(
            'object', [Device, Interface, Cable, VLANGroup, VRF, VLAN, Prefix, IPRange, IPAddress]
        ),
        only=['object_type', 'object_id'],
    )
    def object(
        self,
    ) -> (
        Annotated[
            Annotated['DeviceType', strawberry.lazy('dcim.graphql.types')]
            | Annotated['InterfaceType', strawberry.lazy('dcim.graphql.types')]
            | Annotated['CableType', strawberry.lazy('dcim.graphql.types')]
            | Annotated['VLANGroupType', strawberry.lazy('ipam.graphql.types')]
            | Annotated['VRFType', strawberry.lazy('ipam.graphql.types')]
            | Annotated['VLANType', strawberry.lazy('ipam.graphql.types')]
            | Annotated['PrefixType', strawberry.lazy('ipam.graphql.types')]
            | Annotated['IPRangeType', strawberry.lazy('ipam.graphql.types')]
            | Annotated['IPAddressType', strawberry.lazy('ipam.graphql.types')],
            strawberry.union('HedgehogOwnedObjectObjectType'),
        ]
        | None
    ):
        """The NetBox object the mapping owns: one of the types it creates."""
        return self.object


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
