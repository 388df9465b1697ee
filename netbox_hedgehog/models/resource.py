from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from netbox.models import NetBoxModel

from ..choices import ResourceSourceChoices


class HedgehogResource(NetBoxModel):
    """One fabric custom resource as one source (the cluster or Git) last showed it.

    A resource seen in both sources has two rows, one per source, so that each
    source's listing can be applied and pruned on its own and the two can be compared.
    """

    fabric = models.ForeignKey(
        to='netbox_hedgehog.HedgehogFabric', on_delete=models.CASCADE, related_name='resources',
    )
    source = models.CharField(verbose_name=_('source'), max_length=20, choices=ResourceSourceChoices)
    api_version = models.CharField(verbose_name=_('API version'), max_length=100)
    kind = models.CharField(verbose_name=_('kind'), max_length=100)
    namespace = models.CharField(verbose_name=_('namespace'), max_length=253, default='default')
    name = models.CharField(verbose_name=_('name'), max_length=253)
    spec = models.JSONField(verbose_name=_('spec'), default=dict, blank=True)
    labels = models.JSONField(verbose_name=_('labels'), default=dict, blank=True)
    annotations = models.JSONField(verbose_name=_('annotations'), default=dict, blank=True)
    resource_version = models.CharField(verbose_name=_('resource version'), max_length=100, blank=True)
    uid = models.CharField(verbose_name=_('UID'), max_length=100, blank=True)
    source_path = models.CharField(
        verbose_name=_('source path'), max_length=500, blank=True,
        help_text=_('File in the Git repository this object was read from'),
    )

    class Meta:
        ordering = ('fabric', 'kind', 'namespace', 'name', 'source')
        verbose_name = _('fabric resource')
        verbose_name_plural = _('fabric resources')
        constraints = (
            models.UniqueConstraint(
                fields=('fabric', 'source', 'kind', 'namespace', 'name'),
                name='netbox_hedgehog_resource_unique_per_source',
            ),
        )

    def __str__(self):
        return f'{self.kind} {self.namespace}/{self.name}'

    def get_absolute_url(self):
        return reverse('plugins:netbox_hedgehog:hedgehogresource', args=[self.pk])

    def get_source_color(self):
        return ResourceSourceChoices.colors.get(self.source)
