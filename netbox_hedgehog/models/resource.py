from core.models import ObjectType
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from extras.models import CachedValue
from netbox.models import NetBoxModel
from netbox.search.backends import search_backend

from ..choices import DriftStateChoices, ResourceSourceChoices


class HedgehogResource(NetBoxModel):
    """One fabric custom resource as one source (the cluster or Git) last showed it.

    A resource seen in both sources has two rows, one per source, so that each
    source's listing can be applied and pruned on its own and the two can be compared.
    """

    fabric = models.ForeignKey(
        to='netbox_hedgehog.HedgehogFabric',
        on_delete=models.CASCADE,
        related_name='resources',
    )
    source = models.CharField(verbose_name=_('source'), max_length=20, choices=ResourceSourceChoices)
    api_version = models.CharField(verbose_name=_('API version'), max_length=100)
    kind = models.CharField(verbose_name=_('kind'), max_length=100)
    namespace = models.CharField(verbose_name=_('namespace'), max_length=253, default='default')
    name = models.CharField(verbose_name=_('name'), max_length=253)
    spec = models.JSONField(verbose_name=_('spec'), default=dict, blank=True)
    status = models.JSONField(verbose_name=_('status'), default=dict, blank=True)
    labels = models.JSONField(verbose_name=_('labels'), default=dict, blank=True)
    annotations = models.JSONField(verbose_name=_('annotations'), default=dict, blank=True)
    resource_version = models.CharField(verbose_name=_('resource version'), max_length=100, blank=True)
    uid = models.CharField(verbose_name=_('UID'), max_length=100, blank=True)
    source_path = models.CharField(
        verbose_name=_('source path'),
        max_length=500,
        blank=True,
        help_text=_('File in the Git repository this object was read from'),
    )

    # Key fields of the kinds, as real columns for listing and filtering (see netbox_hedgehog.keys).
    role = models.CharField(verbose_name=_('role'), max_length=50, blank=True)
    asn = models.BigIntegerField(verbose_name=_('ASN'), null=True, blank=True)
    profile = models.CharField(verbose_name=_('profile'), max_length=253, blank=True)
    connection_type = models.CharField(verbose_name=_('connection type'), max_length=30, blank=True)
    devices = ArrayField(
        models.CharField(max_length=253),
        verbose_name=_('devices'),
        default=list,
        blank=True,
        help_text=_('Switches, servers and gateways the object refers to'),
    )
    ports = ArrayField(
        models.CharField(max_length=300),
        verbose_name=_('ports'),
        default=list,
        blank=True,
        help_text=_('Port endpoints as device/port'),
    )
    subnets = ArrayField(models.CharField(max_length=64), verbose_name=_('subnets'), default=list, blank=True)
    vpc = models.CharField(verbose_name=_('VPC'), max_length=253, blank=True)
    connection = models.CharField(verbose_name=_('connection'), max_length=253, blank=True)
    ipv4_namespace = models.CharField(verbose_name=_('IPv4 namespace'), max_length=253, blank=True)
    vlan_namespace = models.CharField(verbose_name=_('VLAN namespace'), max_length=253, blank=True)
    heartbeat = models.DateTimeField(verbose_name=_('last heartbeat'), null=True, blank=True)
    applied_generation = models.BigIntegerField(verbose_name=_('applied generation'), null=True, blank=True)

    last_seen = models.DateTimeField(
        verbose_name=_('last seen'),
        null=True,
        blank=True,
        default=timezone.now,
        help_text=_('When the last sync read this object from its source'),
    )

    drift_state = models.CharField(
        verbose_name=_('drift'),
        max_length=20,
        choices=DriftStateChoices,
        blank=True,
        help_text=_('Git (desired) compared with the cluster (actual); empty when the fabric has only one source'),
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

    @classmethod
    def mark_seen(cls, fabric, listings, when=None):
        """Set ``last_seen`` on the fabric's rows that the given source listings hold, in one UPDATE.

        Rows a source no longer lists (kept because pruning was unsafe or off) and the rows of a
        source that could not be read keep their old time, so they show up as stale.
        """
        keys = [(listing.source, *obj.key) for listing in listings for obj in listing.objects]
        if not keys:
            return
        table = cls._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE {table} AS r SET last_seen = %s '
                'FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS l(source, kind, namespace, name) '
                'WHERE r.fabric_id = %s AND r.source = l.source AND r.kind = l.kind '
                'AND r.namespace = l.namespace AND r.name = l.name',
                [when or timezone.now(), *(list(column) for column in zip(*keys, strict=True)), fabric.pk],
            )

    def get_drift_state_color(self):
        return DriftStateChoices.colors.get(self.drift_state)

    @classmethod
    def index_for_search(cls, rows):
        """Put rows a bulk write created or changed into NetBox's search cache.

        The cache is filled by ``post_save``, which ``bulk_create``/``bulk_update`` do not send:
        without this, global search would find no resource.
        """
        _raw_delete(CachedValue.objects.filter(object_type=cls._object_type(), object_id__in=[row.pk for row in rows]))
        search_backend.cache(rows, remove_existing=False)

    @classmethod
    def delete_in_bulk(cls, queryset):
        """Delete the rows of ``queryset`` with one query per table, and return how many went.

        Django's collector would load every row, send its signals and write a change record
        for each: minutes for a fabric of 10,000 objects. What it would cascade to — tags,
        journal entries, bookmarks, subscriptions — and the rows' search cache go here too.
        """
        pks = queryset.values('pk')
        object_type = cls._object_type()
        for relation in cls._meta.private_fields:
            if isinstance(relation, GenericRelation):
                _raw_delete(
                    relation.related_model._base_manager.filter(
                        **{
                            relation.content_type_field_name: object_type,
                            f'{relation.object_id_field_name}__in': pks,
                        }
                    )
                )
        _raw_delete(CachedValue.objects.filter(object_type=object_type, object_id__in=pks))
        return _raw_delete(queryset)

    @classmethod
    def _object_type(cls):
        return ObjectType.objects.get_for_model(cls)


def _raw_delete(queryset):
    """One DELETE statement, no signals (as NetBox's search backend removes cached values)."""
    return queryset._raw_delete(using=queryset.db)
