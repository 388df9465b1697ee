"""Hostile Git repository locations: local paths, the clone cache, passwords in URLs, option injection, http.

Each location is tried where an editor can give it (the edit form as a user whose permission is
constrained to one fabric, the REST API) and at run time on a fabric stored before the rules
existed (created without validation), where the sync and the connection test must refuse it too.
"""

import http.server
import os
import subprocess
from pathlib import Path

import pytest
from core.models import ObjectType
from django.conf import settings as django_settings
from django.test import override_settings
from django.urls import reverse
from rest_framework import status
from users.models import ObjectPermission
from utilities.testing import APITestCase, TestCase

from netbox_hedgehog.models import HedgehogFabric, HedgehogResource
from netbox_hedgehog.scheduling.connection import check_fabric_connection
from netbox_hedgehog.sources.git import git_environment
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.base import serving
from tests.live import make_gitops_repo

LOCAL_REFUSED = 'Local repositories (file:// URLs and paths on the NetBox server) are not allowed'
CACHE_REFUSED = "A repository inside the plugin's Git cache (git_cache_dir) cannot be used."
PASSWORD_REFUSED = 'Do not put a password in the URL: give it (or an access token) in the Git token field.'
INSECURE_REFUSED = 'The Git token would travel unencrypted over http://'
TOKEN = 'ghp_tokenThatMustStayOnHttps0123'


def plugin_config(**values):
    """PLUGINS_CONFIG with this plugin's settings changed (for override_settings / pytest-django's settings)."""
    return {
        **django_settings.PLUGINS_CONFIG,
        'netbox_hedgehog': {**django_settings.PLUGINS_CONFIG['netbox_hedgehog'], **values},
    }


def cache_dir():
    return Path(django_settings.PLUGINS_CONFIG['netbox_hedgehog']['git_cache_dir'])


class RecordingHTTPServer(http.server.ThreadingHTTPServer):
    """Answers every request with 401 (asking for Basic auth) and records each request's Authorization header."""

    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), RecordingHandler)
        self.authorizations = []

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server_address[1]}/wiring.git'


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.authorizations.append(self.headers.get('Authorization'))
        self.send_response(401)
        self.send_header('WWW-Authenticate', 'Basic realm="git"')
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


# --- At save: the edit form (constrained user) and the REST API ------------------------------------


class GitLocationFormTestCase(TestCase):
    """The edit form refuses every hostile location with a message the editor can act on."""

    @classmethod
    def setUpTestData(cls):
        cls.fabric = HedgehogFabric.objects.create(name='fabric-a', git_repository_url='https://git.example.com/a.git')
        HedgehogFabric.objects.create(name='fabric-b', git_repository_url='https://git.example.com/b.git')

    def setUp(self):
        super().setUp()
        permission = ObjectPermission.objects.create(
            name='fabric-a only', actions=['view', 'change'], constraints={'name': 'fabric-a'}
        )
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))
        self.url = reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[self.fabric.pk])

    def post(self, **data):
        form = {
            'name': 'fabric-a',
            'kubernetes_namespace': 'default',
            'git_branch': 'main',
            'sync_interval': 300,
            'sync_enabled': True,
            **data,
        }
        return self.client.post(self.url, form)

    def assertRefused(self, message, **data):
        response = self.post(**data)
        self.assertHttpStatus(response, 200)
        self.assertIn(message, response.content.decode().replace('&quot;', '"').replace('&#x27;', "'"))
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.git_repository_url, 'https://git.example.com/a.git')

    def test_local_repositories_are_refused_unless_allowed(self):
        with override_settings(PLUGINS_CONFIG=plugin_config(allow_local_git=False)):
            for url in ('/srv/git/other-fabric.git', 'file:///srv/git/other-fabric.git'):
                with self.subTest(url=url):
                    self.assertRefused(LOCAL_REFUSED, git_repository_url=url)

    def test_the_clone_cache_is_refused_even_when_local_repositories_are_allowed(self):
        other = HedgehogFabric.objects.get(name='fabric-b')
        for url in (
            f'{cache_dir()}/fabric-{other.pk}',
            f'{cache_dir()}/../{cache_dir().name}/fabric-{other.pk}/.git',
            f'file://{cache_dir()}/fabric-{other.pk}',
        ):
            with self.subTest(url=url):
                self.assertRefused(CACHE_REFUSED, git_repository_url=url)

    def test_a_password_in_the_url_is_refused(self):
        self.assertRefused(PASSWORD_REFUSED, git_repository_url='https://gitops:hunter2@git.example.com/a.git')

    def test_a_token_over_http_is_refused_without_insecure_transport(self):
        self.assertRefused(INSECURE_REFUSED, git_repository_url='http://git.example.com/a.git', git_token=TOKEN)

        response = self.post(
            git_repository_url='http://git.example.com/a.git', git_token=TOKEN, allow_insecure_transport=True
        )
        self.assertHttpStatus(response, 302)

    def test_an_unparsable_url_is_refused(self):
        for url in ('https://[::1/a.git', 'https://git.example.com:99999/a.git'):
            with self.subTest(url=url):
                self.assertRefused('The repository URL cannot be parsed', git_repository_url=url)

    def test_option_injection_is_refused(self):
        for url in ('--upload-pack=touch /tmp/x', '-oProxyCommand=x@h:r', 'ext::sh -c touch% /tmp/x'):
            with self.subTest(url=url):
                response = self.post(git_repository_url=url)
                self.assertHttpStatus(response, 200)
                self.fabric.refresh_from_db()
                self.assertEqual(self.fabric.git_repository_url, 'https://git.example.com/a.git')


class GitLocationAPITestCase(APITestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fabric = HedgehogFabric.objects.create(name='fabric-a', git_repository_url='https://git.example.com/a.git')

    def setUp(self):
        super().setUp()
        self.add_permissions(*(f'netbox_hedgehog.{action}_hedgehogfabric' for action in ('view', 'add', 'change')))
        self.list_url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-list')
        self.detail_url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[self.fabric.pk])

    def test_a_local_path_is_refused_on_create(self):
        with override_settings(PLUGINS_CONFIG=plugin_config(allow_local_git=False)):
            response = self.client.post(
                self.list_url, {'name': 'local', 'git_repository_url': '/srv/git/x.git'}, format='json', **self.header
            )

        self.assertHttpStatus(response, status.HTTP_400_BAD_REQUEST)
        self.assertIn(LOCAL_REFUSED, response.json()['git_repository_url'][0])
        self.assertFalse(HedgehogFabric.objects.filter(name='local').exists())

    def test_the_cache_and_passwords_are_refused_on_update(self):
        for url, message in (
            (f'{cache_dir()}/fabric-{self.fabric.pk}', CACHE_REFUSED),
            ('https://u:p4ss@git.example.com/a.git', PASSWORD_REFUSED),
        ):
            with self.subTest(url=url):
                response = self.client.patch(self.detail_url, {'git_repository_url': url}, format='json', **self.header)
                self.assertHttpStatus(response, status.HTTP_400_BAD_REQUEST)
                self.assertEqual(response.json()['git_repository_url'], [message])
                self.assertNotIn('p4ss', response.content.decode())
        self.fabric.refresh_from_db()
        self.assertEqual(self.fabric.git_repository_url, 'https://git.example.com/a.git')


# --- At run time: fabrics stored before the rules (no validation on create) -------------------------


@pytest.fixture
def private_cache(settings, tmp_path):
    settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=str(tmp_path / 'cache'))
    return tmp_path / 'cache'


def stored_fabric(name, url, **fields):
    """A fabric as an older version could have stored it: written without clean()."""
    return HedgehogFabric.objects.create(name=name, git_repository_url=str(url), **fields)


def git_error(fabric):
    result = sync_fabric(fabric)
    assert not result.succeeded
    assert HedgehogResource.objects.filter(fabric=fabric).count() == 0
    return '\n'.join(result.errors)


@pytest.mark.django_db
def test_a_stored_local_path_is_refused_at_run_time_when_not_allowed(settings, private_cache, tmp_path):
    repo = make_gitops_repo(tmp_path / 'gitops')
    settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=str(private_cache), allow_local_git=False)

    for url in (repo, f'file://{repo}', 'gitops'):
        fabric = stored_fabric(f'local-{len(str(url))}', url)
        assert git_error(fabric).startswith(f'Git: {LOCAL_REFUSED}'), url
    assert not any(private_cache.glob('fabric-*')), 'nothing was cloned'


@pytest.mark.django_db
def test_git_itself_refuses_local_transports_when_not_allowed(settings, tmp_path):
    """Defence in depth: even a path past the checks is refused by git (GIT_ALLOW_PROTOCOL)."""
    repo = make_gitops_repo(tmp_path / 'gitops')
    settings.PLUGINS_CONFIG = plugin_config(allow_local_git=False)
    fabric = HedgehogFabric(name='x', git_repository_url=str(repo))

    with git_environment(fabric) as env:
        completed = subprocess.run(
            ['git', 'ls-remote', '--', str(repo)], env={**os.environ, **env}, capture_output=True, text=True
        )

    assert completed.returncode != 0 and "transport 'file' not allowed" in completed.stderr


@pytest.mark.django_db
def test_another_fabrics_clone_is_refused_even_when_local_repositories_are_allowed(private_cache, tmp_path):
    victim = stored_fabric('victim', make_gitops_repo(tmp_path / 'gitops'))
    assert sync_fabric(victim).succeeded
    clone = private_cache / f'fabric-{victim.pk}'
    assert clone.is_dir()
    (tmp_path / 'link').symlink_to(private_cache)

    for index, url in enumerate(
        (
            clone,
            f'{clone}/.git',
            f'{private_cache}/../{private_cache.name}/fabric-{victim.pk}',
            f'file://{clone}',
            tmp_path / 'link' / f'fabric-{victim.pk}',
        )
    ):
        thief = stored_fabric(f'thief-{index}', url)
        assert git_error(thief) == f'Git: {CACHE_REFUSED}', url


@pytest.mark.django_db
def test_the_connection_test_applies_the_same_rules(private_cache, tasks_redis):
    fabric = stored_fabric('creds', 'https://gitops:hunter2@127.0.0.1:1/wiring.git')

    result = check_fabric_connection(fabric.pk)

    fabric.refresh_from_db()
    assert fabric.connection_status == 'failed'
    assert PASSWORD_REFUSED in fabric.connection_message
    assert 'hunter2' not in str(result) + fabric.connection_message


@pytest.mark.django_db
def test_a_token_is_never_sent_over_http_without_insecure_transport(private_cache):
    with serving(RecordingHTTPServer()) as server:
        fabric = stored_fabric('insecure', server.url, git_token=TOKEN)
        error = git_error(fabric)
        refused_requests = list(server.authorizations)

        HedgehogFabric.objects.filter(pk=fabric.pk).update(allow_insecure_transport=True)
        fabric.refresh_from_db()
        sync_fabric(fabric)

    assert error.startswith(f'Git: {INSECURE_REFUSED}')
    assert refused_requests == []
    # Allowed explicitly, the same fabric sends it: the server above would have seen it.
    assert any(authorization and authorization.startswith('Basic ') for authorization in server.authorizations)


@pytest.mark.django_db
def test_a_token_is_not_sent_over_http_by_the_connection_test_either(private_cache, tasks_redis):
    with serving(RecordingHTTPServer()) as server:
        fabric = stored_fabric('insecure-check', server.url, git_token=TOKEN)
        check_fabric_connection(fabric.pk)

    fabric.refresh_from_db()
    assert INSECURE_REFUSED in fabric.connection_message
    assert server.authorizations == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    'url',
    [
        '--upload-pack=touch {marker}',
        '-u touch {marker}',
        'ext::sh -c touch% {marker}',
        'ssh://-oProxyCommand=touch%20{marker}/wiring.git',
        '--config=core.sshCommand=touch {marker}',
    ],
)
def test_option_injection_through_the_url_runs_nothing(private_cache, tmp_path, tasks_redis, url):
    marker = tmp_path / 'pwned'
    fabric = stored_fabric('inject', url.format(marker=marker))

    error = git_error(fabric)
    check_fabric_connection(fabric.pk)

    assert error.startswith('Git: ')
    assert not marker.exists()


@pytest.mark.django_db
def test_option_injection_through_the_branch_runs_nothing(private_cache, tmp_path, tasks_redis):
    marker = tmp_path / 'pwned'
    repo = make_gitops_repo(tmp_path / 'gitops')
    fabric = stored_fabric('inject-branch', repo, git_branch=f'--upload-pack=touch {marker}')

    error = git_error(fabric)
    check_fabric_connection(fabric.pk)

    assert 'does not exist' in error
    assert not marker.exists()
