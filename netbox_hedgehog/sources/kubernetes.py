"""Read a fabric's custom resources from its Kubernetes API."""

import os

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from ..kinds import FABRIC_KINDS
from ..settings import plugin_setting
from .base import ResourceObject, SourceError, SourceListing

PAGE_SIZE = 500


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
    """Return an API client for the fabric's cluster, configured on its own so fabrics never share credentials."""
    configuration = client.Configuration()
    try:
        if fabric.kubeconfig:
            config.load_kube_config_from_dict(
                parse_kubeconfig(fabric.kubeconfig), client_configuration=configuration, persist_config=False,
            )
        elif fabric.kubernetes_server:
            configuration.host = fabric.kubernetes_server
            if fabric.kubernetes_token:
                configuration.api_key = {'authorization': fabric.kubernetes_token}
                configuration.api_key_prefix = {'authorization': 'Bearer'}
            configuration.ca_cert_data = fabric.kubernetes_ca_cert or None
        elif os.environ.get('KUBERNETES_SERVICE_HOST'):
            config.load_incluster_config(client_configuration=configuration)
        else:
            raise SourceError('no Kubernetes API configured')
    except ConfigException as exc:
        raise SourceError(f'cannot use the Kubernetes configuration: {exc}') from None
    return client.ApiClient(configuration)


def list_fabric_resources(fabric, kinds=FABRIC_KINDS):
    """List every object of ``kinds`` in the fabric's namespace.

    A kind the cluster does not serve (404) is left out of ``complete_kinds``, so that
    a fabric running an older Hedgehog release never has that kind pruned.
    """
    listing = SourceListing(source='kubernetes', objects=[], complete_kinds=set())
    api_client = build_api_client(fabric)
    try:
        api = client.CustomObjectsApi(api_client)
        namespace = fabric.kubernetes_namespace or 'default'
        timeout = plugin_setting('kubernetes_timeout')
        for kind in kinds:
            items = _list_kind(api, kind, namespace, timeout)
            if items is not None:
                listing.objects.extend(_resource_object(item, kind) for item in items)
                listing.complete_kinds.add(kind.kind)
    finally:
        api_client.close()
    return listing


def _list_kind(api, kind, namespace, timeout):
    """Return all items of one kind, following ``continue``, or None when the cluster does not serve the kind."""
    items, token = [], None
    while True:
        try:
            page = api.list_namespaced_custom_object(
                kind.group, kind.version, namespace, kind.plural,
                limit=PAGE_SIZE, _continue=token, _request_timeout=timeout,
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise api_error(exc, api.api_client.configuration.host, kind, namespace) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise SourceError(connection_error(exc, api.api_client.configuration.host)) from exc
        items.extend(page.get('items') or [])
        token = (page.get('metadata') or {}).get('continue')
        if not token:
            return items


def api_error(exc, host, kind, namespace):
    resource = f'{kind.plural}.{kind.group}'
    if exc.status == 401:
        return SourceError(f'the token was rejected (401) listing {resource} at {host}')
    if exc.status == 403:
        return SourceError(f'forbidden (403): the account may not list {resource} in namespace {namespace}')
    if exc.status == 0:  # how the client reports a TLS failure when urllib3 does not retry
        return SourceError(f'cannot reach the Kubernetes API at {host}: {str(exc.reason).splitlines()[-1]}')
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
        labels=metadata.get('labels') or {},
        annotations=metadata.get('annotations') or {},
        resource_version=metadata.get('resourceVersion') or '',
        uid=metadata.get('uid') or '',
    )
