"""Read a fabric's custom resources from its Kubernetes API."""

import os
import ssl
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from kubernetes import client

from ..choices import ResourceSourceChoices
from ..fields import reveal
from ..kinds import FABRIC_KINDS, KINDS_BY_NAME
from ..settings import plugin_setting
from .base import ResourceObject, Source, SourceCheck, SourceError, SourceListing, register_source
from .kube_credentials import (
    ClusterCredentials,
    CredentialError,
    check_pem,
    check_server,
    check_token,
    check_transport,
    in_cluster_credentials,
    read_kubeconfig,
)
from .redact import redact_resource

PAGE_SIZE = 500
# Seconds before the second attempt of a request; doubled before each further one (0.5 s, 1 s, 2 s, …).
BACKOFF = 0.5
DEFAULT_RETRIES = 3
# Only these answers may be worth asking again; 400/401/403/404/422 never change by waiting.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
REVISION_LENGTH = 500
# The pause between attempts; tests replace it to record the back-off instead of waiting it out.
sleep = time.sleep


def fabric_credentials(fabric):
    """The credentials of the fabric's one configured way in: in-cluster account, kubeconfig, or server and token.

    Checked again here although the fabric's ``clean()`` checks them at save: rows written
    before those checks existed, or by other means, must not get through either.
    """
    if fabric.kubernetes_in_cluster:
        if fabric.kubeconfig or fabric.kubernetes_server or fabric.kubernetes_token:
            raise CredentialError('the in-cluster account is on, but an API server, token or kubeconfig is also set')
        return in_cluster_credentials()
    if fabric.kubeconfig:
        return read_kubeconfig(reveal(fabric.kubeconfig))
    if fabric.kubernetes_server:
        credentials = ClusterCredentials(
            server=check_server(fabric.kubernetes_server),
            token=check_token(reveal(fabric.kubernetes_token)),
            ca_pem=fabric.kubernetes_ca_cert,
        )
        check_pem(credentials)
        return credentials
    raise SourceError('no Kubernetes API configured')


def build_api_client(fabric):
    """Return an API client for the fabric's cluster, configured on its own so fabrics never share credentials.

    The client is configured from :func:`fabric_credentials` only (never by the kubernetes
    client's kubeconfig loader), after :func:`check_transport`. TLS is verified unless the fabric
    turns it off (``kubernetes_verify_tls``) or its kubeconfig says ``insecure-skip-tls-verify``.
    urllib3's own retries are off: :func:`call_with_retries` is the only retry policy, so a
    hanging server costs one timeout per attempt, not four.
    """
    credentials = fabric_credentials(fabric)
    check_transport(credentials, fabric.allow_insecure_transport)
    configuration = client.Configuration()
    configuration.host = credentials.server
    if credentials.token:
        configuration.api_key = {'authorization': credentials.token}
        configuration.api_key_prefix = {'authorization': 'Bearer'}
    configuration.verify_ssl = credentials.verify_tls and fabric.kubernetes_verify_tls
    configuration.retries = False
    api_client = client.ApiClient(configuration)
    pool_manager = api_client.rest_client.pool_manager
    if urlsplit(credentials.server).scheme == 'https':
        pool_manager.connection_pool_kw['ssl_context'] = tls_context(credentials, configuration.verify_ssl)
    if not configuration.verify_ssl:
        # The operator chose this for this fabric: no InsecureRequestWarning on every request of
        # its client. Done on the client's own pool manager, so other clients still warn.
        pool_manager.pool_classes_by_scheme = {
            **pool_manager.pool_classes_by_scheme,
            'https': UnverifiedHTTPSConnectionPool,
        }
    return api_client


def tls_context(credentials, verify):
    """An SSL context holding the CA and client certificate in memory.

    ``load_cert_chain`` reads files only: the certificate and key are written to a private
    directory (0700) that is removed before this returns, so nothing is left behind even by a
    work horse that ends with ``os._exit`` (the kubernetes client's own temp files are removed
    only at interpreter exit).
    """
    try:
        context = ssl.create_default_context(cadata=credentials.ca_pem or None)
    except ssl.SSLError:
        raise CredentialError('the CA certificate cannot be used') from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if credentials.client_cert_pem:
        with tempfile.TemporaryDirectory(prefix='netbox-hedgehog-tls-') as directory:
            cert_file, key_file = Path(directory, 'client.crt'), Path(directory, 'client.key')
            for path, text in ((cert_file, credentials.client_cert_pem), (key_file, credentials.client_key_pem)):
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as file:
                    file.write(text)
            try:
                context.load_cert_chain(cert_file, key_file)
            except ssl.SSLError:
                raise CredentialError('the client certificate and key do not belong together') from None
    return context


class UnverifiedHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    """An HTTPS pool that does what urllib3's does before a request, minus the InsecureRequestWarning."""

    def _validate_conn(self, conn):
        urllib3.HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


def kubernetes_attempts():
    """How many times one request is tried (plugin setting ``kubernetes_retries``; at least once)."""
    value = plugin_setting('kubernetes_retries')
    return DEFAULT_RETRIES if value is None else max(1, int(value))


def is_transient(exc):
    """Whether a failed request may succeed when tried again: refused/reset connections, timeouts, 429, 5xx."""
    if isinstance(exc, client.ApiException):
        return exc.status in TRANSIENT_STATUSES
    reason = getattr(exc, 'reason', None) or exc  # MaxRetryError wraps the last failure
    if isinstance(reason, (urllib3.exceptions.NameResolutionError, urllib3.exceptions.SSLError)):
        return False
    return isinstance(
        reason,
        (
            urllib3.exceptions.NewConnectionError,
            urllib3.exceptions.TimeoutError,
            urllib3.exceptions.ProtocolError,
        ),
    )


def call_with_retries(call, attempts=None):
    """Return ``call()``, trying again after 0.5 s, 1 s, 2 s … while it fails transiently.

    At most ``attempts`` tries (default: :func:`kubernetes_attempts`). The last exception is
    raised with the number of tries made in its ``attempts`` attribute.
    """
    attempts = attempts or kubernetes_attempts()
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except (client.ApiException, urllib3.exceptions.HTTPError) as exc:
            if attempt == attempts or not is_transient(exc):
                exc.attempts = attempt
                raise
        sleep(BACKOFF * 2 ** (attempt - 1))
    raise AssertionError('unreachable')


def attempts_suffix(exc):
    attempts = getattr(exc, 'attempts', 1)
    return f' after {attempts} attempts' if attempts > 1 else ''


def list_fabric_resources(fabric, kinds=FABRIC_KINDS, stored=None):
    """List every object of ``kinds`` in the fabric's namespace.

    A kind the cluster does not serve (404) is left out of ``complete_kinds``, so that
    a fabric running an older Hedgehog release never has that kind pruned. The listing's
    ``revision`` is ``Kind=resourceVersion`` of each listed kind, in ``FABRIC_KINDS`` order.
    Objects are built page by page; one whose uid and resourceVersion are those of its row in
    ``stored`` (see ``Source.fetch``) only has its key noted in ``unchanged``.
    """
    listing = SourceListing(source='kubernetes', objects=[], complete_kinds=set())
    api_client = build_api_client(fabric)
    try:
        api = client.CustomObjectsApi(api_client)
        namespace = fabric.kubernetes_namespace or 'default'
        timeout = plugin_setting('kubernetes_timeout')
        versions = {}
        for kind in kinds:
            built, unchanged = len(listing.objects), set()
            for items, version in _list_kind(api, kind, namespace, timeout):
                started = time.perf_counter()
                for item in items:
                    _take(listing.objects, unchanged, item, kind, stored)
                listing.parse_seconds += time.perf_counter() - started
                if version is _NOT_SERVED:
                    del listing.objects[built:]
                    break
                if version is not None:
                    versions[kind.kind] = version
                    listing.unchanged |= unchanged
                    listing.complete_kinds.add(kind.kind)
    finally:
        api_client.close()
    listing.revision = revision_string(versions)
    return listing


def _take(objects, unchanged, item, kind, stored):
    """Add a listed item to ``objects``, or only its key to ``unchanged`` when ``stored`` has it at this version."""
    metadata = item.get('metadata') or {}
    key = (item.get('kind') or kind.kind, metadata.get('namespace') or 'default', metadata['name'])
    row = stored.get(key) if stored else None
    version = metadata.get('resourceVersion') or ''
    if row is not None and version and row['resource_version'] == version and row['uid'] == (metadata.get('uid') or ''):
        unchanged.add(key)
    else:
        objects.append(redact_resource(_resource_object(item, kind)))


def revision_string(versions):
    """``Switch=123,Server=124,…`` for the listed kinds in ``FABRIC_KINDS`` order, at most 500 characters."""
    order = [kind.kind for kind in FABRIC_KINDS]
    kinds = sorted(versions, key=lambda name: order.index(name) if name in order else len(order))
    return ','.join(f'{kind}={versions[kind]}' for kind in kinds)[:REVISION_LENGTH]


# What _list_kind yields as the version when the cluster does not serve the kind.
_NOT_SERVED = object()


def _list_kind(api, kind, namespace, timeout):
    """Yield the pages of one kind as ``(items, version)``, following ``continue``.

    ``version`` is None on every page but the last, which carries the list's resourceVersion;
    it is ``_NOT_SERVED`` (with no items) when the cluster does not serve the kind. Each page
    is tried again on transient errors.
    """
    token = None
    host = api.api_client.configuration.host
    while True:
        try:
            page = call_with_retries(
                lambda token=token: api.list_namespaced_custom_object(
                    kind.group,
                    kind.version,
                    namespace,
                    kind.plural,
                    limit=PAGE_SIZE,
                    _continue=token,
                    _request_timeout=timeout,
                )
            )
        except client.ApiException as exc:
            if exc.status == 404:
                yield [], _NOT_SERVED
                return
            error = api_error(exc, host, kind, namespace)
            raise SourceError(f'{error}{attempts_suffix(exc)}') from exc
        except urllib3.exceptions.HTTPError as exc:
            raise SourceError(f'{connection_error(exc, host)}{attempts_suffix(exc)}') from exc
        metadata = page.get('metadata') or {}
        token = metadata.get('continue')
        yield page.get('items') or [], None if token else metadata.get('resourceVersion') or ''
        if not token:
            return


def api_error(exc, host, kind, namespace):
    resource = f'{kind.plural}.{kind.group}'
    if exc.status == 401:
        return SourceError(f'the token was rejected (401) listing {resource} at {host}')
    if exc.status == 403:
        return SourceError(f'forbidden (403): the account may not list {resource} in namespace {namespace}')
    if exc.status == 0:  # how the client reports a TLS failure when urllib3 does not retry
        kind_of_error, _, detail = str(exc.reason).partition('\n')
        problem = (
            f'TLS error: {detail.strip()}'
            if kind_of_error == 'SSLError' and detail.strip()
            else str(exc.reason).splitlines()[-1]
        )
        return SourceError(f'cannot reach the Kubernetes API at {host}: {problem}')
    return SourceError(f'the Kubernetes API answered {exc.status} {exc.reason} listing {resource}')


def connection_error(exc, host):
    reason = getattr(exc, 'reason', None) or exc  # MaxRetryError wraps the last failure
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2, so it must be tested first.
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        problem = 'the host name does not resolve'
    elif isinstance(reason, urllib3.exceptions.NewConnectionError):
        problem = str(reason).rpartition('new connection: ')[2]
    elif isinstance(reason, urllib3.exceptions.TimeoutError):
        problem = 'timed out'
    elif isinstance(reason, urllib3.exceptions.ProtocolError) and len(reason.args) > 1:
        # ('Connection aborted.', ConnectionResetError(…))
        problem = f'{reason.args[0].rstrip(".")}: {describe_cause(reason.args[1])}'
    elif isinstance(reason, urllib3.exceptions.SSLError):
        problem = f'TLS error: {reason.args[0] if reason.args else reason}'
    else:
        problem = type(reason).__name__  # other exceptions' text may quote the request, headers included
    return f'cannot reach the Kubernetes API at {host}: {problem}'


def describe_cause(cause):
    """An OS error as its errno text (``ConnectionResetError: [Errno 104] …``); anything else by its type only."""
    if isinstance(cause, OSError) and cause.strerror:
        return f'{type(cause).__name__}: [Errno {cause.errno}] {cause.strerror}'
    return type(cause).__name__


def _resource_object(item, kind):
    metadata = item.get('metadata') or {}
    return ResourceObject(
        api_version=item.get('apiVersion') or kind.api_version,
        kind=item.get('kind') or kind.kind,
        namespace=metadata.get('namespace') or 'default',
        name=metadata['name'],
        spec=item.get('spec') or {},
        status=item.get('status') or {},
        labels=metadata.get('labels') or {},
        annotations=metadata.get('annotations') or {},
        resource_version=metadata.get('resourceVersion') or '',
        uid=metadata.get('uid') or '',
    )


@register_source
class KubernetesSource(Source):
    """The fabric's Kubernetes API: the custom resources the cluster holds now."""

    name = ResourceSourceChoices.KUBERNETES
    label = 'Kubernetes'
    step = 'fetch_kubernetes'
    revision_field = 'kubernetes_revision'
    read_at_field = 'kubernetes_read_at'
    parse_step = 'parse_kubernetes'
    setup_hint = 'a Kubernetes API'
    # The kind the probe asks for: every Hedgehog fabric has switches.
    probe_kind = KINDS_BY_NAME['Switch']

    @classmethod
    def is_configured(cls, fabric):
        return fabric.has_kubernetes_source

    def fetch(self, stored=None):
        return list_fabric_resources(self.fabric, stored=stored)

    def probe(self):
        """List at most one switch in the fabric's namespace: proves reachability, TLS and the token."""
        kind = self.probe_kind
        api_client = build_api_client(self.fabric)
        host = api_client.configuration.host
        namespace = self.fabric.kubernetes_namespace or 'default'
        try:
            api = client.CustomObjectsApi(api_client)
            api.list_namespaced_custom_object(
                kind.group,
                kind.version,
                namespace,
                kind.plural,
                limit=1,
                _request_timeout=plugin_setting('kubernetes_timeout'),
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return SourceCheck(
                    True,
                    f'{host} answers, but does not serve {kind.plural}.{kind.group} (are the Hedgehog CRDs installed?)',
                )
            return SourceCheck(False, str(api_error(exc, host, kind, namespace)))
        except urllib3.exceptions.HTTPError as exc:
            return SourceCheck(False, connection_error(exc, host))
        finally:
            api_client.close()
        return SourceCheck(True, f'{host}: may list {kind.plural} in namespace {namespace}')
