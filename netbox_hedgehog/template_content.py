"""Content the plugin adds to pages NetBox renders: the process health banner on every fabric page."""

from netbox.plugins import PluginTemplateExtension


class FabricProcessHealthBanner(PluginTemplateExtension):
    """Every page of a fabric (its detail page and its tabs) warns when no worker or scheduler is alive."""

    models = ['netbox_hedgehog.hedgehogfabric']

    def alerts(self):
        from .views.health import operator_health  # the views package is not imported while plugins load

        return self.render('netbox_hedgehog/inc/process_health.html', {'hedgehog_health': operator_health()})


template_extensions = [FabricProcessHealthBanner]
