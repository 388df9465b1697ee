"""Content the plugin adds to pages NetBox renders: the process health banner on every fabric page, and the
Hedgehog panel on the page of a device a fabric owns."""

from netbox.plugins import PluginTemplateExtension


class FabricProcessHealthBanner(PluginTemplateExtension):
    """Every page of a fabric (its detail page and its tabs) warns when no worker or scheduler is alive."""

    models = ['netbox_hedgehog.hedgehogfabric']

    def alerts(self):
        from .views.health import operator_health  # the views package is not imported while plugins load

        return self.render('netbox_hedgehog/inc/process_health.html', {'hedgehog_health': operator_health()})


class DeviceHedgehogPanel(PluginTemplateExtension):
    """A device a fabric's mapping owns: its fabric, kind and role, its agent's status, drift, resource and last run.

    Nothing on a device no fabric owns, or whose fabric the user may not view.
    """

    models = ['dcim.device']

    def right_page(self):
        from .views.device_panel import device_panel_context  # the views package is not imported while plugins load

        context = device_panel_context(self.context['object'], self.context['request'].user)
        return self.render('netbox_hedgehog/inc/device_panel.html', context) if context else ''


template_extensions = [FabricProcessHealthBanner, DeviceHedgehogPanel]
