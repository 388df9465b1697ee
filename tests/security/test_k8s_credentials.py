"""Kubernetes credentials under attack: key material on disk, tokens in error text, http://, the in-cluster account.

Each test goes through a real entry point (a sync run by the job function, the connection test
job, the REST API) against kmock, and asserts what reached the server, the disk, the run record
and the log.
"""

import base64
import datetime
import ipaddress
import logging
import os
import ssl
import subprocess
import sys
import textwrap

import fakeredis
import pytest
import yaml
from core.models import ObjectType
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.urls import reverse
from rest_framework.test import APIClient
from users.constants import TOKEN_PREFIX
from users.models import ObjectPermission, Token, User

from netbox_hedgehog.choices import SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.fields import reveal
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.connection import check_fabric_connection
from netbox_hedgehog.scheduling.jobs import UnexpectedSyncError, execute_fabric_sync
from netbox_hedgehog.sources import kube_credentials
from tests.kmock_server import kube_api

pytestmark = pytest.mark.django_db

SWITCH = {
    'apiVersion': 'wiring.githedgehog.com/v1beta1',
    'kind': 'Switch',
    'metadata': {'name': 'leaf-01'},
    'spec': {'role': 'server-leaf'},
}


@pytest.fixture(autouse=True)
def redis(monkeypatch):
    """The sync and connection jobs talk to one fakeredis (their scheduler bookkeeping)."""
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr('django_rq.get_connection', lambda *args, **kwargs: connection)
    return connection


class PKI:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""

    def __init__(self):
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'hedgehog test CA')])
        self.ca = self._sign(
            self._builder(ca_name, self.ca_key).add_extension(
                x509.BasicConstraints(ca=True, path_length=None), critical=True
            ),
            ca_name,
        )
        self.ca_pem = self._pem(self.ca)
        self.server_pem, self.server_key_pem = self._leaf(
            'kmock',
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
            ExtendedKeyUsageOID.SERVER_AUTH,
        )
        self.client_pem, self.client_key_pem = self._leaf('hedgehog-client', None, ExtendedKeyUsageOID.CLIENT_AUTH)

    def server_context(self, tmp_path, require_client_cert=False):
        chain = tmp_path / 'server-chain.pem'
        chain.write_text(self.server_pem + self.server_key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(chain)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cadata=self.ca_pem)
        return context

    def _leaf(self, name, san, usage):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        certificate = self._sign(builder, self.ca.subject)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return self._pem(certificate), key_pem

    @staticmethod
    def _builder(subject, key):
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
        )

    def _sign(self, builder, issuer):
        return builder.issuer_name(issuer).sign(self.ca_key, hashes.SHA256())

    @staticmethod
    def _pem(certificate):
        return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope='module')
def pki():
    return PKI()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def client_cert_kubeconfig(server, pki, with_client_cert=True):
    user = {'client-certificate-data': b64(pki.client_pem), 'client-key-data': b64(pki.client_key_pem)}
    return yaml.safe_dump(
        {
            'apiVersion': 'v1',
            'kind': 'Config',
            'clusters': [{'name': 'c', 'cluster': {'server': server, 'certificate-authority-data': b64(pki.ca_pem)}}],
            'users': [{'name': 'u', 'user': user if with_client_cert else {}}],
            'contexts': [{'name': 'x', 'context': {'cluster': 'c', 'user': 'u'}}],
            'current-context': 'x',
        }
    )


def sync(fabric):
    """A real manual sync, through the job function the worker runs; returns the fabric and its run record."""
    execute_fabric_sync(fabric.pk, trigger=SyncTriggerChoices.MANUAL)
    fabric.refresh_from_db()
    return fabric, SyncRun.objects.filter(fabric=fabric).latest('pk')


def everything_logged(caplog):
    """Every log record's message, arguments and traceback text, as one string to search."""
    formatter = logging.Formatter()
    return '\n'.join(
        f'{record.getMessage()} {record.args!r} {formatter.formatException(record.exc_info) if record.exc_info else ""}'
        for record in caplog.records
    )


# Key material on disk


CHILD = textwrap.dedent(
    """
    import os, sys, tempfile
    from types import SimpleNamespace
    kubeconfig = sys.stdin.read()
    if sys.argv[1] == 'plugin':
        import django
        django.setup()
        from netbox_hedgehog.sources.kubernetes import build_api_client
        build_api_client(SimpleNamespace(
            kubernetes_in_cluster=False, kubeconfig=kubeconfig, kubernetes_server='', kubernetes_token='',
            kubernetes_ca_cert='', kubernetes_verify_tls=True, allow_insecure_transport=False,
        ))
    else:  # the kubernetes client's own loader, which the plugin no longer uses
        import yaml
        from kubernetes import client, config
        config.load_kube_config_from_dict(yaml.safe_load(kubeconfig), client_configuration=client.Configuration())
    os._exit(0)  # how an RQ work horse ends: no atexit handlers run
    """
)


@pytest.mark.parametrize(('loader', 'left_behind'), [('plugin', False), ('kubernetes-client', True)])
def test_client_key_material_leaves_no_file_in_the_temp_directory(pki, tmp_path, loader, left_behind):
    """A work horse ends with os._exit; the files a client needed must already be gone by then.

    The kubernetes client's own loader is the control: it leaves the key in the temp directory.
    """
    temp = tmp_path / 'system-temp'
    temp.mkdir()
    kubeconfig = client_cert_kubeconfig('https://127.0.0.1:6443', pki)

    subprocess.run(
        [sys.executable, '-c', CHILD, loader],
        input=kubeconfig,
        text=True,
        check=True,
        env={**os.environ, 'TMPDIR': str(temp)},
    )

    left = [path for path in temp.rglob('*') if path.is_file()]
    assert bool(left) is left_behind
    if left_behind:  # the control really leaves the private key there
        assert any('PRIVATE KEY' in path.read_text() for path in left)


def test_a_client_certificate_from_the_kubeconfig_authenticates_the_sync(pki, tmp_path):
    context = pki.server_context(tmp_path, require_client_cert=True)
    with kube_api(ssl_context=context) as api:
        api.add(SWITCH)
        fabric = HedgehogFabric.objects.create(name='mtls', kubeconfig=client_cert_kubeconfig(api.url, pki))
        without = HedgehogFabric.objects.create(
            name='no-client-cert', kubeconfig=client_cert_kubeconfig(api.url, pki, with_client_cert=False)
        )

        fabric, run = sync(fabric)
        without, refused = sync(without)

    assert api.url.startswith('https://')
    assert run.outcome == SyncOutcomeChoices.SUCCESS, fabric.sync_error
    assert HedgehogResource.objects.filter(fabric=fabric, name='leaf-01').exists()
    assert refused.outcome == SyncOutcomeChoices.FAILED
    assert without.sync_error.startswith('Kubernetes: cannot reach the Kubernetes API at https://127.0.0.1:')


# Tokens in error text


@pytest.mark.parametrize(
    'token',
    [
        'sekrit-unicode-token\u2019abc',  # not Latin-1: http.client's UnicodeEncodeError quoted the whole header
        'sekrit-two-line-token\nX-Injected: 1',  # a header injection / http.client "Invalid header value"
        'sekrit-bell-token\x07abc',
        'sekrit-space token',
    ],
)
def test_a_token_http_cannot_carry_is_refused_without_quoting_it(token, caplog):
    """Written before the save-time checks existed (a direct update): the run refuses it, quoting nothing."""
    caplog.set_level(logging.DEBUG)
    with kube_api() as api:
        fabric = HedgehogFabric.objects.create(name='bad-token', **api.fabric_fields(kubernetes_token=''))
        HedgehogFabric.objects.filter(pk=fabric.pk).update(kubernetes_token=token)

        fabric, run = sync(fabric)
        requests = api.list_requests('Switch')

    assert requests == []
    assert run.outcome == SyncOutcomeChoices.FAILED
    assert fabric.sync_error == (
        'Kubernetes: The token contains whitespace, a control character or a character outside Latin-1; '
        'paste the token exactly as issued.'
    )
    for text in (fabric.sync_error, run.error, everything_logged(caplog)):
        assert 'sekrit' not in text


def test_a_stored_token_with_a_trailing_newline_is_sent_stripped():
    with kube_api() as api:
        fabric = HedgehogFabric.objects.create(name='newline', **api.fabric_fields())
        HedgehogFabric.objects.filter(pk=fabric.pk).update(kubernetes_token='pasted-token\r\n')

        fabric, run = sync(fabric)
        requests = api.list_requests('Switch')

    assert run.outcome == SyncOutcomeChoices.SUCCESS, fabric.sync_error
    assert requests[0].headers['Authorization'] == 'Bearer pasted-token'


def test_an_unexpected_exception_is_recorded_by_its_type_only(monkeypatch, caplog):
    """jobs.py records ``Unexpected error: <type>``: an exception's text may quote a credential."""

    def explode(fabric, **options):
        raise ValueError(f'Invalid header value b"Bearer {fabric.kubernetes_token}\\n"')

    monkeypatch.setattr('netbox_hedgehog.scheduling.jobs.sync_fabric', explode)
    fabric = HedgehogFabric.objects.create(
        name='exploding', kubernetes_server='https://10.0.0.1:6443', kubernetes_token='sekrit-exploding-token'
    )

    with pytest.raises(UnexpectedSyncError) as raised:  # what RQ keeps in Redis: our text, not the original
        sync(fabric)

    assert 'sekrit-exploding-token' not in str(raised.value) and raised.value.__cause__ is None
    assert 'sekrit-exploding-token' not in caplog.text
    fabric.refresh_from_db()
    assert fabric.sync_error == 'Unexpected error: ValueError (see the worker log)'
    assert SyncRun.objects.get(fabric=fabric).error == fabric.sync_error


# http://


def test_the_sync_and_the_connection_test_never_send_a_token_over_http():
    """Same rule in both: without "allow insecure transport" no request leaves, with it the token goes."""
    with kube_api() as api:
        fabric = HedgehogFabric.objects.create(name='plain', **api.fabric_fields(allow_insecure_transport=True))
        HedgehogFabric.objects.filter(pk=fabric.pk).update(allow_insecure_transport=False)  # rows from before

        fabric, run = sync(fabric)
        refused_error = fabric.sync_error
        checked = check_fabric_connection(fabric.pk)
        refused_requests = len(api.list_requests('Switch'))
        HedgehogFabric.objects.filter(pk=fabric.pk).update(allow_insecure_transport=True)
        _fabric, allowed_run = sync(fabric)
        allowed_requests = api.list_requests('Switch')

    refusal = (
        f'refusing to send credentials to {api.url} over plain http://: use https://, '
        'or turn on "allow insecure transport" for this fabric'
    )
    assert refused_requests == 0
    assert run.outcome == SyncOutcomeChoices.FAILED
    assert refused_error == f'Kubernetes: {refusal}'
    assert checked['message'] == f'Kubernetes: FAILED - {refusal}'
    assert allowed_run.outcome == SyncOutcomeChoices.SUCCESS
    assert allowed_requests and allowed_requests[0].headers['Authorization'].startswith('Bearer ')


# The in-cluster account


@pytest.fixture
def pod(monkeypatch, tmp_path, pki):
    """What a pod has: the service host/port in its environment and the service account files."""
    account = tmp_path / 'serviceaccount'
    account.mkdir()
    (account / 'token').write_text('in-cluster-token\n')
    (account / 'ca.crt').write_text(pki.ca_pem)
    (account / 'namespace').write_text('fabric-ns')
    monkeypatch.setattr(kube_credentials, 'SERVICE_ACCOUNT_DIR', account)
    with kube_api(ssl_context=pki.server_context(tmp_path)) as api:
        monkeypatch.setenv('KUBERNETES_SERVICE_HOST', '127.0.0.1')
        monkeypatch.setenv('KUBERNETES_SERVICE_PORT', api.url.rpartition(':')[2])
        yield api


def user_with(actions):
    """A new user holding ``actions`` on fabrics."""
    user = User.objects.create_user(username=f'user-{User.objects.count()}')
    permission = ObjectPermission.objects.create(name=f'perm-{user.pk}', actions=actions)
    permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))
    permission.users.add(user)
    return user


def api_client_for(actions):
    """A REST client authenticated as a new user holding ``actions`` on fabrics."""
    token = Token.objects.create(user=user_with(actions))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f'Bearer {TOKEN_PREFIX}{token.key}.{token.token}')
    return client


def test_a_fabric_opting_into_the_in_cluster_account_syncs_with_the_pods_service_account(pod):
    pod.add({**SWITCH, 'metadata': {'name': 'leaf-01', 'namespace': 'fabric-ns'}})
    client = api_client_for(['add', 'view'])
    response = client.post(
        reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-list'),
        {'name': 'in-cluster', 'kubernetes_in_cluster': True, 'kubernetes_namespace': 'fabric-ns'},
        format='json',
    )
    assert response.status_code == 201, response.content

    fabric, run = sync(HedgehogFabric.objects.get(name='in-cluster'))

    assert run.outcome == SyncOutcomeChoices.SUCCESS, fabric.sync_error
    assert HedgehogResource.objects.filter(fabric=fabric, name='leaf-01', namespace='fabric-ns').exists()
    request = pod.list_requests('Switch')[0]
    assert request.headers['Authorization'] == 'Bearer in-cluster-token'


def test_without_the_option_a_pod_account_is_never_used(pod):
    fabric = HedgehogFabric.objects.create(name='no-k8s', git_repository_url='/nonexistent')

    fabric, _run = sync(fabric)

    assert pod.list_requests('Switch') == []
    assert not fabric.sync_error.startswith('Kubernetes')


def test_the_in_cluster_account_outside_a_pod_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv('KUBERNETES_SERVICE_HOST', raising=False)
    fabric = HedgehogFabric.objects.create(name='not-in-a-pod', kubernetes_in_cluster=True)

    fabric, run = sync(fabric)

    assert run.outcome == SyncOutcomeChoices.FAILED
    assert fabric.sync_error == (
        'Kubernetes: the in-cluster account is not available: KUBERNETES_SERVICE_HOST and '
        'KUBERNETES_SERVICE_PORT are not set (does the worker run in a pod?)'
    )


def test_the_in_cluster_account_without_its_token_file_names_the_file(pod):
    (kube_credentials.SERVICE_ACCOUNT_DIR / 'token').unlink()
    fabric = HedgehogFabric.objects.create(name='no-token-file', kubernetes_in_cluster=True)

    fabric, _run = sync(fabric)

    assert fabric.sync_error == (
        f'Kubernetes: the in-cluster account is not available: cannot read '
        f'{kube_credentials.SERVICE_ACCOUNT_DIR / "token"} (No such file or directory)'
    )


@pytest.mark.parametrize(
    'field',
    [
        {'kubernetes_server': 'https://attacker.example:6443'},
        {'kubernetes_token': 'some-token'},
        {'kubeconfig': 'apiVersion: v1'},
    ],
)
def test_the_in_cluster_account_with_other_credentials_is_refused_by_the_api(field):
    client = api_client_for(['add', 'view'])

    response = client.post(
        reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-list'),
        {'name': 'mixed', 'kubernetes_in_cluster': True, **field},
        format='json',
    )

    assert response.status_code == 400
    assert 'With the in-cluster account, leave the API server, token and kubeconfig empty' in str(
        response.json()['kubernetes_in_cluster']
    )
    assert not HedgehogFabric.objects.filter(name='mixed').exists()


def test_a_mixed_in_cluster_row_from_before_is_refused_at_run_time(pod):
    fabric = HedgehogFabric.objects.create(name='mixed-row', kubernetes_in_cluster=True)
    HedgehogFabric.objects.filter(pk=fabric.pk).update(kubernetes_server='https://attacker.example:6443')

    fabric, _run = sync(fabric)

    assert pod.list_requests('Switch') == []
    assert fabric.sync_error == (
        'Kubernetes: the in-cluster account is on, but an API server, token or kubeconfig is also set'
    )


# Save-time checks of the server and token fields


FABRICS_URL = 'plugins-api:netbox_hedgehog-api:hedgehogfabric-list'


@pytest.mark.parametrize(
    ('fields', 'field', 'message'),
    [
        (
            {'kubernetes_server': 'https://10.0.0.1:6443', 'kubernetes_token': 'sekrit-split token'},
            'kubernetes_token',
            'The token contains whitespace, a control character or a character outside Latin-1',
        ),
        (
            {'kubernetes_server': 'https://10.0.0.1:6443', 'kubernetes_token': 'sekrit-quote\u201ctoken'},
            'kubernetes_token',
            'The token contains whitespace, a control character or a character outside Latin-1',
        ),
        (
            {'kubernetes_server': 'http://10.0.0.1:6443', 'kubernetes_token': 'sekrit-cleartext-token'},
            'kubernetes_server',
            'over plain http://: use https://, or turn on "allow insecure transport" for this fabric',
        ),
        (
            {'kubernetes_server': 'https://admin:sekrit-url@10.0.0.1:6443'},
            'kubernetes_server',
            'The API server must not contain user:password@; give a token instead.',
        ),
    ],
)
def test_the_api_refuses_credentials_that_could_leak(fields, field, message):
    client = api_client_for(['add', 'view'])

    response = client.post(reverse(FABRICS_URL), {'name': 'leaky', **fields}, format='json')

    assert response.status_code == 400
    assert message in ' '.join(response.json()[field])
    assert 'sekrit' not in response.content.decode()
    assert not HedgehogFabric.objects.filter(name='leaky').exists()


def test_plain_http_with_a_token_is_saved_only_when_the_fabric_allows_it():
    client = api_client_for(['add', 'view'])

    response = client.post(
        reverse(FABRICS_URL),
        {
            'name': 'lab',
            'kubernetes_server': 'http://10.0.0.1:8080',
            'kubernetes_token': ' lab-token\n',
            'allow_insecure_transport': True,
        },
        format='json',
    )

    assert response.status_code == 201, response.content
    assert reveal(HedgehogFabric.objects.get(name='lab').kubernetes_token) == 'lab-token'


def test_the_form_strips_the_token_and_refuses_one_http_cannot_carry(client):
    client.force_login(user_with(['add', 'view', 'change']))
    form = {
        'kubernetes_server': 'https://10.0.0.1:6443',
        'kubernetes_namespace': 'default',
        'git_branch': 'main',
        'sync_interval': 300,
        'sync_enabled': True,
    }
    url = reverse('plugins:netbox_hedgehog:hedgehogfabric_add')

    refused = client.post(url, {'name': 'refused', 'kubernetes_token': 'sekrit\x0bvertical-tab', **form})
    saved = client.post(url, {'name': 'saved', 'kubernetes_token': 'form-token\n', **form})

    assert refused.status_code == 200
    assert 'outside Latin-1' in ' '.join(refused.context['form'].errors['kubernetes_token'])
    assert 'sekrit' not in refused.content.decode()
    assert saved.status_code == 302
    assert reveal(HedgehogFabric.objects.get(name='saved').kubernetes_token) == 'form-token'
