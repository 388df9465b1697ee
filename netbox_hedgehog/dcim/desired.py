"""The NetBox objects a fabric's stored resources call for: devices, their interfaces and LAGs, and cables.

Pure data, no database: :func:`desired_state` reads the resource rows (kind, namespace, name,
spec) of the source that drives the mapping and returns what should exist, each object under a
stable mapping key, plus a problem for every fabric object that cannot be mapped. An object with
a problem is left out whole (a connection maps all its links or none), and what it mapped before
is held, not pruned (``DesiredState.held``): bad input never tears down the last good state.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from dcim.choices import InterfaceTypeChoices

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
)

# Connection types mapped to cables, with the endpoint roles of each link (first, second); the second
# of a server connection is the switch. Other types (gateway, vpcLoopback, external, staticExternal,
# mclagDomain) are not mapped yet: see docs/dcim.md.
SERVER_CONNECTIONS = ('unbundled', 'bundled', 'mclag', 'eslag')
LINK_ROLES = {
    'unbundled': ('server', 'switch'),
    'bundled': ('server', 'switch'),
    'mclag': ('server', 'switch'),
    'eslag': ('server', 'switch'),
    'fabric': ('spine', 'leaf'),
    'mesh': ('leaf1', 'leaf2'),
}
# Connection types whose server ports form one LAG (a bond on the server).
LAG_CONNECTIONS = ('bundled', 'mclag', 'eslag')

# NetBox's field lengths.
NAME_LENGTH = 64  # dcim.Device.name, dcim.Interface.name
SERIAL_LENGTH = 50
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


@dataclass
class DesiredInterface:
    key: str
    origin: tuple
    device: str  # the device's key
    name: str
    type: str
    lag: str | None = None  # the LAG interface's key
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
    # LAGs come before their members: applied in this order, a member's LAG exists when it is saved.
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


def desired_state(rows, fabric=None) -> DesiredState:
    """What NetBox should hold for these resource rows (dicts with kind, namespace, name, spec).

    With ``fabric`` (its site and tenant go into IPAM objects), the IPAM objects too.
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


def connection_links(spec):
    """``(type, [(first, second), ...])`` of a mapped connection type: port strings of each link's endpoints.

    None when the connection has no type this mapping knows (or more than one); a link whose
    endpoint has no port string gives ``''`` there, which the caller reports.
    """
    present = [name for name in LINK_ROLES if isinstance(spec.get(name), dict)]
    if len(present) != 1:
        return None
    kind = present[0]
    body = spec[kind]
    links = [body['link']] if isinstance(body.get('link'), dict) else []
    if isinstance(body.get('links'), list):
        links += [link for link in body['links'] if isinstance(link, dict)]
    first, second = LINK_ROLES[kind]
    return kind, [(_port(link, first), _port(link, second)) for link in links]


def _port(link, role):
    endpoint = link.get(role)
    port = endpoint.get('port') if isinstance(endpoint, dict) else None
    return port if isinstance(port, str) else ''


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
            for port in link:
                if port:
                    claims[port].append(row['name'])
    for origin, kind, links in parsed:
        errors = _link_errors(kind, links, kinds, ports)
        shared = sorted({port for link in links for port in link if port and len(claims[port]) > 1})
        errors += [
            f'port {port} is also claimed by connection {", ".join(name for name in claims[port] if name != origin[2])}'
            for port in shared
        ]
        if errors:
            _problem(state, origin, '; '.join(errors))
            continue
        _add_links(state, origin, kind, links, ports)


def _link_errors(kind, links, kinds, ports):
    if not links:
        return ['it has no links']
    errors = []
    seen = set()
    first_kind = 'Server' if kind in SERVER_CONNECTIONS else 'Switch'
    for link in links:
        for port, expected in zip(link, (first_kind, 'Switch'), strict=True):
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


def _add_links(state, origin, kind, links, ports):
    connection = origin[2]
    for first, second in links:
        for port in (first, second):
            device, _, name = port.partition('/')
            lag = None
            if kind in LAG_CONNECTIONS and port == first:
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
            device, _, name = first.partition('/')
            state.server_sides[connection] = (
                lag_key(device, connection) if kind in LAG_CONNECTIONS else interface_key(device, name)
            )
        a, b = interface_key(*first.split('/', 1)), interface_key(*second.split('/', 1))
        key = cable_key(a, b)
        state.cables[key] = DesiredCable(key=key, origin=origin, a=a, b=b, description=connection[:DESCRIPTION_LENGTH])


def _problem(state, origin, text):
    state.problems.append(f'DCIM: {describe(origin)} not mapped: {text}')
    state.held.add(origin)
