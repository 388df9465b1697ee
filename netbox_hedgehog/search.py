from netbox.search import SearchIndex

from .models import HedgehogFabric, HedgehogResource


class HedgehogFabricIndex(SearchIndex):
    model = HedgehogFabric
    fields = (
        ('name', 100),
        ('description', 500),
        ('comments', 5000),
    )
    display_attrs = ('sync_status', 'connection_status', 'description')


class HedgehogResourceIndex(SearchIndex):
    model = HedgehogResource
    fields = (
        ('name', 100),
    )
    display_attrs = ('fabric', 'source', 'kind', 'namespace')


# Registered by NetBox's PluginConfig, which loads ``search.indexes``.
indexes = (HedgehogFabricIndex, HedgehogResourceIndex)
