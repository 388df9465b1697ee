"""Write a :class:`~netbox_hedgehog.dcim.plan.Plan` into NetBox inside the run's transaction.

The shared objects devices need (roles, manufacturers, device types) first, then deletions that
free a place, the creates and updates (``dcim.write``: validated object by object, new objects
created in batches), the ownership of what was created or adopted, and the remaining deletions.
Under :func:`change_logging` each change is an ObjectChange of the run's request. An object
NetBox refuses is a problem on the run and the rest is written.
"""

from contextlib import contextmanager
from uuid import uuid4

from dcim.models import Cable, DeviceRole, DeviceType, Manufacturer, Platform
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.functional import SimpleLazyObject
from django.utils.text import slugify
from netbox.choices import ColorChoices
from utilities.request import NetBoxFakeRequest, apply_request_processors

from ..models import HedgehogOwnedObject
from .ipam import IPAM_MODELS
from .plan import FOLLOW_UPS, Plan, object_types
from .write import Writer, batches, message

# Ownership rows written per statement.
OWNERSHIP_BATCH = 1000
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
    created = _create_shared(plan, problems)
    updated = 0
    owned = []
    if plan.stale_ownership:
        HedgehogOwnedObject.objects.filter(pk__in=plan.stale_ownership).delete()
    # Owned cables and IPAM objects that go are deleted first: a new one may take their place (a link's ends, a
    # VLAN's ID in its group, an address in the global table: a renamed VPC or switch).
    first = [entry for entry in plan.deletes if entry[0] is Cable or entry[0] in IPAM_MODELS]
    deleted = _delete(first, problems)
    writer = Writer(fabric, plan, dict(plan.ids), problems)
    for new, changes in batches(plan.changes):
        for change, obj in writer.write(new, changes):
            if change.model in FOLLOW_UPS:
                updated += change.pk is not None  # on an interface created in this run, part of its creation
                continue
            created, updated = (created + 1, updated) if change.pk is None else (created, updated + 1)
            if change.pk is None or change.adopt:
                owned.append((obj, change.desired))
    writer.announce()
    types = object_types()
    for start in range(0, len(owned), OWNERSHIP_BATCH):  # not all built at once: a run's peak memory
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
            for obj, desired in owned[start : start + OWNERSHIP_BATCH]
        )
    deleted += _delete([entry for entry in plan.deletes if entry not in first], problems)
    return (created, updated, deleted), problems


def _create_shared(plan, problems):
    """Create the roles, manufacturers, device types and platforms the devices need (never owned: fabrics share them).

    Returns how many were created. One NetBox refuses (its slug is taken by another name) is a
    problem; the devices that need it are then left out (``write.Writer``), except for a
    platform: the devices keep the one they have.
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
    for name in plan.platforms:
        created += _create(Platform(name=name, slug=slugify(name)), problems, plan.platform_ids, slugify(name))
    return created


def _create(obj, problems, ids, key):
    """Validate and save one shared object in a savepoint; note its pk under ``key``. 1 if created, else 0."""
    try:
        with transaction.atomic():
            obj.full_clean()
            obj.save()
    except (ValidationError, IntegrityError) as exc:
        problems.append(f'DCIM: NetBox refused to create {obj._meta.verbose_name} {obj}: {message(exc)}')
        return 0
    ids[key] = obj.pk
    return 1


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
                problems.append(f'DCIM: NetBox refused to delete {model._meta.verbose_name} {obj}: {message(exc)}')
                continue
        done.append(ownership)
    if done:
        HedgehogOwnedObject.objects.filter(pk__in=done).delete()
    return deleted
