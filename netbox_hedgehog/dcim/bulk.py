"""Create many NetBox objects at once, each ending as NetBox's own ``save()`` would leave it.

NetBox's ``save()`` costs a device 40 queries and a cable 80 (counters, component templates, a
search flush per savepoint, cable paths traced one hop at a time); a fabric maps thousands of
objects. Here a batch of new objects is inserted with one ``bulk_create`` and then given what
``save()`` would have given each: the model's own defaults (:func:`_prepare`), and the
``pre_save`` / ``post_save`` signals, so NetBox's change logging, event rules, search indexing,
counters, config-context invalidation and any other app's receivers run as for a save. A new
object has no many-to-many rows, so it is serialized for its change record without asking.

What ``save()`` does that a batch cannot (a device type's component templates) is left to the
caller's object-by-object path: :func:`batchable` says which objects can go in a batch. The
batch is not validated here: the caller validates each object first, and a database constraint
refusing the batch rolls it back as a whole (the caller then writes its objects one by one).
"""

from copy import deepcopy
from itertools import chain

from dcim.choices import LinkStatusChoices
from dcim.models import Cable, CablePath, CableTermination, Device, DeviceType, Interface
from dcim.models.device_components import ComponentModel
from dcim.utils import compile_path_node
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from extras.models import CustomField
from utilities.fields import CounterCacheField

__all__ = ('announce_created', 'batchable', 'cable_ends', 'create', 'create_cables', 'stored', 'update')

# The fields NetBox's CableTermination.save() sets on the cabled interface.
CABLE_END_FIELDS = ('cable', 'cable_end', 'cable_connector', 'cable_positions', 'last_updated')


def batchable(obj):
    """Whether ``obj`` can be created in a batch: not a device whose type has component templates to instantiate."""
    if isinstance(obj, Device):
        return not _has_templates(obj.device_type)
    return True


def _has_templates(device_type: DeviceType):
    return any(
        getattr(device_type, field.name) for field in DeviceType._meta.fields if isinstance(field, CounterCacheField)
    )


def create(model, objects, using='default', announce=True):
    """Insert ``objects`` of ``model`` (new, validated) and send each the signals of its creation.

    ``announce`` False leaves the signals to :func:`announce_created`, once the objects are
    complete: interfaces once their cables are made, so that their creation is recorded with the
    cable rather than followed by an update for it.
    """
    _insert(model, objects, using)
    if announce:
        announce_created(model, objects, using)


def announce_created(model, objects, using='default'):
    """Send the creation signals of objects inserted with ``create(..., announce=False)``."""
    for obj in objects:
        _send_saved(model, obj, using, created=True)


def update(model, objects, fields, using='default'):
    """Write ``fields`` of stored objects (snapshots taken, validated) in one statement, and send each its signals.

    ``last_updated`` is stamped and custom field defaults are filled in, as ``save()`` does.
    """
    now = timezone.now()
    for obj in objects:
        obj.last_updated = now
    _prepare(model, objects, created=False)
    for obj in objects:
        pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    model.objects.using(using).bulk_update(objects, [*fields, 'last_updated', 'custom_field_data'], batch_size=1000)
    for obj in objects:
        _send_saved(model, obj, using, created=False)


def stored(model, pks, using='default'):
    """``{pk: object}`` of stored objects with their many-to-many relations loaded, ready for snapshots."""
    return model.objects.using(using).prefetch_related(*(field.name for field in model._meta.many_to_many)).in_bulk(pks)


def _insert(model, objects, using):
    _prepare(model, objects, created=True)
    for obj in objects:
        pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    model.objects.using(using).bulk_create(objects)


def _prepare(model, objects, created):
    """What the models' ``save()`` sets before writing: custom field defaults, inherited and denormalized fields."""
    defaults = CustomField.objects.get_defaults_for_model(model) if hasattr(model, 'custom_field_data') else {}
    for obj in objects:
        if hasattr(obj, '_coerce_nullable_unique_chars'):
            obj._coerce_nullable_unique_chars()
        for name, default in defaults.items():
            obj.custom_field_data.setdefault(name, deepcopy(default))
        if isinstance(obj, Device) and created:
            device_type = obj.device_type
            obj.airflow = obj.airflow or device_type.airflow
            obj.cooling_method = obj.cooling_method or device_type.cooling_method
            obj.platform_id = obj.platform_id or device_type.default_platform_id
        elif isinstance(obj, ComponentModel):
            device = obj.device
            obj._site_id, obj._location_id, obj._rack_id = device.site_id, device.location_id, device.rack_id
        if isinstance(obj, Interface) and not obj.mode:
            obj.untagged_vlan = None
        if isinstance(obj, Device) and obj.rack_id and obj.rack.location_id:
            obj.location_id = obj.rack.location_id


def _send_saved(model, obj, using, created):
    """``post_save`` for an object written in a batch; a new object's relations are known to be empty."""
    if created:
        obj._prefetched_objects_cache = {
            field.name: _nothing(field.related_model) for field in model._meta.many_to_many
        }
    post_save.send(sender=model, instance=obj, created=created, update_fields=None, raw=False, using=using)
    if created:
        del obj._prefetched_objects_cache
    if hasattr(obj, 'tracker'):
        obj.tracker.clear()  # as TrackingModelMixin.save() does: the counters are up to date


def _nothing(model):
    """An evaluated empty queryset, as a prefetch leaves one: read without compiling a query."""
    queryset = model.objects.none()
    queryset._result_cache, queryset._prefetch_done = [], True
    return queryset


def create_cables(cables, using='default', unannounced=frozenset()):
    """Create ``cables`` (new, validated, one interface at each end) with their terminations and paths.

    As NetBox's ``Cable.save()`` does: the cable, a CableTermination per end (its device, rack,
    location and site cached on it), the cable noted on each interface (an update, change
    logged, except on interfaces whose creation is not announced yet: pks in ``unannounced``),
    and a CablePath from each interface across the cable to the other. The interfaces must be
    loaded with their device (and its site, location, rack) and, unless unannounced, their
    many-to-many relations, as :func:`cable_ends` loads them.
    """
    _insert(Cable, cables, using)
    terminations = [
        CableTermination(cable=cable, cable_end=end, termination=interface, connector=None, positions=None)
        for cable in cables
        for end, (interface,) in (('A', cable.a_terminations), ('B', cable.b_terminations))
    ]
    for termination in terminations:
        termination.cache_related_objects()
    create(CableTermination, terminations, using)
    for cable in cables:
        # Its change record lists its terminations, as the update NetBox records after creating them does.
        _send_saved(Cable, cable, using, created=True)
    interfaces = [termination.termination for termination in terminations]
    announced = [interface for interface in interfaces if interface.pk not in unannounced]
    for interface in announced:
        interface.snapshot()
    now = timezone.now()
    for termination, interface in zip(terminations, interfaces, strict=True):
        interface.set_cable_termination(termination)
        interface.last_updated = now
    Interface.objects.using(using).bulk_update(interfaces, CABLE_END_FIELDS, batch_size=1000)
    for interface in announced:
        _send_saved(Interface, interface, using, created=False)
    _trace(cables, using)
    Interface.objects.using(using).bulk_update(interfaces, ['_path'], batch_size=1000)


def _trace(cables, using):
    """The two CablePaths of each interface-to-interface cable: origin, cable, far end; set on the origins."""
    interface_type = ContentType.objects.get_for_model(Interface).pk
    cable_type = ContentType.objects.get_for_model(Cable).pk
    paths = []
    for cable in cables:
        (a,), (b,) = cable.a_terminations, cable.b_terminations
        for origin, far in ((a, b), (b, a)):
            path = [
                [compile_path_node(interface_type, origin.pk)],
                [compile_path_node(cable_type, cable.pk)],
                [compile_path_node(interface_type, far.pk)],
            ]
            paths.append(
                (
                    origin,
                    CablePath(
                        path=path,
                        is_active=cable.status == LinkStatusChoices.STATUS_CONNECTED,
                        is_complete=True,
                        is_split=False,
                        _nodes=list(chain(*path)),
                    ),
                )
            )
    CablePath.objects.using(using).bulk_create([path for _, path in paths])
    for origin, path in paths:
        origin._path = path


def cable_ends(pks, using='default'):
    """``{pk: Interface}`` loaded as :func:`create_cables` needs them (a fixed number of queries)."""
    return (
        Interface.objects.using(using)
        .select_related('device__site', 'device__location', 'device__rack')
        .prefetch_related(*(field.name for field in Interface._meta.many_to_many))
        .in_bulk(pks)
    )
