"""Drift on a real-shaped fabric: the demo wiring in a Git repository, and the same objects plus the
controller's own (an Agent per switch with its live status, built-in switch profiles, DHCP subnets)
served by a Kubernetes API as a cluster shows them after the admission webhooks. Both sources go
through a real sync run (``execute_fabric_sync``, the worker's entry point).
"""

import copy

import git
import pytest
import yaml

from netbox_hedgehog.choices import DriftStateChoices, SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from tests.base import set_plugin_settings
from tests.kmock_server import kube_api
from tests.live import DEMO_WIRING, GIT_AUTHOR, make_gitops_repo

pytestmark = pytest.mark.django_db

HEARTBEAT = '2026-11-30T19:59:58Z'


@pytest.fixture(autouse=True)
def git_cache(settings, tmp_path):
    set_plugin_settings(settings, git_cache_dir=str(tmp_path / 'cache'))


def wiring_documents():
    for path in sorted(DEMO_WIRING.glob('*.yaml')):
        yield from (document for document in yaml.safe_load_all(path.read_text()) if document)


def as_the_cluster_shows_it(document, version):
    """A Git document after the webhooks: their labels, defaults, a resourceVersion and uid, and a status."""
    manifest = copy.deepcopy(document)
    kind, name = manifest['kind'], manifest['metadata']['name']
    metadata = manifest['metadata']
    metadata.update(namespace='default', resourceVersion=str(version), uid=f'uid-{kind}-{name}', generation=3)
    metadata['labels'] = {**metadata.get('labels', {}), 'fabric.githedgehog.com/defaulted': 'true'}
    metadata['annotations'] = {'kubectl.kubernetes.io/last-applied-configuration': yaml.safe_dump(document)}
    spec = manifest.setdefault('spec', {})
    if kind == 'Switch':
        spec.setdefault('vlanNamespaces', ['default'])
        spec.setdefault('enableAllPorts', False)
        metadata['labels']['fabric.githedgehog.com/profile'] = spec.get('profile', '')
    if kind == 'VPCAttachment' and '/' not in spec.get('subnet', '/'):
        spec['subnet'] += '/default'
    if kind == 'VPC':
        for subnet in spec.get('subnets', {}).values():
            subnet.setdefault('gateway', subnet['subnet'].replace('.0/24', '.1'))
    manifest['status'] = {}
    return manifest


def agent(switch, version):
    """The Agent the controller creates for a switch, with the status its agent reports."""
    return {
        'apiVersion': 'agent.githedgehog.com/v1beta1',
        'kind': 'Agent',
        'metadata': {'name': switch['metadata']['name'], 'namespace': 'default', 'resourceVersion': str(version)},
        'spec': {'role': switch['spec'].get('role'), 'switch': switch['spec'], 'version': {'default': 'v0.87.4'}},
        'status': {
            'version': 'v0.87.4',
            'lastHeartbeat': HEARTBEAT,
            'lastAppliedGen': 3,
            'lastAppliedTime': '2026-11-30T19:40:00Z',
            'lastAttemptGen': 3,
            'conditions': [
                {
                    'type': 'Applied',
                    'status': 'True',
                    'reason': 'ApplySucceeded',
                    'message': 'Config applied',
                    'lastTransitionTime': '2026-11-30T19:40:00Z',
                }
            ],
            'state': {'nos': {'softwareVersion': '4.5.0'}, 'interfaces': {'Ethernet0': {'operStatus': 'up'}}},
        },
    }


def controller_objects(documents, version):
    """What the controller adds of its own: one Agent per switch, a built-in profile, DHCP subnets."""
    switches = [document for document in documents if document['kind'] == 'Switch']
    yield from (agent(switch, version + index) for index, switch in enumerate(switches))
    yield {
        'apiVersion': 'wiring.githedgehog.com/v1beta1',
        'kind': 'SwitchProfile',
        'metadata': {'name': 'vs', 'namespace': 'default'},
        'spec': {'displayName': 'Virtual Switch', 'ports': {'E1/1': {'nos': 'Ethernet0'}}},
    }
    for vpc in (document for document in documents if document['kind'] == 'VPC'):
        for subnet in vpc['spec']['subnets']:
            yield {
                'apiVersion': 'dhcp.githedgehog.com/v1beta1',
                'kind': 'DHCPSubnet',
                'metadata': {'name': f'{vpc["metadata"]["name"]}--{subnet}', 'namespace': 'default'},
                'spec': {'subnet': f'{vpc["metadata"]["name"]}/{subnet}'},
                'status': {'allocated': {}},
            }


@pytest.fixture
def real_fabric(tmp_path, tasks_redis):
    """(fabric, api, repo path): Git holds the demo wiring; the cluster holds it as the webhooks left it, plus the
    controller's objects."""
    documents = list(wiring_documents())
    repo_path = make_gitops_repo(tmp_path / 'gitops')
    with kube_api() as api:
        for version, document in enumerate(documents, start=100):
            api.add(as_the_cluster_shows_it(document, version))
        for obj in controller_objects(documents, 500):
            api.add(obj)
        fabric = HedgehogFabric.objects.create(name='real', git_repository_url=str(repo_path), **api.fabric_fields())
        yield fabric, api, repo_path


def sync(fabric):
    execute_fabric_sync(fabric.pk, trigger='manual')
    fabric.refresh_from_db()
    return SyncRun.objects.filter(fabric=fabric).latest('started_at')


def test_git_and_cluster_agreeing_modulo_controller_objects_is_in_sync(real_fabric):
    fabric, _api, _repo = real_fabric

    run = sync(fabric)

    assert run.outcome == SyncOutcomeChoices.SUCCESS, run.error
    assert (fabric.sync_status, fabric.drift_count) == (SyncStatusChoices.IN_SYNC, 0)
    agents = HedgehogResource.objects.filter(fabric=fabric, kind='Agent')
    switches = HedgehogResource.objects.filter(fabric=fabric, kind='Switch', source='kubernetes')
    assert agents.count() == switches.count() == 4
    for row in agents:  # shown with their status, no drift state
        assert row.drift_state == ''
        assert row.heartbeat.isoformat() == '2026-11-30T19:59:58+00:00'
        assert row.applied_generation == 3
        assert row.status['conditions'][0]['reason'] == 'ApplySucceeded'
    assert not HedgehogResource.objects.filter(fabric=fabric, kind__in=('SwitchProfile', 'DHCPSubnet')).exclude(
        drift_state=''
    )
    compared = HedgehogResource.objects.filter(fabric=fabric).exclude(kind__in=('Agent', 'SwitchProfile', 'DHCPSubnet'))
    assert compared.count() == 2 * len(list(wiring_documents()))
    assert set(compared.values_list('drift_state', flat=True)) == {DriftStateChoices.IN_SYNC}


def test_an_object_of_a_kind_git_declares_only_in_the_cluster_is_drift(real_fabric):
    fabric, api, _repo = real_fabric
    api.add(
        {
            'apiVersion': 'wiring.githedgehog.com/v1beta1',
            'kind': 'Server',
            'metadata': {'name': 'server-99', 'namespace': 'default'},
            'spec': {'description': 'added by hand with kubectl'},
        }
    )
    api.add(  # a kind the repository does not declare at all: left to the cluster
        {
            'apiVersion': 'vpc.githedgehog.com/v1beta1',
            'kind': 'External',
            'metadata': {'name': 'internet', 'namespace': 'default'},
            'spec': {'ipv4Namespace': 'default', 'inboundCommunity': '65102:5000'},
        }
    )

    sync(fabric)

    assert (fabric.sync_status, fabric.drift_count) == (SyncStatusChoices.OUT_OF_SYNC, 1)
    assert HedgehogResource.objects.get(fabric=fabric, name='server-99').drift_state == 'only_in_cluster'
    assert HedgehogResource.objects.get(fabric=fabric, kind='External').drift_state == ''


def test_a_configured_cluster_owned_kind_is_not_drift(real_fabric, settings, monkeypatch):
    fabric, api, _repo = real_fabric
    api.add(
        {
            'apiVersion': 'wiring.githedgehog.com/v1beta1',
            'kind': 'Server',
            'metadata': {'name': 'control-1', 'namespace': 'default'},
            'spec': {'description': 'a server the installer registers'},
        }
    )
    plugin = settings.PLUGINS_CONFIG['netbox_hedgehog']
    monkeypatch.setitem(plugin, 'cluster_owned_kinds', (*plugin['cluster_owned_kinds'], 'Server'))

    sync(fabric)

    assert (fabric.sync_status, fabric.drift_count) == (SyncStatusChoices.IN_SYNC, 0)
    assert HedgehogResource.objects.get(fabric=fabric, source='git', name='server-01').drift_state == ''
    assert HedgehogResource.objects.get(fabric=fabric, name='control-1').drift_state == ''


def test_removing_the_git_source_removes_its_rows_and_the_fabric_is_in_sync_again(real_fabric):
    fabric, _api, repo_path = real_fabric
    sync(fabric)
    git_rows = HedgehogResource.objects.filter(fabric=fabric, source='git').count()
    assert git_rows > 20
    vpcs = repo_path / 'vpcs.yaml'
    vpcs.write_text(vpcs.read_text().replace('vlan: 1001', 'vlan: 1099'))  # Git now differs from the cluster
    repo = git.Repo(repo_path)
    repo.index.add(['vpcs.yaml'])
    repo.index.commit('move vpc-01 to VLAN 1099', author=GIT_AUTHOR, committer=GIT_AUTHOR)
    sync(fabric)
    assert (fabric.sync_status, fabric.drift_count) == (SyncStatusChoices.OUT_OF_SYNC, 1)

    fabric.git_repository_url = ''
    fabric.save()
    run = sync(fabric)

    assert run.outcome == SyncOutcomeChoices.SUCCESS, run.error
    assert run.deleted == git_rows
    assert not HedgehogResource.objects.filter(fabric=fabric, source='git').exists()
    assert (fabric.sync_status, fabric.drift_count) == (SyncStatusChoices.IN_SYNC, 0)
    assert set(HedgehogResource.objects.filter(fabric=fabric).values_list('drift_state', flat=True)) == {''}
