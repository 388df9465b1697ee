from datetime import timedelta

import django_tables2 as tables
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from netbox.tables import NetBoxTable, columns

from .choices import SyncOutcomeChoices, SyncStatusChoices
from .models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun
from .sources.base import source_classes

__all__ = (
    'DriftCountColumn',
    'HedgehogFabricTable',
    'HedgehogOwnedObjectTable',
    'HedgehogResourceTable',
    'ResourceOwnedObjectTable',
    'SyncRunTable',
    'fabric_run_state',
    'with_run_state',
)

# A next run this far in the past is overdue: the scheduler polls every second, a job starts within a few.
OVERDUE_GRACE = timedelta(seconds=5)

# Dates in tables: one line, to the second.
NOWRAP = {'td': {'class': 'text-nowrap'}}


def with_run_state(queryset):
    """Fabrics annotated with ``running_since`` (the oldest run still running) and ``last_outcome`` (the newest
    finished, applied run's outcome): a run sets the fabric's status to "syncing", which must not hide how the last
    run ended."""
    runs = SyncRun.objects.filter(fabric=OuterRef('pk'))
    return queryset.annotate(
        running_since=Subquery(
            runs.filter(outcome=SyncOutcomeChoices.RUNNING).order_by('started_at').values('started_at')[:1]
        ),
        last_outcome=Subquery(
            runs.filter(dry_run=False)
            .exclude(outcome__in=(SyncOutcomeChoices.RUNNING, SyncOutcomeChoices.SKIPPED))
            .order_by('-started_at')
            .values('outcome')[:1]
        ),
    )


def fabric_run_state(fabric):
    """``(label, color, running_since, overdue)`` of a fabric annotated by :func:`with_run_state`.

    The status is the last outcome: the fabric's own status, or while it reads "syncing", the
    outcome of the last finished run. ``overdue`` is a periodic fabric whose next run lies in the
    past while nothing runs: its chain is late or gone.
    """
    running_since = getattr(fabric, 'running_since', None)
    label, color = fabric.get_sync_status_display(), fabric.get_sync_status_color()
    if fabric.sync_status == SyncStatusChoices.SYNCING:
        outcome = getattr(fabric, 'last_outcome', None)
        if outcome:
            label, color = dict(SyncOutcomeChoices).get(outcome, outcome), SyncOutcomeChoices.colors.get(outcome)
        else:
            label, color = dict(SyncStatusChoices)[SyncStatusChoices.NEVER_SYNCED], 'gray'
    overdue = bool(
        fabric.is_periodic
        and running_since is None
        and fabric.next_sync is not None
        and fabric.next_sync < timezone.now() - OVERDUE_GRACE
    )
    return label, color, running_since, overdue


def _local(value):
    return columns.DateTimeColumn().render(value)


def sync_status_badges(fabric):
    """The last outcome as a badge, and a "running since" badge while a run is in progress."""
    label, color, running_since, _overdue = fabric_run_state(fabric)
    badge = format_html('<span class="badge text-bg-{}">{}</span>', color or 'secondary', label)
    if running_since is None:
        return badge
    return format_html(
        '{} <span class="badge text-bg-blue" title="{}"><i class="mdi mdi-sync"></i> {} {}</span>',
        badge,
        _('A run is in progress'),
        _('running since'),
        timezone.localtime(running_since).strftime('%H:%M:%S'),
    )


def next_sync_text(fabric):
    """The next run; in red with "overdue" when it lies in the past and nothing runs."""
    if fabric.next_sync is None:
        return None
    text = _local(fabric.next_sync)
    if not fabric_run_state(fabric)[3]:
        return text
    return format_html(
        '<span class="text-danger" title="{}"><i class="mdi mdi-alert"></i> {} ({})</span>',
        _('The next run is in the past: is the scheduler running, and the chain alive?'),
        text,
        _('overdue'),
    )


class SyncStatusColumn(tables.Column):
    """A fabric's last outcome, with "running since" beside it during a run (needs :func:`with_run_state`)."""

    def render(self, record):
        return sync_status_badges(record)

    def value(self, record):
        return fabric_run_state(record)[0]


class NextSyncColumn(columns.DateTimeColumn):
    """The next run, flagged when overdue."""

    def render(self, record, value):
        return next_sync_text(record)


def drifted_resources_url(fabric):
    """The resource list showing the objects a fabric's drift count counts."""
    return '{}?{}'.format(
        reverse('plugins:netbox_hedgehog:hedgehogresource_list'),
        urlencode({'fabric_id': fabric.pk, 'drifted': 'true'}),
    )


class DriftCountColumn(tables.Column):
    """A fabric's drift count, linked to the list of its drifted resources."""

    def render(self, record, value):
        if not value:
            return value
        return format_html('<a href="{}">{}</a>', drifted_resources_url(record), value)

    def value(self, value):
        return value


# The steps of a run in the order they run (jsonb keeps a dict's keys in an order of its own).
STEP_ORDER = (*(source.step for source in source_classes()), 'diff', 'apply')


def step_durations(durations):
    """A run's ``step_durations`` as ``[(step, "seconds with 3 decimals")]``, in the order the steps run."""
    if not isinstance(durations, dict):
        return []
    rank = {step: index for index, step in enumerate(STEP_ORDER)}
    steps = sorted(durations, key=lambda step: (rank.get(step, len(STEP_ORDER)), str(step)))
    return [(step, format_seconds(durations[step])) for step in steps]


def format_seconds(seconds):
    """Seconds with 3 decimals; anything that is not a number as it is."""
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return f'{seconds:.3f}'
    return str(seconds)


class StepDurationsColumn(tables.Column):
    """A run's ``step_durations`` as ``step: seconds``, one per line (3 decimals)."""

    def render(self, value):
        steps = step_durations(value)
        if not steps:
            return self.default
        return format_html_join(format_html('<br />'), '{}: {}', steps)

    def value(self, value):
        return ', '.join(f'{step}={seconds}' for step, seconds in step_durations(value))


class HedgehogFabricTable(NetBoxTable):
    """Fabrics with their sync health at a glance; the secrets have no column (so no export either)."""

    name = tables.Column(verbose_name=_('Name'), linkify=True)
    sync_status = SyncStatusColumn(verbose_name=_('Sync status'))
    connection_status = columns.ChoiceFieldColumn(verbose_name=_('Connection'))
    sync_enabled = columns.BooleanColumn(verbose_name=_('Sync enabled'))
    scheduler_enabled = columns.BooleanColumn(verbose_name=_('Periodic'))
    sync_interval = tables.Column(verbose_name=_('Interval (s)'))
    last_sync = columns.DateTimeColumn(verbose_name=_('Last sync'), attrs=NOWRAP)
    last_successful_sync = columns.DateTimeColumn(verbose_name=_('Last success'), attrs=NOWRAP)
    next_sync = NextSyncColumn(verbose_name=_('Next sync'), attrs=NOWRAP)
    prune = columns.BooleanColumn(verbose_name=_('Prune'))
    kubernetes_verify_tls = columns.BooleanColumn(verbose_name=_('Verify TLS'))
    drift_count = DriftCountColumn(verbose_name=_('Drift'))
    resource_count = columns.LinkedCountColumn(
        viewname='plugins:netbox_hedgehog:hedgehogresource_list',
        url_params={'fabric_id': 'pk'},
        verbose_name=_('Resources'),
    )
    tags = columns.TagColumn(url_name='plugins:netbox_hedgehog:hedgehogfabric_list')

    class Meta(NetBoxTable.Meta):
        model = HedgehogFabric
        fields = (
            'pk',
            'id',
            'name',
            'description',
            'sync_status',
            'connection_status',
            'sync_enabled',
            'scheduler_enabled',
            'sync_interval',
            'last_sync',
            'last_successful_sync',
            'next_sync',
            'resource_count',
            'drift_count',
            'prune',
            'kubernetes_server',
            'kubernetes_namespace',
            'kubernetes_verify_tls',
            'git_repository_url',
            'git_branch',
            'git_path',
            'sync_error',
            'tags',
            'created',
            'last_updated',
            'actions',
        )
        default_columns = (
            'pk',
            'name',
            'sync_status',
            'connection_status',
            'sync_interval',
            'last_sync',
            'last_successful_sync',
            'next_sync',
            'resource_count',
            'drift_count',
        )


def is_stale(resource):
    """Not read from its source for more than two of its fabric's sync intervals (never, without periodic sync)."""
    interval = resource.fabric.sync_interval if resource.fabric.is_periodic else 0
    if not interval or resource.last_seen is None:
        return False
    return resource.last_seen < timezone.now() - 2 * timedelta(seconds=interval)


def last_seen_text(resource):
    """When the source last listed the row, with a "stale" badge once that is two intervals ago."""
    if resource.last_seen is None:
        return None
    text = _local(resource.last_seen)
    if not is_stale(resource):
        return text
    return format_html(
        '{} <span class="badge text-bg-orange" title="{}">{}</span>',
        text,
        _('Not read from its source for more than two sync intervals; the data may be out of date'),
        _('stale'),
    )


class LastSeenColumn(columns.DateTimeColumn):
    def render(self, record, value):
        return last_seen_text(record)


class HedgehogResourceTable(NetBoxTable):
    name = tables.Column(verbose_name=_('Name'), linkify=True)
    fabric = tables.Column(verbose_name=_('Fabric'), linkify=True)
    source = columns.ChoiceFieldColumn(verbose_name=_('Source'))
    drift_state = columns.ChoiceFieldColumn(verbose_name=_('Drift'))
    role = tables.Column(verbose_name=_('Role'))
    asn = tables.Column(verbose_name=_('ASN'))
    profile = tables.Column(verbose_name=_('Profile'))
    connection_type = tables.Column(verbose_name=_('Connection type'))
    devices = columns.ArrayColumn(verbose_name=_('Devices'), orderable=False)
    ports = columns.ArrayColumn(verbose_name=_('Ports'), orderable=False)
    subnets = columns.ArrayColumn(verbose_name=_('Subnets'), orderable=False)
    vpc = tables.Column(verbose_name=_('VPC'))
    connection = tables.Column(verbose_name=_('Connection'))
    ipv4_namespace = tables.Column(verbose_name=_('IPv4 namespace'))
    vlan_namespace = tables.Column(verbose_name=_('VLAN namespace'))
    heartbeat = columns.DateTimeColumn(verbose_name=_('Last heartbeat'), attrs=NOWRAP)
    applied_generation = tables.Column(verbose_name=_('Applied generation'))
    last_seen = LastSeenColumn(verbose_name=_('Last seen'), attrs=NOWRAP)
    tags = columns.TagColumn(url_name='plugins:netbox_hedgehog:hedgehogresource_list')
    # The sync writes in bulk and records its changes on its run, so a row's change log is always empty.
    actions = columns.ActionsColumn(actions=())

    class Meta(NetBoxTable.Meta):
        model = HedgehogResource
        fields = (
            'pk',
            'id',
            'fabric',
            'source',
            'api_version',
            'kind',
            'namespace',
            'name',
            'drift_state',
            'role',
            'asn',
            'profile',
            'connection_type',
            'devices',
            'ports',
            'subnets',
            'vpc',
            'connection',
            'ipv4_namespace',
            'vlan_namespace',
            'heartbeat',
            'applied_generation',
            'last_seen',
            'resource_version',
            'uid',
            'source_path',
            'tags',
            'created',
            'last_updated',
            'actions',
        )
        default_columns = (
            'pk',
            'fabric',
            'kind',
            'namespace',
            'name',
            'source',
            'drift_state',
            'role',
            'asn',
            'connection_type',
            'vpc',
            'last_seen',
        )


# The sources a run reads: (the label its error lines start with, its step in step_durations).
RUN_SOURCES = (('Kubernetes', 'fetch_kubernetes'), ('Git', 'fetch_git'))

SHORT_SHA = 12
ERROR_CHARS = 120


def run_sources(run):
    """``[(label, read)]`` for each source the run tried to read: ``read`` is False when its error names it.

    What a partial run did per source: the source that failed kept its last good data, the other
    was applied.
    """
    durations = run.step_durations if isinstance(run.step_durations, dict) else {}
    failed = {line.split(':', 1)[0] for line in run.error.splitlines() if ':' in line}
    return [(label, label not in failed) for label, step in RUN_SOURCES if step in durations]


def run_sources_badges(run):
    """Each source the run tried, as a badge: green when read, red when it failed (None: it tried none)."""
    sources = run_sources(run)
    if not sources:
        return None
    return format_html_join(
        ' ',
        '<span class="badge text-bg-{}" title="{}">{}</span>',
        (('green' if read else 'red', _('read') if read else _('failed'), label) for label, read in sources),
    )


class RunSourcesColumn(tables.Column):
    """Each source the run read, green when read, red when it failed."""

    def render(self, record):
        return run_sources_badges(record) or self.default

    def value(self, record):
        return ', '.join(f'{label}={"read" if read else "failed"}' for label, read in run_sources(record))


class ChangesColumn(tables.Column):
    """The counts in one cell: created, updated, deleted, unchanged (invalid, prune-skipped and DCIM when not 0)."""

    COUNTS = (
        ('created', '+', _('created')),
        ('updated', '~', _('updated')),
        ('deleted', '−', _('deleted')),
        ('unchanged', '=', _('unchanged')),
        ('invalid', '!', _('invalid')),
        ('prune_skipped', 'kept ', _('prune skipped')),
        ('dcim_created', 'DCIM +', _('DCIM created')),
        ('dcim_updated', 'DCIM ~', _('DCIM updated')),
        ('dcim_deleted', 'DCIM −', _('DCIM deleted')),
    )

    def _counts(self, record):
        return [
            (sign, getattr(record, field), label)
            for field, sign, label in self.COUNTS
            if getattr(record, field) or field in ('created', 'updated', 'deleted', 'unchanged')
        ]

    def render(self, record):
        return format_html_join(
            ' ',
            '<span class="text-nowrap" title="{2}">{0}{1}</span>',
            self._counts(record),
        )

    def value(self, record):
        return ' '.join(f'{label}={count}' for _sign, count, label in self._counts(record))


class ShortShaColumn(tables.Column):
    """A commit as its first 12 characters; the whole hash on hover and in the export."""

    def render(self, value):
        return format_html('<span class="font-monospace" title="{}">{}</span>', value, value[:SHORT_SHA])

    def value(self, value):
        return value


class ErrorColumn(tables.Column):
    """The error cut to a readable length; the full text on hover and on the run's page."""

    def render(self, value):
        short = value if len(value) <= ERROR_CHARS else value[: ERROR_CHARS - 1] + '…'
        return format_html('<span class="small text-danger" title="{}">{}</span>', value, short)

    def value(self, value):
        return value


class SyncRunTable(NetBoxTable):
    started_at = columns.DateTimeColumn(verbose_name=_('Started'), linkify=True, attrs=NOWRAP)
    fabric = tables.Column(verbose_name=_('Fabric'), linkify=True)
    trigger = columns.ChoiceFieldColumn(verbose_name=_('Trigger'))
    outcome = columns.ChoiceFieldColumn(verbose_name=_('Outcome'))
    sources = RunSourcesColumn(verbose_name=_('Sources'), accessor='pk', orderable=False, empty_values=())
    planned_at = columns.DateTimeColumn(verbose_name=_('Planned'), attrs=NOWRAP)
    finished_at = columns.DateTimeColumn(verbose_name=_('Finished'), attrs=NOWRAP)
    duration = columns.TemplateColumn(
        verbose_name=_('Duration (s)'),
        orderable=False,
        template_code='{{ value|floatformat:3 }}',
    )
    lateness = columns.TemplateColumn(
        verbose_name=_('Late by (s)'),
        orderable=False,
        template_code='{{ value|floatformat:3 }}',
    )
    dry_run = columns.BooleanColumn(verbose_name=_('Dry run'))
    changes = ChangesColumn(verbose_name=_('Changes'), accessor='pk', orderable=False, empty_values=())
    invalid = tables.Column(verbose_name=_('Invalid'))
    prune_skipped = tables.Column(verbose_name=_('Prune skipped'))
    git_commit = ShortShaColumn(verbose_name=_('Git commit'))
    kubernetes_revision = tables.Column(verbose_name=_('Kubernetes revision'))
    step_durations = StepDurationsColumn(verbose_name=_('Step durations (s)'), orderable=False)
    error = ErrorColumn(verbose_name=_('Error'), attrs={'td': {'style': 'min-width: 20em'}})
    actions = columns.ActionsColumn(actions=())

    class Meta(NetBoxTable.Meta):
        model = SyncRun
        fields = (
            'pk',
            'id',
            'started_at',
            'fabric',
            'trigger',
            'outcome',
            'sources',
            'dry_run',
            'planned_at',
            'finished_at',
            'duration',
            'lateness',
            'changes',
            'created',
            'updated',
            'deleted',
            'unchanged',
            'invalid',
            'prune_skipped',
            'git_commit',
            'kubernetes_revision',
            'step_durations',
            'job_id',
            'error',
            'actions',
        )
        default_columns = (
            'started_at',
            'fabric',
            'trigger',
            'outcome',
            'sources',
            'dry_run',
            'duration',
            'changes',
            'git_commit',
            'error',
        )


class OwnedObjectColumn(tables.Column):
    """The NetBox object an ownership row records, linked to its page (plain text when it has none)."""

    def render(self, value):
        url = getattr(value, 'get_absolute_url', None)
        return format_html('<a href="{}">{}</a>', url(), value) if url else str(value)

    def value(self, value):
        return str(value)


class HedgehogOwnedObjectTable(NetBoxTable):
    """Ownership rows; the object column links to the NetBox object (device, interface, cable, prefix, ...)."""

    id = tables.Column(verbose_name=_('ID'))
    fabric = tables.Column(verbose_name=_('Fabric'), linkify=True)
    object_type = columns.ContentTypeColumn(verbose_name=_('Type'))
    object = OwnedObjectColumn(verbose_name=_('Object'), orderable=False)
    kind = tables.Column(verbose_name=_('Kind'))
    namespace = tables.Column(verbose_name=_('Namespace'))
    name = tables.Column(verbose_name=_('Name'))
    key = tables.Column(verbose_name=_('Mapping key'), attrs={'td': {'class': 'font-monospace'}})
    created = columns.DateTimeColumn(verbose_name=_('Created'), attrs=NOWRAP)
    actions = columns.ActionsColumn(actions=())

    class Meta(NetBoxTable.Meta):
        model = HedgehogOwnedObject
        fields = ('pk', 'id', 'object', 'object_type', 'fabric', 'kind', 'namespace', 'name', 'key', 'created')
        default_columns = ('object', 'object_type', 'fabric', 'kind', 'namespace', 'name')


class ResourceOwnedObjectTable(HedgehogOwnedObjectTable):
    """The NetBox objects one fabric object maps to, on its resource page."""

    class Meta(HedgehogOwnedObjectTable.Meta):
        default_columns = ('object', 'object_type', 'key')
