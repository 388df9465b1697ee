"""The NetBox objects a fabric's stored resources call for: devices, their interfaces and LAGs, and cables.

Pure data, no database: :func:`desired_state` reads the resource rows (kind, namespace, name,
spec) of the source that drives the mapping and returns what should exist, each object under a
stable mapping key, plus a problem for every fabric object that cannot be mapped. An object with
a problem is left out whole (a connection maps all its links or none), and what it mapped before
is held, not pruned (``DesiredState.held``): bad input never tears down the last good state.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from dcim.choices import DeviceStatusChoices, InterfaceTypeChoices

from .catalog import SERVER_MANUFACTURER, SERVER_MODEL, SERVER_ROLE, ProfilePorts, device_type_name
from .ipam import add_ipam, add_switch_addresses

# The kinds the mapping reads.
MAPPED_KINDS = (
    'Switch',
    'Server',
    'SwitchProfile',
    'Connection',
    'VLANNamespace',
    'IPv4Namespace',
    'VPC',
    'VPCAttachment',
    'External',
    'ExternalAttachment',
)

# Connection types the mapping knows, with the role of each end of a link in the spec and the kind of device
# it names (first, second): a link with two mapped ends is a cable. An external connection names only its
# switch port (an interface, nothing to cable to); a gateway link's far end is mapped only when it names a
# device the fabric maps (None: gateways are not), else the link is the switch port alone.
SERVER_CONNECTIONS = ('unbundled', 'bundled', 'mclag', 'eslag')
CONNECTION_TYPES = {
    **dict.fromkeys(SERVER_CONNECTIONS, (('server', 'Server'), ('switch', 'Switch'))),
    'fabric': (('spine', 'Switch'), ('leaf', 'Switch')),
    'mesh': (('leaf1', 'Switch'), ('leaf2', 'Switch')),
    'mclagDomain': (('switch1', 'Switch'), ('switch2', 'Switch')),
    'vpcLoopback': (('switch1', 'Switch'), ('switch2', 'Switch')),
    'gateway': (('switch', 'Switch'), ('gateway', None)),
    'external': (('switch', 'Switch'),),
    'staticExternal': (('switch', 'Switch'),),
}
# Where a connection's spec keeps its links (one ``link`` or lists), and what they are beside the connection.
LINK_LISTS = {'link': '', 'links': '', 'peerLinks': 'peer link', 'sessionLinks': 'session link'}
# Connection types whose server ports form one LAG (a bond on the server).
LAG_CONNECTIONS = ('bundled', 'mclag', 'eslag')

# NetBox's field lengths.
NAME_LENGTH = 64  # dcim.Device.name, dcim.Interface.name
SERIAL_LENGTH = 50
PLATFORM_LENGTH = 100  # dcim.Platform.name and slug
DESCRIPTION_LENGTH = 200


@dataclass
class DesiredDevice:
    key: str
    origin: tuple
    name: str
    role: str
    manufacturer: str
    model: str
    serial: str = ''
    description: str = ''
    # What the switch's Agent says of it (Active, or Offline for a stale heartbeat); None: no agent decides.
    status: str | None = None
    # The platform: its switch profile's NOS type (``nosType``); None: the operator's.
    platform: str | None = None


@dataclass
class DesiredInterface:
    key: str
    origin: tuple
    device: str  # the device's key
    name: str
    type: str
    lag: str | None = None  # the LAG interface's key
    parent: str | None = None  # a subinterface's port's key
    mgmt_only: bool = False


@dataclass
class DesiredCable:
    key: str
    origin: tuple
    a: str  # interface keys
    b: str
    description: str = ''


@dataclass
class DesiredState:
    devices: dict[str, DesiredDevice] = field(default_factory=dict)
    # LAGs come before their members, ports before their subinterfaces: applied in this order, a member's LAG
    # (a subinterface's port) exists when it is saved.
    interfaces: dict[str, DesiredInterface] = field(default_factory=dict)
    cables: dict[str, DesiredCable] = field(default_factory=dict)
    # IPAM objects (``ipam.DesiredObject``), each after the ones it refers to.
    ipam: dict = field(default_factory=dict)
    # Server-side interface (the LAG of a bundled / MCLAG / ESLAG connection) of each mapped server connection.
    server_sides: dict[str, str] = field(default_factory=dict)
    # VLANs of the server-side interfaces from VPC attachments (``ipam.InterfaceVLANs``), by interface key.
    interface_vlans: dict = field(default_factory=dict)
    # Interfaces whose VLANs are left as they are: an attachment on them has a problem, or its VPC has.
    vlans_held: set[str] = field(default_factory=set)
    # The address (mapping key) each switch device has as its primary IPv4, by device key.
    primary: dict[str, str] = field(default_factory=dict)
    # The MAC address (mapping key) each switch's management interface has as its primary MAC, by interface key.
    primary_macs: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Fabric objects (kind, namespace, name) left out for a problem: what they mapped before is kept.
    held: set[tuple] = field(default_factory=set)


def device_key(name):
    return f'device:{name}'


def interface_key(device, port):
    return f'interface:{device}/{port}'


def lag_key(device, connection):
    return f'lag:{device}/{connection}'


def cable_key(a, b):
    return 'cable:' + '|'.join(sorted((a, b)))


def _text(value, length):
    return value.strip()[:length] if isinstance(value, str) else ''


def _spec(row):
    return row['spec'] if isinstance(row.get('spec'), dict) else {}


def describe(origin):
    kind, namespace, name = origin
    return f'{kind} {namespace}/{name}'


def desired_state(rows, fabric=None, now=None, offline_after=0) -> DesiredState:
    """What NetBox should hold for these resource rows (dicts with kind, namespace, name, spec).

    With ``fabric`` (its site and tenant go into IPAM objects), the IPAM objects too. With ``now``
    and ``offline_after`` (seconds, 0: off), the cluster's Agent rows among them (with their
    ``heartbeat``) give their switches' status (:func:`agent_status`).
    """
    state = DesiredState()
    by_kind = defaultdict(list)
    for row in rows:
        by_kind[row['kind']].append(row)
    for kind in by_kind:
        by_kind[kind].sort(key=lambda row: (row['namespace'], row['name']))
    profiles = {row['name']: _spec(row) for row in by_kind['SwitchProfile']}
    kinds, ports = _add_devices(state, by_kind['Switch'], by_kind['Server'], profiles)
    _add_connections(state, by_kind['Connection'], kinds, ports)
    if now is not None and offline_after:
        _add_agent_statuses(state, by_kind['Agent'], now, offline_after)
    if fabric is not None:
        add_ipam(state, by_kind, fabric)
        add_switch_addresses(state, by_kind['Switch'], by_kind['Connection'], fabric)
    return state


def _add_devices(state, switches, servers, profiles):
    """Add a device per switch and server; return each device's kind and, for switches, its profile's ports."""
    kinds, ports = {}, {}
    for row in switches:
        origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
        if len(row['name']) > NAME_LENGTH:
            _problem(state, origin, f'its name is longer than NetBox allows for a device ({NAME_LENGTH})')
            continue
        profile = spec.get('profile') if isinstance(spec.get('profile'), str) else ''
        manufacturer, model = device_type_name(profile, profiles.get(profile))
        boot = spec.get('boot') if isinstance(spec.get('boot'), dict) else {}
        state.devices[device_key(row['name'])] = DesiredDevice(
            key=device_key(row['name']),
            origin=origin,
            name=row['name'],
            role=_text(spec.get('role'), 100) or 'switch',
            manufacturer=manufacturer,
            model=model,
            serial=_text(boot.get('serial'), SERIAL_LENGTH),
            description=_text(spec.get('description'), DESCRIPTION_LENGTH),
            platform=_text(profiles.get(profile, {}).get('nosType'), PLATFORM_LENGTH) or None,
        )
        kinds[row['name']] = 'Switch'
        ports[row['name']] = ProfilePorts(profiles.get(profile))
    for row in servers:
        origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
        if row['name'] in kinds:
            _problem(state, origin, f'a switch has the same name, device {row["name"]} maps the switch')
            continue
        if len(row['name']) > NAME_LENGTH:
            _problem(state, origin, f'its name is longer than NetBox allows for a device ({NAME_LENGTH})')
            continue
        state.devices[device_key(row['name'])] = DesiredDevice(
            key=device_key(row['name']),
            origin=origin,
            name=row['name'],
            role=SERVER_ROLE,
            manufacturer=SERVER_MANUFACTURER,
            model=SERVER_MODEL,
            description=_text(spec.get('description'), DESCRIPTION_LENGTH),
        )
        kinds[row['name']] = 'Server'
    return kinds, ports


def agent_status(heartbeat, now, offline_after):
    """Offline when the agent never reported or its last heartbeat is more than ``offline_after`` seconds old."""
    if heartbeat is None or now - heartbeat > timedelta(seconds=offline_after):
        return DeviceStatusChoices.STATUS_OFFLINE
    return DeviceStatusChoices.STATUS_ACTIVE


def _add_agent_statuses(state, agents, now, offline_after):
    """Give each mapped switch with an Agent of its name the status its heartbeat calls for; the others have none."""
    for row in agents:
        device = state.devices.get(device_key(row['name']))
        if device is not None and device.origin[0] == 'Switch':
            device.status = agent_status(row.get('heartbeat'), now, offline_after)


@dataclass(frozen=True)
class Link:
    """One link of a connection as its spec gives it: each end's ``device/port`` and ``ip`` ('' when missing)."""

    ports: tuple
    ips: tuple
    label: str = ''  # what the link is beside its connection: an MCLAG domain's peer or session link


def connection_links(spec):
    """``(type, [Link, ...])`` of a connection of a type the mapping knows; None for another type (or several)."""
    present = [name for name in CONNECTION_TYPES if isinstance(spec.get(name), dict)]
    if len(present) != 1:
        return None
    kind = present[0]
    body = spec[kind]
    roles = [role for role, _device_kind in CONNECTION_TYPES[kind]]
    links = []
    for name, label in LINK_LISTS.items():
        value = body.get(name)
        for link in [value] if isinstance(value, dict) else value if isinstance(value, list) else []:
            if isinstance(link, dict):
                links.append(_link(link, roles, label))
    return kind, links


def _link(link, roles, label):
    """A link of the spec as a :class:`Link`, its ends in the order of ``roles``."""
    ends = [link[role] if isinstance(link.get(role), dict) else {} for role in roles]
    return Link(*(tuple(_string(end.get(name)) for end in ends) for name in ('port', 'ip')), label)


def _string(value):
    return value if isinstance(value, str) else ''


def _add_connections(state, connections, kinds, ports):
    """Add interfaces, LAGs and cables for each connection whose every link is sound.

    A port two connections claim is reported on both, and neither maps: which one is right is
    the operator's call, and what either mapped before stays until it is made.
    """
    parsed = []
    claims = defaultdict(list)
    for row in connections:
        origin = (row['kind'], row['namespace'], row['name'])
        links = connection_links(_spec(row))
        if links is None:
            continue
        parsed.append((origin, *links))
        for link in links[1]:
            for port in link.ports:
                if port:
                    claims[port].append(row['name'])
    for origin, kind, links in parsed:
        errors = _link_errors(kind, links, kinds, ports)
        shared = sorted({port for link in links for port in link.ports if port and len(claims[port]) > 1})
        errors += [
            f'port {port} is also claimed by connection {", ".join(name for name in claims[port] if name != origin[2])}'
            for port in shared
        ]
        if errors:
            _problem(state, origin, '; '.join(errors))
            continue
        _add_links(state, origin, kind, links, kinds, ports)


def _ends(kind, link, kinds):
    """``(port, device kind)`` of the ends of a link that the mapping maps.

    An end of no fixed kind (a gateway link's far end) is mapped only when it names a device the
    fabric maps; else it is outside NetBox's view of the fabric and left out, without a problem.
    """
    for port, (_role, expected) in zip(link.ports, CONNECTION_TYPES[kind], strict=True):
        if expected is None:
            expected = kinds.get(port.partition('/')[0])
            if expected is None:
                continue
        yield port, expected


def _link_errors(kind, links, kinds, ports):
    if not links:
        return ['it has no links']
    errors = []
    seen = set()
    for link in links:
        for port, expected in _ends(kind, link, kinds):
            device, slash, name = port.partition('/')
            if not (slash and device and name):
                errors.append(f'a link endpoint has no device/port ({port!r})')
            elif kinds.get(device) != expected:
                errors.append(f'{expected.lower()} {device} of port {port} is not in the fabric (or not mapped)')
            elif len(name) > NAME_LENGTH:
                errors.append(f'port {port}: the name is longer than NetBox allows ({NAME_LENGTH})')
            elif expected == 'Switch' and not ports[device].has(name):
                errors.append(f'port {port} is not a port of its switch profile')
            elif port in seen:
                errors.append(f'port {port} is used by two of its links')
            seen.add(port)
    return errors


def _add_links(state, origin, kind, links, kinds, ports):
    """An interface per mapped link end (server ports of a LAG connection in its LAG), a cable per link of two."""
    connection = origin[2]
    for link in links:
        ends = [port for port, _kind in _ends(kind, link, kinds)]
        for port in ends:
            device, _, name = port.partition('/')
            lag = None
            if kind in LAG_CONNECTIONS and port == ends[0]:
                lag = lag_key(device, connection)
                state.interfaces.setdefault(
                    lag,
                    DesiredInterface(
                        key=lag,
                        origin=origin,
                        device=device_key(device),
                        name=connection[:NAME_LENGTH],
                        type=InterfaceTypeChoices.TYPE_LAG,
                    ),
                )
            port_type = ports[device].interface_type(name) if device in ports else InterfaceTypeChoices.TYPE_OTHER
            key = interface_key(device, name)
            state.interfaces[key] = DesiredInterface(
                key=key, origin=origin, device=device_key(device), name=name, type=port_type, lag=lag
            )
        if kind in SERVER_CONNECTIONS:
            device, _, name = ends[0].partition('/')
            state.server_sides[connection] = (
                lag_key(device, connection) if kind in LAG_CONNECTIONS else interface_key(device, name)
            )
        if len(ends) == 2:
            a, b = (interface_key(*port.split('/', 1)) for port in ends)
            key = cable_key(a, b)
            description = f'{connection} {link.label}' if link.label else connection
            state.cables[key] = DesiredCable(
                key=key, origin=origin, a=a, b=b, description=description[:DESCRIPTION_LENGTH]
            )


def _problem(state, origin, text):
    state.problems.append(f'DCIM: {describe(origin)} not mapped: {text}')
    state.held.add(origin)
