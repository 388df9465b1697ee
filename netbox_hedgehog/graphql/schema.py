"""The plugin's root query fields, prefixed ``hedgehog_`` so they cannot clash with NetBox's or other plugins'."""

import strawberry
import strawberry_django

from .types import HedgehogFabricType, HedgehogOwnedObjectType, HedgehogResourceType, SyncRunType


@strawberry.type(name='Query')
class HedgehogQuery:
    hedgehog_fabric: HedgehogFabricType = strawberry_django.field()
    hedgehog_fabric_list: list[HedgehogFabricType] = strawberry_django.field()

    hedgehog_resource: HedgehogResourceType = strawberry_django.field()
    hedgehog_resource_list: list[HedgehogResourceType] = strawberry_django.field()

    hedgehog_owned_object: HedgehogOwnedObjectType = strawberry_django.field()
    hedgehog_owned_object_list: list[HedgehogOwnedObjectType] = strawberry_django.field()

    hedgehog_sync_run: SyncRunType = strawberry_django.field()
    hedgehog_sync_run_list: list[SyncRunType] = strawberry_django.field()


schema = [HedgehogQuery]
