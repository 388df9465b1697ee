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
    """Resources by name first, then by the key fields naming other objects (a VPC finds its attachments).

    The sync writes resources in bulk, which sends no ``post_save``: it feeds this index itself
    (``HedgehogResource.index_for_search``) and removes pruned rows from it.
    """

    model = HedgehogResource
    fields = (
        ('name', 100),
        ('asn', 200),
        ('role', 300),
        ('profile', 300),
        ('connection_type', 300),
        ('subnets', 300),
        ('vpc', 300),
        ('connection', 300),
        ('devices', 400),
        ('ipv4_namespace', 400),
        ('vlan_namespace', 400),
    )
    display_attrs = ('fabric', 'source', 'kind', 'namespace', 'drift_state')

    @staticmethod
    def get_field_value(instance, field_name):
        """List columns (subnets, devices) as their items separated by spaces, not as a Python list's repr."""
        value = getattr(instance, field_name)
        if isinstance(value, list):
            return ' '.join(value) or None
        return SearchIndex.get_field_value(instance, field_name)


# Registered by NetBox's PluginConfig, which loads ``search.indexes``.
indexes = (HedgehogFabricIndex, HedgehogResourceIndex)
