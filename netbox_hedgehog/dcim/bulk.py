"""Create many NetBox objects at once, each ending as NetBox's own ``save()`` would leave it.

NetBox's ``save()`` costs a device 40 queries and a cable 80 (counters, component templates, a
search flush per savepoint, cable paths traced one hop at a time); a fabric maps thousands of
objects. Here a batch of new objects is inserted with one ``bulk_create`` and then given what
``save()`` would have given each: the model's own defaults (:func:`_prepare`), ``pre_save``, and
``post_save``'s receivers (:func:`announce_created`): NetBox's change logging, event rules,
search indexing, counters and config-context invalidation, those whose work adds up done once
for the batch, and any other app's receivers called for each object. A new object has no
many-to-many rows, so it is serialized for its change record without asking.

What ``save()`` does that a batch cannot (a device type's component templates) is left to the
caller's object-by-object path: :func:`batchable` says which objects can go in a batch. The
batch is not validated here: the caller validates each object first, and a database constraint
refusing the batch rolls it back as a whole (the caller then writes its objects one by one).
"""

from collections import Counter
from copy import deepcopy
from itertools import chain

from core.choices import ObjectChangeActionChoices
from core.events import OBJECT_CREATED
from core.models import ObjectChange
from dcim.choices import LinkStatusChoices
from dcim.models import Cable, CablePath, CableTermination, Device, DeviceType, Interface
from dcim.models.device_components import ComponentModel
from dcim.utils import compile_path_node
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from django_prometheus.models import model_inserts
from extras.cache import invalidate_config_context_for_objects
from extras.events import enqueue_event
from extras.models import CustomField
from netbox.context import current_request, events_queue
from utilities.counters import get_counters_for_model, update_counter
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
    """Whether the type has component templates, by its counters of them (``device_count`` is not one)."""
    return any(
        getattr(device_type, field.name)
        for field in DeviceType._meta.fields
        if isinstance(field, CounterCacheField) and field.name.endswith('_template_count')
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
    """Send the creation signals of new objects: ``post_save`` with ``created``, batch by batch.

    ``post_save`` costs a new object a few queries per receiver. The receivers NetBox connects
    whose work adds up over a batch do it once for the batch (:data:`BATCHED`): the change
    records written together, a counter raised by the batch's count, the config contexts of the
    batch's devices invalidated together. Every other receiver (the search index, event-less
    ones, another app's) is called for each object, as ``save()`` would call it.
    """
    for obj in objects:
        # A new object has no many-to-many rows: its serialization (change record, event) reads none.
        obj._prefetched_objects_cache = {
            field.name: _nothing(field.related_model) for field in model._meta.many_to_many
        }
    # Django's list of the live receivers for a sender (private API, tested in tests/test_dcim_bulk.py); a
    # receiver renamed in a later NetBox is not in BATCHED and is called for each object, as save() would.
    receivers, _async = post_save._live_receivers(model)
    for receiver in receivers:
        batched = BATCHED.get(f'{receiver.__module__}.{receiver.__qualname__}')
        if batched is not None:
            batched(receiver, model, objects, using)
            continue
        for obj in objects:
            receiver(
                signal=post_save, sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
            )
    for obj in objects:
        del obj._prefetched_objects_cache
        if hasattr(obj, 'tracker'):
            obj.tracker.clear()  # as TrackingModelMixin.save() does: the counters are up to date


def _log_creations(receiver, model, objects, using):
    """``core.signals.handle_changed_object`` for new objects: their change records in one insert, their events."""
    request = current_request.get()
    if request is None:
        return
    queue = events_queue.get()
    changes = []
    for obj in objects:
        change = obj.to_objectchange(ObjectChangeActionChoices.ACTION_CREATE)
        if change and change.has_changes:
            change.user, change.request_id = request.user, request.id
            change.user_name = change.user_name or request.user.username  # as ObjectChange.save() does
            changes.append(change)
        enqueue_event(queue, obj, request, OBJECT_CREATED)
    events_queue.set(queue)
    ObjectChange.objects.using(using).bulk_create(changes, batch_size=1000)
    model_inserts.labels(model._meta.model_name).inc(len(objects))


def _count(receiver, model, objects, using):
    """``utilities.counters.post_save_receiver`` for new objects: each parent's counter raised once, by its count."""
    for field_name, counter_name in get_counters_for_model(model):
        parent = model._meta.get_field(field_name).related_model
        counts = Counter(getattr(obj, field_name) for obj in objects if getattr(obj, field_name) is not None)
        for pk, count in counts.items():
            update_counter(parent, pk, counter_name, count, using=using)


def _invalidate_config_contexts(receiver, model, objects, using):
    """The config-context receiver of new devices: their rendered contexts invalidated together."""
    invalidate_config_context_for_objects(model._meta.label_lower, [obj.pk for obj in objects], using=using)


def _channels(receiver, model, objects, using):
    """``dcim.signals.update_channelized_cable_paths``: nothing to do for a new interface outside channelization."""
    for obj in objects:
        if obj.channel_id or obj.parent_id or obj.channels:
            receiver(
                signal=post_save, sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
            )


def _no_op_on_creation(receiver, model, objects, using):
    """``extras.signals.notify_object_changed`` returns at once for a new object."""


# NetBox's post_save receivers that do a batch's work at once, by module and qualified name.
BATCHED = {
    'core.signals.handle_changed_object': _log_creations,
    'utilities.counters.post_save_receiver': _count,
    'extras.signals._make_object_save_handler.<locals>._handler': _invalidate_config_contexts,
    'dcim.signals.update_channelized_cable_paths': _channels,
    'extras.signals.notify_object_changed': _no_op_on_creation,
}


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
        _send_updated(model, obj, using)


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


def _send_updated(model, obj, using):
    """``post_save`` for a stored object updated in a batch."""
    post_save.send(sender=model, instance=obj, created=False, update_fields=None, raw=False, using=using)
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
    # Their change records list their terminations, as the update NetBox records after creating them does.
    announce_created(Cable, cables, using)
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
        _send_updated(Interface, interface, using)
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
