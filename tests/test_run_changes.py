"""Each run keeps the objects it changed, with the field-level change, dry runs included."""

import git
import pytest
from django.urls import reverse

from netbox_hedgehog.choices import SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from netbox_hedgehog.sync import diff as diff_module
from netbox_hedgehog.sync import pipeline as pipeline_module
from tests.live import GIT_AUTHOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def fabric(gitops_repo, tasks_redis):
    return HedgehogFabric.objects.create(name='reviewed', git_repository_url=str(gitops_repo), scheduler_enabled=False)


def sync(fabric, dry_run=False):
    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL, dry_run=dry_run)
    return SyncRun.objects.filter(fabric=fabric).latest('started_at')


def edit_and_commit(repo_path, old, new):
    wiring = repo_path / 'wiring.yaml'
    text = wiring.read_text()
    assert old in text
    wiring.write_text(text.replace(old, new))
    repo = git.Repo(repo_path)
    repo.index.add(['wiring.yaml'])
    repo.index.commit('edit', author=GIT_AUTHOR, committer=GIT_AUTHOR)


def test_a_dry_run_lists_what_it_would_create_and_writes_nothing(fabric):
    run = sync(fabric, dry_run=True)

    assert run.dry_run and run.created > 20
    assert len(run.changes) == run.created
    assert {change['action'] for change in run.changes} == {'create'}
    assert {'action': 'create', 'source': 'git', 'kind': 'Switch', 'namespace': 'default', 'name': 'leaf-01',
            'fields': []} in run.changes  # fmt: skip
    assert not HedgehogResource.objects.filter(fabric=fabric).exists()


def test_an_update_records_each_changed_field_and_a_delete_the_object(fabric, gitops_repo):
    sync(fabric)
    edit_and_commit(gitops_repo, 'description: leaf-01 (ESLAG with leaf-02)', 'description: leaf-01 renamed')
    edit_and_commit(gitops_repo, '  asn: 65101\n', '  asn: 65199\n')

    review = sync(fabric, dry_run=True)
    applied = sync(fabric)

    for run in (review, applied):
        assert (run.updated, run.created, run.deleted) == (1, 0, 0)
        [change] = run.changes
        assert change['action'] == 'update' and (change['kind'], change['name']) == ('Switch', 'leaf-01')
        assert ['spec.description', 'leaf-01 (ESLAG with leaf-02)', 'leaf-01 renamed'] in change['fields']
        assert ['spec.asn', 65101, 65199] in change['fields']
        assert ['asn', 65101, 65199] in change['fields']  # the key-field column moves with the spec


def test_the_list_is_capped_while_the_counts_stay_complete(fabric, monkeypatch, admin_client):
    monkeypatch.setattr(diff_module, 'MAX_RECORDED_CHANGES', 3)
    monkeypatch.setattr(pipeline_module, 'MAX_RECORDED_CHANGES', 3)

    run = sync(fabric)

    assert len(run.changes) == 3 and run.created > 3
    page = admin_client.get(run.get_absolute_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert f'The first 3 of {run.created} changes.' in text
    assert 'id="run_changes"' in text and run.changes[0]['name'] in text
    api = admin_client.get(reverse('plugins-api:netbox_hedgehog-api:syncrun-detail', args=[run.pk]))
    assert api.json()['changes'] == run.changes
