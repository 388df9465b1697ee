from netbox.plugins import get_plugin_config

# Kinds the Hedgehog controller creates itself (one Agent per switch, the ID catalog, DHCP subnets
# generated from VPCs, built-in switch profiles, gateway internals): never in Git, so never drift.
DEFAULT_CLUSTER_OWNED_KINDS = ('Agent', 'Catalog', 'DHCPSubnet', 'GatewayAgent', 'SwitchProfile', 'VPCInfo')


def plugin_setting(name):
    """Return one of this plugin's settings (defaults come from ``HedgehogConfig.default_settings``)."""
    return get_plugin_config('netbox_hedgehog', name)
