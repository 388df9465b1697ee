import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models import Min
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from netbox.context import current_request
from netbox.models import NetBoxModel

from ..choices import (
    ConnectionStatusChoices,
    DCIMConflictPolicyChoices,
    DCIMSourceChoices,
    SyncOutcomeChoices,
    SyncStatusChoices,
)
from ..fields import EncryptedTextField, SecretDecryptionError, reveal
from ..settings import plugin_setting
from ..sources.kube_credentials import (
    ClusterCredentials,
    CredentialError,
    check_pem,
    check_server,
    check_token,
    check_transport,
    read_kubeconfig,
)

# The repository locations git understands: URLs, scp-like user@host:path, absolute paths.
GIT_URL = re.compile(r'^((https?|ssh|git|file)://\S+|[\w.-]+@[\w.-]+:\S+|/\S*)$')

# Credentials: accepted on input, encrypted at rest, never shown, returned or written to the change log.
SECRET_FIELDS = ('kubernetes_token', 'kubeconfig', 'git_token', 'git_ssh_key')

# Each credential is bound to the endpoint it is sent to (see HedgehogFabric.unbind_moved_secrets).
KUBERNETES_SECRETS = ('kubernetes_token', 'kubeconfig')
GIT_SECRETS = ('git_token', 'git_ssh_key')
SCP_LIKE_HOST = re.compile(r'^[\w.-]+@([\w.-]+):')

# Written only by the sync job and the scheduler, never by an edit of the fabric.
SYNC_STATE_FIELDS = frozenset(
    (
        'sync_status',
        'sync_error',
        'connection_status',
        'connection_message',
        'connection_checked',
        'last_sync',
        'last_sync_planned',
        'last_successful_sync',
        'next_sync',
        'drift_count',
        'kubernetes_read_at',
        'git_read_at',
        'last_full_comparison',
        'git_files',
    )
)


class HedgehogFabric(NetBoxModel):
    """A Hedgehog fabric: where to read it from (Kubernetes API, Git) and how its sync is doing.

    The sync state fields are not editable: only the sync job writes them, with
    ``QuerySet.update()`` so that a run neither creates change-log entries nor
    triggers the rescheduling signal that a user's edit triggers.
    """

    name = models.CharField(verbose_name=_('name'), max_length=100, unique=True)
    description = models.CharField(verbose_name=_('description'), max_length=200, blank=True)
    comments = models.TextField(verbose_name=_('comments'), blank=True)

    kubernetes_server = models.CharField(
        verbose_name=_('Kubernetes API server'),
        max_length=255,
        blank=True,
        help_text=_('e.g. https://172.30.0.1:6443; leave empty to use a kubeconfig or the in-cluster account'),
    )
    kubernetes_token = EncryptedTextField(
        verbose_name=_('Kubernetes token'),
        blank=True,
        help_text=_('Bearer token of a service account that may list the fabric resources (write-only)'),
    )
    kubernetes_ca_cert = models.TextField(
        verbose_name=_('Kubernetes CA certificate'),
        blank=True,
        help_text=_('PEM certificate of the API server CA'),
    )
    kubernetes_namespace = models.CharField(
        verbose_name=_('Kubernetes namespace'),
        max_length=253,
        default='default',
    )
    kubernetes_verify_tls = models.BooleanField(
        verbose_name=_('verify TLS'),
        default=True,
        help_text=_('Verify the API server certificate (turn off only for a lab cluster)'),
    )
    kubernetes_in_cluster = models.BooleanField(
        verbose_name=_('in-cluster account'),
        default=False,
        help_text=_(
            "Use the service account of the pod NetBox's worker runs in (only when the worker runs in the fabric's "
            'cluster; server, token and kubeconfig must then be empty)'
        ),
    )
    kubeconfig = EncryptedTextField(
        verbose_name=_('kubeconfig'),
        blank=True,
        help_text=_('A complete kubeconfig (YAML); used instead of server/token/CA (write-only)'),
    )

    git_repository_url = models.CharField(
        verbose_name=_('Git repository'),
        max_length=500,
        blank=True,
        help_text=_('https://, ssh:// or a local path of the GitOps repository'),
    )
    git_token = EncryptedTextField(
        verbose_name=_('Git token'),
        blank=True,
        help_text=_('Access token for an https:// repository (write-only)'),
    )
    git_ssh_key = EncryptedTextField(
        verbose_name=_('Git SSH key'),
        blank=True,
        help_text=_('Private key (PEM/OpenSSH) for an ssh:// or git@ repository (write-only)'),
    )
    allow_insecure_transport = models.BooleanField(
        verbose_name=_('allow insecure transport'),
        default=False,
        help_text=_('Allow sending a token over plain http:// (to the Kubernetes API or the Git server); off: refused'),
    )
    git_branch = models.CharField(verbose_name=_('Git branch'), max_length=255, default='main')
    git_path = models.CharField(
        verbose_name=_('Git path'),
        max_length=500,
        blank=True,
        help_text=_('Directory inside the repository holding the fabric YAML (empty: the whole repository)'),
    )

    sync_enabled = models.BooleanField(verbose_name=_('sync enabled'), default=True)
    scheduler_enabled = models.BooleanField(
        verbose_name=_('periodic sync'),
        default=True,
        help_text=_('Run the sync every sync interval (manual syncs are possible either way)'),
    )
    sync_interval = models.PositiveIntegerField(
        verbose_name=_('sync interval'),
        default=300,
        help_text=_('Seconds between periodic syncs; 0 turns periodic sync off'),
    )

    prune = models.BooleanField(
        verbose_name=_('prune'),
        default=True,
        help_text=_(
            'Delete resources from NetBox that their source no longer has (never after a failed or partial read)'
        ),
    )

    # Mapping into NetBox's own models (devices, interfaces, cables): see netbox_hedgehog.dcim and docs/dcim.md.
    dcim_sync = models.BooleanField(
        verbose_name=_('map to DCIM'),
        default=False,
        help_text=_("Keep NetBox devices, interfaces and cables in line with the fabric's switches and connections"),
    )
    # PROTECT: the devices the mapping creates sit in this site, and NetBox protects a site holding devices anyway;
    # a fabric silently losing its site (SET_NULL) would fail every later run instead.
    dcim_site = models.ForeignKey(
        to='dcim.Site',
        on_delete=models.PROTECT,
        related_name='+',
        verbose_name=_('DCIM site'),
        null=True,
        blank=True,
        help_text=_('Site of the mapped devices (required when mapping to DCIM)'),
    )
    dcim_tenant = models.ForeignKey(
        to='tenancy.Tenant',
        on_delete=models.SET_NULL,
        related_name='+',
        verbose_name=_('DCIM tenant'),
        null=True,
        blank=True,
        help_text=_('Tenant of the mapped devices (optional)'),
    )
    dcim_source = models.CharField(
        verbose_name=_('DCIM source'),
        max_length=20,
        choices=DCIMSourceChoices,
        default=DCIMSourceChoices.AUTO,
        help_text=_('Which source drives the mapping: the cluster (actual) or Git (desired)'),
    )
    dcim_conflict_policy = models.CharField(
        verbose_name=_('DCIM conflict policy'),
        max_length=20,
        choices=DCIMConflictPolicyChoices,
        default=DCIMConflictPolicyChoices.REPORT,
        help_text=_('What to do with an existing NetBox object of the same name that the plugin does not own'),
    )

    sync_status = models.CharField(
        verbose_name=_('sync status'),
        max_length=20,
        choices=SyncStatusChoices,
        default=SyncStatusChoices.NEVER_SYNCED,
        editable=False,
    )
    sync_error = models.TextField(verbose_name=_('sync error'), blank=True, editable=False)
    connection_status = models.CharField(
        verbose_name=_('connection status'),
        max_length=20,
        choices=ConnectionStatusChoices,
        default=ConnectionStatusChoices.UNKNOWN,
        editable=False,
    )
    # Written by the "Test connection" job (scheduling/connection.py): what it found, per source.
    connection_message = models.TextField(verbose_name=_('connection test result'), blank=True, editable=False)
    connection_checked = models.DateTimeField(
        verbose_name=_('connection tested'),
        null=True,
        blank=True,
        editable=False,
    )
    last_sync = models.DateTimeField(verbose_name=_('last sync'), null=True, blank=True, editable=False)
    last_sync_planned = models.DateTimeField(
        verbose_name=_('last sync planned for'),
        null=True,
        blank=True,
        editable=False,
    )
    last_successful_sync = models.DateTimeField(
        verbose_name=_('last successful sync'),
        null=True,
        blank=True,
        editable=False,
    )
    next_sync = models.DateTimeField(verbose_name=_('next sync'), null=True, blank=True, editable=False)
    drift_count = models.PositiveIntegerField(
        verbose_name=_('drift'),
        default=0,
        editable=False,
        help_text=_('Objects whose Git and cluster versions differ or exist in one source only'),
    )
    # When a sync last read each source completely: the "last seen" of every row that source still lists
    # (see HedgehogResource.last_seen), so that a run that changes nothing writes no resource row.
    kubernetes_read_at = models.DateTimeField(
        verbose_name=_('Kubernetes read at'), null=True, blank=True, editable=False
    )
    git_read_at = models.DateTimeField(verbose_name=_('Git read at'), null=True, blank=True, editable=False)
    # The Git files the last applied run read without a problem, with their blobs: unchanged, they are not parsed again.
    git_files = models.JSONField(verbose_name=_('Git files read'), default=dict, blank=True, editable=False)
    last_full_comparison = models.DateTimeField(
        verbose_name=_('last full comparison'),
        null=True,
        blank=True,
        editable=False,
        help_text=_('When a sync last compared every object in full (plugin setting full_comparison_interval)'),
    )

    clone_fields = (
        'kubernetes_server',
        'kubernetes_ca_cert',
        'kubernetes_namespace',
        'git_repository_url',
        'git_branch',
        'git_path',
        'sync_enabled',
        'scheduler_enabled',
        'sync_interval',
    )

    class Meta:
        ordering = ('name',)
        verbose_name = _('fabric')
        verbose_name_plural = _('fabrics')

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse('plugins:netbox_hedgehog:hedgehogfabric', args=[self.pk])

    def serialize_object(self, exclude=None):
        """The change-log snapshot, with each secret reduced to whether it is set (and without the Git file list)."""
        data = super().serialize_object(exclude=[*(exclude or []), *SECRET_FIELDS, 'git_files'])
        data.update({name: '(set)' if getattr(self, name) else '' for name in SECRET_FIELDS})
        return data

    # The secrets the last save() removed because their endpoint changed (see unbind_moved_secrets).
    cleared_secrets = ()

    def save(self, *args, **kwargs):
        """Save the operator's fields only, so an edit never rolls back a sync that ran meanwhile.

        Secrets whose endpoint changed in this edit are removed first (:meth:`unbind_moved_secrets`).
        """
        if not self._state.adding and kwargs.get('update_fields') is None:
            self.cleared_secrets = self.unbind_moved_secrets()
            kwargs['update_fields'] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in SYNC_STATE_FIELDS
            ]
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        """Delete the fabric with its resources and run records removed in bulk; one change record, the fabric's.

        A sync writing to the fabric is ended, not waited for (``scheduling.locks.stop_applies``);
        then the row is locked: a sync starting to write meanwhile waits and then finds the fabric
        gone (see ``sync.apply.lock_fabric``), and no run record can be added between the bulk
        removal and the fabric's own deletion. The chain entry is removed when the deletion
        commits (``signals.unschedule_fabric``).
        """
        from ..scheduling.locks import stop_applies
        from .resource import HedgehogResource
        from .sync_run import SyncRun

        with transaction.atomic(using=router.db_for_write(HedgehogFabric)):
            stop_applies(self.pk)
            list(HedgehogFabric.objects.select_for_update().filter(pk=self.pk).values_list('pk'))
            HedgehogResource.delete_in_bulk(HedgehogResource.objects.filter(fabric_id=self.pk))
            runs = SyncRun.objects.filter(fabric_id=self.pk)
            runs._raw_delete(using=runs.db)
            return super().delete(*args, **kwargs)

    def unbind_moved_secrets(self):
        """Remove the stored credentials of an endpoint that this edit moves; return the removed fields.

        A token, kubeconfig or SSH key belongs to the server it was given for: an editor who points
        the fabric at another API server (``kubernetes_server`` or the server of a new kubeconfig) or
        another Git host without giving new credentials in the same save must not get the stored
        ones sent there. Credentials given in this save are kept; a different path on the same Git
        host keeps them too; credentials stored while no endpoint was set bind to the first one.
        """
        old = (
            HedgehogFabric.objects.filter(pk=self.pk)
            .values('kubernetes_server', 'git_repository_url', *SECRET_FIELDS)
            .first()
        )
        if old is None:
            return ()
        given = {name for name in SECRET_FIELDS if getattr(self, name).ciphertext != old[name].ciphertext}
        moved = []
        if self._kubernetes_moved(old, given):
            moved.extend(KUBERNETES_SECRETS)
        if old['git_repository_url'] and git_host(self.git_repository_url) != git_host(old['git_repository_url']):
            moved.extend(GIT_SECRETS)
        cleared = tuple(name for name in moved if name not in given and getattr(self, name))
        for name in cleared:
            setattr(self, name, '')
        return cleared

    def _kubernetes_moved(self, old, given):
        if 'kubeconfig' not in given and url_origin(self.kubernetes_server) == url_origin(old['kubernetes_server']):
            return False
        old_endpoint = kubernetes_endpoint(old['kubernetes_server'], old['kubeconfig'])
        return old_endpoint is not None and kubernetes_endpoint(self.kubernetes_server, self.kubeconfig) != old_endpoint

    @property
    def dcim_source_name(self):
        """The source whose stored resources the DCIM mapping reads: ``auto`` is the cluster when configured."""
        if self.dcim_source != DCIMSourceChoices.AUTO:
            return self.dcim_source
        return DCIMSourceChoices.KUBERNETES if self.has_kubernetes_source else DCIMSourceChoices.GIT

    def get_sync_status_color(self):
        return SyncStatusChoices.colors.get(self.sync_status)

    def get_connection_status_color(self):
        return ConnectionStatusChoices.colors.get(self.connection_status)

    @property
    def is_periodic(self):
        """True when this fabric should have a running schedule chain."""
        return self.sync_enabled and self.scheduler_enabled and self.sync_interval > 0

    @cached_property
    def running_since(self):
        """When the sync in progress started, None when no sync runs (``sync_status`` stays the last outcome)."""
        runs = self.sync_runs.filter(outcome=SyncOutcomeChoices.RUNNING, dry_run=False)
        return runs.aggregate(since=Min('started_at'))['since']

    @property
    def has_kubernetes_source(self):
        return bool(self.kubeconfig or self.kubernetes_server or self.kubernetes_in_cluster)

    @property
    def has_git_source(self):
        return bool(self.git_repository_url)

    def clean(self):
        super().clean()
        errors = {}
        minimum = plugin_setting('min_sync_interval')
        if self.sync_interval and self.sync_interval < minimum:
            errors['sync_interval'] = _('The sync interval must be 0 (off) or at least {minimum} seconds.').format(
                minimum=minimum
            )
        if self.dcim_sync and self.dcim_site_id is None:
            errors['dcim_site'] = _('Choose the site the mapped devices belong to, or turn off mapping to DCIM.')
        if (request := current_request.get()) is not None:
            from ..dcim.rights import mapping_rights_errors

            errors.update(mapping_rights_errors(self, request.user))
        errors.update(self._kubernetes_errors())
        if self.git_repository_url and not GIT_URL.match(self.git_repository_url):
            errors['git_repository_url'] = _(
                'Give an https://, http://, ssh:// or git:// URL, user@host:path, or an absolute local path.'
            )
        elif self.git_repository_url:
            from ..sources.git import git_source_problem

            if problem := git_source_problem(self):
                errors['git_repository_url'] = problem
        if errors:
            raise ValidationError(errors)

    def _kubernetes_errors(self):
        """The Kubernetes settings' errors by field, with the same checks the client makes before every request.

        The token is stripped here (a pasted trailing newline would otherwise end up in the
        ``Authorization`` header); a kubeconfig holding anything but inline credentials is refused
        with the key named.
        """
        if self.kubernetes_in_cluster:
            if self.kubernetes_server or self.kubernetes_token or self.kubeconfig:
                return {
                    'kubernetes_in_cluster': _(
                        'With the in-cluster account, leave the API server, token and kubeconfig empty: they come '
                        'from the pod the worker runs in.'
                    )
                }
            return {}
        if self.kubeconfig and self.kubernetes_server:
            return {'kubeconfig': _('Give either a kubeconfig or an API server, not both.')}
        errors = {}
        try:
            token, kubeconfig = reveal(self.kubernetes_token), reveal(self.kubeconfig)
        except SecretDecryptionError as exc:
            return {'kubernetes_token' if self.kubernetes_token else 'kubeconfig': str(exc)}
        try:
            if (checked := check_token(token)) != token:  # assign only a change: a new ciphertext means "given"
                self.kubernetes_token = token = checked
        except CredentialError as exc:
            errors['kubernetes_token'] = str(exc)
        if self.kubernetes_ca_cert:
            try:
                check_pem(ClusterCredentials(server='', ca_pem=self.kubernetes_ca_cert))
            except CredentialError as exc:
                errors['kubernetes_ca_cert'] = str(exc)
        if self.kubeconfig or self.kubernetes_server:
            field = 'kubeconfig' if self.kubeconfig else 'kubernetes_server'
            try:
                credentials = (
                    read_kubeconfig(kubeconfig)
                    if kubeconfig
                    else ClusterCredentials(server=check_server(self.kubernetes_server), token=token)
                )
                check_transport(credentials, self.allow_insecure_transport)
            except CredentialError as exc:
                errors.setdefault(field, str(exc))
        return errors


def url_origin(url):
    """``(scheme, host, port)`` of an http(s) URL, which is where a token given for it is sent."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        return url
    return (parts.scheme.lower(), (parts.hostname or '').lower(), port or {'http': 80, 'https': 443}.get(parts.scheme))


def kubernetes_endpoint(server, kubeconfig):
    """The origin a fabric's Kubernetes credentials go to: its API server, or its kubeconfig's current cluster."""
    if server:
        return url_origin(server)
    if not kubeconfig:
        return None
    try:
        return url_origin(read_kubeconfig(reveal(kubeconfig)).server)
    except (CredentialError, SecretDecryptionError):  # unreadable: equal to nothing, so the credentials moved
        return object()


def git_host(url):
    """The host a Git location's credentials go to (empty for a local path)."""
    url = url.strip()
    if '://' in url:
        return (urlsplit(url).hostname or '').lower()
    match = SCP_LIKE_HOST.match(url)
    return match.group(1).lower() if match else ''
