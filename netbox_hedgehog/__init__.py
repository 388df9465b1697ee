"""netbox-hedgehog: keep NetBox in step with Hedgehog Open Network Fabric.

The plugin registers one RQ queue (``netbox_hedgehog.hedgehog_sync``); every sync of a
fabric, periodic or manual, runs there through
:func:`netbox_hedgehog.scheduling.jobs.execute_fabric_sync`.
"""

from netbox.plugins import PluginConfig

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
    default_settings = {
        # Bootstrap one rq-scheduler chain per fabric when a NetBox process starts.
        'bootstrap_on_ready': True,
        # Smallest accepted sync_interval in seconds (0 always means "no periodic sync").
        'min_sync_interval': 10,
        # Hard limit for one sync job in the worker, in seconds.
        'sync_job_timeout': 900,
        # The per-fabric lock expires after this many seconds unless the running sync renews it.
        'lock_expire': 60,
        # Per-request timeout against the Kubernetes API, in seconds.
        'kubernetes_timeout': 30,
        # Attempts per Kubernetes request on transient errors (timeouts, 429, 5xx), with exponential backoff.
        'kubernetes_retries': 3,
        # Sync run records kept per fabric; older ones are deleted after each run.
        'sync_run_retention': 500,
        # Where working clones of the fabrics' Git repositories are kept (None: a temp directory).
        'git_cache_dir': None,
        # Keys that encrypt the stored credentials: the first encrypts, all decrypt (rotate with
        # `manage.py hedgehog_rotate_key`). Empty: derived from SECRET_KEY and SECRET_KEY_FALLBACKS.
        'secret_keys': [],
        # Serve Django's admin site (with the fabric "Schedule sync" action) under the plugin's URLs.
        'enable_django_admin': False,
    }

    @classmethod
    def validate(cls, user_config, netbox_version):
        """Validate settings; runs before NetBox reads ``django_apps``, so the admin opt-in is applied here."""
        super().validate(user_config, netbox_version)
        interval = user_config['min_sync_interval']
        if not isinstance(interval, int) or interval < 1:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f'netbox_hedgehog: min_sync_interval must be a positive integer (found {interval!r})'
            )
        if user_config['enable_django_admin'] and 'django.contrib.admin' not in cls.django_apps:
            cls.django_apps = [*cls.django_apps, 'django.contrib.admin']

    def ready(self):
        super().ready()
        from django.conf import settings

        from . import signals  # noqa: F401  (connects the fabric schedule hooks)
        from .metrics import register_collector
        from .scheduling import watchdog  # noqa: F401  (registers the watchdog system job)
        from .scheduling.bootstrap import start_process_services

        if settings.METRICS_ENABLED:
            register_collector()
        start_process_services()


config = HedgehogConfig
