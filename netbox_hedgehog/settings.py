from netbox.plugins import get_plugin_config


def plugin_setting(name):
    """Return one of this plugin's settings (defaults come from ``HedgehogConfig.default_settings``)."""
    return get_plugin_config('netbox_hedgehog', name)
