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
    """Resources by name first, then by the key fields naming other objects (a VPC finds its attachments)."""

    model = HedgehogResource
    fields = (
        ('name', 100),
        ('asn', 200),
        ('role', 300),
        ('profile', 300),
        ('connection_type', 300),
        ('vpc', 300),
        ('connection', 300),
        ('ipv4_namespace', 400),
        ('vlan_namespace', 400),
    )
    display_attrs = ('fabric', 'source', 'kind', 'namespace', 'drift_state')


# Registered by NetBox's PluginConfig, which loads ``search.indexes``.
indexes = (HedgehogFabricIndex, HedgehogResourceIndex)
