"""The fabric's "Test connection": one cheap call per source, run in the worker, result kept on the fabric.

The web request only enqueues :func:`check_fabric_connection` on the plugin's queue
(``FabricScheduler.trigger_connection_test``); the job
asks the Kubernetes API for one object of one kind (with the sync's own client setup) and
runs ``git ls-remote`` for the branch, then writes ``connection_status``,
``connection_message`` and ``connection_checked`` on the fabric and returns the same as its
RQ job result.
"""

import logging
from dataclasses import asdict, dataclass

import urllib3
from django.utils import timezone
from git import GitCommandError
from git.cmd import Git
from kubernetes import client

from ..choices import ConnectionStatusChoices
from ..kinds import KINDS_BY_NAME
from ..models import HedgehogFabric
from ..settings import plugin_setting
from ..sources.base import SourceError
from ..sources.git import git_environment, git_error_message, mask_credentials
from ..sources.kubernetes import api_error, build_api_client, connection_error
from .scheduler import CONNECTION_TEST, FabricScheduler

logger = logging.getLogger('netbox_hedgehog.connection')

# The kind asked for: every Hedgehog fabric has switches.
PROBE_KIND = KINDS_BY_NAME['Switch']


@dataclass
class SourceCheck:
    ok: bool
    message: str


def check_kubernetes(fabric) -> SourceCheck:
    """List at most one switch in the fabric's namespace: proves reachability, TLS and the token."""
    try:
        api_client = build_api_client(fabric)
    except SourceError as exc:
        return SourceCheck(False, str(exc))
    host = api_client.configuration.host
    namespace = fabric.kubernetes_namespace or 'default'
    try:
        api = client.CustomObjectsApi(api_client)
        api.list_namespaced_custom_object(
            PROBE_KIND.group,
            PROBE_KIND.version,
            namespace,
            PROBE_KIND.plural,
            limit=1,
            _request_timeout=plugin_setting('kubernetes_timeout'),
        )
    except client.ApiException as exc:
        if exc.status == 404:
            return SourceCheck(
                True,
                (
                    f'{host} answers, but does not serve {PROBE_KIND.plural}.{PROBE_KIND.group} '
                    '(are the Hedgehog CRDs installed?)'
                ),
            )
        return SourceCheck(False, str(api_error(exc, host, PROBE_KIND, namespace)))
    except urllib3.exceptions.HTTPError as exc:
        return SourceCheck(False, connection_error(exc, host))
    finally:
        api_client.close()
    return SourceCheck(True, f'{host}: may list {PROBE_KIND.plural} in namespace {namespace}')


def check_git(fabric) -> SourceCheck:
    """``git ls-remote`` the fabric's branch: proves the URL, the credentials and that the branch exists."""
    url, branch = fabric.git_repository_url, fabric.git_branch
    shown = mask_credentials(url)
    try:
        with git_environment(fabric) as env:
            output = Git().ls_remote(
                url,
                f'refs/heads/{branch}',
                env=env,
                kill_after_timeout=plugin_setting('kubernetes_timeout'),
            )
    except GitCommandError as exc:
        return SourceCheck(False, f'cannot reach {shown}: {git_error_message(exc)}')
    except SourceError as exc:  # e.g. a stored credential that no configured key decrypts
        return SourceCheck(False, str(exc))
    if not output.strip():
        return SourceCheck(False, f'{shown} has no branch {branch}')
    commit = output.split()[0]
    return SourceCheck(True, f'{shown}: branch {branch} at {commit[:12]}')


def check_fabric_connection(fabric_id):
    """The job: check each configured source, record the outcome on the fabric, return it."""
    FabricScheduler().job_started(CONNECTION_TEST, fabric_id)
    fabric = HedgehogFabric.objects.filter(pk=fabric_id).first()
    if fabric is None:
        return {'fabric': fabric_id, 'status': None, 'message': 'The fabric no longer exists.'}
    checks = {}
    if fabric.has_kubernetes_source:
        checks['kubernetes'] = check_kubernetes(fabric)
    if fabric.has_git_source:
        checks['git'] = check_git(fabric)
    if not checks:
        status = ConnectionStatusChoices.NOT_CONFIGURED
        message = 'No source configured: set a Kubernetes API or a Git repository.'
    else:
        status = (
            ConnectionStatusChoices.CONNECTED
            if all(check.ok for check in checks.values())
            else ConnectionStatusChoices.FAILED
        )
        labels = {'kubernetes': 'Kubernetes', 'git': 'Git'}
        message = '\n'.join(
            f'{labels[name]}: {"OK" if check.ok else "FAILED"} - {check.message}' for name, check in checks.items()
        )
    checked = timezone.now()
    HedgehogFabric.objects.filter(pk=fabric.pk).update(
        connection_status=status,
        connection_message=message,
        connection_checked=checked,
    )
    (logger.info if status != ConnectionStatusChoices.FAILED else logger.warning)(
        'Connection test of fabric %s: %s\n%s',
        fabric,
        status,
        message,
    )
    return {
        'fabric': fabric.pk,
        'status': status,
        'message': message,
        'checked': checked.isoformat(),
        'sources': {name: asdict(check) for name, check in checks.items()},
    }
