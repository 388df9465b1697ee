"""Compare the desired DCIM objects with what the fabric owns in NetBox: what to create, update, adopt, delete.

Reads only, and a fixed number of queries however large the fabric (one per model and lookup);
lookups for name conflicts run only when something is new. The result is a :class:`Plan` that
``dcim.apply`` writes, or whose counts a dry run shows.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import ClassVar

from dcim.choices import DeviceStatusChoices, InterfaceModeChoices
from dcim.models import Cable, CableTermination, Device, DeviceRole, DeviceType, Interface, Manufacturer, Platform
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.text import slugify
from ipam.models import VLAN
from netaddr import IPNetwork

from ..choices import DCIMConflictPolicyChoices
from ..models import HedgehogOwnedObject
from .desired import DesiredState, describe
from .ipam import IPAM_MODELS, InterfaceVLANs

# What the mapping manages on each model; everything else (rack, position, asset tag, comments, tags,
# custom fields, ...) is the operator's, and so are a device's status but for :func:`device_status` and its
# platform but for a switch whose profile names a NOS type.
DEVICE_FIELDS = ('name', 'role_id', 'device_type_id', 'site_id', 'tenant_id', 'serial', 'description')
# What the plan reads of a device: the managed fields, those managed in some cases, and the primary IP (a follow-up).
DEVICE_COLUMNS = ('pk', 'primary_ip4_id', 'status', 'platform_id', *DEVICE_FIELDS)
# The device statuses a switch's Agent moves it between; any other is the operator's.
AGENT_STATUSES = (DeviceStatusChoices.STATUS_ACTIVE, DeviceStatusChoices.STATUS_OFFLINE)
INTERFACE_FIELDS = ('name', 'type', 'lag_id', 'parent_id', 'mgmt_only')
CABLE_FIELDS = ('description',)
# An interface's fields its follow-ups set: VLANs from VPC attachments (with its tagged VLANs), the primary MAC.
INTERFACE_FOLLOW_UP_FIELDS = ('mode', 'untagged_vlan_id', 'primary_mac_address_id')


@dataclass
class Change:
    """One object to write: ``desired`` is the mapping's object, ``pk`` the NetBox object's (None to create)."""

    model: type
    desired: object
    pk: int | None = None
    adopt: bool = False
    fields: list = field(default_factory=list)  # of an update: [field, stored value, mapped value]


@dataclass
class PrimaryAddress:
    """A device's primary IPv4 address: the mapped address ``address`` (a mapping key) of device ``key``."""

    key: str
    origin: tuple
    address: str
    # What the follow-up writes: the model and its field (pointing at ``address``).
    target: ClassVar = Device
    fields: ClassVar = ('primary_ip4',)


@dataclass
class PrimaryMAC(PrimaryAddress):
    """An interface's primary MAC address: the mapped MAC address ``address`` of interface ``key``."""

    target: ClassVar = Interface
    fields: ClassVar = ('primary_mac_address',)


# Changes to an object the mapping writes anyway (an interface's VLANs, a device's primary IP, an interface's primary
# MAC): on an object created in the same run they are part of its creation, not counted apart.
FOLLOW_UPS = (InterfaceVLANs, PrimaryAddress, PrimaryMAC)


@dataclass
class Plan:
    roles: list[str] = field(default_factory=list)  # names of DeviceRoles to create
    manufacturers: list[str] = field(default_factory=list)
    device_types: list[tuple[str, str]] = field(default_factory=list)  # (manufacturer, model)
    platforms: list[str] = field(default_factory=list)
    # Creates, updates and adoptions, in the order they are applied: devices, interfaces (LAGs first), cables.
    changes: list[Change] = field(default_factory=list)
    # Owned objects to delete, cables first: (model, pk, ownership row pk); their mapping keys, in the same order.
    deletes: list[tuple[type, int, int]] = field(default_factory=list)
    deleted_keys: list[str] = field(default_factory=list)
    # Ownership rows whose object is gone (deleted by hand): removed, the object is created again.
    stale_ownership: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Resolved primary keys: role/manufacturer/platform slug, (manufacturer slug, model), mapping key -> pk.
    role_ids: dict = field(default_factory=dict)
    manufacturer_ids: dict = field(default_factory=dict)
    device_type_ids: dict = field(default_factory=dict)
    platform_ids: dict = field(default_factory=dict)
    ids: dict = field(default_factory=dict)
    # Mapping keys of objects this plan creates (what refers to them is written after them).
    pending: set = field(default_factory=set)
    # The stored values of the devices and interfaces the fabric maps, by mapping key.
    device_rows: dict = field(default_factory=dict)
    interface_rows: dict = field(default_factory=dict)

    @property
    def created(self):
        shared = len(self.roles) + len(self.manufacturers) + len(self.device_types) + len(self.platforms)
        # The VLANs of an interface created in this run are part of its creation.
        return shared + sum(1 for change in self.changes if change.pk is None and change.model not in FOLLOW_UPS)

    @property
    def updated(self):
        return sum(1 for change in self.changes if change.pk is not None)

    @property
    def deleted(self):
        return len(self.deletes)

    @property
    def empty(self):
        return not (self.created or self.updated or self.deleted or self.stale_ownership)

    def records(self):
        """The plan object by object, for the run's change list (``sync.changes``): what a dry run shows."""
        shared = [
            *((DeviceRole, name) for name in self.roles),
            *((Manufacturer, name) for name in self.manufacturers),
            *((DeviceType, f'{manufacturer} {model}') for manufacturer, model in self.device_types),
            *((Platform, name) for name in self.platforms),
        ]
        for model, name in shared:
            yield _record('create', model, name)
        for change in self.changes:
            if change.model in FOLLOW_UPS:
                if change.pk is not None:
                    yield _record('update', change.model.target, change.desired.key, change.fields)
                continue
            action = 'create' if change.pk is None else 'adopt' if change.adopt else 'update'
            yield _record(action, change.model, change.desired.key, change.fields)
        for (model, _pk, _ownership), key in zip(self.deletes, self.deleted_keys, strict=True):
            yield _record('delete', model, key)


def _record(action, model, name, fields=()):
    return {
        'action': action,
        'source': 'netbox',
        'kind': model._meta.label_lower,
        'namespace': '',
        'name': name,
        'fields': [list(entry) for entry in fields],
    }


def _changed(row, values, same=lambda old, new: old == new):
    """``[field, stored, mapped]`` of each managed field whose stored value is not the mapping's (JSON-safe)."""
    return [[name, _json(row[name]), _json(value)] for name, value in values.items() if not same(row[name], value)]


def _json(value):
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def object_types():
    """The content types of the mapped models (cached by Django after the first lookup)."""
    return {model: ContentType.objects.get_for_model(model) for model in (Device, Interface, Cable, *IPAM_MODELS)}


def plan_mapping(fabric, desired: DesiredState, prune=True) -> Plan:
    """What must change for the fabric's owned NetBox objects to match ``desired``.

    ``prune`` False keeps owned objects the fabric no longer has (a failed or partial read,
    pruning off). Objects of fabric objects ``desired`` holds for a problem are kept too.
    """
    plan = Plan(problems=list(desired.problems))
    types = object_types()
    owned = {
        row['key']: row
        for row in HedgehogOwnedObject.objects.filter(fabric=fabric).values(
            'pk', 'key', 'object_type_id', 'object_id', 'kind', 'namespace', 'name'
        )
    }
    _resolve_shared(plan, desired)
    policy = fabric.dcim_conflict_policy
    devices = _plan_devices(plan, fabric, desired, owned, types[Device], policy)
    interfaces = _plan_interfaces(plan, desired, owned, types[Interface], devices, policy)
    if prune and not desired.devices and any(key.startswith('device:') for key in owned):
        plan.problems.append(
            'DCIM: the source lists no switches or servers although the fabric owns devices; nothing was pruned'
        )
        prune = False
    _plan_cables(plan, desired, owned, types[Cable], interfaces, policy, prune)
    _plan_objects(plan, desired.ipam, owned, types, policy)
    _plan_interface_vlans(plan, desired, owned, types[VLAN])
    _plan_primaries(plan, PrimaryAddress, desired.primary, plan.device_rows, desired.devices)
    _plan_primaries(plan, PrimaryMAC, desired.primary_macs, plan.interface_rows, desired.interfaces)
    if prune:
        _plan_deletes(plan, desired, owned, types)
    return plan


def _resolve_shared(plan, desired):
    """Look up the roles, manufacturers, device types and platforms the devices need; note those to create.

    A platform is one without a manufacturer (which NetBox would check against the device type's).
    """
    roles = {device.role for device in desired.devices.values()}
    platforms = {device.platform for device in desired.devices.values() if device.platform}
    manufacturers = {device.manufacturer for device in desired.devices.values()}
    models = {(device.manufacturer, device.model) for device in desired.devices.values()}
    if not roles:
        return
    plan.role_ids = dict(
        DeviceRole.objects.filter(slug__in=[slugify(name) for name in roles]).values_list('slug', 'pk')
    )
    plan.manufacturer_ids = dict(
        Manufacturer.objects.filter(slug__in=[slugify(name) for name in manufacturers]).values_list('slug', 'pk')
    )
    plan.device_type_ids = {
        (manufacturer, model): pk
        for manufacturer, model, pk in DeviceType.objects.filter(
            manufacturer__slug__in=[slugify(name) for name in manufacturers], model__in=[m for _, m in models]
        ).values_list('manufacturer__slug', 'model', 'pk')
    }
    if platforms:
        plan.platform_ids = dict(
            Platform.objects.filter(manufacturer=None, slug__in=[slugify(name) for name in platforms]).values_list(
                'slug', 'pk'
            )
        )
    plan.roles = sorted(name for name in roles if slugify(name) not in plan.role_ids)
    plan.platforms = sorted(name for name in platforms if slugify(name) not in plan.platform_ids)
    plan.manufacturers = sorted(name for name in manufacturers if slugify(name) not in plan.manufacturer_ids)
    plan.device_types = sorted(
        (manufacturer, model)
        for manufacturer, model in models
        if (slugify(manufacturer), model) not in plan.device_type_ids
    )


def device_values(plan, fabric, device):
    """The managed field values of a desired device (a role, type or platform still to be created is None).

    The platform is managed only when the switch profile names a NOS type.
    """
    values = {
        'name': device.name,
        'role_id': plan.role_ids.get(slugify(device.role)),
        'device_type_id': plan.device_type_ids.get((slugify(device.manufacturer), device.model)),
        'site_id': fabric.dcim_site_id,
        'tenant_id': fabric.dcim_tenant_id,
        'serial': device.serial,
        'description': device.description,
    }
    if device.platform:
        values['platform_id'] = plan.platform_ids.get(slugify(device.platform))
    return values


def device_status(device, current):
    """The status a mapped device gets, ``current`` being its stored one (None for a new device).

    A new device is Active, or Offline when its switch's Agent is stale. After that, the Agent
    (``device.status``, None for a server or a switch without one) moves it between Active and
    Offline; any other status (planned, failed, ...) is the operator's and stays.
    """
    if current is None:
        return device.status or DeviceStatusChoices.STATUS_ACTIVE
    if device.status is not None and current in AGENT_STATUSES:
        return device.status
    return current


def _owned_rows(owned, object_type, prefix):
    return {
        key: row for key, row in owned.items() if row['object_type_id'] == object_type.pk and key.startswith(prefix)
    }


def _claimed_by_others(object_type, pks):
    """Which of these objects another fabric owns (one query, none for no objects)."""
    if not pks:
        return set()
    owners = HedgehogOwnedObject.objects.filter(object_type=object_type, object_id__in=pks)
    return set(owners.values_list('object_id', flat=True))


def _conflict(plan, policy, desired, what):
    """Report an object of the same name the fabric does not own; True when the policy adopts it."""
    if policy == DCIMConflictPolicyChoices.ADOPT:
        return True
    plan.problems.append(
        f'DCIM: {describe(desired.origin)}: {what} already exists and is not managed by this fabric '
        f'(conflict policy "report": left untouched)'
    )
    return False


def _plan_devices(plan, fabric, desired, owned, object_type, policy):
    """Plan the devices; return ``{device key: pk or None (to be created)}`` of the devices that will exist."""
    mine = {row['object_id']: key for key, row in _owned_rows(owned, object_type, 'device:').items()}
    actual = {row['pk']: row for row in Device.objects.filter(pk__in=list(mine)).values(*DEVICE_COLUMNS)}
    plan.stale_ownership += [owned[key]['pk'] for pk, key in mine.items() if pk not in actual]
    by_key = {key: actual[pk] for pk, key in mine.items() if pk in actual}
    new = [device for key, device in desired.devices.items() if key not in by_key]
    existing, others = {}, set()
    if new:
        for row in (
            Device.objects.annotate(lower_name=Lower('name'))
            .filter(site_id=fabric.dcim_site_id, lower_name__in=[device.name.lower() for device in new])
            .values('lower_name', *DEVICE_COLUMNS)
        ):
            existing.setdefault(row['lower_name'], row)
        others = _claimed_by_others(object_type, [row['pk'] for row in existing.values()])
    result = {}
    for key, device in desired.devices.items():
        values = device_values(plan, fabric, device)
        row = by_key.get(key)
        adopt = False
        if row is None and (row := existing.get(device.name.lower())) is not None:
            if row['pk'] in others:
                plan.problems.append(
                    f'DCIM: {describe(device.origin)}: device {device.name} belongs to another fabric; not mapped'
                )
                continue
            if not _conflict(plan, policy, device, f'device {device.name} in the site'):
                continue
            adopt = True
        if row is None:
            plan.changes.append(Change(Device, device))
            plan.pending.add(key)
            result[key] = None
        else:
            fields = _changed(row, {**values, 'status': device_status(device, row['status'])})
            platform_created = device.platform and slugify(device.platform) not in plan.platform_ids
            if adopt or platform_created or fields:
                plan.changes.append(Change(Device, device, row['pk'], adopt, [] if adopt else fields))
            plan.ids[key] = result[key] = row['pk']
            plan.device_rows[key] = row
    return result


def _plan_interfaces(plan, desired, owned, object_type, devices, policy):
    """Plan interfaces and LAGs on devices that will exist; return ``{key: (pk or None, cable id)}``."""
    mine = {
        row['object_id']: key
        for key, row in owned.items()
        if row['object_type_id'] == object_type.pk and key.startswith(('interface:', 'subinterface:', 'lag:'))
    }
    actual = {
        row['pk']: row
        for row in Interface.objects.filter(pk__in=list(mine)).values(
            'pk', 'device_id', 'cable_id', *INTERFACE_FIELDS, *INTERFACE_FOLLOW_UP_FIELDS
        )
    }
    plan.stale_ownership += [owned[key]['pk'] for pk, key in mine.items() if pk not in actual]
    by_key = {key: actual[pk] for pk, key in mine.items() if pk in actual}
    wanted = {key: iface for key, iface in desired.interfaces.items() if iface.device in devices}
    new = [iface for key, iface in wanted.items() if key not in by_key and devices[iface.device] is not None]
    existing, others = {}, set()
    if new:
        for row in Interface.objects.filter(
            device_id__in={devices[iface.device] for iface in new}, name__in={iface.name for iface in new}
        ).values('pk', 'device_id', 'cable_id', *INTERFACE_FIELDS, *INTERFACE_FOLLOW_UP_FIELDS):
            existing[(row['device_id'], row['name'])] = row
        others = _claimed_by_others(object_type, [row['pk'] for row in existing.values()])
    result = {}
    for key, iface in wanted.items():
        if any(ref is not None and ref not in result for ref in (iface.lag, iface.parent)):
            continue  # its LAG or port is not mapped (a conflict): the member or subinterface waits with it
        row = by_key.get(key)
        adopt = False
        if row is None and devices[iface.device] is not None:
            row = existing.get((devices[iface.device], iface.name))
            if row is not None:
                if row['pk'] in others:
                    plan.problems.append(
                        f'DCIM: {describe(iface.origin)}: interface {iface.name} belongs to another fabric; not mapped'
                    )
                    continue
                if not _conflict(plan, policy, iface, f'interface {iface.name} of {iface.device[len("device:") :]}'):
                    continue
                adopt = True
        lag_id = plan.ids.get(iface.lag) if iface.lag else None
        parent_id = plan.ids.get(iface.parent) if iface.parent else None
        # The member joins a LAG created in this run, the subinterface a port created in this run.
        joins = (iface.lag is not None and lag_id is None) or (iface.parent is not None and parent_id is None)
        if row is None:
            plan.changes.append(Change(Interface, iface))
            plan.pending.add(key)
            result[key] = (None, None)
        else:
            values = {
                'device_id': devices[iface.device],
                'name': iface.name,
                'type': iface.type,
                'lag_id': lag_id,
                'parent_id': parent_id,
                'mgmt_only': iface.mgmt_only,
            }
            fields = _changed(row, values)
            if adopt or joins or fields:
                plan.changes.append(Change(Interface, iface, row['pk'], adopt, fields))
            plan.ids[key] = row['pk']
            plan.interface_rows[key] = row
            result[key] = (row['pk'], row['cable_id'])
    return result


def _plan_cables(plan, desired, owned, object_type, interfaces, policy, prune):
    """Plan a cable per desired link whose two interfaces will exist."""
    mine = {row['object_id']: key for key, row in _owned_rows(owned, object_type, 'cable:').items()}
    actual = {row['pk']: row for row in Cable.objects.filter(pk__in=list(mine)).values('pk', *CABLE_FIELDS)}
    plan.stale_ownership += [owned[key]['pk'] for pk, key in mine.items() if pk not in actual]
    ends = _terminations(list(actual))
    by_key = {key: actual[pk] for pk, key in mine.items() if pk in actual}
    wanted = {key: cable for key, cable in desired.cables.items() if cable.a in interfaces and cable.b in interfaces}
    # Cables on the ends of new links that the fabric does not own: the same link (adoptable) or another one.
    foreign = {
        cable_id
        for key, cable in wanted.items()
        if key not in by_key
        for cable_id in (interfaces[cable.a][1], interfaces[cable.b][1])
        if cable_id is not None and cable_id not in mine
    }
    foreign_ends = _terminations(foreign)
    others = _claimed_by_others(object_type, foreign)
    # Owned cables this run deletes: their interfaces are free for a new link.
    leaving = {
        pk
        for pk, key in mine.items()
        if prune and key not in desired.cables and _origin(owned[key]) not in desired.held
    }
    for key, cable in wanted.items():
        (a_pk, a_cable), (b_pk, b_cable) = interfaces[cable.a], interfaces[cable.b]
        link = {a_pk, b_pk}
        row = by_key.get(key)
        if row is not None:
            stored = _link_of(ends.get(row['pk']))
            fields = _changed(row, {'description': cable.description})
            if stored != link:
                fields.append(['terminations', _json(sorted(stored or ())), _json(sorted(link, key=str))])
            if fields:
                plan.changes.append(Change(Cable, cable, row['pk'], fields=fields))
            continue
        present = {cable_id for cable_id in (a_cable, b_cable) if cable_id is not None and cable_id not in leaving}
        if not present:
            plan.changes.append(Change(Cable, cable))
            continue
        (cable_id,) = present if len(present) == 1 else (None,)
        if cable_id is None or cable_id in mine or _link_of(foreign_ends.get(cable_id)) != link:
            plan.problems.append(
                f'DCIM: {describe(cable.origin)}: an interface of link {key[len("cable:") :]} is already cabled '
                f'elsewhere; not mapped'
            )
        elif cable_id in others:
            plan.problems.append(f'DCIM: {describe(cable.origin)}: its cable belongs to another fabric; not mapped')
        elif _conflict(plan, policy, cable, f'the cable of link {key[len("cable:") :]}'):
            plan.changes.append(Change(Cable, cable, cable_id, adopt=True))


def _origin(row):
    return (row['kind'], row['namespace'], row['name'])


def _terminations(cable_ids):
    """``{cable id: {end: {interface pk}}}`` of these cables' interface terminations (one query)."""
    ends = {}
    if not cable_ids:
        return ends
    interface_type = ContentType.objects.get_for_model(Interface)
    for cable_id, end, type_id, pk in CableTermination.objects.filter(cable_id__in=cable_ids).values_list(
        'cable_id', 'cable_end', 'termination_type_id', 'termination_id'
    ):
        ends.setdefault(cable_id, {}).setdefault(end, set()).add(pk if type_id == interface_type.pk else None)
    return ends


def _link_of(ends):
    """The two interfaces a cable joins, as a set; None unless it has exactly one interface at each end."""
    if not ends or set(ends) != {'A', 'B'} or len(ends['A']) != 1 or len(ends['B']) != 1:
        return None
    link = ends['A'] | ends['B']
    return link if None not in link and len(link) == 2 else None


def _plan_deletes(plan, desired, owned, types):
    """Owned objects no longer desired, in an order NetBox accepts: what refers to an object goes before it.

    Cables, IP addresses and ranges, prefixes, VLANs, VRFs, VLAN groups, interfaces (subinterfaces
    before their ports, members before LAGs), devices. Objects mapped from a fabric object that
    ``desired`` holds for a problem are kept, and so is a port while an interface that stays has it
    as its parent (NetBox refuses to delete it).
    """
    wanted = {*desired.devices, *desired.interfaces, *desired.cables, *desired.ipam}
    order = [Cable, *reversed(IPAM_MODELS), Interface, Device]
    models = {types[model].pk: model for model in order}
    rank = {types[model].pk: index for index, model in enumerate(order)}
    stale = set(plan.stale_ownership)
    gone = [
        row
        for key, row in owned.items()
        if key not in wanted and row['pk'] not in stale and _origin(row) not in desired.held
    ]
    gone = [row for row in gone if row['object_type_id'] in models]
    ports = {row['object_id'] for row in gone if row['object_type_id'] == types[Interface].pk}
    if ports:
        # A port that keeps a subinterface (one held for a problem, an operator's) stays while it has one.
        parents = Interface.objects.filter(parent_id__in=ports).exclude(pk__in=ports).values_list('parent_id')
        kept = {parent for (parent,) in parents}
        gone = [row for row in gone if row['object_type_id'] != types[Interface].pk or row['object_id'] not in kept]
    gone.sort(key=lambda row: (rank.get(row['object_type_id'], 99), _interface_rank(row['key']), row['key']))
    plan.deletes = [(models[row['object_type_id']], row['object_id'], row['pk']) for row in gone]
    plan.deleted_keys = [row['key'] for row in gone]


def _interface_rank(key):
    """Subinterfaces go before their ports, LAG members before their LAGs (NetBox refuses the other order)."""
    return 0 if key.startswith('subinterface:') else 2 if key.startswith('lag:') else 1


def _same(actual, wanted):
    """Whether a stored value is the mapping's (addresses and VID ranges compare by their text).

    netaddr's ``IPNetwork`` equality ignores the host bits (10.0.1.1/24 == 10.0.1.254/24).
    """
    if isinstance(wanted, IPNetwork):
        return str(actual) == str(wanted)
    return actual == wanted or (actual is not None and wanted is not None and str(actual) == str(wanted))


def _plan_objects(plan, desired, owned, types, policy):
    """Plan the generic mapped objects (IPAM), model by model in dependency order: one query per model owned.

    An object whose reference (VRF, VLAN group, ...) will not exist is left out with it; a new
    one whose identity (``match``) an object no fabric owns has follows the conflict policy.
    """
    by_model = {model: [] for model in IPAM_MODELS}
    for obj in desired.values():
        by_model.setdefault(obj.model, []).append(obj)
    for model, objects in by_model.items():
        if not objects and not any(row['object_type_id'] == types[model].pk for row in owned.values()):
            continue
        object_type = types[model]
        names = sorted({name for obj in objects for name in (*obj.values, *obj.refs)})
        mine = {row['object_id']: key for key, row in owned.items() if row['object_type_id'] == object_type.pk}
        actual = (
            {row['pk']: row for row in model.objects.filter(pk__in=list(mine)).values('pk', *names)} if mine else {}
        )
        plan.stale_ownership += [owned[key]['pk'] for pk, key in mine.items() if pk not in actual]
        by_key = {key: actual[pk] for pk, key in mine.items() if pk in actual}
        ready = []
        for obj in objects:
            refs = {name: ref for name, ref in obj.refs.items() if ref is not None}
            if any(ref not in plan.ids and ref not in plan.pending for ref in refs.values()):
                continue  # what it refers to is not mapped (a problem or a conflict): it waits with it
            ready.append(obj)
        existing, others = _existing(model, [obj for obj in ready if obj.key not in by_key], plan)
        for obj in ready:
            values = {**obj.values, **{name: plan.ids.get(ref) if ref else None for name, ref in obj.refs.items()}}
            row, adopt = by_key.get(obj.key), False
            if row is None and (row := existing.get(obj.key)) is not None:
                if row['pk'] in mine:
                    # The fabric's own under another key (a renamed VPC or switch): deleted first when pruned,
                    # else NetBox refuses the new one (a problem).
                    row = None
                elif row['pk'] in others:
                    if not obj.shared:
                        plan.problems.append(
                            f'IPAM: {describe(obj.origin)}: {obj.label} belongs to another fabric; not mapped'
                        )
                        continue
                    row = None
                elif not _conflict(plan, policy, obj, obj.label):
                    continue
                else:
                    adopt = True
            if row is None:
                plan.changes.append(Change(model, obj))
                plan.pending.add(obj.key)
                continue
            pending = any(ref in plan.pending for ref in obj.refs.values() if ref)
            fields = _changed(row, values, _same)
            if adopt or pending or fields:
                plan.changes.append(Change(model, obj, row['pk'], adopt, fields))
            plan.ids[obj.key] = row['pk']


def _existing(model, new, plan):
    """``{key: row}`` of existing objects with the identity (``match``) of these new ones, and which are owned."""
    lookups = {}
    for obj in new:
        match = {}
        for name in obj.match:
            if name in obj.refs:
                ref = obj.refs[name]
                if ref is not None and ref not in plan.ids:
                    break  # it refers to an object created in this run: nothing can have its identity
                match[name] = plan.ids[ref] if ref is not None else None
            else:
                match[name] = obj.values[name]
        else:
            lookups[obj.key] = match
    if not lookups:
        return {}, set()
    query = Q()
    for match in lookups.values():
        query |= Q(
            **{
                name if value is not None else f'{name}__isnull': value if value is not None else True
                for name, value in match.items()
            }
        )
    names = sorted({name for obj in new for name in (*obj.values, *obj.refs)})
    rows = list(model.objects.filter(query).values('pk', *names))
    existing = {}
    for key, match in lookups.items():
        for row in rows:
            if all(_same(row[name], value) for name, value in match.items()):
                existing[key] = row
                break
    return existing, _claimed_by_others(
        ContentType.objects.get_for_model(model), [row['pk'] for row in existing.values()]
    )


def _plan_interface_vlans(plan, desired, owned, vlan_type):
    """Plan the VLANs VPC attachments put on the mapped server-side interfaces (one query, for tagged VLANs).

    The mapping manages the VLANs it owns: an interface with attachments is ``access`` with its
    native VLAN untagged, or ``tagged`` when it carries a tagged VLAN; an operator's untagged VLAN
    (when no attachment is native) and tagged VLANs stay. An interface without attachments loses
    only the fabric's VLANs (its mode is cleared when no VLAN is left); one that never had any is
    not touched. Interfaces ``desired`` holds keep their VLANs.
    """
    ours = {row['object_id'] for row in owned.values() if row['object_type_id'] == vlan_type.pk}
    rows = {
        key: row
        for key, row in plan.interface_rows.items()
        if key in desired.interfaces and key not in desired.vlans_held
    }
    tagged = defaultdict(set)
    if any(row['mode'] == InterfaceModeChoices.MODE_TAGGED for row in rows.values()):
        through = Interface.tagged_vlans.through.objects.filter(
            interface_id__in=[row['pk'] for row in rows.values() if row['mode'] == InterfaceModeChoices.MODE_TAGGED]
        )
        for interface, vlan in through.values_list('interface_id', 'vlan_id'):
            tagged[interface].add(vlan)
    new = [key for key in desired.interface_vlans if key in plan.pending]
    for key in new:
        vlans = desired.interface_vlans[key]
        plan.changes.append(Change(InterfaceVLANs, vlans))
    for key, row in rows.items():
        vlans = desired.interface_vlans.get(key)
        current = tagged[row['pk']]
        if vlans is None and row['untagged_vlan_id'] not in ours and not current & ours:
            continue  # no attachment and none of the fabric's VLANs: the operator's interface settings
        vlans = vlans or InterfaceVLANs(key=key, origin=desired.interfaces[key].origin)
        want = interface_vlan_values(vlans, plan.ids, row['untagged_vlan_id'], current, ours)
        pending = any(ref in plan.pending for ref in (vlans.native, *vlans.tagged) if ref)
        stored = {'mode': row['mode'], 'untagged_vlan_id': row['untagged_vlan_id'], 'tagged_vlans': sorted(current)}
        fields = _changed(stored, dict(zip(stored, (want[0], want[1], sorted(want[2])), strict=True)))
        if pending or fields:
            plan.changes.append(Change(InterfaceVLANs, vlans, row['pk'], fields=fields))


def interface_vlan_values(vlans, ids, untagged, tagged, ours):
    """``(mode, untagged VLAN pk, {tagged VLAN pks})`` of an interface: the attachments' VLANs and the operator's."""
    mine = {ids[key] for key in vlans.tagged if key in ids}
    tagged = (tagged - ours) | mine
    untagged = ids.get(vlans.native) if vlans.native else (untagged if untagged not in ours else None)
    if tagged:
        return InterfaceModeChoices.MODE_TAGGED, untagged, tagged
    return (InterfaceModeChoices.MODE_ACCESS if untagged else None), untagged, set()


def _plan_primaries(plan, follow_up, wanted, rows, objects):
    """Plan each object's primary address (``wanted``: ``{key: address key}``), no query: its ``rows`` are read.

    ``follow_up``: :class:`PrimaryAddress` (a switch's management address as its device's primary
    IPv4) or :class:`PrimaryMAC` (its boot MAC as its management interface's primary MAC).
    """
    column = f'{follow_up.fields[0]}_id'
    for key, address in wanted.items():
        if key not in plan.ids and key not in plan.pending:
            continue
        if address not in plan.ids and address not in plan.pending:
            continue  # the address is not mapped (a conflict or refusal): the primary waits with it
        row = rows.get(key)
        change = Change(follow_up, follow_up(key, objects[key].origin, address), plan.ids.get(key))
        if row is None or address in plan.pending or row[column] != plan.ids[address]:
            if row is not None:
                change.fields = [[column, row[column], plan.ids.get(address)]]
            plan.changes.append(change)
