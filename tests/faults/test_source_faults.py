"""Sources failing: the Kubernetes API (500, hanging past the timeout, 401) and the Git remote (gone,
force-pushed, branch deleted). Each run then ends in ``error`` with a clear message, the data stays as
it was, the chain goes on, and the first run after the fault clears brings the data up to date."""

import shutil

import git
import pytest
from django.utils import timezone

from netbox_hedgehog.choices import ConnectionStatusChoices, SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.faults.checks import (
    assert_no_overlap,
    assert_one_chain,
    chain_alive,
    fabric_after,
    finished_runs,
    git_rows,
    kubernetes_rows,
    repo_objects,
    wait_for_run,
)
from tests.live import GIT_AUTHOR as AUTHOR
from tests.live import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INTERVAL = 3


def assert_failed_honestly(fabric, since, message, rows, expected_rows):
    """The first run started after ``since`` failed with ``message``, changed nothing and kept the chain."""
    run = wait_for_run(fabric, since)
    assert run.outcome == SyncOutcomeChoices.FAILED, (run.outcome, run.error)
    assert message in run.error, run.error
    assert rows(fabric) == expected_rows, 'a failed run changed the data'
    # Every run fails while the fault lasts, so whichever of them the fabric shows says why.
    recorded = fabric_after(run)
    assert recorded.sync_status == SyncStatusChoices.ERROR and message in recorded.sync_error, recorded.sync_error
    wait_until(lambda: chain_alive(fabric), interval=0.05, message='the chain going on')
    return run


def assert_recovers(fabric, since, rows, expected_rows):
    """The first run started after the fault cleared at ``since`` succeeds and brings the data up to date."""
    run = wait_for_run(fabric, since)
    assert run.outcome == SyncOutcomeChoices.SUCCESS, (run.outcome, run.error)
    assert rows(fabric) == expected_rows
    return run


def test_kubernetes_api_500_hang_and_401(live, synced_fabric, tasks_redis):
    api, cluster, fabric = synced_fabric('flaky-api', INTERVAL)
    faults = [
        (
            '500',
            lambda: api.fail('VPC', 500, 'InternalError'),
            lambda: api.recover('VPC'),
            'the Kubernetes API answered 500',
        ),
        # Past the timeout: each GET is tried three times, then the run fails.
        ('hang', lambda: api.delay('VPC', 3600), lambda: api.delay('VPC', None), 'timed out'),
        (
            '401',
            lambda: api.fail('Switch', 401, 'Unauthorized'),
            lambda: api.recover('Switch'),
            'the token was rejected (401)',
        ),
    ]
    for name, inject, clear, message in faults:
        good = dict(cluster.objects)
        inject()
        faulted = timezone.now()
        # Meanwhile the cluster changes: a partial read must neither prune nor half-apply it.
        cluster.delete('Switch', 'leaf-02') if ('Switch', 'leaf-02') in cluster.objects else None
        cluster.add('Switch', f'leaf-{name}', {'role': 'server-leaf'})
        failed = assert_failed_honestly(fabric, faulted, message, kubernetes_rows, good)
        second = assert_failed_honestly(fabric, failed.finished_at, message, kubernetes_rows, good)
        if name == 'hang':  # the list is held for an hour: the run ended because each attempt timed out
            assert 'timed out after 3 attempts' in second.error, second.error
        clear()
        cleared = timezone.now()
        recovered = assert_recovers(fabric, cleared, kubernetes_rows, cluster.objects)
        assert fabric_after(recovered).connection_status == ConnectionStatusChoices.CONNECTED
    assert_no_overlap(fabric)
    assert_one_chain(tasks_redis, [fabric])


def test_git_remote_gone_force_pushed_and_branch_deleted(live, tasks_redis, gitops_repo):
    live.start_worker('worker-0')
    live.start_scheduler()
    fabric = HedgehogFabric.objects.create(
        name='flaky-git', git_repository_url=str(gitops_repo), sync_interval=INTERVAL
    )
    FabricScheduler().bootstrap()
    first = wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS)
    good = repo_objects(gitops_repo)
    assert git_rows(fabric) == good
    repo = git.Repo(gitops_repo)

    # The remote disappears (path removed), then comes back.
    away = gitops_repo.with_name('gitops-away')
    shutil.move(gitops_repo, away)
    gone = timezone.now()
    assert_failed_honestly(fabric, gone, f'cannot fetch {gitops_repo}', git_rows, good)
    shutil.move(away, gitops_repo)
    assert_recovers(fabric, timezone.now(), git_rows, good)

    # A force-push rewrites the branch to an unrelated history with one switch less: followed, not an error.
    switch_file = next(path for path in gitops_repo.rglob('*.yaml') if 'kind: Switch\n' in path.read_text())
    text = switch_file.read_text()
    documents = text.split('\n---\n')
    dropped = next(doc for doc in documents if 'kind: Switch\n' in doc)  # not the only SwitchGroup
    switch_file.write_text('\n---\n'.join(doc for doc in documents if doc is not dropped))
    repo.git.checkout('--orphan', 'rewritten')
    repo.git.add('-A')
    repo.index.commit('rewritten history', author=AUTHOR, committer=AUTHOR)
    repo.git.branch('-M', 'rewritten', 'main')  # main now points at a commit that does not descend from the old tip
    rewritten = repo.head.commit.hexsha
    assert not repo.is_ancestor(first.git_commit, rewritten)
    # The first run that reads the new tip applies the rewrite (a run under way may read it before or after).
    run = wait_until(lambda: finished_runs(fabric).filter(git_commit=rewritten).first(), message='a run of the new tip')
    assert run.outcome == SyncOutcomeChoices.SUCCESS and run.deleted == 1, (run.outcome, run.deleted, run.error)
    assert git_rows(fabric) == repo_objects(gitops_repo)
    good = repo_objects(gitops_repo)

    # The branch is deleted, then pushed again.
    repo.git.checkout('--detach')
    repo.git.branch('-D', 'main')
    deleted = timezone.now()
    assert_failed_honestly(fabric, deleted, 'branch main does not exist', git_rows, good)
    repo.git.branch('main', rewritten)
    assert_recovers(fabric, timezone.now(), git_rows, good)
    assert_no_overlap(fabric)
    assert_one_chain(tasks_redis, [fabric])
