from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from utilities.querysets import RestrictedQuerySet

from ..choices import SyncOutcomeChoices, SyncTriggerChoices


class SyncRun(models.Model):
    """The record of one execution of ``execute_fabric_sync``: when it was due, when it ran, what it did."""

    fabric = models.ForeignKey(
        to='netbox_hedgehog.HedgehogFabric',
        on_delete=models.CASCADE,
        related_name='sync_runs',
    )
    trigger = models.CharField(verbose_name=_('trigger'), max_length=20, choices=SyncTriggerChoices)
    job_id = models.CharField(verbose_name=_('RQ job ID'), max_length=100, blank=True)
    planned_at = models.DateTimeField(verbose_name=_('planned'), null=True, blank=True)
    started_at = models.DateTimeField(verbose_name=_('started'))
    finished_at = models.DateTimeField(verbose_name=_('finished'), null=True, blank=True)
    outcome = models.CharField(
        verbose_name=_('outcome'),
        max_length=20,
        choices=SyncOutcomeChoices,
        default=SyncOutcomeChoices.RUNNING,
    )
    dry_run = models.BooleanField(
        verbose_name=_('dry run'),
        default=False,
        help_text=_('The diff was computed and recorded, not applied'),
    )
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0, help_text=_('Objects or files skipped as invalid'))
    prune_skipped = models.PositiveIntegerField(
        default=0,
        help_text=_('Objects kept although their source no longer lists them (pruning was unsafe or off)'),
    )
    dcim_created = models.PositiveIntegerField(
        verbose_name=_('DCIM created'), default=0, help_text=_('NetBox devices, interfaces, cables, ... created')
    )
    dcim_updated = models.PositiveIntegerField(verbose_name=_('DCIM updated'), default=0)
    dcim_deleted = models.PositiveIntegerField(verbose_name=_('DCIM deleted'), default=0)
    git_commit = models.CharField(verbose_name=_('Git commit'), max_length=40, blank=True)
    kubernetes_revision = models.CharField(
        verbose_name=_('Kubernetes revision'),
        max_length=500,
        blank=True,
        help_text=_("resourceVersion of each kind's list, as kind=version"),
    )
    step_durations = models.JSONField(
        verbose_name=_('step durations'),
        default=dict,
        blank=True,
        help_text=_('Seconds spent in each step of the run (fetch_kubernetes, fetch_git, diff, apply)'),
    )
    error = models.TextField(verbose_name=_('error'), blank=True)
    changes = models.JSONField(
        verbose_name=_('changes'),
        default=list,
        blank=True,
        help_text=_(
            'The objects the run created, updated or deleted (or would have, in a dry run), with changed fields'
        ),
    )

    # NetBox's views and API filter every queryset through object permissions (``restrict()``).
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ('-started_at',)
        verbose_name = _('sync run')
        verbose_name_plural = _('sync runs')
        indexes = (models.Index(fields=('fabric', '-started_at')),)

    def __str__(self):
        return f'{self.fabric} @ {self.started_at:%Y-%m-%d %H:%M:%S}'

    def get_absolute_url(self):
        return reverse('plugins:netbox_hedgehog:syncrun', args=[self.pk])

    # Badge colours for tables and panels (NetBox's ChoiceFieldColumn/ChoiceAttr call get_<field>_color()).
    def get_trigger_color(self):
        return SyncTriggerChoices.colors.get(self.trigger)

    def get_outcome_color(self):
        return SyncOutcomeChoices.colors.get(self.outcome)

    @property
    def lateness(self):
        """Seconds between the planned and the actual start (None for unplanned runs)."""
        if self.planned_at is None:
            return None
        return (self.started_at - self.planned_at).total_seconds()

    @property
    def duration(self):
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
