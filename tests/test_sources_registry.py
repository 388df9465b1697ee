"""The registry of source classes: what the pipeline and "Test connection" iterate instead of naming sources."""

from dataclasses import fields
from pathlib import Path

import pytest

import netbox_hedgehog
from netbox_hedgehog.choices import ConnectionStatusChoices, ResourceSourceChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.connection import check_fabric_connection
from netbox_hedgehog.sources.base import NoSourceConfigured, Source, configured_sources, registry, source_classes
from netbox_hedgehog.sources.git import GitSource
from netbox_hedgehog.sources.kubernetes import KubernetesSource
from netbox_hedgehog.sync.pipeline import SyncResult, sync_fabric

NO_SOURCE = 'No source configured: set a Kubernetes API or a Git repository.'


def subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from subclasses(subclass)


def test_every_source_class_is_registered_once_per_source_choice():
    assert set(registry.values()) == set(subclasses(Source))
    assert source_classes() == [KubernetesSource, GitSource]
    assert [cls.name for cls in source_classes()] == ResourceSourceChoices.values()


def test_labels_steps_and_revision_fields_are_unique_and_recorded():
    classes = source_classes()
    for attribute in ('label', 'step', 'revision_field', 'setup_hint'):
        values = [getattr(cls, attribute) for cls in classes]
        assert all(values) and len(set(values)) == len(values), attribute
    recorded = {field.name for field in fields(SyncResult)}
    for cls in classes:
        assert cls.revision_field in recorded
        SyncRun._meta.get_field(cls.revision_field)  # raises FieldDoesNotExist


@pytest.mark.parametrize(
    ('settings', 'expected'),
    [
        ({'kubernetes_server': 'https://k8s.example:6443'}, [KubernetesSource]),
        ({'kubernetes_in_cluster': True}, [KubernetesSource]),
        ({'git_repository_url': '/srv/gitops'}, [GitSource]),
        ({'kubeconfig': 'apiVersion: v1', 'git_repository_url': '/srv/gitops'}, [KubernetesSource, GitSource]),
    ],
)
def test_configured_sources_follow_the_fabric(settings, expected):
    fabric = HedgehogFabric(name='f', **settings)

    sources = configured_sources(fabric)

    assert [type(source) for source in sources] == expected
    assert all(source.fabric is fabric for source in sources)


def test_no_source_configured_is_worded_once():
    with pytest.raises(NoSourceConfigured) as raised:
        configured_sources(HedgehogFabric(name='empty'))
    assert str(raised.value) == NO_SOURCE
    package = Path(netbox_hedgehog.__file__).parent
    wording = [path.name for path in package.rglob('*.py') if 'No source configured' in path.read_text()]
    assert wording == ['base.py']


@pytest.mark.django_db
def test_sync_and_connection_test_report_the_same_no_source_message():
    fabric = HedgehogFabric.objects.create(name='empty')

    result = sync_fabric(fabric)
    check = check_fabric_connection(fabric.pk)

    assert result.errors == [NO_SOURCE]
    assert check['status'] == ConnectionStatusChoices.NOT_CONFIGURED
    assert check['message'] == NO_SOURCE
    assert check['sources'] == {}
