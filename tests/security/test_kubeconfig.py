"""Hostile kubeconfigs through every way in: the edit form (a user whose change permission is constrained to
their own fabrics), the REST API, and a real sync of a row written before the checks existed.

Outcomes asserted: the refusal names the key; no marker file from an ``exec``/``cmd-path``; no request (so no
local file content, no token) reaching the API server; no connection to a ``proxy-url``; nothing secret in
``sync_error``, the run record or the log.
"""

import logging
import socket

import fakeredis
import pytest
import yaml
from core.models import ObjectType
from django.urls import reverse
from kubernetes import client, config
from rest_framework.test import APIClient
from users.constants import TOKEN_PREFIX
from users.models import ObjectPermission, Token, User

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.fields import reveal
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from tests.kmock_server import kube_api

pytestmark = pytest.mark.django_db

LOCAL_SECRET = 'local-file-secret-0123456789'
COMMAND = 'runs a command on the NetBox worker'
READS_FILE = 'reads a file on the NetBox worker'
ONLY_INLINE = 'only inline credentials are accepted'


@pytest.fixture(autouse=True)
def redis(monkeypatch):
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr('django_rq.get_connection', lambda *args, **kwargs: connection)
    return connection


class Attack:
    """What a hostile kubeconfig may point at: a marker file, a local secret file, a proxy that listens."""

    def __init__(self, tmp_path, server):
        self.server = server
        self.marker = tmp_path / 'marker'
        self.secret_file = tmp_path / 'secret'
        self.secret_file.write_text(LOCAL_SECRET)
        self.proxy = socket.create_server(('127.0.0.1', 0))
        self.proxy.setblocking(False)
        self.proxy_url = f'http://127.0.0.1:{self.proxy.getsockname()[1]}'

    def kubeconfig(self, cluster=None, user=None, context=None, top=None, users=()):
        return yaml.safe_dump(
            {
                'apiVersion': 'v1',
                'kind': 'Config',
                'clusters': [{'name': 'c', 'cluster': {'server': self.server, **(cluster or {})}}],
                'users': [{'name': 'u', 'user': user or {}}, *users],
                'contexts': [{'name': 'x', 'context': {'cluster': 'c', 'user': 'u', **(context or {})}}],
                'current-context': 'x',
                **(top or {}),
            }
        )

    def proxy_was_contacted(self):
        try:
            connection, _ = self.proxy.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True


# name -> (kubeconfig of an Attack, the refusal message must contain this)
HOSTILE = {
    'exec': (
        lambda a: a.kubeconfig(
            user={
                'exec': {
                    'apiVersion': 'client.authentication.k8s.io/v1',
                    'command': '/bin/sh',
                    'args': ['-c', f'touch {a.marker}'],
                    'interactiveMode': 'Never',
                }
            }
        ),
        f'The kubeconfig may not contain users["u"].user.exec: it {COMMAND}.',
    ),
    'exec of a user no context uses': (
        lambda a: a.kubeconfig(
            user={'token': 'fine'},
            users=[{'name': 'spare', 'user': {'exec': {'command': '/bin/sh', 'args': ['-c', f'touch {a.marker}']}}}],
        ),
        f'users["spare"].user.exec: it {COMMAND}',
    ),
    'auth-provider cmd-path': (
        lambda a: a.kubeconfig(
            user={
                'auth-provider': {
                    'name': 'gcp',
                    'config': {'cmd-path': '/bin/sh', 'cmd-args': f'-c "touch {a.marker}"'},
                }
            }
        ),
        'users["u"].user.auth-provider: it runs a command or reads files on the NetBox worker',
    ),
    'tokenFile': (
        lambda a: a.kubeconfig(user={'tokenFile': str(a.secret_file)}),
        f'users["u"].user.tokenFile: it {READS_FILE}; paste the token as "token"',
    ),
    'client-certificate path': (
        lambda a: a.kubeconfig(user={'client-certificate': str(a.secret_file)}),
        f'users["u"].user.client-certificate: it {READS_FILE}',
    ),
    'client-key path': (
        lambda a: a.kubeconfig(user={'client-key': str(a.secret_file)}),
        f'users["u"].user.client-key: it {READS_FILE}',
    ),
    'certificate-authority path': (
        lambda a: a.kubeconfig(cluster={'certificate-authority': str(a.secret_file)}),
        f'clusters["c"].cluster.certificate-authority: it {READS_FILE}',
    ),
    'proxy-url': (
        lambda a: a.kubeconfig(cluster={'proxy-url': a.proxy_url}, user={'token': 'proxy-sekrit-token'}),
        'clusters["c"].cluster.proxy-url: it sends the connection through another host',
    ),
    'basic auth': (
        lambda a: a.kubeconfig(user={'username': 'admin', 'password': 'basic-sekrit-password'}),
        'users["u"].user.username: basic authentication is not accepted',
    ),
    'impersonation': (
        lambda a: a.kubeconfig(user={'token': 'fine', 'as': 'system:admin', 'as-groups': ['system:masters']}),
        f'users["u"].user.as: {ONLY_INLINE}',
    ),
    'unknown top-level key': (
        lambda a: a.kubeconfig(top={'extensions': [{'name': 'x', 'extension': {'command': 'touch'}}]}),
        f'The kubeconfig may not contain extensions: {ONLY_INLINE}.',
    ),
    'unknown cluster key': (
        lambda a: a.kubeconfig(cluster={'tls-server-name': 'other.example'}),
        f'clusters["c"].cluster.tls-server-name: {ONLY_INLINE}',
    ),
    'unknown context key': (
        lambda a: a.kubeconfig(context={'extensions': []}),
        f'contexts["x"].context.extensions: {ONLY_INLINE}',
    ),
    'token over http': (
        lambda a: a.kubeconfig(user={'token': 'http-sekrit-token'}),
        'over plain http://: use https://, or turn on "allow insecure transport" for this fabric',
    ),
    'credentials in the server URL': (
        lambda a: a.kubeconfig(cluster={'server': 'https://admin:url-sekrit@10.0.0.1:6443'}),
        'The kubeconfig\'s "server" must not contain user:password@; give a token instead.',
    ),
    'token with a newline': (
        lambda a: a.kubeconfig(user={'token': 'newline-sekrit\nX-Injected: 1'}),
        'The kubeconfig\'s "token" contains whitespace, a control character or a character outside Latin-1',
    ),
    'client key data that is not base64': (
        lambda a: a.kubeconfig(user={'client-certificate-data': 'not base64!', 'client-key-data': 'nor this!'}),
        'The kubeconfig\'s "client-certificate-data" is not base64-encoded PEM.',
    ),
}
SECRET_VALUES = (LOCAL_SECRET, 'sekrit')


@pytest.fixture
def attack(tmp_path):
    with kube_api() as api:
        attack = Attack(tmp_path, api.url)
        attack.api = api
        yield attack
        attack.proxy.close()


def assert_harmless(attack):
    """Nothing ran, no file was read and sent, no connection went anywhere."""
    assert not attack.marker.exists()
    assert attack.api.list_requests('Switch') == []
    assert not attack.proxy_was_contacted()


def test_the_exec_attack_is_live_against_the_kubernetes_clients_own_loader(attack):
    """The control: what the plugin refuses would run, had the client's kubeconfig loader seen it."""
    config.load_kube_config_from_dict(
        yaml.safe_load(HOSTILE['exec'][0](attack)), client_configuration=client.Configuration()
    )

    assert attack.marker.exists()


@pytest.fixture
def team_user():
    """A user who may add and change only fabrics named ``team-a-*``."""
    user = User.objects.create_user(username='team-a-engineer')
    permission = ObjectPermission.objects.create(
        name='team a fabrics', actions=['view', 'add', 'change'], constraints={'name__startswith': 'team-a-'}
    )
    permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))
    permission.users.add(user)
    return user


FORM = {
    'kubernetes_namespace': 'default',
    'git_branch': 'main',
    'sync_interval': 300,
    'sync_enabled': True,
}


@pytest.mark.parametrize('name', HOSTILE)
def test_the_form_refuses_a_hostile_kubeconfig_naming_the_key(name, attack, team_user, client):
    make, message = HOSTILE[name]
    client.force_login(team_user)
    existing = HedgehogFabric.objects.create(name='team-a-existing', kubernetes_server='https://10.0.0.1:6443')

    added = client.post(
        reverse('plugins:netbox_hedgehog:hedgehogfabric_add'),
        {'name': 'team-a-new', 'kubeconfig': make(attack), **FORM},
    )
    edited = client.post(
        reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[existing.pk]),
        {'name': 'team-a-existing', 'kubeconfig': make(attack), **FORM},
    )

    for response in (added, edited):
        assert response.status_code == 200  # the form again, with the error
        errors = ' '.join(response.context['form'].errors['kubeconfig'])
        assert message in errors
        assert not any(secret in errors for secret in SECRET_VALUES)
    assert not HedgehogFabric.objects.filter(name='team-a-new').exists()
    existing.refresh_from_db()
    assert reveal(existing.kubeconfig) == ''
    assert_harmless(attack)


def api_client(user):
    token = Token.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f'Bearer {TOKEN_PREFIX}{token.key}.{token.token}')
    return api


@pytest.mark.parametrize('name', HOSTILE)
def test_the_api_refuses_a_hostile_kubeconfig_naming_the_key(name, attack, team_user):
    make, message = HOSTILE[name]
    api = api_client(team_user)
    existing = HedgehogFabric.objects.create(name='team-a-existing', kubernetes_server='https://10.0.0.1:6443')

    created = api.post(
        reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-list'),
        {'name': 'team-a-new', 'kubeconfig': make(attack)},
        format='json',
    )
    patched = api.patch(
        reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[existing.pk]),
        {'kubernetes_server': '', 'kubeconfig': make(attack)},
        format='json',
    )

    for response in (created, patched):
        assert response.status_code == 400, response.content
        errors = ' '.join(response.json()['kubeconfig'])
        assert message in errors
        assert not any(secret in response.content.decode() for secret in SECRET_VALUES)
    assert not HedgehogFabric.objects.filter(name='team-a-new').exists()
    existing.refresh_from_db()
    assert reveal(existing.kubeconfig) == ''
    assert_harmless(attack)


@pytest.mark.parametrize('name', HOSTILE)
def test_a_stored_hostile_kubeconfig_is_refused_by_the_sync(name, attack, caplog):
    """A row written before these checks (a direct update, no clean()): the run refuses it as well."""
    caplog.set_level(logging.DEBUG)
    make, message = HOSTILE[name]
    fabric = HedgehogFabric.objects.create(name='stored')
    HedgehogFabric.objects.filter(pk=fabric.pk).update(kubeconfig=make(attack))

    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)

    fabric.refresh_from_db()
    run = SyncRun.objects.get(fabric=fabric)
    assert run.outcome == SyncOutcomeChoices.FAILED
    assert message in fabric.sync_error
    assert fabric.sync_error.startswith('Kubernetes: ')
    logged = '\n'.join(record.getMessage() for record in caplog.records)
    for text in (fabric.sync_error, run.error, logged):
        assert not any(secret in text for secret in SECRET_VALUES)
    assert_harmless(attack)
