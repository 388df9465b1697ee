from itertools import batched
from operator import attrgetter
from uuid import uuid4

from core.models import ObjectType
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.postgres.fields import ArrayField
from django.db import connections, models, router
from django.db.models import Case, F, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from extras.models import CachedValue, CustomField
from netbox.models import NetBoxModel
from netbox.search import get_indexer
from utilities.querysets import RestrictedQuerySet

from ..choices import DriftStateChoices, ResourceSourceChoices

# Rows written to the search cache per INSERT.
SEARCH_BATCH = 2000


class HedgehogResourceQuerySet(RestrictedQuerySet):
    def with_last_seen(self):
        """Annotate each row's ``last_seen``, so that lists can be filtered and ordered by it."""
        from ..sources.base import source_classes

        read_at = Case(*(When(source=cls.name, then=F(f'fabric__{cls.read_at_field}')) for cls in source_classes()))
        return self.annotate(last_seen=Coalesce('last_listed', read_at))


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

    last_listed = models.DateTimeField(
        verbose_name=_('last listed'),
        null=True,
        blank=True,
        help_text=_('When its source last listed the object, once the source no longer does; empty while it does'),
    )

    drift_state = models.CharField(
        verbose_name=_('drift'),
        max_length=20,
        choices=DriftStateChoices,
        blank=True,
        help_text=_('Git (desired) compared with the cluster (actual); empty when the fabric has only one source'),
    )

    objects = HedgehogResourceQuerySet.as_manager()

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

    @property
    def last_seen(self):
        """When a sync last read this object from its source.

        A row its source still lists was seen when the fabric last read that source (a run that
        changes nothing writes no row); a row the source no longer lists, kept because pruning
        was unsafe or off, keeps the time it was last listed, so it shows up as stale.
        """
        if '_last_seen' in self.__dict__:
            return self.__dict__['_last_seen']
        if self.last_listed is not None:
            return self.last_listed
        from ..sources.base import registry

        return getattr(self.fabric, registry[self.source].read_at_field)

    @last_seen.setter
    def last_seen(self, value):
        """Set by the annotation of :meth:`HedgehogResourceQuerySet.with_last_seen`."""
        self.__dict__['_last_seen'] = value

    def get_drift_state_color(self):
        return DriftStateChoices.colors.get(self.drift_state)

    @classmethod
    def index_for_search(cls, rows, replace=False):
        """Put rows a bulk write created (or changed: ``replace``) into NetBox's search cache.

        The cache is filled by ``post_save``, which ``bulk_create``/``bulk_update`` do not send:
        without this, global search would find no resource. The values are those of NetBox's
        indexer, written with one COPY per batch: ``search_backend.cache()`` looks the object
        type up once per object outside a request, a query per row.
        """
        if not rows:
            return
        object_type = cls._object_type()
        database = connections[router.db_for_write(CachedValue)]
        now = timezone.now()
        indexer = get_indexer(cls)
        custom_fields = [field for field in CustomField.objects.get_for_model(cls) if field.search_weight > 0]
        for batch in batched(rows, SEARCH_BATCH):
            if replace:
                _raw_delete(
                    CachedValue.objects.filter(object_type=object_type, object_id__in=[row.pk for row in batch])
                )
            copy_rows(
                database.ops.quote_name(CachedValue._meta.db_table),
                ('id', 'timestamp', 'object_type_id', 'object_id', 'field', 'type', 'value', 'weight'),
                (
                    (uuid4(), now, object_type.pk, row.pk, value.name, value.type, value.value, value.weight)
                    for row in batch
                    for value in indexer.to_cache(row, custom_fields=custom_fields)
                ),
                database,
            )

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


def copy_insert(instances):
    """Insert unsaved model instances of one model with a single COPY, and give them their primary keys.

    What ``bulk_create`` writes (each field's ``pre_save`` and database value), without building
    an INSERT of every value: for thousands of rows Django's SQL compiler and psycopg's parsing of
    that statement take seconds. Sends no signals, like ``bulk_create``. Serial keys are reserved
    from the table's sequence first (one query).
    """
    if not instances:
        return
    model = type(instances[0])
    meta = model._meta
    database = connections[router.db_for_write(model)]
    if isinstance(meta.pk, models.AutoField):
        with database.cursor() as cursor:
            cursor.execute(
                'SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)',
                [meta.db_table, meta.pk.column, len(instances)],
            )
            for instance, (key,) in zip(instances, cursor.fetchall(), strict=True):
                instance.pk = key
    fields = meta.concrete_fields
    values = [_database_value(field, database) for field in fields]
    copy_rows(
        database.ops.quote_name(meta.db_table),
        [field.column for field in fields],
        ([value(instance) for value in values] for instance in instances),
        database,
    )
    for instance in instances:
        instance._state.adding = False
        instance._state.db = database.alias


def _database_value(field, database):
    """A function of an instance giving the field's value for psycopg, as ``bulk_create`` would write it.

    Only what needs it goes through the field's ``pre_save`` and ``get_db_prep_save`` (auto-now
    times, JSON): for the plugin's text, number, array and time columns psycopg takes the value
    as it is, and millions of calls through Django's field API are most of a large write.
    """
    if getattr(field, 'auto_now', False) or getattr(field, 'auto_now_add', False):
        return lambda instance: field.pre_save(instance, True)
    if isinstance(field, models.JSONField):
        return lambda instance: field.get_db_prep_save(getattr(instance, field.attname), database)
    return attrgetter(field.attname)


def copy_update(instances, field_names):
    """Write ``field_names`` of saved instances of one model: a COPY into a temporary table, then one UPDATE.

    ``bulk_update`` builds a CASE of every row for every field: minutes of SQL compiling and
    parsing for thousands of rows. Sends no signals, like ``bulk_update``.
    """
    if not instances:
        return
    model = type(instances[0])
    meta = model._meta
    database = connections[router.db_for_write(model)]
    quote = database.ops.quote_name
    fields = [meta.get_field(name) for name in field_names]
    columns = ', '.join(quote(field.column) for field in fields)
    table, temporary = quote(meta.db_table), quote(f'{meta.db_table}_update')
    with database.cursor() as cursor:
        cursor.execute(
            f'CREATE TEMPORARY TABLE {temporary} AS SELECT {quote(meta.pk.column)}, {columns} FROM {table} WITH NO DATA'
        )
        copy_rows(
            temporary,
            [meta.pk.column, *(field.column for field in fields)],
            (
                [instance.pk, *(field.get_db_prep_save(getattr(instance, field.attname), database) for field in fields)]
                for instance in instances
            ),
            database,
        )
        cursor.execute(
            f'UPDATE {table} AS r SET ({columns}) = ({", ".join(f"u.{quote(field.column)}" for field in fields)}) '
            f'FROM {temporary} AS u WHERE r.{quote(meta.pk.column)} = u.{quote(meta.pk.column)}'
        )
        cursor.execute(f'DROP TABLE {temporary}')


def copy_rows(table, columns, rows, database):
    """Write ``rows`` (sequences of database values in ``columns`` order) into ``table`` (quoted) with one COPY."""
    quote = database.ops.quote_name
    statement = f'COPY {table} ({", ".join(quote(column) for column in columns)}) FROM STDIN'
    with database.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _raw_delete(queryset):
    """One DELETE statement, no signals (as NetBox's search backend removes cached values)."""
    return queryset._raw_delete(using=queryset.db)
