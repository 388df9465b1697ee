"""The sync pipeline against real sources: a local Git repository and a kmock-served API."""

import shutil
from datetime import timedelta
from pathlib import Path

import git
import pytest
from django.utils import timezone

from netbox_hedgehog.choices import ConnectionStatusChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource
from netbox_hedgehog.sources.git import _RepositoryReader
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.base import set_plugin_settings
from tests.fabric_data import DEMO_WIRING
from tests.kmock_server import kube_api

pytestmark = pytest.mark.django_db

AUTHOR = git.Actor('test', 'test@localhost')


@pytest.fixture(autouse=True)
def git_cache(settings, tmp_path):
    set_plugin_settings(settings, git_cache_dir=str(tmp_path / 'cache'))


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / 'gitops'
    shutil.copytree(DEMO_WIRING, path)
    repository = git.Repo.init(path, initial_branch='main')
    commit_all(repository, 'demo wiring')
    return repository


def commit_all(repository, message):
    repository.git.add('-A')
    repository.index.commit(message, author=AUTHOR, committer=AUTHOR)


def remove_document(path, name):
    """Drop the YAML document of the object called ``name`` from a multi-document file."""
    documents = path.read_text().split('\n---\n')
    kept = [document for document in documents if f'\n  name: {name}\n' not in f'\n{document}\n']
    assert len(kept) == len(documents) - 1
    path.write_text('\n---\n'.join(kept))


def git_fabric(repository, name='gitops'):
    return HedgehogFabric.objects.create(name=name, git_repository_url=repository.working_tree_dir)


def test_initial_sync_creates_and_resync_writes_nothing(repo, django_assert_max_num_queries):
    fabric = git_fabric(repo)

    first = sync_fabric(fabric)

    assert first.succeeded, first.error_text()
    assert first.created == HedgehogResource.objects.filter(fabric=fabric, source='git').count() > 20
    assert first.git_commit == repo.head.commit.hexsha
    switch = HedgehogResource.objects.get(fabric=fabric, kind='Switch', name='leaf-01')
    assert switch.source_path == 'wiring.yaml'
    assert switch.spec['role'] == 'server-leaf'

    # An unchanged resync reads the rows once and writes nothing: the savepoint and one select.
    with django_assert_max_num_queries(3):
        second = sync_fabric(fabric)
    assert (second.created, second.updated, second.deleted, second.unchanged) == (0, 0, 0, first.created)


def test_changes_and_deletions_in_git_reach_netbox(repo):
    fabric = git_fabric(repo)
    sync_fabric(fabric)
    wiring = Path(repo.working_tree_dir) / 'wiring.yaml'
    wiring.write_text(wiring.read_text().replace('asn: 65101', 'asn: 65199'))
    remove_document(Path(repo.working_tree_dir) / 'vpcs.yaml', 'vpc-02')
    commit_all(repo, 'change an ASN, drop vpc-02')

    result = sync_fabric(fabric)

    assert result.succeeded, result.error_text()
    assert result.updated == 1
    assert result.deleted == 1
    assert list(HedgehogResource.objects.filter(fabric=fabric, kind='VPC').values_list('name', flat=True)) == ['vpc-01']
    switch = HedgehogResource.objects.get(fabric=fabric, kind='Switch', spec__asn=65199)
    assert switch.asn == 65199  # the key-field column follows the spec


@pytest.fixture
def parsed(monkeypatch):
    """The files the Git reader parses, by name, in order."""
    names = []
    load = _RepositoryReader._load

    def recording_load(reader, path):
        names.append(path.name)
        return load(reader, path)

    monkeypatch.setattr(_RepositoryReader, '_load', recording_load)
    return names


def test_an_unchanged_git_file_is_not_parsed_again(repo, parsed):
    fabric = git_fabric(repo)
    first = sync_fabric(fabric)
    wiring = Path(repo.working_tree_dir) / 'wiring.yaml'
    wiring.write_text(wiring.read_text().replace('asn: 65101', 'asn: 65199'))
    commit_all(repo, 'change an ASN')
    parsed.clear()

    result = sync_fabric(fabric)

    assert parsed == ['wiring.yaml']
    assert (result.created, result.updated, result.deleted, result.unchanged) == (0, 1, 0, first.created - 1)
    parsed.clear()
    assert sync_fabric(fabric).unchanged == first.created
    assert parsed == []


def test_a_file_with_a_problem_is_parsed_and_reported_on_every_run(repo, parsed):
    (Path(repo.working_tree_dir) / 'extra.yaml').write_text(
        'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata: {}\nspec: {}\n'
    )
    commit_all(repo, 'a bad document')
    fabric = git_fabric(repo)
    sync_fabric(fabric)
    parsed.clear()

    result = sync_fabric(fabric)

    assert parsed == ['extra.yaml']
    assert result.invalid == 1 and 'extra.yaml: document 1 (line 1): no metadata.name' in result.error_text()


def test_an_unchanged_file_defining_an_object_a_changed_file_now_defines_first_is_parsed(repo, parsed):
    fabric = git_fabric(repo)
    sync_fabric(fabric)
    # "a-first.yaml" sorts before vpcs.yaml: its vpc-01 wins, the unchanged vpcs.yaml's is a duplicate.
    vpcs = Path(repo.working_tree_dir) / 'vpcs.yaml'
    vpc = next(document for document in vpcs.read_text().split('\n---\n') if '\n  name: vpc-01\n' in f'\n{document}\n')
    (Path(repo.working_tree_dir) / 'a-first.yaml').write_text(vpc)
    commit_all(repo, 'define vpc-01 twice')
    parsed.clear()

    result = sync_fabric(fabric)

    assert parsed == ['a-first.yaml', 'vpcs.yaml']
    assert 'vpcs.yaml: document 1 (line 6): VPC default/vpc-01 is already defined in a-first.yaml (document' in (
        result.error_text()
    )


def test_a_full_comparison_parses_every_file(repo, parsed, settings):
    set_plugin_settings(settings, full_comparison_interval=0)
    fabric = git_fabric(repo)
    sync_fabric(fabric)
    parsed.clear()

    assert sync_fabric(fabric).succeeded

    assert sorted(parsed) == ['vpcs.yaml', 'wiring.yaml']


def test_a_malformed_file_is_reported_and_prunes_nothing(repo):
    fabric = git_fabric(repo)
    sync_fabric(fabric)
    before = HedgehogResource.objects.filter(fabric=fabric).count()
    (Path(repo.working_tree_dir) / 'vpcs.yaml').write_text('kind: VPC\nmetadata: {name: [unclosed\n')
    commit_all(repo, 'break a file')

    result = sync_fabric(fabric)

    assert not result.succeeded
    assert 'vpcs.yaml: invalid YAML at line' in result.error_text()
    assert result.deleted == 0
    assert HedgehogResource.objects.filter(fabric=fabric).count() == before


def test_a_failing_source_keeps_its_data_while_the_other_syncs(repo):
    with kube_api() as api:
        api.add(
            {
                'apiVersion': 'wiring.githedgehog.com/v1beta1',
                'kind': 'Switch',
                'metadata': {'name': 'leaf-01'},
                'spec': {'role': 'server-leaf'},
            }
        )
        fabric = HedgehogFabric.objects.create(
            name='both',
            git_repository_url=repo.working_tree_dir,
            **api.fabric_fields(),
        )
        assert sync_fabric(fabric).succeeded
        api.fail('Switch', 401)

        result = sync_fabric(fabric)

    assert result.connection_status == ConnectionStatusChoices.FAILED
    assert result.errors == [
        f'Kubernetes: the token was rejected (401) listing switches.wiring.githedgehog.com at {api.url}'
    ]
    assert HedgehogResource.objects.filter(fabric=fabric, source='kubernetes').count() == 1
    assert result.unchanged == HedgehogResource.objects.filter(fabric=fabric, source='git').count()


def test_a_fabric_without_sources_fails_with_a_clear_error():
    fabric = HedgehogFabric.objects.create(name='empty')

    result = sync_fabric(fabric)

    assert not result.succeeded
    assert result.error_text() == 'No source configured: set a Kubernetes API or a Git repository.'


def test_each_step_is_timed_and_counted(repo):
    result = sync_fabric(git_fabric(repo))

    assert set(result.step_durations) == {'fetch_git', 'parse_git', 'diff', 'apply', 'search_index', 'drift'}
    assert all(seconds >= 0 for seconds in result.step_durations.values())
    assert result.outcome == 'success' and result.invalid == 0


def test_invalid_objects_make_the_run_partial(repo):
    (Path(repo.working_tree_dir) / 'extra.yaml').write_text(
        'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata: {}\nspec: {}\n'
        '---\napiVersion: example.com/v1\nkind: Unknown\nmetadata: {name: x}\n'
    )
    commit_all(repo, 'two bad documents')

    result = sync_fabric(git_fabric(repo))

    assert result.outcome == 'partial'
    assert result.invalid == 2
    assert result.created > 20  # the valid objects were synced all the same


def test_dry_run_counts_the_diff_and_writes_nothing(repo):
    fabric = git_fabric(repo)

    result = sync_fabric(fabric, dry_run=True)

    assert result.created > 20
    assert not HedgehogResource.objects.filter(fabric=fabric).exists()


def test_a_kind_that_suddenly_empties_is_kept_until_confirmed(repo):
    fabric = git_fabric(repo)
    sync_fabric(fabric)
    vpcs = HedgehogResource.objects.filter(fabric=fabric, kind='VPC').count()
    (Path(repo.working_tree_dir) / 'vpcs.yaml').unlink()
    commit_all(repo, 'all VPC objects gone')

    guarded = sync_fabric(fabric)

    assert guarded.outcome == 'partial'
    assert guarded.prune_skipped >= vpcs
    assert f'git: lists no VPC objects although NetBox holds {vpcs}' in guarded.error_text()
    assert HedgehogResource.objects.filter(fabric=fabric, kind='VPC').count() == vpcs

    confirmed = sync_fabric(fabric, allow_empty_kinds=True)

    assert confirmed.succeeded and confirmed.deleted >= vpcs
    assert not HedgehogResource.objects.filter(fabric=fabric, kind='VPC').exists()


def test_prune_off_keeps_objects_deleted_from_the_source(repo):
    fabric = git_fabric(repo)
    sync_fabric(fabric)
    remove_document(Path(repo.working_tree_dir) / 'wiring.yaml', 'server-03')
    commit_all(repo, 'server-03 removed')
    HedgehogFabric.objects.filter(pk=fabric.pk).update(prune=False)
    fabric.refresh_from_db()

    result = sync_fabric(fabric)

    assert result.deleted == 0 and result.prune_skipped == 1
    assert HedgehogResource.objects.filter(fabric=fabric, name='server-03').exists()


def test_drift_between_git_and_the_cluster_is_counted(repo):
    with kube_api() as api:
        api.add(
            {
                'apiVersion': 'wiring.githedgehog.com/v1beta1',
                'kind': 'Switch',
                'metadata': {'name': 'leaf-01', 'labels': {'fabric.githedgehog.com/profile': 'x'}},
                'spec': {'role': 'server-leaf', 'asn': 1},
            }
        )
        fabric = HedgehogFabric.objects.create(
            name='drifting',
            git_repository_url=repo.working_tree_dir,
            **api.fabric_fields(),
        )
        result = sync_fabric(fabric)

    git_objects = HedgehogResource.objects.filter(fabric=fabric, source='git').count()
    leaf = HedgehogResource.objects.get(fabric=fabric, source='kubernetes', name='leaf-01')
    assert leaf.drift_state == 'differs'  # the ASN differs from Git
    assert HedgehogResource.objects.filter(fabric=fabric, drift_state='only_in_git').count() == git_objects - 1
    # Every Git object but leaf-01 is missing from the cluster, and leaf-01 differs.
    assert result.drift_count == git_objects
    fabric.refresh_from_db()
    assert fabric.drift_count == git_objects


def cluster_switch(name, **spec):
    return {
        'apiVersion': 'wiring.githedgehog.com/v1beta1',
        'kind': 'Switch',
        'metadata': {'name': name},
        'spec': {'role': 'server-leaf', **spec},
    }


def test_an_object_deleted_in_the_cluster_is_pruned():
    with kube_api() as api:
        for name in ('leaf-01', 'leaf-02'):
            api.add(cluster_switch(name))
        fabric = HedgehogFabric.objects.create(name='pruned', **api.fabric_fields())
        assert sync_fabric(fabric).created == 2
        api.delete('Switch', 'leaf-02')

        result = sync_fabric(fabric)

    assert result.succeeded and result.deleted == 1
    assert list(HedgehogResource.objects.filter(fabric=fabric).values_list('name', flat=True)) == ['leaf-01']


def test_a_listing_failing_half_way_prunes_nothing():
    with kube_api() as api:
        api.add(cluster_switch('leaf-01'))
        api.add({'apiVersion': 'vpc.githedgehog.com/v1beta1', 'kind': 'VPC', 'metadata': {'name': 'vpc-1'}, 'spec': {}})
        fabric = HedgehogFabric.objects.create(name='half-way', **api.fabric_fields())
        sync_fabric(fabric)
        api.delete('Switch', 'leaf-01')  # listed before the failure: would be pruned by a complete read
        api.fail('VPC', 500)  # a later kind fails

        result = sync_fabric(fabric)

    assert result.outcome == 'failed'
    assert 'VPC' in result.error_text() or 'vpcs' in result.error_text()
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert HedgehogResource.objects.filter(fabric=fabric).count() == 2


@pytest.mark.parametrize('switches', [5, 50])
def test_an_unchanged_resync_costs_the_same_queries_whatever_the_size(switches, django_assert_num_queries):
    with kube_api() as api:
        for index in range(switches):
            api.add(cluster_switch(f'leaf-{index:02}', asn=65000 + index))
        fabric = HedgehogFabric.objects.create(name=f'sized-{switches}', **api.fabric_fields())
        assert sync_fabric(fabric).created == switches

        # One read of the stored rows (without the compared fields), one UPDATE of the fabric's read time.
        with django_assert_num_queries(2):
            result = sync_fabric(fabric)

    assert result.unchanged == switches


def restore_backup(api, name, **spec):
    """Change a switch's spec in the cluster under its current resourceVersion, as a restored etcd backup can."""

    def change():
        from tests.kmock_server import resource_of

        api.emulator.objects[resource_of('Switch'), 'default', name]['spec'] = {'role': 'server-leaf', **spec}

    api.call(change)


def stored_asn(fabric, name):
    return HedgehogResource.objects.get(fabric=fabric, name=name).asn


def test_an_object_whose_resource_version_did_not_move_is_not_compared_again():
    with kube_api() as api:
        api.add(cluster_switch('leaf-01', asn=65001))
        api.add(cluster_switch('leaf-02', asn=65002))
        fabric = HedgehogFabric.objects.create(name='versions', **api.fabric_fields())
        assert sync_fabric(fabric).created == 2
        restore_backup(api, 'leaf-01', asn=65101)  # same resourceVersion: trusted as unchanged
        api.add(cluster_switch('leaf-02', asn=65102))  # a new resourceVersion: compared

        result = sync_fabric(fabric)

    assert (result.updated, result.unchanged) == (1, 1)
    assert (stored_asn(fabric, 'leaf-01'), stored_asn(fabric, 'leaf-02')) == (65001, 65102)


def test_the_periodic_full_comparison_catches_a_change_under_the_same_resource_version(settings):
    set_plugin_settings(settings, full_comparison_interval=600)
    with kube_api() as api:
        api.add(cluster_switch('leaf-01', asn=65001))
        fabric = HedgehogFabric.objects.create(name='restored', **api.fabric_fields())
        sync_fabric(fabric)
        restore_backup(api, 'leaf-01', asn=65101)
        assert sync_fabric(fabric).updated == 0  # within the interval: the version is trusted

        HedgehogFabric.objects.filter(pk=fabric.pk).update(last_full_comparison=timezone.now() - timedelta(seconds=601))
        fabric.refresh_from_db()
        result = sync_fabric(fabric)

    assert result.updated == 1 and stored_asn(fabric, 'leaf-01') == 65101
    assert fabric.last_full_comparison > timezone.now() - timedelta(seconds=600)


def test_a_full_comparison_interval_of_0_compares_every_run(settings):
    set_plugin_settings(settings, full_comparison_interval=0)
    with kube_api() as api:
        api.add(cluster_switch('leaf-01', asn=65001))
        fabric = HedgehogFabric.objects.create(name='always', **api.fabric_fields())
        sync_fabric(fabric)
        restore_backup(api, 'leaf-01', asn=65101)

        result = sync_fabric(fabric)

    assert result.updated == 1 and stored_asn(fabric, 'leaf-01') == 65101


def test_a_run_that_failed_to_read_a_source_is_no_full_comparison(settings):
    set_plugin_settings(settings, full_comparison_interval=600)
    with kube_api() as api:
        api.add(cluster_switch('leaf-01'))
        api.add({'apiVersion': 'vpc.githedgehog.com/v1beta1', 'kind': 'VPC', 'metadata': {'name': 'vpc-1'}, 'spec': {}})
        fabric = HedgehogFabric.objects.create(name='no-full', **api.fabric_fields())
        api.fail('VPC', 500)

        assert sync_fabric(fabric).outcome == 'failed'

    assert fabric.last_full_comparison is None
    assert HedgehogFabric.objects.get(pk=fabric.pk).last_full_comparison is None
