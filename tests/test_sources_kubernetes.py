"""The Kubernetes source against kmock's emulated API server over real HTTP (no database needed)."""

import asyncio
import base64
import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import traceback
import warnings
from types import SimpleNamespace

import pytest
import urllib3
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client

from netbox_hedgehog.kinds import FABRIC_KINDS
from netbox_hedgehog.sources import kubernetes as kubernetes_source
from netbox_hedgehog.sources.base import SourceError
from netbox_hedgehog.sources.kube_credentials import KubeconfigError, parse_kubeconfig
from netbox_hedgehog.sources.kubernetes import (
    PAGE_SIZE,
    build_api_client,
    list_fabric_resources,
    revision_string,
)
from tests.base import serving, set_plugin_settings
from tests.kmock_server import TOKEN, kube_api, resource_of

ALL_KINDS = {kind.kind for kind in FABRIC_KINDS}


def make_fabric(**fields):
    defaults = {
        'pk': 1,
        'kubernetes_server': '',
        'kubernetes_token': '',
        'kubernetes_ca_cert': '',
        'kubernetes_namespace': 'default',
        'kubeconfig': '',
        'kubernetes_verify_tls': True,
        'kubernetes_in_cluster': False,
        'allow_insecure_transport': False,
    }
    return SimpleNamespace(**{**defaults, **fields})


def manifest(kind, name, spec=None, **metadata):
    return {
        'apiVersion': f'{resource_of(kind).group}/{resource_of(kind).version}',
        'kind': kind,
        'metadata': {'name': name, **metadata},
        'spec': spec or {},
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
    set_plugin_settings(settings, kubernetes_timeout=0.3)


@pytest.fixture
def pauses(monkeypatch):
    """The back-off pauses the retry loop asked for, recorded instead of slept."""
    recorded = []
    monkeypatch.setattr(kubernetes_source, 'sleep', recorded.append)
    return recorded


@pytest.fixture
def fast_backoff(pauses):
    """Retries without the real 0.5 s, 1 s … pauses, for tests that only count requests."""
    return pauses


def status_body(status, reason):
    return {
        'apiVersion': 'v1',
        'kind': 'Status',
        'metadata': {},
        'status': 'Failure',
        'code': status,
        'reason': reason,
        'message': f'{reason} (scripted by the test)',
    }


def fail_first(api, kind, times, status, reason='Failure'):
    """Make only the next ``times`` list requests for ``kind`` answer ``status``; later ones are served."""
    api.call(lambda: api.emulator['list', resource_of(kind)][:times] << status << status_body(status, reason))


def test_objects_of_several_kinds_come_back_normalised(api):
    switch = api.add(
        manifest(
            'Switch',
            'leaf-01',
            {'role': 'server-leaf', 'asn': 65101},
            labels={'fabric.githedgehog.com/profile': 'dell-s5248f-on'},
            annotations={'note': 'rack 1'},
        )
    )
    api.add(manifest('Connection', 'server-01--unbundled--leaf-01', {'unbundled': {'link': {}}}))
    api.add(manifest('VPC', 'vpc-01', {'subnets': {'default': {'subnet': '10.0.1.0/24'}}}))
    api.add(manifest('VPC', 'elsewhere', {}, namespace='other'))
    # Stored as is: no namespace, no spec, no labels.
    api.call(
        api.emulator.objects.__setitem__,
        (resource_of('Server'), 'default', 'server-01'),
        {
            'apiVersion': 'wiring.githedgehog.com/v1beta1',
            'kind': 'Server',
            'metadata': {'name': 'server-01'},
        },
    )

    listing = list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert listing.source == 'kubernetes'
    assert listing.complete_kinds == ALL_KINDS
    assert listing.revision == ','.join(f'{kind.kind}=...' for kind in FABRIC_KINDS)  # kmock's resourceVersion
    assert listing.problems == []
    objects = {obj.key: obj for obj in listing.objects}
    assert set(objects) == {
        ('Switch', 'default', 'leaf-01'),
        ('Connection', 'default', 'server-01--unbundled--leaf-01'),
        ('VPC', 'default', 'vpc-01'),
        ('Server', 'default', 'server-01'),
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


def test_every_fabric_kind_is_listed_with_its_status(api):
    for kind in FABRIC_KINDS:
        api.add(manifest(kind.kind, f'{kind.plural}-1', {'description': kind.kind}))
    api.call(
        api.emulator.objects.__setitem__,
        (resource_of('Agent'), 'default', 'leaf-01'),
        {
            'apiVersion': 'agent.githedgehog.com/v1beta1',
            'kind': 'Agent',
            'metadata': {'name': 'leaf-01'},
            'spec': {'role': 'server-leaf'},
            'status': {'lastHeartbeat': '2026-11-25T03:00:00Z', 'lastAppliedGen': 7},
        },
    )

    listing = list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert sorted({obj.kind for obj in listing.objects}) == sorted(kind.kind for kind in FABRIC_KINDS)
    agent = next(obj for obj in listing.objects if obj.key == ('Agent', 'default', 'leaf-01'))
    assert agent.status == {'lastHeartbeat': '2026-11-25T03:00:00Z', 'lastAppliedGen': 7}


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
    assert 'Gateway' not in listing.revision and listing.revision.startswith('VLANNamespace=...,')


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


def test_other_api_errors_give_status_and_reason(api, fast_backoff):
    api.fail('Server', 500, 'InternalError')

    with pytest.raises(
        SourceError,
        match=r'answered 500 Internal Server Error listing servers\.wiring\.githedgehog\.com after 3 attempts$',
    ):
        list_fabric_resources(make_fabric(**api.fabric_fields()))
    assert len(api.list_requests('Server')) == 3


@pytest.mark.parametrize('status', [429, 500, 502, 503, 504])
def test_transient_errors_are_retried_until_the_listing_succeeds(api, fast_backoff, status):
    api.add(manifest('Server', 'server-01'))
    fail_first(api, 'Server', 2, status)

    listing = list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert [obj.key for obj in listing.objects] == [('Server', 'default', 'server-01')]
    assert listing.complete_kinds == ALL_KINDS
    assert len(api.list_requests('Server')) == 3
    assert len(api.list_requests('Switch')) == 1


def test_a_failing_page_is_retried_and_pagination_goes_on(api, fast_backoff):
    for number in range(PAGE_SIZE + 1):
        api.add(manifest('VLANNamespace', f'vlans-{number:04}'))
    api.call(lambda: api.emulator['list', resource_of('VLANNamespace')][1:2] << 503 << status_body(503, 'x'))

    listing = list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert len(listing.objects) == PAGE_SIZE + 1
    pages = [request.params.get('continue') for request in api.list_requests('VLANNamespace')]
    assert pages == [None, str(PAGE_SIZE), str(PAGE_SIZE)]


def test_the_backoff_doubles_between_attempts(api, settings, pauses):
    set_plugin_settings(settings, kubernetes_retries=4)
    fail_first(api, 'VLANNamespace', 3, 503)

    list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert pauses == [0.5, 1.0, 2.0]
    assert len(api.list_requests('VLANNamespace')) == 4


@pytest.mark.parametrize(
    ('status', 'message'),
    [
        (400, 'the Kubernetes API answered 400 Bad Request listing switches'),
        (401, 'the token was rejected (401) listing switches'),
        (403, 'forbidden (403): the account may not list switches'),
        (422, 'the Kubernetes API answered 422 Unprocessable Entity listing switches'),
    ],
)
def test_permanent_errors_are_not_retried(api, pauses, status, message):
    api.fail('Switch', status)

    with pytest.raises(SourceError) as caught:
        list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert str(caught.value).startswith(message)
    assert 'attempts' not in str(caught.value)
    assert len(api.list_requests('Switch')) == 1
    assert pauses == []  # not even one back-off


def test_the_number_of_attempts_is_a_plugin_setting(api, settings, fast_backoff):
    api.fail('Server', 503)
    set_plugin_settings(settings, kubernetes_retries=5)
    with pytest.raises(SourceError, match=r'after 5 attempts$'):
        list_fabric_resources(make_fabric(**api.fabric_fields()))
    assert len(api.list_requests('Server')) == 5

    set_plugin_settings(settings, kubernetes_retries=1)
    with pytest.raises(
        SourceError, match=r'answered 503 Service Unavailable listing servers\.wiring\.githedgehog\.com$'
    ):
        list_fabric_resources(make_fabric(**api.fabric_fields()))
    assert len(api.list_requests('Server')) == 5 + 1


def test_three_attempts_when_the_setting_is_absent(api, settings, fast_backoff):
    plugin = {
        key: value for key, value in settings.PLUGINS_CONFIG['netbox_hedgehog'].items() if key != 'kubernetes_retries'
    }
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_hedgehog': plugin}
    api.fail('Server', 502)

    with pytest.raises(SourceError, match=r'after 3 attempts$'):
        list_fabric_resources(make_fabric(**api.fabric_fields()))
    assert len(api.list_requests('Server')) == 3


def test_urllib3_does_not_retry_on_its_own():
    api_client = build_api_client(make_fabric(kubernetes_server='https://10.0.0.1:6443'))

    assert api_client.configuration.retries is False
    retries = api_client.rest_client.pool_manager.connection_pool_kw['retries']
    assert retries is False or retries.total is False
    api_client.close()


def test_a_reset_connection_is_retried(settings, fast_backoff):
    """A server that accepts and resets every connection: three tries, then a readable error."""
    accepted = []
    listener = socket.create_server(('127.0.0.1', 0))

    def reset_all():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(connection)
            connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
            connection.close()

    threading.Thread(target=reset_all, daemon=True).start()
    url = f'http://127.0.0.1:{listener.getsockname()[1]}'
    try:
        with pytest.raises(SourceError) as caught:
            list_fabric_resources(
                make_fabric(kubernetes_server=url, kubernetes_token=TOKEN, allow_insecure_transport=True)
            )
    finally:
        listener.close()

    assert str(caught.value).startswith(f'cannot reach the Kubernetes API at {url}: Connection aborted: ')
    assert str(caught.value).endswith(' after 3 attempts')
    assert len(accepted) == 3
    assert TOKEN not in full_text(caught.value)


def test_revision_names_the_listed_kinds_in_fabric_order_within_500_characters():
    assert (
        revision_string({'Server': '12', 'VLANNamespace': '7', 'Switch': '9'}) == 'VLANNamespace=7,Switch=9,Server=12'
    )
    assert revision_string({}) == ''
    long = revision_string({kind.kind: '1' * 40 for kind in FABRIC_KINDS})
    assert len(long) == 500 and long.startswith('VLANNamespace=' + '1' * 40 + ',SwitchGroup=')


def test_the_request_carries_the_token(api):
    list_fabric_resources(make_fabric(**api.fabric_fields()))

    assert api.list_requests('Switch')[0].headers['Authorization'] == f'Bearer {TOKEN}'


def test_an_unreachable_server_fails_quickly_and_readably(pauses):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    fabric = make_fabric(
        kubernetes_server=f'http://127.0.0.1:{port}', kubernetes_token=TOKEN, allow_insecure_transport=True
    )

    with pytest.raises(SourceError) as caught:
        list_fabric_resources(fabric)

    assert pauses == [0.5, 1.0]  # 3 attempts; a refused connection costs no timeout
    assert (
        str(caught.value) == f'cannot reach the Kubernetes API at http://127.0.0.1:{port}: '
        f'[Errno 111] Connection refused after 3 attempts'
    )
    assert TOKEN not in full_text(caught.value)


def test_a_server_that_does_not_answer_times_out(api, short_timeout, pauses):
    async def never_answer():
        await asyncio.sleep(30)

    api.call(lambda: api.emulator['list', resource_of('VLANNamespace')] << never_answer)

    with pytest.raises(SourceError) as caught:
        list_fabric_resources(make_fabric(**api.fabric_fields()))

    # The server answers after 30 s: the error came from the client's own timeout, once per attempt,
    # with the back-off between attempts; urllib3 retrying on its own would add requests.
    assert str(caught.value) == f'cannot reach the Kubernetes API at {api.url}: timed out after 3 attempts'
    assert len(api.list_requests('VLANNamespace')) == 3
    assert pauses == [0.5, 1.0]


def test_a_hanging_server_fails_after_the_retries_within_a_bounded_time(api, settings, pauses):
    set_plugin_settings(settings, kubernetes_timeout=0.2, kubernetes_retries=3)
    api.add(manifest('Switch', 'leaf-01'))
    api.delay('Switch', 60)
    switches = [kind for kind in FABRIC_KINDS if kind.kind == 'Switch']  # only the hanging list meets the 0.2 s

    with pytest.raises(SourceError) as caught:
        list_fabric_resources(make_fabric(**api.fabric_fields()), kinds=switches)

    # Bounded: three attempts of one timeout each, 0.5 s and 1 s apart, instead of the server's 60 s.
    assert str(caught.value) == f'cannot reach the Kubernetes API at {api.url}: timed out after 3 attempts'
    assert len(api.list_arrivals('Switch')) == 3
    assert pauses == [0.5, 1.0]

    api.delay('Switch', None)  # the server answers again: the next sync lists normally
    set_plugin_settings(settings, kubernetes_timeout=30)
    assert [obj.name for obj in list_fabric_resources(make_fabric(**api.fabric_fields())).objects] == ['leaf-01']


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
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    (tmp_path / 'server.pem').write_text(
        pem
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    )

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
    with serving(server):
        yield f'https://127.0.0.1:{server.server_address[1]}', pem


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


def test_verification_can_be_turned_off_for_the_fabric(tls_server):
    url, _ = tls_server
    fabric = make_fabric(kubernetes_server=url, kubernetes_token=TOKEN, kubernetes_verify_tls=False)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        listing = list_fabric_resources(fabric)

    assert listing.complete_kinds == ALL_KINDS
    assert [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)] == []


def test_turning_verification_off_for_one_fabric_leaves_other_clients_warning(tls_server):
    url, _ = tls_server
    list_fabric_resources(make_fabric(kubernetes_server=url, kubernetes_verify_tls=False))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        urllib3.PoolManager(cert_reqs='CERT_NONE', retries=False).request('GET', f'{url}/version')

    assert any(issubclass(w.category, urllib3.exceptions.InsecureRequestWarning) for w in caught)


def test_verification_is_on_by_default():
    configuration = build_api_client(make_fabric(kubernetes_server='https://10.0.0.1:6443')).configuration
    assert configuration.verify_ssl is True
    configuration = build_api_client(
        make_fabric(
            kubernetes_server='https://10.0.0.1:6443',
            kubernetes_verify_tls=False,
        )
    ).configuration
    assert configuration.verify_ssl is False


def tls_kubeconfig(url, **cluster):
    return yaml.safe_dump(
        {
            'apiVersion': 'v1',
            'kind': 'Config',
            'clusters': [{'name': 'tls', 'cluster': {'server': url, **cluster}}],
            'users': [{'name': 'u', 'user': {'token': TOKEN}}],
            'contexts': [{'name': 'tls', 'context': {'cluster': 'tls', 'user': 'u'}}],
            'current-context': 'tls',
        }
    )


def test_a_kubeconfig_is_verified_unless_it_or_the_fabric_says_otherwise(tls_server):
    url, ca_pem = tls_server

    with pytest.raises(SourceError, match='CERTIFICATE_VERIFY_FAILED'):
        list_fabric_resources(make_fabric(kubeconfig=tls_kubeconfig(url)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert (
            list_fabric_resources(
                make_fabric(
                    kubeconfig=tls_kubeconfig(url, **{'insecure-skip-tls-verify': True}),
                )
            ).complete_kinds
            == ALL_KINDS
        )
        assert (
            list_fabric_resources(
                make_fabric(
                    kubeconfig=tls_kubeconfig(url),
                    kubernetes_verify_tls=False,
                )
            ).complete_kinds
            == ALL_KINDS
        )
    assert not [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)]
    ca_data = base64.b64encode(ca_pem.encode()).decode()
    assert (
        list_fabric_resources(
            make_fabric(
                kubeconfig=tls_kubeconfig(url, **{'certificate-authority-data': ca_data}),
            )
        ).complete_kinds
        == ALL_KINDS
    )


def test_a_tls_failure_is_not_retried(tls_server, fast_backoff):
    url, _ = tls_server
    calls = []
    original = client.CustomObjectsApi.list_namespaced_custom_object

    def counting(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client.CustomObjectsApi, 'list_namespaced_custom_object', counting)
        with pytest.raises(SourceError, match=': TLS error: .*CERTIFICATE_VERIFY_FAILED') as caught:
            list_fabric_resources(make_fabric(kubernetes_server=url))

    assert len(calls) == 1
    assert 'attempts' not in str(caught.value)


def test_a_kubeconfig_pointing_at_the_server_works(api):
    api.add(manifest('Switch', 'spine-01', {'role': 'spine'}))

    listing = list_fabric_resources(
        make_fabric(kubeconfig=api.kubeconfig(token='from-kubeconfig'), allow_insecure_transport=True)
    )

    assert [obj.key for obj in listing.objects] == [('Switch', 'default', 'spine-01')]
    assert api.list_requests('Switch')[0].headers['Authorization'] == 'Bearer from-kubeconfig'


def test_server_token_and_ca_configure_a_client_of_its_own(tls_server):
    _, pem = tls_server
    fabric = make_fabric(kubernetes_server='https://10.0.0.1:6443', kubernetes_token=TOKEN, kubernetes_ca_cert=pem)

    default_before = default_configuration()
    api_client = build_api_client(fabric)

    configuration = api_client.configuration
    assert configuration.host == 'https://10.0.0.1:6443'
    assert configuration.verify_ssl is True
    ssl_context = api_client.rest_client.pool_manager.connection_pool_kw['ssl_context']
    assert [ca['subject'] for ca in ssl_context.get_ca_certs()] == [((('commonName', 'kmock test'),),)]
    assert configuration.get_api_key_with_prefix('authorization') == f'Bearer {TOKEN}'
    assert default_configuration() == default_before
    api_client.close()


def test_a_kubeconfig_leaves_the_default_configuration_alone(api):
    default_before = default_configuration()

    api_client = build_api_client(make_fabric(kubeconfig=api.kubeconfig(), allow_insecure_transport=True))

    assert api_client.configuration.host == api.url
    assert default_configuration() == default_before
    api_client.close()


def test_no_source_configured(monkeypatch):
    monkeypatch.delenv('KUBERNETES_SERVICE_HOST', raising=False)

    with pytest.raises(SourceError, match='^no Kubernetes API configured$'):
        build_api_client(make_fabric())


def test_the_in_cluster_account_is_not_used_unless_the_fabric_says_so(monkeypatch):
    monkeypatch.setenv('KUBERNETES_SERVICE_HOST', '10.96.0.1')
    monkeypatch.setenv('KUBERNETES_SERVICE_PORT', '443')

    with pytest.raises(SourceError, match='^no Kubernetes API configured$'):
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


@pytest.mark.parametrize(
    ('text', 'message'),
    [
        (
            KUBECONFIG.replace('  user: {token: sekrit-token}', '  user: {token: sekrit-token'),
            r'^The kubeconfig is not valid YAML: .* at line \d+\.$',
        ),
        ('- just\n- a list\n', '^The kubeconfig must be a YAML mapping'),
        ('', '^The kubeconfig must be a YAML mapping'),
        ('apiVersion: v1\nkind: Config\n', '^The kubeconfig has no clusters, contexts, current-context.$'),
        (KUBECONFIG.replace('current-context: lab', ''), '^The kubeconfig has no current-context.$'),
        (
            KUBECONFIG.replace('current-context: lab', 'current-context: prod'),
            '^The current-context "prod" is not one of the contexts.$',
        ),
    ],
)
def test_parse_kubeconfig_errors_are_readable(text, message):
    with pytest.raises(KubeconfigError, match=message) as caught:
        parse_kubeconfig(text)

    assert 'sekrit-token' not in str(caught.value)


def test_a_broken_kubeconfig_is_a_source_error():
    with pytest.raises(SourceError, match='kubeconfig'):
        build_api_client(make_fabric(kubeconfig='clusters: [}'))
