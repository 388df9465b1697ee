"""The Kubernetes source against kmock's emulated API server over real HTTP (no database needed)."""

import asyncio
import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time
import traceback
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client

from netbox_hedgehog.kinds import FABRIC_KINDS
from netbox_hedgehog.sources.base import SourceError
from netbox_hedgehog.sources.kubernetes import (
    PAGE_SIZE, KubeconfigError, build_api_client, list_fabric_resources, parse_kubeconfig,
)
from tests.kmock_server import TOKEN, kube_api, resource_of

ALL_KINDS = {kind.kind for kind in FABRIC_KINDS}


def make_fabric(**fields):
    defaults = {
        'pk': 1, 'kubernetes_server': '', 'kubernetes_token': '', 'kubernetes_ca_cert': '',
        'kubernetes_namespace': 'default', 'kubeconfig': '',
    }
    return SimpleNamespace(**{**defaults, **fields})


def manifest(kind, name, spec=None, **metadata):
    return {
        'apiVersion': f'{resource_of(kind).group}/{resource_of(kind).version}', 'kind': kind,
        'metadata': {'name': name, **metadata}, 'spec': spec or {},
    }


def full_text(exc):
    """The message plus everything a logged traceback of the error would show."""
    return ''.join(traceback.format_exception(exc))


def default_configuration():
    default = client.Configuration.get_default_copy()
    return default.host, dict(default.api_key), default.ca_cert_data


@pytest.fixture
def api():
    with kube_api() as api:
        yield api


@pytest.fixture
def short_timeout(settings):
    plugin = {**settings.PLUGINS_CONFIG['netbox_hedgehog'], 'kubernetes_timeout': 0.3}
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_hedgehog': plugin}


def test_objects_of_several_kinds_come_back_normalised(api):
    switch = api.add(manifest(
        'Switch', 'leaf-01', {'role': 'server-leaf', 'asn': 65101},
        labels={'fabric.githedgehog.com/profile': 'dell-s5248f-on'}, annotations={'note': 'rack 1'},
    ))
    api.add(manifest('Connection', 'server-01--unbundled--leaf-01', {'unbundled': {'link': {}}}))
    api.add(manifest('VPC', 'vpc-01', {'subnets': {'default': {'subnet': '10.0.1.0/24'}}}))
    api.add(manifest('VPC', 'elsewhere', {}, namespace='other'))
    # Stored as is: no namespace, no spec, no labels.
    api.call(api.emulator.objects.__setitem__, (resource_of('Server'), 'default', 'server-01'), {
        'apiVersion': 'wiring.githedgehog.com/v1beta1', 'kind': 'Server', 'metadata': {'name': 'server-01'},
    })

    listing = list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert listing.source == 'kubernetes'
    assert listing.complete_kinds == ALL_KINDS
    assert listing.revision == '' and listing.problems == []
    objects = {obj.key: obj for obj in listing.objects}
    assert set(objects) == {
        ('Switch', 'default', 'leaf-01'), ('Connection', 'default', 'server-01--unbundled--leaf-01'),
        ('VPC', 'default', 'vpc-01'), ('Server', 'default', 'server-01'),
    }
    leaf = objects['Switch', 'default', 'leaf-01']
    assert leaf.api_version == 'wiring.githedgehog.com/v1beta1'
    assert leaf.spec == {'role': 'server-leaf', 'asn': 65101}
    assert leaf.labels == {'fabric.githedgehog.com/profile': 'dell-s5248f-on'}
    assert leaf.annotations == {'note': 'rack 1'}
    assert leaf.uid == switch['metadata']['uid'] and leaf.uid
    assert leaf.resource_version == switch['metadata']['resourceVersion'] and leaf.resource_version
    assert objects['VPC', 'default', 'vpc-01'].spec['subnets']['default']['subnet'] == '10.0.1.0/24'
    server = objects['Server', 'default', 'server-01']
    assert (server.spec, server.labels, server.annotations, server.uid) == ({}, {}, {}, '')


def test_the_fabric_namespace_is_listed(api):
    api.add(manifest('VPC', 'vpc-01', {}, namespace='fabric-a'))
    api.add(manifest('VPC', 'vpc-02', {}))

    listing = list_fabric_resources(make_fabric(**api.fabric_fields(kubernetes_namespace='fabric-a')))

    assert [obj.key for obj in listing.objects] == [('VPC', 'fabric-a', 'vpc-01')]


def test_pagination_is_followed(api):
    count = 2 * PAGE_SIZE + 1
    for number in range(count):
        api.add(manifest('VLANNamespace', f'vlans-{number:04}', {'ranges': [{'from': 1000, 'to': 1999}]}))

    listing = list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert sorted(obj.name for obj in listing.objects) == [f'vlans-{number:04}' for number in range(count)]
    assert 'VLANNamespace' in listing.complete_kinds
    pages = [dict(request.params) for request in api.list_requests('VLANNamespace')]
    assert pages == [
        {'limit': str(PAGE_SIZE)},
        {'limit': str(PAGE_SIZE), 'continue': str(PAGE_SIZE)},
        {'limit': str(PAGE_SIZE), 'continue': str(2 * PAGE_SIZE)},
    ]


def test_a_kind_the_cluster_does_not_serve_is_absent_not_an_error():
    with kube_api(kinds=[kind for kind in FABRIC_KINDS if kind.group != 'gateway.githedgehog.com']) as api:
        api.add(manifest('Switch', 'leaf-01', {'role': 'server-leaf'}))

        listing = list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert listing.complete_kinds == ALL_KINDS - {'Gateway', 'GatewayGroup', 'GatewayPeering'}
    assert [obj.key for obj in listing.objects] == [('Switch', 'default', 'leaf-01')]
    assert listing.problems == []


def test_only_the_requested_kinds_are_listed(api):
    kinds = [kind for kind in FABRIC_KINDS if kind.kind in ('Switch', 'Server')]

    listing = list_fabric_resources(make_fabric(**api.fabric_fields()), kinds=kinds)

    assert listing.complete_kinds == {'Switch', 'Server'}
    assert api.list_requests('VPC') == []


def test_a_rejected_token_names_what_failed(api):
    api.fail('Switch', 401, 'Unauthorized')

    with pytest.raises(SourceError) as caught:
        list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert 'the token was rejected (401) listing switches.wiring.githedgehog.com' in str(caught.value)
    assert TOKEN not in full_text(caught.value)


def test_a_forbidden_listing_names_what_failed(api):
    api.fail('VPC', 403, 'Forbidden')

    with pytest.raises(SourceError) as caught:
        list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert str(caught.value) == (
        'forbidden (403): the account may not list vpcs.vpc.githedgehog.com in namespace default'
    )


def test_other_api_errors_give_status_and_reason(api):
    api.fail('Server', 500, 'InternalError')

    with pytest.raises(SourceError, match=r'answered 500 Internal Server Error listing servers'):
        list_fabric_resources(make_fabric(**api.fabric_fields()))


def test_the_request_carries_the_token(api):
    list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert api.list_requests('Switch')[0].headers['Authorization'] == f'Bearer {TOKEN}'


def test_an_unreachable_server_fails_quickly_and_readably():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    fabric = make_fabric(kubernetes_server=f'http://127.0.0.1:{port}', kubernetes_token=TOKEN)

    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        list_fabric_resources(fabric)

    assert time.monotonic() - started < 5
    assert str(caught.value) == f'cannot reach the Kubernetes API at http://127.0.0.1:{port}: ' \
                                f'[Errno 111] Connection refused'
    assert TOKEN not in full_text(caught.value)


def test_a_server_that_does_not_answer_times_out(api, short_timeout):
    async def never_answer():
        await asyncio.sleep(30)

    api.call(lambda: api.emulator['list', resource_of('VLANNamespace')] << never_answer)

    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert time.monotonic() - started < 5  # the client's default retries make it 4 × 0.3 s
    assert str(caught.value) == f'cannot reach the Kubernetes API at {api.url}: timed out'


def test_tls_to_a_plain_http_server_is_a_readable_error(api):
    fabric = make_fabric(**api.fabric_fields(kubernetes_server=api.url.replace('http://', 'https://')))

    with pytest.raises(SourceError, match=r'^cannot reach the Kubernetes API at https://127\.0\.0\.1:\d+: TLS error: '):
        list_fabric_resources(fabric)


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server for 127.0.0.1 whose certificate is signed by its own CA; answers every list empty.

    Yields ``(url, ca_pem)``.
    """
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'kmock test')])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    (tmp_path / 'server.pem').write_text(pem + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    ).decode())

    class EmptyLists(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({'apiVersion': 'v1', 'kind': 'List', 'metadata': {}, 'items': []}).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), EmptyLists)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / 'server.pem')
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'https://127.0.0.1:{server.server_address[1]}', pem
    server.shutdown()
    server.server_close()


def test_the_given_ca_verifies_the_server(tls_server):
    url, ca_pem = tls_server

    fabric = make_fabric(kubernetes_server=url, kubernetes_token=TOKEN, kubernetes_ca_cert=ca_pem)

    listing = list_fabric_resources(fabric)

    assert listing.complete_kinds == ALL_KINDS


def test_a_server_the_ca_does_not_vouch_for_is_refused(tls_server):
    url, _ = tls_server

    with pytest.raises(SourceError) as caught:
        list_fabric_resources(make_fabric(kubernetes_server=url, kubernetes_token=TOKEN))

    assert str(caught.value).startswith(f'cannot reach the Kubernetes API at {url}: TLS error: ')
    assert 'CERTIFICATE_VERIFY_FAILED' in str(caught.value)


def test_a_kubeconfig_pointing_at_the_server_works(api):
    api.add(manifest('Switch', 'spine-01', {'role': 'spine'}))

    listing = list_fabric_resources(make_fabric(kubeconfig=api.kubeconfig(token='from-kubeconfig')))

    assert [obj.key for obj in listing.objects] == [('Switch', 'default', 'spine-01')]
    assert api.list_requests('Switch')[0].headers['Authorization'] == 'Bearer from-kubeconfig'


def test_server_token_and_ca_configure_a_client_of_its_own():
    pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    fabric = make_fabric(kubernetes_server='https://10.0.0.1:6443', kubernetes_token=TOKEN, kubernetes_ca_cert=pem)

    default_before = default_configuration()
    api_client = build_api_client(fabric)

    configuration = api_client.configuration
    assert configuration.host == 'https://10.0.0.1:6443'
    assert configuration.verify_ssl is True
    assert configuration.ca_cert_data == pem
    assert configuration.get_api_key_with_prefix('authorization') == f'Bearer {TOKEN}'
    assert default_configuration() == default_before
    api_client.close()


def test_a_kubeconfig_leaves_the_default_configuration_alone(api):
    default_before = default_configuration()

    api_client = build_api_client(make_fabric(kubeconfig=api.kubeconfig()))

    assert api_client.configuration.host == api.url
    assert default_configuration() == default_before
    api_client.close()


def test_no_source_configured(monkeypatch):
    monkeypatch.delenv('KUBERNETES_SERVICE_HOST', raising=False)

    with pytest.raises(SourceError, match='^no Kubernetes API configured$'):
        build_api_client(make_fabric())


def test_in_cluster_is_used_inside_a_pod(monkeypatch):
    monkeypatch.setenv('KUBERNETES_SERVICE_HOST', '10.96.0.1')
    monkeypatch.setenv('KUBERNETES_SERVICE_PORT', '443')

    # No service account is mounted here, which proves the in-cluster loader was the one asked.
    with pytest.raises(SourceError, match='^cannot use the Kubernetes configuration: .*token file'):
        build_api_client(make_fabric())


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: 'https://10.0.0.1:6443'}
users:
- name: admin
  user: {token: sekrit-token}
contexts:
- name: lab
  context: {cluster: lab, user: admin}
current-context: lab
"""


def test_parse_kubeconfig_returns_the_mapping():
    assert parse_kubeconfig(KUBECONFIG)['clusters'][0]['cluster']['server'] == 'https://10.0.0.1:6443'


@pytest.mark.parametrize(('text', 'message'), [
    (KUBECONFIG.replace('  user: {token: sekrit-token}', '  user: {token: sekrit-token'),
     r'^The kubeconfig is not valid YAML: .* at line \d+\.$'),
    ('- just\n- a list\n', '^The kubeconfig must be a YAML mapping'),
    ('', '^The kubeconfig must be a YAML mapping'),
    ('apiVersion: v1\nkind: Config\n', '^The kubeconfig has no clusters, contexts, current-context.$'),
    (KUBECONFIG.replace('current-context: lab', ''), '^The kubeconfig has no current-context.$'),
    (KUBECONFIG.replace('current-context: lab', 'current-context: prod'),
     '^The current-context "prod" is not one of the contexts.$'),
])
def test_parse_kubeconfig_errors_are_readable(text, message):
    with pytest.raises(KubeconfigError, match=message) as caught:
        parse_kubeconfig(text)

    assert 'sekrit-token' not in str(caught.value)


def test_a_broken_kubeconfig_is_a_source_error():
    with pytest.raises(SourceError, match='kubeconfig'):
        build_api_client(make_fabric(kubeconfig='clusters: [}'))
