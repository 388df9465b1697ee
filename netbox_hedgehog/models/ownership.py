from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.utils.translation import gettext_lazy as _
from utilities.querysets import RestrictedQuerySet


class HedgehogOwnedObject(models.Model):
    """A NetBox object (device, interface, cable, ...) that a fabric's DCIM mapping created or adopted.

    The mapping updates and prunes only what is recorded here: ownership is a record, never a
    match on names at delete time. ``key`` is the mapping's stable name for the object (e.g.
    ``interface:leaf-01/E1/1``), and ``kind``/``namespace``/``name`` the fabric object it maps
    from. Removing a row (or the fabric, which cascades here) releases the object; it never
    deletes it. An object belongs to at most one fabric.
    """

    fabric = models.ForeignKey(
        to='netbox_hedgehog.HedgehogFabric',
        on_delete=models.CASCADE,
        related_name='owned_objects',
    )
    object_type = models.ForeignKey(to='contenttypes.ContentType', on_delete=models.PROTECT, related_name='+')
    object_id = models.PositiveBigIntegerField()
    object = GenericForeignKey('object_type', 'object_id')
    key = models.CharField(verbose_name=_('mapping key'), max_length=600)
    kind = models.CharField(verbose_name=_('kind'), max_length=100)
    namespace = models.CharField(verbose_name=_('namespace'), max_length=253, default='default')
    name = models.CharField(verbose_name=_('name'), max_length=253)
    created = models.DateTimeField(verbose_name=_('created'), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ('fabric', 'key')
        verbose_name = _('owned object')
        verbose_name_plural = _('owned objects')
        constraints = (
            models.UniqueConstraint(fields=('object_type', 'object_id'), name='netbox_hedgehog_owned_object_unique'),
            models.UniqueConstraint(fields=('fabric', 'key'), name='netbox_hedgehog_owned_key_unique'),
        )

    def __str__(self):
        return f'{self.key} ({self.kind} {self.namespace}/{self.name})'
