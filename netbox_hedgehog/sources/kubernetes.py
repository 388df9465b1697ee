"""Read a fabric's custom resources from its Kubernetes API."""

import os
import time

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from ..fields import reveal
from ..kinds import FABRIC_KINDS
from ..settings import plugin_setting
from .base import ResourceObject, SourceError, SourceListing
from .redact import redact_resource

PAGE_SIZE = 500
# Seconds before the second attempt of a request; doubled before each further one (0.5 s, 1 s, 2 s, …).
BACKOFF = 0.5
DEFAULT_RETRIES = 3
# Only these answers may be worth asking again; 400/401/403/404/422 never change by waiting.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
REVISION_LENGTH = 500


class KubeconfigError(SourceError):
    """The kubeconfig text cannot be used; the message is safe to show next to the form field."""


def parse_kubeconfig(text):
    """Parse a kubeconfig, so that a broken one is refused when the fabric is saved rather than at its next sync.

    Messages never quote the text itself: it holds credentials.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise KubeconfigError(
            f'The kubeconfig is not valid YAML: {exc.problem} at line {exc.problem_mark.line + 1}.'
        ) from None
    except yaml.YAMLError:
        raise KubeconfigError('The kubeconfig is not valid YAML.') from None
    if not isinstance(data, dict):
        raise KubeconfigError('The kubeconfig must be a YAML mapping (apiVersion, clusters, contexts, users, …).')
    missing = [key for key in ('clusters', 'contexts', 'current-context') if not data.get(key)]
    if missing:
        raise KubeconfigError(f'The kubeconfig has no {", ".join(missing)}.')
    contexts = {context.get('name') for context in data['contexts'] if isinstance(context, dict)}
    if data['current-context'] not in contexts:
        raise KubeconfigError(f'The current-context "{data["current-context"]}" is not one of the contexts.')
    return data


def build_api_client(fabric):
    """Return an API client for the fabric's cluster, configured on its own so fabrics never share credentials.

    TLS is verified unless the fabric turns it off (``kubernetes_verify_tls``) or its kubeconfig
    says ``insecure-skip-tls-verify``. urllib3's own retries are off: :func:`call_with_retries`
    is the only retry policy, so a hanging server costs one timeout per attempt, not four.
    """
    configuration = client.Configuration()
    try:
        if fabric.kubeconfig:
            config.load_kube_config_from_dict(
                parse_kubeconfig(reveal(fabric.kubeconfig)),
                client_configuration=configuration,
                persist_config=False,
            )
        elif fabric.kubernetes_server:
            configuration.host = fabric.kubernetes_server
            if fabric.kubernetes_token:
                configuration.api_key = {'authorization': reveal(fabric.kubernetes_token)}
                configuration.api_key_prefix = {'authorization': 'Bearer'}
            configuration.ca_cert_data = fabric.kubernetes_ca_cert or None
        elif os.environ.get('KUBERNETES_SERVICE_HOST'):
            config.load_incluster_config(client_configuration=configuration)
        else:
            raise SourceError('no Kubernetes API configured')
    except ConfigException as exc:
        raise SourceError(f'cannot use the Kubernetes configuration: {exc}') from None
    if not getattr(fabric, 'kubernetes_verify_tls', True):
        configuration.verify_ssl = False
    configuration.retries = False
    api_client = client.ApiClient(configuration)
    if not configuration.verify_ssl:
        # The operator chose this for this fabric: no InsecureRequestWarning on every request of
        # its client. Done on the client's own pool manager, so other clients still warn.
        pool_manager = api_client.rest_client.pool_manager
        pool_manager.pool_classes_by_scheme = {
            **pool_manager.pool_classes_by_scheme,
            'https': UnverifiedHTTPSConnectionPool,
        }
    return api_client


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
        time.sleep(BACKOFF * 2 ** (attempt - 1))
    raise AssertionError('unreachable')


def attempts_suffix(exc):
    attempts = getattr(exc, 'attempts', 1)
    return f' after {attempts} attempts' if attempts > 1 else ''


def list_fabric_resources(fabric, kinds=FABRIC_KINDS):
    """List every object of ``kinds`` in the fabric's namespace.

    A kind the cluster does not serve (404) is left out of ``complete_kinds``, so that
    a fabric running an older Hedgehog release never has that kind pruned. The listing's
    ``revision`` is ``Kind=resourceVersion`` of each listed kind, in ``FABRIC_KINDS`` order.
    """
    listing = SourceListing(source='kubernetes', objects=[], complete_kinds=set())
    api_client = build_api_client(fabric)
    try:
        api = client.CustomObjectsApi(api_client)
        namespace = fabric.kubernetes_namespace or 'default'
        timeout = plugin_setting('kubernetes_timeout')
        versions = {}
        for kind in kinds:
            listed = _list_kind(api, kind, namespace, timeout)
            if listed is not None:
                items, versions[kind.kind] = listed
                listing.objects.extend(redact_resource(_resource_object(item, kind)) for item in items)
                listing.complete_kinds.add(kind.kind)
    finally:
        api_client.close()
    listing.revision = revision_string(versions)
    return listing


def revision_string(versions):
    """``Switch=123,Server=124,…`` for the listed kinds in ``FABRIC_KINDS`` order, at most 500 characters."""
    order = [kind.kind for kind in FABRIC_KINDS]
    kinds = sorted(versions, key=lambda name: order.index(name) if name in order else len(order))
    return ','.join(f'{kind}={versions[kind]}' for kind in kinds)[:REVISION_LENGTH]


def _list_kind(api, kind, namespace, timeout):
    """Return ``(items, resourceVersion)`` of one kind, following ``continue``.

    None when the cluster does not serve the kind. Each page is tried again on transient errors.
    """
    items, token = [], None
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
                return None
            error = api_error(exc, host, kind, namespace)
            raise SourceError(f'{error}{attempts_suffix(exc)}') from exc
        except urllib3.exceptions.HTTPError as exc:
            raise SourceError(f'{connection_error(exc, host)}{attempts_suffix(exc)}') from exc
        items.extend(page.get('items') or [])
        metadata = page.get('metadata') or {}
        token = metadata.get('continue')
        if not token:
            return items, metadata.get('resourceVersion') or ''


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
        problem = f'{reason.args[0].rstrip(".")}: {reason.args[1]}'  # ('Connection aborted.', ConnectionResetError(…))
    elif isinstance(reason, urllib3.exceptions.SSLError):
        problem = f'TLS error: {reason.args[0] if reason.args else reason}'
    else:
        problem = str(reason)
    return f'cannot reach the Kubernetes API at {host}: {problem}'


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
