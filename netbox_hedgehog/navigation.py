from django.utils.translation import gettext_lazy as _
from netbox.plugins import PluginMenu, PluginMenuButton, PluginMenuItem

menu = PluginMenu(
    label=_('Hedgehog'),
    icon_class='mdi mdi-router-network',
    groups=(
        (
            _('Hedgehog'),
            (
                PluginMenuItem(
                    link='plugins:netbox_hedgehog:hedgehogfabric_list',
                    link_text=_('Fabrics'),
                    permissions=['netbox_hedgehog.view_hedgehogfabric'],
                    buttons=(
                        PluginMenuButton(
                            link='plugins:netbox_hedgehog:hedgehogfabric_add',
                            title=_('Add'),
                            icon_class='mdi mdi-plus-thick',
                            permissions=['netbox_hedgehog.add_hedgehogfabric'],
                        ),
                    ),
                ),
                PluginMenuItem(
                    link='plugins:netbox_hedgehog:hedgehogresource_list',
                    link_text=_('Resources'),
                    permissions=['netbox_hedgehog.view_hedgehogresource'],
                ),
                PluginMenuItem(
                    link='plugins:netbox_hedgehog:hedgehogownedobject_list',
                    link_text=_('Managed objects'),
                    permissions=['netbox_hedgehog.view_hedgehogownedobject'],
                ),
                PluginMenuItem(
                    link='plugins:netbox_hedgehog:syncrun_list',
                    link_text=_('Sync runs'),
                    permissions=['netbox_hedgehog.view_syncrun'],
                ),
            ),
        ),
    ),
)
