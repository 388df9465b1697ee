"""The plugin's settings: their defaults, how each is checked at start-up, and how code reads them.

Every setting is declared once in :data:`SETTINGS`; ``HedgehogConfig`` takes its
``default_settings`` from there and :func:`validate_settings` refuses a bad value when NetBox
starts, with ``ImproperlyConfigured`` naming the setting, instead of failing later inside a
sync job (where, for example, a retention of 0 would raise in the job's ``finally``).
"""

import os
from dataclasses import dataclass
from typing import Any, Callable

from django.core.exceptions import ImproperlyConfigured
from netbox.plugins import get_plugin_config

PLUGIN = 'netbox_hedgehog'


def plugin_setting(name):
    """Return one of this plugin's settings (defaults come from :data:`SETTINGS`)."""
    return get_plugin_config(PLUGIN, name)


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _non_negative_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _boolean(value):
    return isinstance(value, bool)


def _directory_or_none(value):
    return value is None or (isinstance(value, (str, os.PathLike)) and os.path.isabs(os.fspath(value)))


def _string_list(value):
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) and item for item in value)


@dataclass(frozen=True)
class Setting:
    default: Any
    check: Callable[[Any], bool]
    expected: str


SETTINGS = {
    # Bootstrap one rq-scheduler chain per fabric when a NetBox process starts.
    'bootstrap_on_ready': Setting(True, _boolean, 'True or False'),
    # Smallest accepted sync_interval in seconds (0 always means "no periodic sync").
    'min_sync_interval': Setting(10, _positive_int, 'a positive integer (seconds)'),
    # Hard limit for one sync job in the worker, in seconds.
    'sync_job_timeout': Setting(900, _positive_int, 'a positive integer (seconds)'),
    # The per-fabric lock expires after this many seconds unless the running sync renews it.
    'lock_expire': Setting(60, _positive_int, 'a positive integer (seconds)'),
    # Per-request timeout against the Kubernetes API, in seconds.
    'kubernetes_timeout': Setting(30, _positive_number, 'a positive number (seconds)'),
    # Attempts per Kubernetes request on transient errors (timeouts, 429, 5xx), with exponential backoff.
    'kubernetes_retries': Setting(3, _positive_int, 'a positive integer (attempts)'),
    # Sync run records kept per fabric; older ones are deleted after each run.
    'sync_run_retention': Setting(500, _positive_int, 'a positive integer (run records per fabric)'),
    # Where working clones of the fabrics' Git repositories are kept (None: a temp directory).
    'git_cache_dir': Setting(None, _directory_or_none, 'None or an absolute directory path'),
    # Serve Django's admin site (with the fabric "Schedule sync" action) under the plugin's URLs.
    'enable_django_admin': Setting(False, _boolean, 'True or False'),
}


def default_settings():
    return {name: setting.default for name, setting in SETTINGS.items()}


def validate_settings(config):
    """Raise ``ImproperlyConfigured`` naming the first setting whose value is unusable."""
    unknown = sorted(set(config) - set(SETTINGS))
    if unknown:
        raise ImproperlyConfigured(
            f'{PLUGIN}: unknown setting(s) {", ".join(unknown)} in PLUGINS_CONFIG; known: {", ".join(SETTINGS)}'
        )
    for name, setting in SETTINGS.items():
        value = config.get(name, setting.default)
        if not setting.check(value):
            raise ImproperlyConfigured(f'{PLUGIN}: {name} must be {setting.expected} (found {value!r})')
