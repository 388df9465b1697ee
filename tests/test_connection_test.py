"""The fabric's "Test connection": the URL only queues a job; the job (run here by an in-process
RQ worker, or called directly) asks a kmock Kubernetes API and a real local Git remote and
records what it found on the fabric and as its job result.
"""

import django_rq
from core.models import ObjectType
from django.contrib.messages import get_messages
from django.urls import reverse
from git import Actor, Repo
from rq.job import Job
from users.models import ObjectPermission
from utilities.testing import TestCase
from utilities.testing.mixins import RQQueueTestMixin

from netbox_hedgehog.choices import ConnectionStatusChoices
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling.connection import check_fabric_connection
from netbox_hedgehog.scheduling.scheduler import CONNECTION_TEST_FUNCTION, QUEUE_NAME
from tests.kmock_server import kube_api


def make_remote(path):
    """A local Git repository with one commit on ``main``; returns (url, commit sha)."""
    repo = Repo.init(path, initial_branch='main')
    (path / 'wiring.yaml').write_text(
        'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata: {name: leaf-1}\nspec: {}\n'
    )
    repo.index.add(['wiring.yaml'])
    commit = repo.index.commit('wiring', author=Actor('t', 't@localhost'), committer=Actor('t', 't@localhost'))
    return str(path), commit.hexsha


class ConnectionTestViewTestCase(RQQueueTestMixin, TestCase):
    rq_queue_names = (QUEUE_NAME,)

    @classmethod
    def setUpTestData(cls):
        cls.fabric = HedgehogFabric.objects.create(name='fabric-1', git_repository_url='/nonexistent/repo')
        cls.other = HedgehogFabric.objects.create(name='fabric-2')

    def setUp(self):
        super().setUp()
        self.clear_rq_queues()

    def tearDown(self):
        self.clear_rq_queues()
        super().tearDown()

    def url(self, fabric):
        return reverse('plugins:netbox_hedgehog:hedgehogfabric_test_connection', args=[fabric.pk])

    def queued(self):
        return [(job.func_name, job.args) for job in django_rq.get_queue(QUEUE_NAME).get_jobs()]

    def grant(self, actions, **constraints):
        permission = ObjectPermission.objects.create(
            name=f'{actions} fabrics',
            actions=actions,
            constraints=constraints or None,
        )
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))

    def test_post_queues_a_job_and_answers_json_without_testing_in_the_request(self):
        self.grant(['view', 'change'])
        response = self.client.post(self.url(self.fabric), HTTP_ACCEPT='application/json')
        self.assertEqual(response.status_code, 202)
        body = response.json()
        self.assertEqual(body['fabric'], self.fabric.pk)
        self.assertFalse(body['coalesced'])
        self.assertEqual(self.queued(), [(CONNECTION_TEST_FUNCTION, (self.fabric.pk,))])
        self.assertEqual(django_rq.get_queue(QUEUE_NAME).get_job_ids(), [body['job_id']])
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.connection_status, ConnectionStatusChoices.UNKNOWN)
        self.assertIsNone(self.fabric.connection_checked)

        # A second request while the first waits joins it.
        again = self.client.post(self.url(self.fabric), HTTP_ACCEPT='application/json').json()
        self.assertEqual(again, {**body, 'coalesced': True})
        self.assertEqual(len(self.queued()), 1)

    def test_queued_job_runs_in_a_worker_and_records_the_result(self):
        self.grant(['view', 'change'])
        job_id = self.client.post(self.url(self.fabric), HTTP_ACCEPT='application/json').json()['job_id']
        self.run_rq_jobs(QUEUE_NAME)
        job = Job.fetch(job_id, connection=django_rq.get_connection(QUEUE_NAME))
        self.assertTrue(job.is_finished)
        result = job.return_value()
        self.assertEqual(result['status'], ConnectionStatusChoices.FAILED)
        self.assertIn('Git: FAILED - cannot reach /nonexistent/repo', result['message'])
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.connection_status, ConnectionStatusChoices.FAILED)
        self.assertEqual(self.fabric.connection_message, result['message'])
        self.assertIsNotNone(self.fabric.connection_checked)
        # Once it ran, a new request queues a new test.
        again = self.client.post(self.url(self.fabric), HTTP_ACCEPT='application/json').json()
        self.assertFalse(again['coalesced'])
        self.assertNotEqual(again['job_id'], job_id)

    def test_browser_post_redirects_with_a_message(self):
        self.grant(['view', 'change'])
        response = self.client.post(
            self.url(self.fabric),
            {'return_url': self.fabric.get_absolute_url()},
            HTTP_ACCEPT='text/html',
        )
        self.assertRedirects(response, self.fabric.get_absolute_url(), fetch_redirect_response=False)
        messages = [str(m) for m in get_messages(response.wsgi_request)]
        self.assertEqual(len(messages), 1)
        self.assertIn('Queued a connection test of fabric-1', messages[0])
        self.assertEqual(len(self.queued()), 1)

    def test_change_permission_is_required(self):
        self.grant(['view'])
        self.assertHttpStatus(self.client.post(self.url(self.fabric), HTTP_ACCEPT='application/json'), 403)
        self.assertEqual(self.queued(), [])
        # Object constraints apply: change on fabric-2 only does not allow testing fabric-1.
        self.grant(['change'], name='fabric-2')
        self.assertHttpStatus(self.client.post(self.url(self.fabric), HTTP_ACCEPT='application/json'), 404)
        self.assertEqual(self.queued(), [])
        self.assertHttpStatus(self.client.post(self.url(self.other), HTTP_ACCEPT='application/json'), 202)
        self.assertEqual(self.queued(), [(CONNECTION_TEST_FUNCTION, (self.other.pk,))])

    def test_get_is_not_allowed(self):
        self.grant(['view', 'change'])
        self.assertHttpStatus(self.client.get(self.url(self.fabric)), 405)
        self.assertEqual(self.queued(), [])

    def test_detail_page_shows_the_button_to_users_who_may_change_and_the_last_result(self):
        self.grant(['view'])
        page = self.client.get(self.fabric.get_absolute_url())
        self.assertNotContains(page, self.url(self.fabric))
        self.grant(['change'])
        HedgehogFabric.objects.filter(pk=self.fabric.pk).update(
            connection_status=ConnectionStatusChoices.FAILED,
            connection_message='Kubernetes: OK - fine\nGit: FAILED - no branch <b>main</b>',
        )
        page = self.client.get(self.fabric.get_absolute_url())
        self.assertContains(page, f'action="{self.url(self.fabric)}"')
        self.assertContains(page, 'Test connection')
        # One line per source; the text (a remote's answer, say) is escaped.
        self.assertContains(page, 'Kubernetes: OK - fine<br>Git: FAILED - no branch &lt;b&gt;main&lt;/b&gt;')


class ConnectionCheckJobTestCase(TestCase):
    """The job function itself, against a kmock Kubernetes API and local Git repositories."""

    def check(self, **fields):
        fabric = HedgehogFabric.objects.create(name='fabric', **fields)
        result = check_fabric_connection(fabric.pk)
        fabric.refresh_from_db()
        self.assertEqual(fabric.connection_status, result['status'])
        self.assertEqual(fabric.connection_message, result['message'])
        self.assertIsNotNone(fabric.connection_checked)
        return result

    def test_kubernetes_ok_lists_one_switch(self):
        with kube_api() as api:
            for name in ('leaf-1', 'leaf-2', 'spine-1'):
                api.add(
                    {
                        'apiVersion': 'wiring.githedgehog.com/v1beta1',
                        'kind': 'Switch',
                        'metadata': {'name': name},
                        'spec': {},
                    }
                )
            result = self.check(**api.fabric_fields())
            requests = api.list_requests('Switch')
        self.assertEqual(result['status'], ConnectionStatusChoices.CONNECTED)
        self.assertEqual(result['message'], f'Kubernetes: OK - {api.url}: may list switches in namespace default')
        # One cheap request: one kind, one object, the fabric's token.
        self.assertEqual(len(requests), 1)
        self.assertEqual(requests[0].params.get('limit'), '1')
        self.assertEqual(requests[0].headers.get('Authorization'), f'Bearer {api.fabric_fields()["kubernetes_token"]}')

    def test_kubernetes_with_a_kubeconfig(self):
        with kube_api() as api:
            result = self.check(kubeconfig=api.kubeconfig(), allow_insecure_transport=True)
        self.assertEqual(result['status'], ConnectionStatusChoices.CONNECTED)

    def test_kubernetes_settings_that_cannot_be_used_fail_the_check(self):
        result = self.check(kubeconfig='apiVersion: v1\nkind: Config\n')
        self.assertEqual(result['status'], ConnectionStatusChoices.FAILED)
        self.assertEqual(
            result['message'], 'Kubernetes: FAILED - The kubeconfig has no clusters, contexts, current-context.'
        )

    def test_kubernetes_rejected_token(self):
        with kube_api() as api:
            api.fail('Switch', 401, 'Unauthorized')
            result = self.check(**api.fabric_fields())
        self.assertEqual(result['status'], ConnectionStatusChoices.FAILED)
        self.assertIn('Kubernetes: FAILED - the token was rejected (401)', result['message'])
        self.assertNotIn(api.fabric_fields()['kubernetes_token'], result['message'])

    def test_kubernetes_without_the_crds_is_reachable(self):
        with kube_api(kinds=()) as api:
            result = self.check(**api.fabric_fields())
        self.assertEqual(result['status'], ConnectionStatusChoices.CONNECTED)
        self.assertIn('does not serve switches.wiring.githedgehog.com', result['message'])

    def test_kubernetes_unreachable(self):
        result = self.check(kubernetes_server='http://127.0.0.1:9', kubernetes_token='t', allow_insecure_transport=True)
        self.assertEqual(result['status'], ConnectionStatusChoices.FAILED)
        self.assertIn('Kubernetes: FAILED - cannot reach the Kubernetes API at http://127.0.0.1:9', result['message'])

    def test_git_ok_and_missing_branch(self):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            url, sha = make_remote(Path(tmp) / 'repo')
            result = self.check(git_repository_url=url, git_branch='main')
            self.assertEqual(result['status'], ConnectionStatusChoices.CONNECTED)
            self.assertEqual(result['message'], f'Git: OK - {url}: branch main at {sha[:12]}')
            HedgehogFabric.objects.all().delete()
            result = self.check(git_repository_url=url, git_branch='release')
        self.assertEqual(result['status'], ConnectionStatusChoices.FAILED)
        self.assertEqual(result['message'], f'Git: FAILED - {url} has no branch release')

    def test_a_password_in_the_git_url_is_refused_and_never_repeated(self):
        result = self.check(git_repository_url='http://user:hunter2@127.0.0.1:9/repo.git')
        self.assertEqual(result['status'], ConnectionStatusChoices.FAILED)
        # Refused before git runs: a password belongs in the token field (issue 9).
        self.assertIn('Git: FAILED - Do not put a password in the URL', result['message'])
        self.assertNotIn('hunter2', result['message'])

    def test_both_sources_one_failing_fails(self):
        with kube_api() as api:
            result = self.check(**api.fabric_fields(), git_repository_url='/nonexistent/repo')
        self.assertEqual(result['status'], ConnectionStatusChoices.FAILED)
        lines = result['message'].splitlines()
        self.assertTrue(lines[0].startswith('Kubernetes: OK'))
        self.assertTrue(lines[1].startswith('Git: FAILED'))
        self.assertEqual(result['sources']['kubernetes']['ok'], True)
        self.assertEqual(result['sources']['git']['ok'], False)

    def test_no_source_configured(self):
        result = self.check()
        self.assertEqual(result['status'], ConnectionStatusChoices.NOT_CONFIGURED)

    def test_deleted_fabric(self):
        self.assertIsNone(check_fabric_connection(999999)['status'])
