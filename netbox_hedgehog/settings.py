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
# Kinds the Hedgehog controller creates itself (one Agent per switch, the ID catalog, DHCP subnets
# generated from VPCs, built-in switch profiles, gateway internals): never in Git, so never drift.
DEFAULT_CLUSTER_OWNED_KINDS = ('Agent', 'Catalog', 'DHCPSubnet', 'GatewayAgent', 'SwitchProfile', 'VPCInfo')


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
    # Where working clones of the fabrics' Git repositories are kept, made private (0700); None:
    # $XDG_CACHE_HOME/netbox-hedgehog/git (~/.cache/...) of the worker's user.
    'git_cache_dir': Setting(None, _directory_or_none, 'None or an absolute directory path'),
    # Accept local repositories (file:// URLs and paths on the worker). Off: anyone who may edit a fabric could
    # otherwise read any repository the worker can read. Even when on, nothing inside git_cache_dir is accepted.
    'allow_local_git': Setting(False, _boolean, 'True or False'),
    # Seconds one clone, fetch or ls-remote may take before git (and every process it started) is killed.
    'git_timeout': Setting(60, _positive_number, 'a positive number (seconds)'),
    # Content limits per sync run: a file above git_max_file_size bytes or with more than git_max_documents
    # YAML documents is skipped, and so are the files after git_max_total_size bytes have been read.
    'git_max_file_size': Setting(4 * 1024 * 1024, _positive_int, 'a positive integer (bytes)'),
    'git_max_total_size': Setting(64 * 1024 * 1024, _positive_int, 'a positive integer (bytes)'),
    'git_max_documents': Setting(10000, _positive_int, 'a positive integer (YAML documents per file)'),
    # How ssh checks a Git server's host key: 'accept-new' trusts a host's key on first use and refuses it if it
    # changes later; 'strict' accepts only the keys in git_ssh_known_hosts (known_hosts lines).
    'git_ssh_host_key_policy': Setting(
        'accept-new', lambda value: value in ('accept-new', 'strict'), "'accept-new' or 'strict'"
    ),
    'git_ssh_known_hosts': Setting('', lambda value: isinstance(value, str), 'a string of known_hosts lines'),
    # Seconds between runs that compare every object in full. The runs between trust an unchanged uid and
    # resourceVersion (Kubernetes) and an unchanged file (Git); a restored cluster backup can change an object
    # under the same resourceVersion. 0: every run compares in full.
    'full_comparison_interval': Setting(3600, _non_negative_int, 'a non-negative integer (seconds; 0: every run)'),
    # A mapped switch whose Agent's last heartbeat is older than this many seconds (or that has an Agent that
    # never reported) is set Offline, and Active again once it is fresh; only while it is Active or Offline.
    # 0: the mapping leaves device status alone after creation.
    'agent_offline_after': Setting(300, _non_negative_int, 'a non-negative integer (seconds; 0: off)'),
    # Kinds the controller creates: shown with their status, never counted as drift from Git.
    'cluster_owned_kinds': Setting(DEFAULT_CLUSTER_OWNED_KINDS, _string_list, 'a list of kind names'),
    # Keys that encrypt the stored credentials: the first encrypts, all decrypt (rotate with
    # `manage.py hedgehog_rotate_key`). Empty: derived from SECRET_KEY and SECRET_KEY_FALLBACKS.
    'secret_keys': Setting(
        [],
        lambda value: isinstance(value, list) and all(isinstance(key, str) and len(key) >= 32 for key in value),
        'a list of strings of 32 or more characters',
    ),
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
