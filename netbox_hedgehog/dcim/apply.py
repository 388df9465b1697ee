"""Write a :class:`~netbox_hedgehog.dcim.plan.Plan` into NetBox, object by object, inside the run's transaction.

Every object is validated (``full_clean``) and saved through NetBox's own model code, so cable
paths are traced, the search cache is filled and, under :func:`change_logging`, each change is
an ObjectChange of the run's request. Each object has its own savepoint: one that NetBox refuses
becomes a problem on the run and the rest is written; what depends on it (a device's interfaces,
an interface's cable) is skipped, so nothing is half-written.
"""

from contextlib import contextmanager
from uuid import uuid4

from dcim.choices import DeviceStatusChoices
from dcim.models import Cable, Device, DeviceRole, DeviceType, Interface, Manufacturer
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.functional import SimpleLazyObject
from django.utils.text import slugify
from ipam.models import VLAN
from netbox.choices import ColorChoices
from utilities.request import NetBoxFakeRequest, apply_request_processors

from ..models import HedgehogOwnedObject
from .desired import describe
from .ipam import IPAM_MODELS, DesiredObject, InterfaceVLANs
from .plan import FOLLOW_UPS, Plan, PrimaryAddress, interface_vlan_values, object_types

# The account the change log names for the mapping's writes: created inactive, without a password.
CHANGELOG_USER = 'hedgehog-sync'
# Colours of created device roles, picked by the role's name: the same role gets the same colour everywhere.
ROLE_COLORS = [value for value, _label in ColorChoices.CHOICES if value not in ('ffffff', '111111', '000000')]


def role_color(name):
    """A colour for a role, stable across runs and installations (no ``hash()``, which is salted per process)."""
    return ROLE_COLORS[sum(name.encode()) * 31 % len(ROLE_COLORS)]


def changelog_user():
    user, _ = get_user_model().objects.get_or_create(username=CHANGELOG_USER, defaults={'is_active': False})
    return user


@contextmanager
def change_logging():
    """NetBox's request context for a sync run: one request id for all its changes, events sent on success.

    NetBox records an ObjectChange (and queues event rules) only while a request is current;
    background jobs use a fake request under ``apply_request_processors``, as here. Enter it
    outside the run's transaction: the events are flushed when the block ends, so they must
    follow the commit. The user is looked up only when a change is recorded.
    """
    request = NetBoxFakeRequest(
        {
            'id': uuid4(),
            'user': SimpleLazyObject(changelog_user),
            'META': {},
            'COOKIES': {},
            'GET': {},
            'POST': {},
            'FILES': {},
            'method': 'POST',
            'path': '',
            'path_info': '',
        }
    )
    with apply_request_processors(request):
        yield request


def apply_plan(fabric, plan: Plan):
    """Write the plan; return ``(created, updated, deleted)`` as written, and a problem per object NetBox refused."""
    problems = []
    ids = dict(plan.ids)
    created = _create_shared(plan, problems)
    updated = 0
    owned = []
    if plan.stale_ownership:
        HedgehogOwnedObject.objects.filter(pk__in=plan.stale_ownership).delete()
    # Owned cables and IPAM objects that go are deleted first: a new one may take their place (a link's ends, a
    # VLAN's ID in its group, an address in the global table: a renamed VPC or switch).
    first = [entry for entry in plan.deletes if entry[0] is Cable or entry[0] in IPAM_MODELS]
    deleted = _delete(first, problems)
    for change in plan.changes:
        desired = change.desired
        try:
            with transaction.atomic():
                if change.model is InterfaceVLANs:
                    _write_vlans(fabric, desired, ids)
                elif change.model is PrimaryAddress:
                    _write_primary(desired, ids)
                else:
                    obj = _write(fabric, plan, change, ids)
        except (ValidationError, IntegrityError, _Skipped) as exc:
            if not isinstance(exc, _Skipped):
                what = {InterfaceVLANs: 'the VLANs of ', PrimaryAddress: 'the primary IP of '}.get(change.model, '')
                what += desired.key
                problems.append(f'DCIM: {describe(desired.origin)}: NetBox refused {what}: {_message(exc)}')
            continue
        if change.model in FOLLOW_UPS:
            updated += change.pk is not None  # on an interface created in this run, part of its creation
            continue
        ids[desired.key] = obj.pk
        created, updated = (created + 1, updated) if change.pk is None else (created, updated + 1)
        if change.pk is None or change.adopt:
            owned.append((obj, desired))
    types = object_types()
    HedgehogOwnedObject.objects.bulk_create(
        HedgehogOwnedObject(
            fabric=fabric,
            object_type=types[type(obj)],
            object_id=obj.pk,
            key=desired.key,
            kind=desired.origin[0],
            namespace=desired.origin[1],
            name=desired.origin[2],
        )
        for obj, desired in owned
    )
    deleted += _delete([entry for entry in plan.deletes if entry not in first], problems)
    return (created, updated, deleted), problems


class _Skipped(Exception):
    """An object whose device or interface was not written: it is left out with it."""


def _message(exc):
    if isinstance(exc, ValidationError):
        return '; '.join(exc.messages)
    return str(exc).splitlines()[0]


def _create_shared(plan, problems):
    """Create the roles, manufacturers and device types the devices need (never owned: fabrics share them).

    Returns how many were created. One NetBox refuses (its slug is taken by another name) is a
    problem; the devices that need it are then left out (see :func:`_write`).
    """
    created = 0
    for name in plan.roles:
        role = DeviceRole(name=name, slug=slugify(name), color=role_color(name))
        created += _create(role, problems, plan.role_ids, role.slug)
    for name in plan.manufacturers:
        manufacturer = Manufacturer(name=name, slug=slugify(name))
        created += _create(manufacturer, problems, plan.manufacturer_ids, manufacturer.slug)
    for manufacturer, model in plan.device_types:
        if slugify(manufacturer) not in plan.manufacturer_ids:
            continue
        device_type = DeviceType(
            manufacturer_id=plan.manufacturer_ids[slugify(manufacturer)],
            model=model,
            slug=slugify(f'{manufacturer} {model}')[:100],
        )
        created += _create(device_type, problems, plan.device_type_ids, (slugify(manufacturer), model))
    return created


def _create(obj, problems, ids, key):
    """Validate and save one shared object in a savepoint; note its pk under ``key``. 1 if created, else 0."""
    try:
        with transaction.atomic():
            obj.full_clean()
            obj.save()
    except (ValidationError, IntegrityError) as exc:
        problems.append(f'DCIM: NetBox refused to create {obj._meta.verbose_name} {obj}: {_message(exc)}')
        return 0
    ids[key] = obj.pk
    return 1


def _write(fabric, plan, change, ids):
    """Create or update one object with the mapping's fields; the operator's fields are left as they are."""
    desired = change.desired
    obj = change.model() if change.pk is None else change.model.objects.get(pk=change.pk)
    if change.pk is not None:
        obj.snapshot()
    if isinstance(desired, DesiredObject):
        _set_fields(obj, desired, ids, creating=change.pk is None)
    elif change.model is Device:
        role, device_type = slugify(desired.role), (slugify(desired.manufacturer), desired.model)
        if role not in plan.role_ids or device_type not in plan.device_type_ids:
            raise _Skipped  # NetBox refused its role or type: reported once, in _create_shared
        obj.name = desired.name
        obj.role_id = plan.role_ids[role]
        obj.device_type_id = plan.device_type_ids[device_type]
        obj.site_id = fabric.dcim_site_id
        obj.tenant_id = fabric.dcim_tenant_id
        obj.serial = desired.serial
        obj.description = desired.description
        if change.pk is None:
            obj.status = DeviceStatusChoices.STATUS_ACTIVE
    elif change.model is Interface:
        if desired.device not in ids or (desired.lag and desired.lag not in ids):
            raise _Skipped
        obj.device_id = ids[desired.device]
        obj.name = desired.name
        obj.type = desired.type
        obj.lag_id = ids[desired.lag] if desired.lag else None
        obj.mgmt_only = desired.mgmt_only
    else:
        if desired.a not in ids or desired.b not in ids:
            raise _Skipped
        ends = Interface.objects.in_bulk([ids[desired.a], ids[desired.b]])
        obj.a_terminations = [ends[ids[desired.a]]]
        obj.b_terminations = [ends[ids[desired.b]]]
        obj.description = desired.description
    obj.full_clean()
    obj.save()
    return obj


def _set_fields(obj, desired, ids, creating):
    """Set a generic mapped object's managed fields and references; its other fields are left as they are."""
    if any(ref is not None and ref not in ids for ref in desired.refs.values()):
        raise _Skipped  # what it refers to was not written
    for name, value in (*desired.values.items(), *(desired.initial.items() if creating else ())):
        setattr(obj, name, value)
    for name, ref in desired.refs.items():
        setattr(obj, name, ids[ref] if ref is not None else None)


def _write_vlans(fabric, vlans, ids):
    """Set an interface's mode, untagged and tagged VLANs from its attachments, keeping the operator's VLANs."""
    if vlans.key not in ids:
        raise _Skipped
    interface = Interface.objects.get(pk=ids[vlans.key])
    interface.snapshot()
    types = object_types()
    ours = set(
        HedgehogOwnedObject.objects.filter(fabric=fabric, object_type=types[VLAN]).values_list('object_id', flat=True)
    )
    ours |= {pk for key, pk in ids.items() if key.startswith('vlan:')}
    current = set(interface.tagged_vlans.values_list('pk', flat=True))
    interface.mode, interface.untagged_vlan_id, tagged = interface_vlan_values(
        vlans, ids, interface.untagged_vlan_id, current, ours
    )
    interface.full_clean()
    interface.save()
    if tagged != current:
        interface.tagged_vlans.set(tagged)


def _write_primary(primary, ids):
    """Make the switch's management address its device's primary IPv4."""
    if primary.key not in ids or primary.address not in ids:
        raise _Skipped
    device = Device.objects.get(pk=ids[primary.key])
    device.snapshot()
    device.primary_ip4_id = ids[primary.address]
    device.full_clean()
    device.save()


def _delete(entries, problems):
    """Delete owned objects (``(model, pk, ownership pk)``) one by one, each change logged; ownership goes with them."""
    done = []
    deleted = 0
    for model, pk, ownership in entries:
        obj = model.objects.filter(pk=pk).first()
        if obj is not None:
            try:
                with transaction.atomic():
                    obj.snapshot()
                    obj.delete()
                deleted += 1
            except (IntegrityError, ProtectedError, RestrictedError, ValidationError) as exc:
                problems.append(f'DCIM: NetBox refused to delete {model._meta.verbose_name} {obj}: {_message(exc)}')
                continue
        done.append(ownership)
    if done:
        HedgehogOwnedObject.objects.filter(pk__in=done).delete()
    return deleted
