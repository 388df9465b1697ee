"""Every plugin setting is checked when NetBox starts (``HedgehogConfig.validate``), naming the setting."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from netbox.settings import RELEASE

from netbox_hedgehog import HedgehogConfig
from netbox_hedgehog.settings import SETTINGS

BAD_VALUES = {
    'bootstrap_on_ready': ['yes', 1],
    'min_sync_interval': [0, -5, 2.5, '10', True],
    'sync_job_timeout': [0, None],
    'lock_expire': [0, '60'],
    'kubernetes_timeout': [0, -1, 'fast'],
    'kubernetes_retries': [0, 1.5],
    'sync_run_retention': [0, -1, None],
    'git_cache_dir': ['relative/dir', 5],
    'enable_django_admin': ['false'],
    'allow_local_git': [None],
    'git_timeout': [0, '60'],
    'git_max_file_size': [0],
    'git_max_total_size': [-1],
    'git_max_documents': [0.5],
    'git_ssh_host_key_policy': ['accept-all', None],
    'git_ssh_known_hosts': [None],
    'cluster_owned_kinds': ['Agent', [''], [1]],
    'secret_keys': ['a-single-string-of-enough-length-0123456789', ['short']],
    'full_comparison_interval': [-1, 1.5, None, True],
    'agent_offline_after': [-1, 300.0, '300', None, False],
}


def validate(**config):
    HedgehogConfig.validate(config, RELEASE.version)
    return config


def test_every_setting_has_bad_values_tested():
    assert set(BAD_VALUES) <= set(SETTINGS)
    untested = set(SETTINGS) - set(BAD_VALUES)
    assert all(SETTINGS[name].check(SETTINGS[name].default) for name in untested)


def test_defaults_are_valid_and_applied():
    config = validate()
    assert config == {name: setting.default for name, setting in SETTINGS.items()}


@pytest.mark.parametrize(
    'name, value', [(name, value) for name, values in BAD_VALUES.items() for value in values], ids=repr
)
def test_a_bad_value_is_refused_naming_the_setting(name, value):
    with pytest.raises(
        ImproperlyConfigured, match=rf'^netbox_hedgehog: {name} must be .* \(found {re.escape(repr(value))}\)$'
    ):
        validate(**{name: value})


def test_an_unknown_setting_is_refused():
    with pytest.raises(ImproperlyConfigured, match='unknown setting.*sync_intervall'):
        validate(sync_intervall=30)
