"""Write a plan's creates and updates into NetBox: new objects in batches, the rest one by one.

A run of new objects of one model (:func:`batches`) is validated object by object and then
created in one go by ``dcim.bulk``, which gives each object what NetBox's ``save()`` would
(change record of the run's request, event rules, search index, counters). Updates, adoptions
and anything a batch cannot take (a device whose type has component templates) go through
NetBox's own ``save()``. A refusal lands on its object: validation refuses before anything is
written; when the database refuses a batch (a unique constraint), the batch is rolled back to
its savepoint and written again object by object, each in a savepoint of its own. What refers
to a refused object (a device's interfaces, an interface's cable) is left out with it, so
nothing is half-written.
"""

from contextlib import nullcontext

from dcim.models import Cable, Device, Interface
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils.text import slugify
from ipam.models import VLAN

from ..models import HedgehogOwnedObject
from . import bulk
from .desired import describe
from .ipam import DesiredObject, InterfaceVLANs
from .plan import (
    CABLE_FIELDS,
    DEVICE_FIELDS,
    FOLLOW_UPS,
    INTERFACE_FIELDS,
    PrimaryAddress,
    PrimaryMAC,
    device_status,
    interface_vlan_values,
    object_types,
)


class Skipped(Exception):
    """An object whose device or interface was not written: it is left out with it."""


def message(exc):
    if isinstance(exc, ValidationError):
        return '; '.join(exc.messages)
    return str(exc).splitlines()[0]


def batches(changes):
    """``(new, changes)`` in the plan's order: runs of new objects of one model, and runs of the other changes.

    A run of new objects is cut where one refers to another of the same run (a LAG member to its
    LAG), so that each run can be created in one go.
    """
    batch, keys, batch_new = [], set(), None
    for change in changes:
        new = change.pk is None and change.model not in FOLLOW_UPS
        same = batch and new == batch_new and change.model is batch[0].model
        if batch and not (same and not (new and _refs(change.desired) & keys)):
            yield batch_new, batch
            batch, keys = [], set()
        batch.append(change)
        keys.add(change.desired.key)
        batch_new = new
    if batch:
        yield batch_new, batch


def _refs(desired):
    """The mapping keys an object refers to: its device and LAG, a cable's ends, an IPAM object's references."""
    if isinstance(desired, DesiredObject):
        return {ref for ref in desired.refs.values() if ref is not None}
    return {ref for ref in (getattr(desired, name, None) for name in ('device', 'lag', 'parent', 'a', 'b')) if ref}


class Writer:
    """Writes one run's changes; ``ids`` (mapping key -> pk) grows with what is written, ``problems`` with refusals.

    New interfaces are announced (their creation signals sent, ``bulk.announce_created``) once
    their cables are made, so that their change record shows the cable: :meth:`announce`.
    """

    def __init__(self, fabric, plan, ids, problems):
        self.fabric, self.plan, self.ids, self.problems = fabric, plan, ids, problems
        self.unannounced = {}  # pk -> interface created and not announced yet
        self._owned_vlans = None

    def write(self, new, changes):
        """Write a batch from :func:`batches`; return ``[(change, obj)]`` of what was written."""
        if not (new and changes[0].model in (Interface, Cable)):
            self.announce()  # before anything else may write to the new interfaces (a re-cabled owned cable)
        if new:
            return self._create(changes)
        if changes[0].model in FOLLOW_UPS:
            return self._update_follow_ups(changes)
        return self._one_by_one(changes)

    def announce(self):
        """Send the creation signals of the new interfaces not announced yet."""
        bulk.announce_created(Interface, list(self.unannounced.values()))
        self.unannounced.clear()

    def _refusal(self, change, exc):
        what = {
            InterfaceVLANs: 'the VLANs of ',
            PrimaryAddress: 'the primary IP of ',
            PrimaryMAC: 'the primary MAC of ',
        }.get(change.model, '')
        self.problems.append(
            f'DCIM: {describe(change.desired.origin)}: NetBox refused {what}{change.desired.key}: {message(exc)}'
        )

    def _create(self, changes):
        """Create new objects of one model in one go (``dcim.bulk``).

        Each object is validated on its own: NetBox's ``clean()`` whole, and the fields the
        mapping sets (the others hold their defaults). The uniqueness Django checks with a query
        per object is left to the database's constraints.
        """
        model = changes[0].model
        ends = self._cable_ends(changes) if model is Cable else None
        built = []
        for change in changes:
            try:
                built.append((change, self._build(change, ends)))
            except Skipped:
                continue
        _cache_references(model, [obj for _, obj in built])
        batch, alone = [], []
        for change, obj in built:
            (batch if bulk.batchable(obj) else alone).append((change, obj))
        valid = []
        for change, obj in batch:
            try:
                obj.full_clean(exclude=_unset_fields(change), validate_unique=False, validate_constraints=False)
            except ValidationError as exc:
                self._refusal(change, exc)
                continue
            valid.append((change, obj))
        objects = [obj for _, obj in valid]
        try:
            with transaction.atomic():
                if model is Cable:
                    bulk.create_cables(objects, unannounced=self.unannounced)
                else:
                    bulk.create(model, objects, announce=model is not Interface)
        except IntegrityError:
            if model is Cable:
                for interface in self.unannounced.values():
                    interface.refresh_from_db(fields=[*bulk.CABLE_END_FIELDS, '_path'])
                self.announce()  # the cables are saved one by one, each updating its interfaces
            written, alone = [], valid + alone
        else:
            written = valid
            if model is Interface:
                self.unannounced.update((obj.pk, obj) for obj in objects)
        written += self._one_by_one([change for change, _ in alone])
        for change, obj in written:
            self.ids[change.desired.key] = obj.pk
        return written

    def _cable_ends(self, changes):
        """The interfaces new cables join: the new ones as created, the others loaded (``bulk.cable_ends``)."""
        pks = [self.ids[key] for change in changes for key in (change.desired.a, change.desired.b) if key in self.ids]
        ends = bulk.cable_ends([pk for pk in pks if pk not in self.unannounced])
        new = [self.unannounced[pk] for pk in pks if pk in self.unannounced]
        prefetch_related_objects(new, 'device__site', 'device__location', 'device__rack')
        return {**ends, **{interface.pk: interface for interface in new}}

    def _one_by_one(self, changes):
        """Write objects through NetBox's ``save()``, one by one.

        Each object is validated before anything is written for it, so a refusal by validation
        writes nothing and needs no savepoint: the objects share one, and NetBox's search index
        gets one flush for them. Only when the database refuses one are they rolled back and
        written again with a savepoint each.
        """
        for savepoint_each in (False, True):
            written, refused = [], []
            try:
                with transaction.atomic():
                    for change in changes:
                        try:
                            with transaction.atomic() if savepoint_each else nullcontext():
                                written.append((change, self._write_one(change)))
                        except (ValidationError, Skipped) as exc:
                            if not isinstance(exc, Skipped):
                                refused.append((change, exc))
                        except IntegrityError as exc:
                            if not savepoint_each:
                                raise
                            refused.append((change, exc))
            except IntegrityError:
                continue
            for change, exc in refused:
                self._refusal(change, exc)
            return written
        return []

    def _write_one(self, change):
        if change.model in FOLLOW_UPS:
            obj, tagged = self._follow_up(change)
        else:
            obj, tagged = self._build(change), None
        obj.full_clean()
        obj.save()
        if tagged is not None:
            obj.tagged_vlans.set(tagged)
        return obj

    def _build(self, change, ends=None):
        """The object to write, unsaved: a new one or the stored one (snapshot taken), with the mapping's fields set.

        ``ends``: the interfaces new cables join, by pk, when loaded for a batch.
        """
        desired, ids, plan = change.desired, self.ids, self.plan
        obj = change.model() if change.pk is None else change.model.objects.get(pk=change.pk)
        if change.pk is not None:
            obj.snapshot()
        if isinstance(desired, DesiredObject):
            _set_fields(obj, desired, ids, creating=change.pk is None)
        elif change.model is Device:
            role, device_type = slugify(desired.role), (slugify(desired.manufacturer), desired.model)
            if role not in plan.role_ids or device_type not in plan.device_type_ids:
                raise Skipped  # NetBox refused its role or type: reported once, when they were created
            obj.name = desired.name
            obj.role_id = plan.role_ids[role]
            obj.device_type_id = plan.device_type_ids[device_type]
            obj.site_id = self.fabric.dcim_site_id
            obj.tenant_id = self.fabric.dcim_tenant_id
            obj.serial = desired.serial
            obj.description = desired.description
            obj.status = device_status(desired, obj.status if change.pk is not None else None)
            if desired.platform and slugify(desired.platform) in plan.platform_ids:
                obj.platform_id = plan.platform_ids[slugify(desired.platform)]
        elif change.model is Interface:
            if any(ref and ref not in ids for ref in (desired.device, desired.lag, desired.parent)):
                raise Skipped
            obj.device_id = ids[desired.device]
            obj.name = desired.name
            obj.type = desired.type
            obj.lag_id = ids[desired.lag] if desired.lag else None
            obj.parent_id = ids[desired.parent] if desired.parent else None
            obj.mgmt_only = desired.mgmt_only
        else:
            if desired.a not in ids or desired.b not in ids:
                raise Skipped
            ends = ends or Interface.objects.in_bulk([ids[desired.a], ids[desired.b]])
            obj.a_terminations = [ends[ids[desired.a]]]
            obj.b_terminations = [ends[ids[desired.b]]]
            obj.description = desired.description
        return obj

    def _update_follow_ups(self, changes):
        """Write follow-ups of one kind (``plan.FOLLOW_UPS``) in one go (``bulk.update``); as :meth:`_create` else."""
        model = changes[0].model.target
        ready = [change for change in changes if self._follow_up_ready(change.desired)]
        stored = bulk.stored(model, [self.ids[change.desired.key] for change in ready])
        batch = [
            (change, *self._follow_up(change, stored)) for change in ready if self.ids[change.desired.key] in stored
        ]
        _cache_references(model, [obj for _, obj, _ in batch])
        valid = []
        for change, obj, tagged in batch:
            try:
                obj.full_clean(
                    exclude=[field.name for field in _references(model)],
                    validate_unique=False,
                    validate_constraints=False,
                )
            except ValidationError as exc:
                self._refusal(change, exc)
                continue
            valid.append((change, obj, tagged))
        try:
            with transaction.atomic():
                bulk.update(model, [obj for _, obj, _ in valid], changes[0].model.fields)
                for _, obj, tagged in valid:
                    if tagged is not None:
                        obj.tagged_vlans.set(tagged)
        except IntegrityError:
            return self._one_by_one([change for change, _, _ in valid])
        return [(change, obj) for change, obj, _ in valid]

    def _follow_up_ready(self, desired):
        """Whether the object a follow-up changes, and the address it sets, were written."""
        return desired.key in self.ids and (not isinstance(desired, PrimaryAddress) or desired.address in self.ids)

    def _follow_up(self, change, stored=None):
        """``(obj, tagged)``: the stored interface or device (snapshot taken) with the follow-up set.

        An interface gets its mode and untagged VLAN from its attachments, the operator's VLANs
        kept; ``tagged`` is the set of tagged VLANs to give it, None when unchanged. A device gets
        its switch's management address as its primary IPv4, an interface its boot MAC as primary MAC.
        """
        if not self._follow_up_ready(change.desired):
            raise Skipped
        model = change.model.target
        pk = self.ids[change.desired.key]
        obj = (stored or bulk.stored(model, [pk]))[pk]
        obj.snapshot()
        if change.model is not InterfaceVLANs:
            setattr(obj, f'{change.model.fields[0]}_id', self.ids[change.desired.address])
            return obj, None
        current = {vlan.pk for vlan in obj.tagged_vlans.all()}
        obj.mode, obj.untagged_vlan_id, tagged = interface_vlan_values(
            change.desired, self.ids, obj.untagged_vlan_id, current, self._fabric_vlans()
        )
        return obj, tagged if tagged != current else None

    def _fabric_vlans(self):
        """The VLANs the fabric owns (read once per run) and maps: an interface loses only these."""
        if self._owned_vlans is None:
            owned = HedgehogOwnedObject.objects.filter(fabric=self.fabric, object_type=object_types()[VLAN])
            self._owned_vlans = set(owned.values_list('object_id', flat=True))
        return self._owned_vlans | {pk for key, pk in self.ids.items() if key.startswith('vlan:')}


def _set_fields(obj, desired, ids, creating):
    """Set a generic mapped object's managed fields and references; its other fields are left as they are."""
    if any(ref is not None and ref not in ids for ref in desired.refs.values()):
        raise Skipped  # what it refers to was not written
    for name, value in (*desired.values.items(), *(desired.initial.items() if creating else ())):
        setattr(obj, name, value)
    for name, ref in desired.refs.items():
        setattr(obj, name, ids[ref] if ref is not None else None)


def _unset_fields(change):
    """The fields a new object's validation can skip: its references (just read or written) and the defaults."""
    desired = change.desired
    if isinstance(desired, DesiredObject):
        managed = {*desired.values, *desired.initial}
    else:
        managed = {Device: {*DEVICE_FIELDS, 'status'}, Interface: set(INTERFACE_FIELDS), Cable: set(CABLE_FIELDS)}
        managed = managed[change.model]
    return [
        field.name for field in change.model._meta.concrete_fields if field.many_to_one or field.attname not in managed
    ]


def _references(model):
    """A model's foreign keys: the mapping sets them to objects it has just read or written."""
    return [field for field in model._meta.concrete_fields if field.many_to_one]


def _cache_references(model, objects):
    """Load what the objects refer to in one query per foreign key, for their validation and ``save()`` logic."""
    prefetch_related_objects(
        objects, *(field.name for field in _references(model) if any(getattr(obj, field.attname) for obj in objects))
    )
