"""Which credentials a fabric's Kubernetes client may use, checked at save and again before every request.

A kubeconfig is code for kubectl: ``exec`` and ``auth-provider`` run commands, the path keys read
files, ``proxy-url`` sends the traffic elsewhere. kubectl may trust it because its user wrote it for
themselves; a fabric's kubeconfig is written by any fabric editor and used by the NetBox worker. So
only an allow-list of inline keys is accepted, and the kubernetes client's own kubeconfig loader
never sees the text: :func:`read_kubeconfig` returns the :class:`ClusterCredentials` of the current
context and the client is configured from those alone.

Messages name keys, never values: the text holds credentials.
"""

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .base import SourceError

# Where a pod has its service account (a module constant so tests can point it at a directory of their own).
SERVICE_ACCOUNT_DIR = Path('/var/run/secrets/kubernetes.io/serviceaccount')

# The keys a kubeconfig may hold, per level; everything else is refused.
ALLOWED_KEYS = {
    'kubeconfig': frozenset(('apiVersion', 'kind', 'preferences', 'clusters', 'users', 'contexts', 'current-context')),
    'cluster': frozenset(('server', 'certificate-authority-data', 'insecure-skip-tls-verify')),
    'user': frozenset(('token', 'client-certificate-data', 'client-key-data')),
    'context': frozenset(('cluster', 'user', 'namespace')),
}
# Why well-known keys are refused; any other key gets the generic reason.
REFUSAL_REASONS = {
    'exec': 'it runs a command on the NetBox worker',
    'auth-provider': 'it runs a command or reads files on the NetBox worker',
    'tokenFile': 'it reads a file on the NetBox worker; paste the token as "token"',
    'client-certificate': 'it reads a file on the NetBox worker; paste the certificate as "client-certificate-data"',
    'client-key': 'it reads a file on the NetBox worker; paste the key as "client-key-data"',
    'certificate-authority': 'it reads a file on the NetBox worker; paste the CA as "certificate-authority-data"',
    'proxy-url': 'it sends the connection through another host',
    'username': 'basic authentication is not accepted; use a token or a client certificate',
    'password': 'basic authentication is not accepted; use a token or a client certificate',
}
UNKNOWN_KEY_REASON = 'only inline credentials are accepted'
NAME_SHOWN = 60


class CredentialError(SourceError):
    """Credentials that must not be used; the message is safe to show next to the form field."""


class KubeconfigError(CredentialError):
    """The kubeconfig text cannot be used."""


@dataclass(frozen=True)
class ClusterCredentials:
    """Everything the client needs to reach one API server; secrets are left out of ``repr()``."""

    server: str
    token: str = field(default='', repr=False)
    ca_pem: str = ''
    client_cert_pem: str = ''
    client_key_pem: str = field(default='', repr=False)
    verify_tls: bool = True


def check_server(url, what='The API server'):
    """Return ``url`` if it is an http(s) URL of a host without user:password; raise otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ('http', 'https') or not parts.hostname or any(char.isspace() for char in url):
        raise CredentialError(f'{what} must be an http:// or https:// URL.')
    if '@' in parts.netloc:
        raise CredentialError(f'{what} must not contain user:password@; give a token instead.')
    return url


def check_token(token, what='The token'):
    """Return the token without surrounding whitespace; refuse what an HTTP header cannot carry.

    Only visible Latin-1 characters are accepted, so http.client never refuses the header (its
    error would quote the whole ``Authorization`` header).
    """
    token = token.strip()
    if any(not (0x21 <= ord(char) <= 0x7E or 0xA1 <= ord(char) <= 0xFF) for char in token):
        raise CredentialError(
            f'{what} contains whitespace, a control character or a character outside Latin-1; '
            'paste the token exactly as issued.'
        )
    return token


def check_transport(credentials, allow_insecure):
    """Refuse to send a token or client key over plain http:// unless the fabric allows insecure transport.

    The connection test and the sync both build their client through this check.
    """
    if urlsplit(credentials.server).scheme == 'http' and (credentials.token or credentials.client_key_pem):
        if not allow_insecure:
            raise CredentialError(
                f'refusing to send credentials to {credentials.server} over plain http://: use https://, '
                'or turn on "allow insecure transport" for this fabric'
            )


def parse_kubeconfig(text):
    """Parse a kubeconfig and refuse every key that is not inline material (see the module docstring)."""
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
    refused = _refused_keys(data)
    if refused:
        raise KubeconfigError(' '.join(f'The kubeconfig may not contain {path}: {reason}.' for path, reason in refused))
    missing = [key for key in ('clusters', 'contexts', 'current-context') if not data.get(key)]
    if missing:
        raise KubeconfigError(f'The kubeconfig has no {", ".join(missing)}.')
    contexts = {context['name'] for context in data['contexts']}
    if not isinstance(data['current-context'], str) or data['current-context'] not in contexts:
        raise KubeconfigError(f'The current-context "{_shown(data["current-context"])}" is not one of the contexts.')
    return data


def read_kubeconfig(text):
    """The :class:`ClusterCredentials` of the kubeconfig's current context."""
    data = parse_kubeconfig(text)
    context = _named(data, 'contexts', data['current-context'])
    cluster = _named(data, 'clusters', context.get('cluster'))
    user = _named(data, 'users', context['user']) if context.get('user') else {}
    for key, value in (*cluster.items(), *user.items(), *context.items()):
        wanted = bool if key == 'insecure-skip-tls-verify' else str
        if not isinstance(value, wanted):
            raise KubeconfigError(f'The kubeconfig\'s "{key}" must be a {"boolean" if wanted is bool else "string"}.')
    if not cluster.get('server'):
        raise KubeconfigError('The kubeconfig\'s current cluster has no "server".')
    client_cert = _pem_data(user, 'client-certificate-data')
    client_key = _pem_data(user, 'client-key-data')
    if bool(client_cert) != bool(client_key):
        raise KubeconfigError('The kubeconfig needs both "client-certificate-data" and "client-key-data", or neither.')
    credentials = ClusterCredentials(
        server=check_server(cluster['server'], 'The kubeconfig\'s "server"'),
        token=check_token(user.get('token', ''), 'The kubeconfig\'s "token"'),
        ca_pem=_pem_data(cluster, 'certificate-authority-data'),
        client_cert_pem=client_cert,
        client_key_pem=client_key,
        verify_tls=not cluster.get('insecure-skip-tls-verify', False),
    )
    check_pem(credentials)
    return credentials


def check_pem(credentials):
    """Refuse a CA, client certificate or key that is not PEM: the failure shows at save, not at the handshake."""
    for name, value in (('CA certificate', credentials.ca_pem), ('client certificate', credentials.client_cert_pem)):
        if value:
            try:
                x509.load_pem_x509_certificates(value.strip().encode())
            except ValueError:
                raise CredentialError(f'The {name} is not a PEM certificate (-----BEGIN CERTIFICATE-----).') from None
    if credentials.client_key_pem:
        try:
            serialization.load_pem_private_key(credentials.client_key_pem.encode(), password=None)
        except (ValueError, TypeError):
            raise CredentialError('The client key is not an unencrypted PEM private key.') from None


def in_cluster_credentials():
    """The service account of the pod the worker runs in: its environment and its mounted token and CA.

    Read on every run, as the kubelet rotates the token. The namespace listed is the fabric's
    own (a required field), not the pod's.
    """
    host, port = os.environ.get('KUBERNETES_SERVICE_HOST'), os.environ.get('KUBERNETES_SERVICE_PORT')
    if not host or not port:
        raise CredentialError(
            'the in-cluster account is not available: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not '
            'set (does the worker run in a pod?)'
        )
    files = {}
    for name in ('token', 'ca.crt'):
        try:
            files[name] = (SERVICE_ACCOUNT_DIR / name).read_text()
        except OSError as exc:
            raise CredentialError(
                f'the in-cluster account is not available: cannot read {SERVICE_ACCOUNT_DIR / name} '
                f'({exc.strerror or type(exc).__name__})'
            ) from None
    server = f'https://[{host}]:{port}' if ':' in host else f'https://{host}:{port}'
    return ClusterCredentials(
        server=check_server(server, 'The in-cluster API address'),
        token=check_token(files['token'], 'The in-cluster service account token'),
        ca_pem=files['ca.crt'],
    )


def _refused_keys(data):
    """``(path, reason)`` of every key outside the allow-list, e.g. ``('users["admin"].user.exec', …)``."""
    refused = [(key, _reason(key)) for key in data if key not in ALLOWED_KEYS['kubeconfig']]
    for section, inner in (('clusters', 'cluster'), ('users', 'user'), ('contexts', 'context')):
        entries = data.get(section) or []
        if not isinstance(entries, list):
            raise KubeconfigError(f'The kubeconfig\'s "{section}" must be a list.')
        for index, entry in enumerate(entries):
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get('name'), str)
                or not isinstance(entry.get(inner) or {}, dict)
            ):
                raise KubeconfigError(
                    f'The kubeconfig\'s {section}[{index}] must be a mapping with "name" and "{inner}".'
                )
            label = f'{section}["{_shown(entry.get("name"))}"]'
            refused.extend((f'{label}.{key}', _reason(key)) for key in entry if key not in ('name', inner))
            refused.extend(
                (f'{label}.{inner}.{key}', _reason(key))
                for key in entry.get(inner) or {}
                if key not in ALLOWED_KEYS[inner]
            )
    return refused


def _reason(key):
    return REFUSAL_REASONS.get(key, UNKNOWN_KEY_REASON)


def _shown(name):
    return str(name)[:NAME_SHOWN]


def _named(data, section, name):
    for entry in data.get(section) or []:
        if entry.get('name') == name:
            return entry.get(section[:-1]) or {}
    raise KubeconfigError(f'The kubeconfig has no entry "{_shown(name)}" in {section}.')


def _pem_data(entry, key):
    """The PEM text of a base64 ``*-data`` key ('' when absent)."""
    value = entry.get(key)
    if not value:
        return ''
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise KubeconfigError(f'The kubeconfig\'s "{key}" is not base64-encoded PEM.') from None
