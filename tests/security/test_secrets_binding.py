"""A stored credential is bound to the endpoint it was given for.

An editor who may change a fabric but does not know its token must not be able to point the
fabric at a server they control and have the worker send the stored token there: changing the
API server (or the server of a new kubeconfig) or the Git host removes the stored credentials
of that endpoint unless new ones come with the same save, and the form and the API say so.
"""

from core.models import ObjectType
from django.urls import reverse
from rest_framework import status
from users.models import ObjectPermission
from utilities.testing import APITestCase, TestCase

from netbox_hedgehog.fields import reveal
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.kmock_server import kube_api

TOKEN = 'bound-token-0a1b2c3d'
GIT_TOKEN = 'bound-git-token-4e5f'
SSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nbound-ssh-key-6a7b\n-----END OPENSSH PRIVATE KEY-----\n'
UNCHANGED = {'kubernetes_token': TOKEN, 'git_token': GIT_TOKEN, 'git_ssh_key': SSH_KEY}


def kubeconfig(server, token='kubeconfig-token-8c9d'):
    return (
        f'apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: "{server}"}}}}]\n'
        'contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n'
        f'users: [{{name: u, user: {{token: {token}}}}}]\n'
    )


def create_bound_fabric(**fields):
    return HedgehogFabric.objects.create(
        name='bound',
        kubernetes_server='https://10.20.0.1:6443',
        kubernetes_token=TOKEN,
        git_repository_url='https://git.example.com/org/fabric.git',
        git_token=GIT_TOKEN,
        git_ssh_key=SSH_KEY,
        **fields,
    )


def stored(fabric):
    fabric = HedgehogFabric.objects.get(pk=fabric.pk)
    return {name: reveal(getattr(fabric, name)) for name in ('kubernetes_token', 'git_token', 'git_ssh_key')}


class SecretBindingApiTestCase(APITestCase):
    def setUp(self):
        super().setUp()
        self.fabric = create_bound_fabric()
        permission = ObjectPermission.objects.create(name='edit bound', actions=['view', 'change'])
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))
        self.url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[self.fabric.pk])

    def patch(self, **data):
        response = self.client.patch(self.url, data, format='json', **self.header)
        self.assertHttpStatus(response, status.HTTP_200_OK)
        return response.json()

    def test_new_api_server_without_token_clears_the_token_and_says_so(self):
        answer = self.patch(kubernetes_server='https://attacker.example:6443')
        self.assertEqual(answer['cleared_secrets'], ['kubernetes_token'])
        self.assertEqual(stored(self.fabric), {'kubernetes_token': '', 'git_token': GIT_TOKEN, 'git_ssh_key': SSH_KEY})

    def test_new_port_or_scheme_is_a_new_endpoint(self):
        self.assertEqual(
            self.patch(kubernetes_server='https://10.20.0.1:7443')['cleared_secrets'], ['kubernetes_token']
        )

    def test_same_server_spelled_differently_keeps_the_token(self):
        answer = self.patch(kubernetes_server='https://10.20.0.1:6443/', description='edited')
        self.assertEqual(answer['cleared_secrets'], [])
        self.assertEqual(stored(self.fabric)['kubernetes_token'], TOKEN)

    def test_new_api_server_with_new_token_keeps_the_new_one(self):
        answer = self.patch(kubernetes_server='https://10.30.0.1:6443', kubernetes_token='new-token-for-new-server')
        self.assertEqual(answer['cleared_secrets'], [])
        self.assertEqual(stored(self.fabric)['kubernetes_token'], 'new-token-for-new-server')

    def test_kubeconfig_with_another_server_clears_the_token(self):
        answer = self.patch(kubernetes_server='', kubeconfig=kubeconfig('https://attacker.example:6443'))
        self.assertEqual(answer['cleared_secrets'], ['kubernetes_token'])
        fabric = HedgehogFabric.objects.get(pk=self.fabric.pk)
        self.assertEqual((reveal(fabric.kubernetes_token), bool(fabric.kubeconfig)), ('', True))

    def test_git_host_change_clears_token_and_key(self):
        answer = self.patch(git_repository_url='https://attacker.example/org/fabric.git')
        self.assertEqual(answer['cleared_secrets'], ['git_token', 'git_ssh_key'])
        self.assertEqual(stored(self.fabric), {'kubernetes_token': TOKEN, 'git_token': '', 'git_ssh_key': ''})

    def test_git_host_change_with_new_token_keeps_it_and_drops_the_old_key(self):
        answer = self.patch(git_repository_url='https://git.other.example/fabric.git', git_token='other-git-token')
        self.assertEqual(answer['cleared_secrets'], ['git_ssh_key'])
        self.assertEqual(stored(self.fabric)['git_token'], 'other-git-token')

    def test_same_git_host_other_path_or_form_keeps_the_secrets(self):
        for url in ('https://git.example.com/org/other.git', 'git@git.example.com:org/fabric.git'):
            self.assertEqual(self.patch(git_repository_url=url)['cleared_secrets'], [], url)
        self.assertEqual(
            stored(self.fabric), {'kubernetes_token': TOKEN, 'git_token': GIT_TOKEN, 'git_ssh_key': SSH_KEY}
        )

    def test_stored_token_never_reaches_a_changed_server(self):
        """The attack itself: move the fabric to "my" server, keep the stored token, sync; what does my server get?"""
        with kube_api() as api:
            # kmock speaks http: the attacker also allows insecure transport, all an editor can do.
            self.patch(kubernetes_server=api.url, allow_insecure_transport=True)
            sync_fabric(HedgehogFabric.objects.get(pk=self.fabric.pk))
            requests = api.list_requests('Switch')
        self.assertTrue(requests)
        for request in requests:
            self.assertNotIn(TOKEN, ' '.join(f'{name}: {value}' for name, value in request.headers.items()))


class SecretBindingFormTestCase(TestCase):
    """The same through the edit form, as a user whose change permission is constrained to this fabric."""

    def setUp(self):
        super().setUp()
        self.fabric = create_bound_fabric()
        permission = ObjectPermission.objects.create(
            name='edit bound', actions=['view', 'change'], constraints={'name': 'bound'}
        )
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))

    def post(self, **changes):
        data = {
            'name': 'bound',
            'kubernetes_server': self.fabric.kubernetes_server,
            'kubernetes_namespace': 'default',
            'kubernetes_verify_tls': 'on',
            'git_repository_url': self.fabric.git_repository_url,
            'git_branch': 'main',
            'sync_enabled': 'on',
            'scheduler_enabled': 'on',
            'sync_interval': 300,
            'prune': 'on',
            **changes,
        }
        url = reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[self.fabric.pk])
        return self.client.post(url, data, follow=True)

    def test_changed_server_without_token_clears_it_and_tells_the_user(self):
        response = self.post(kubernetes_server='https://attacker.example:6443')
        self.assertHttpStatus(response, 200)
        self.assertContains(response, 'so the stored Kubernetes token given for the old one were removed')
        self.assertEqual(stored(self.fabric)['kubernetes_token'], '')

    def test_changed_server_with_new_token_keeps_it_without_a_warning(self):
        response = self.post(kubernetes_server='https://10.30.0.1:6443', kubernetes_token='typed-again-token')
        self.assertNotContains(response, 'were removed')
        self.assertEqual(stored(self.fabric)['kubernetes_token'], 'typed-again-token')

    def test_unchanged_endpoints_keep_everything(self):
        response = self.post(description='edited', git_repository_url='https://git.example.com/org/other.git')
        self.assertNotContains(response, 'were removed')
        self.assertEqual(
            stored(self.fabric), {'kubernetes_token': TOKEN, 'git_token': GIT_TOKEN, 'git_ssh_key': SSH_KEY}
        )

    def test_stored_secret_help_text_warns_before_the_edit(self):
        url = reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[self.fabric.pk])
        self.assertContains(self.client.get(url), 'it is removed if the server or repository host changes')
