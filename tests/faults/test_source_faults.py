"""Sources failing: the Kubernetes API (500, hanging past the timeout, 401) and the Git remote (gone,
force-pushed, branch deleted). Each run then ends in ``error`` with a clear message, the data stays as
it was, the chain goes on, and the first run after the fault clears brings the data up to date."""

import shutil

import git
import pytest
from django.utils import timezone

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncStatusChoices
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling.scheduler import FabricScheduler
from tests.faults.checks import (
    Cluster,
    assert_no_overlap,
    assert_one_chain,
    git_rows,
    kubernetes_rows,
    repo_objects,
    wait_for_run,
)
from tests.faults.conftest import KUBERNETES_TIMEOUT
from tests.kmock_server import kube_api
from tests.live import GIT_AUTHOR as AUTHOR

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INTERVAL = 3


def assert_failed_honestly(fabric, since, message, rows, expected_rows):
    run = wait_for_run(fabric, since, timeout=INTERVAL + 8 * KUBERNETES_TIMEOUT + 15)
    assert run.outcome == SyncOutcomeChoices.FAILED, (run.outcome, run.error)
    assert message in run.error, run.error
    fabric.refresh_from_db()
    assert fabric.sync_status in (SyncStatusChoices.ERROR, SyncStatusChoices.SYNCING)
    assert message in fabric.sync_error or fabric.sync_status == SyncStatusChoices.SYNCING
    assert rows(fabric) == expected_rows, 'a failed run changed the data'
    assert FabricScheduler().planned_time(fabric.pk) or fabric.running_since is not None, 'the chain ended'
    return run


def assert_recovers(fabric, since, rows, expected_rows):
    run = wait_for_run(fabric, since, SyncOutcomeChoices.SUCCESS, timeout=INTERVAL + 8 * KUBERNETES_TIMEOUT + 15)
    assert (run.started_at - since).total_seconds() <= 2 * INTERVAL + 4 * KUBERNETES_TIMEOUT + 2
    assert rows(fabric) == expected_rows
    return run


def test_kubernetes_api_500_hang_and_401(live, tasks_redis):
    with kube_api() as api:
        cluster = Cluster(api)
        for index in (1, 2, 3):
            cluster.add('Switch', f'leaf-0{index}', {'role': 'server-leaf', 'asn': 65100 + index})
        cluster.add('VPC', 'vpc-1', {'subnets': {'default': {'subnet': '10.0.1.0/24'}}})
        live.start_worker('worker-0')
        live.start_scheduler()
        fabric = HedgehogFabric.objects.create(name='flaky-api', sync_interval=INTERVAL, **cluster.fabric_fields())
        FabricScheduler().bootstrap()
        wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS, timeout=30)

        faults = [
            (
                '500',
                lambda: api.fail('VPC', 500, 'InternalError'),
                lambda: api.recover('VPC'),
                'the Kubernetes API answered 500',
            ),
            # Past the timeout: the client tries each GET four times, so the run fails after ~4 timeouts.
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
            if name == 'hang':
                assert second.duration < 4 * KUBERNETES_TIMEOUT + 5, second.duration  # bounded, not hanging
            clear()
            cleared = timezone.now()
            assert_recovers(fabric, cleared, kubernetes_rows, cluster.objects)
            fabric.refresh_from_db()
            assert fabric.connection_status == 'connected'
        assert_no_overlap(fabric)
        assert_one_chain(tasks_redis, [fabric])


def test_git_remote_gone_force_pushed_and_branch_deleted(live, tasks_redis, gitops_repo):
    live.start_worker('worker-0')
    live.start_scheduler()
    fabric = HedgehogFabric.objects.create(
        name='flaky-git', git_repository_url=str(gitops_repo), sync_interval=INTERVAL
    )
    FabricScheduler().bootstrap()
    first = wait_for_run(fabric, fabric.created, SyncOutcomeChoices.SUCCESS, timeout=30)
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
    pushed = timezone.now()
    run = assert_recovers(fabric, pushed, git_rows, repo_objects(gitops_repo))
    assert run.git_commit == rewritten and run.deleted == 1
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
