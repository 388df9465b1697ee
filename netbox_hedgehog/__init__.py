"""netbox-hedgehog: keep NetBox in step with Hedgehog Open Network Fabric.

The plugin registers one RQ queue (``netbox_hedgehog.hedgehog_sync``); every sync of a
fabric, periodic or manual, runs there through
:func:`netbox_hedgehog.scheduling.jobs.execute_fabric_sync`.
"""

from netbox.plugins import PluginConfig

from .settings import default_settings, validate_settings

__version__ = '0.1.0'


class HedgehogConfig(PluginConfig):
    name = 'netbox_hedgehog'
    verbose_name = 'Hedgehog Fabric'
    description = 'Sync Hedgehog Open Network Fabric resources into NetBox'
    version = __version__
    author = 'netbox-hedgehog developers'
    base_url = 'hedgehog'
    min_version = '4.7.0'
    max_version = '4.7.99'
    queues = ['hedgehog_sync']
    graphql_schema = 'graphql.schema.schema'
    default_settings = default_settings()

    @classmethod
    def validate(cls, user_config, netbox_version):
        """Validate settings; runs before NetBox reads ``django_apps``, so the admin opt-in is applied here."""
        super().validate(user_config, netbox_version)
        validate_settings(user_config)
        if user_config['enable_django_admin'] and 'django.contrib.admin' not in cls.django_apps:
            cls.django_apps = [*cls.django_apps, 'django.contrib.admin']

    def ready(self):
        super().ready()
        from django.conf import settings

        from . import (
            signals,  # noqa: F401  (connects the fabric schedule hooks)
            widgets,  # noqa: F401  (registers the dashboard widget)
        )
        from .metrics import register_collector
        from .scheduling import watchdog  # noqa: F401  (registers the watchdog system job)
        from .scheduling.bootstrap import start_process_services

        if settings.METRICS_ENABLED:
            register_collector()
        start_process_services()


config = HedgehogConfig
