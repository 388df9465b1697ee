"""The IPAM half of the mapping: VLAN namespaces, IPv4 namespaces, VPCs and their subnets as NetBox IPAM objects.

Also the switches' own addresses: their management and loopback IPs, link IPs and boot MACs.

Pure data, like ``desired``: :func:`add_ipam` reads the resource rows and adds to a
:class:`~netbox_hedgehog.dcim.desired.DesiredState` the VLAN groups, VRFs, prefixes, VLANs,
gateway addresses and DHCP ranges that should exist, each a :class:`DesiredObject` (a model, its
managed field values, and references to other mapped objects by key). A fabric object that
cannot be mapped is a problem and left out whole (a VPC maps all its subnets or none); what it
mapped before is held. See docs/dcim.md for the choices (why an IPv4Namespace is a set of
container prefixes, not a VRF).
"""

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from typing import ClassVar

from dcim.choices import InterfaceTypeChoices
from dcim.fields import mac_unix_expanded_uppercase
from dcim.models import Interface, MACAddress, Site
from django.contrib.contenttypes.models import ContentType
from django.db.backends.postgresql.psycopg_any import NumericRange
from django.utils.text import slugify
from ipam.choices import (
    IPAddressRoleChoices,
    IPAddressStatusChoices,
    IPRangeStatusChoices,
    PrefixStatusChoices,
    VLANStatusChoices,
)
from ipam.models import VLAN, VRF, IPAddress, IPRange, Prefix, VLANGroup
from netaddr import EUI, AddrFormatError, IPNetwork

# The models the mapping writes as :class:`DesiredObject`: the IPAM models and MAC addresses (which NetBox keeps
# in DCIM), in the order they are created (each may refer to the ones before, and to interfaces).
IPAM_MODELS = (VLANGroup, VRF, VLAN, Prefix, IPRange, IPAddress, MACAddress)
# Hedgehog's default namespaces of a VPC that names none.
DEFAULT_NAMESPACE = 'default'
VLAN_NAME_LENGTH = 64
VRF_NAME_LENGTH = 100
GROUP_NAME_LENGTH = 100


@dataclass
class DesiredObject:
    """A NetBox object of ``model`` with the mapping's field values.

    ``refs`` are foreign keys (attribute names such as ``vrf_id``) to other mapped objects, by
    mapping key (None: no object). ``initial`` are values set only on creation (status), so an
    operator may change them. ``match`` names the fields that identify an existing object of the
    same identity that no fabric owns (the conflict policy), ``shared`` that an object of that
    identity another fabric owns is no conflict (VRF names need not be unique in NetBox).
    """

    key: str
    origin: tuple
    model: type
    label: str
    values: dict
    refs: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)
    match: tuple = ()
    shared: bool = False


def vlan_group_key(namespace):
    return f'vlangroup:{namespace}'


def vrf_key(vpc):
    return f'vrf:{vpc}'


def subnet_key(what, vpc, subnet):
    return f'{what}:{vpc}/{subnet}'


def _spec(row):
    return row['spec'] if isinstance(row.get('spec'), dict) else {}


def _problem(state, origin, text):
    kind, namespace, name = origin
    state.problems.append(f'IPAM: {kind} {namespace}/{name} not mapped: {text}')
    state.held.add(origin)


def _kept(state, origin, text):
    """A problem with part of an object that maps otherwise: what the object mapped before is not pruned."""
    kind, namespace, name = origin
    state.problems.append(f'IPAM: {kind} {namespace}/{name}: {text}; its addresses are kept as they were')
    state.held.add(origin)


def add_ipam(state, by_kind, fabric):
    """Add the IPAM objects of these rows (``{kind: [row, ...]}``, sorted) to ``state``."""
    site_type = ContentType.objects.get_for_model(Site).pk
    scope = {'scope_type_id': site_type, 'scope_id': fabric.dcim_site_id}
    tenant = {'tenant_id': fabric.dcim_tenant_id}
    groups = _add_vlan_namespaces(state, by_kind['VLANNamespace'], fabric, scope, tenant)
    _add_ipv4_namespaces(state, by_kind['IPv4Namespace'], scope, tenant)
    subnets = _add_vpcs(state, by_kind['VPC'], groups, scope, tenant)
    _add_attachments(state, by_kind['VPCAttachment'], by_kind['Connection'], subnets)
    _add_externals(state, by_kind, scope, tenant)


def _add_vlan_namespaces(state, rows, fabric, scope, tenant):
    """A VLAN group per VLANNamespace, scoped to the fabric's site; return ``{name: [(from, to), ...]}``."""
    groups = {}
    for row in rows:
        origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
        ranges = []
        for item in spec.get('ranges') if isinstance(spec.get('ranges'), list) else []:
            low, high = (item.get('from'), item.get('to')) if isinstance(item, dict) else (None, None)
            if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high <= 4094):
                ranges = None
                break
            ranges.append((low, high))
        if not ranges:
            _problem(state, origin, 'its VLAN ranges are missing or not valid (from/to within 1-4094)')
            continue
        ranges.sort()
        if any(prev[1] >= cur[0] for prev, cur in zip(ranges, ranges[1:], strict=False)):
            _problem(state, origin, 'its VLAN ranges overlap')
            continue
        name = f'{fabric.name}/{row["name"]}'[:GROUP_NAME_LENGTH]
        state.ipam[vlan_group_key(row['name'])] = DesiredObject(
            key=vlan_group_key(row['name']),
            origin=origin,
            model=VLANGroup,
            label=f'VLAN group {name}',
            values={
                'name': name,
                'slug': _slug(name),
                'vid_ranges': [NumericRange(low, high + 1, '[)') for low, high in ranges],
                **scope,
                **tenant,
            },
            match=('scope_type_id', 'scope_id', 'name'),
        )
        groups[row['name']] = ranges
    return groups


def _slug(name):
    return slugify(name.replace('/', '-'))[:100]


def _add_ipv4_namespaces(state, rows, scope, tenant):
    """A container prefix in the global table per subnet of each IPv4Namespace."""
    for row in rows:
        origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
        subnets = spec.get('subnets') if isinstance(spec.get('subnets'), list) else []
        networks = []
        for subnet in subnets:
            network = _network(subnet)
            if network is None:
                _problem(state, origin, f'subnet {subnet!r} is not a valid IPv4 prefix')
                networks = None
                break
            networks.append(network)
        for network in networks or ():
            key = f'container:{row["name"]}/{network}'
            state.ipam[key] = DesiredObject(
                key=key,
                origin=origin,
                model=Prefix,
                label=f'prefix {network}',
                values={
                    'prefix': IPNetwork(str(network)),
                    'status': PrefixStatusChoices.STATUS_CONTAINER,
                    'description': f'IPv4Namespace {row["name"]}'[:200],
                    **scope,
                    **tenant,
                },
                refs={'vrf_id': None},
                match=('vrf_id', 'prefix'),
            )


def _network(value):
    if not isinstance(value, str):
        return None
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        return None
    return network if network.version == 4 and '/' in value else None


def _address(value):
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.IPv4Address(value.strip().split('/')[0])
    except ValueError:
        return None


def _add_vpcs(state, rows, groups, scope, tenant):
    """A VRF per VPC; per subnet a prefix in it, a VLAN in the namespace's group, the gateway and the DHCP range.

    A subnet that is not a valid prefix, a gateway or DHCP range outside it, a VLAN outside the
    namespace's ranges, or a VLAN another subnet of the namespace uses (reported on both) leaves
    the VPC out whole. Returns the names (``vpc/subnet``) of the subnets the VPCs declare.
    """
    parsed = []
    vids = defaultdict(list)
    subnet_names = set()
    for row in rows:
        origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
        namespace = spec.get('vlanNamespace') or DEFAULT_NAMESPACE
        subnets = spec.get('subnets') if isinstance(spec.get('subnets'), dict) else {}
        errors, mapped = [], []
        if namespace not in groups:
            errors.append(f'its VLAN namespace {namespace!r} is not in the fabric (or not mapped)')
        if not subnets:
            errors.append('it has no subnets')
        for name, subnet in sorted(subnets.items()):
            result = _subnet(name, subnet, groups.get(namespace))
            if isinstance(result, str):
                errors.append(result)
                continue
            mapped.append(result)
            vids[(namespace, result['vlan'])].append(f'{row["name"]}/{name}')
        parsed.append((origin, namespace, errors, mapped))
        subnet_names.update(f'{row["name"]}/{name}' for name in subnets)
    for origin, namespace, errors, mapped in parsed:
        shared = [
            f'VLAN {subnet["vlan"]} of subnet {subnet["name"]} is also used by '
            + ', '.join(
                other for other in vids[(namespace, subnet['vlan'])] if other != f'{origin[2]}/{subnet["name"]}'
            )
            for subnet in mapped
            if len(vids[(namespace, subnet['vlan'])]) > 1
        ]
        if errors or shared:
            _problem(state, origin, '; '.join(errors + shared))
            continue
        _add_vpc(state, origin, namespace, mapped, scope, tenant)
    return subnet_names


def _subnet(name, subnet, ranges):
    """The parsed subnet (a dict) or the reason it cannot be mapped (a string)."""
    subnet = subnet if isinstance(subnet, dict) else {}
    network = _network(subnet.get('subnet'))
    if network is None:
        return f'subnet {name}: {subnet.get("subnet")!r} is not a valid IPv4 prefix'
    vlan = subnet.get('vlan')
    if not isinstance(vlan, int) or isinstance(vlan, bool):
        return f'subnet {name}: it has no VLAN'
    if ranges is not None and not any(low <= vlan <= high for low, high in ranges):
        ranges_text = ', '.join(f'{low}-{high}' for low, high in ranges)
        return f'subnet {name}: VLAN {vlan} is outside its namespace ranges ({ranges_text})'
    hosts = network.num_addresses > 2
    gateway = _address(subnet['gateway']) if subnet.get('gateway') else (network.network_address + 1)
    if gateway is None or gateway not in network or not hosts:
        return f'subnet {name}: gateway {subnet.get("gateway")!r} is not an address in {network}'
    dhcp = subnet.get('dhcp') if isinstance(subnet.get('dhcp'), dict) else {}
    span = dhcp.get('range') if isinstance(dhcp.get('range'), dict) else {}
    dhcp_range = None
    if dhcp.get('enable') is True and span.get('start'):
        start = _address(span.get('start'))
        end = _address(span['end']) if span.get('end') else network.broadcast_address - 1
        if start is None or end is None or start not in network or end not in network or start > end:
            return f'subnet {name}: DHCP range {span.get("start")!r}-{span.get("end")!r} is not a range in {network}'
        dhcp_range = (start, end)
    return {'name': name, 'network': network, 'vlan': vlan, 'gateway': gateway, 'dhcp': dhcp_range}


def _add_vpc(state, origin, namespace, subnets, scope, tenant):
    vpc = origin[2]
    vrf = vrf_key(vpc)
    state.ipam[vrf] = DesiredObject(
        key=vrf,
        origin=origin,
        model=VRF,
        label=f'VRF {vpc}',
        values={'name': vpc[:VRF_NAME_LENGTH], 'enforce_unique': True, **tenant},
        match=('name',),
        shared=True,
    )
    for subnet in subnets:
        name, network, length = subnet['name'], subnet['network'], subnet['network'].prefixlen
        prefix, vlan = subnet_key('prefix', vpc, name), subnet_key('vlan', vpc, name)
        state.ipam[vlan] = DesiredObject(
            key=vlan,
            origin=origin,
            model=VLAN,
            label=f'VLAN {subnet["vlan"]}',
            values={'vid': subnet['vlan'], 'name': f'{vpc}/{name}'[:VLAN_NAME_LENGTH], **tenant},
            refs={'group_id': vlan_group_key(namespace)},
            initial={'status': VLANStatusChoices.STATUS_ACTIVE},
            match=('group_id', 'vid'),
        )
        state.ipam[prefix] = DesiredObject(
            key=prefix,
            origin=origin,
            model=Prefix,
            label=f'prefix {network}',
            values={'prefix': IPNetwork(str(network)), 'description': f'{vpc}/{name}'[:200], **scope, **tenant},
            refs={'vrf_id': vrf, 'vlan_id': vlan},
            initial={'status': PrefixStatusChoices.STATUS_ACTIVE},
            match=('vrf_id', 'prefix'),
        )
        gateway = subnet_key('gateway', vpc, name)
        state.ipam[gateway] = DesiredObject(
            key=gateway,
            origin=origin,
            model=IPAddress,
            label=f'IP address {subnet["gateway"]}/{length}',
            values={
                'address': IPNetwork(f'{subnet["gateway"]}/{length}'),
                'role': IPAddressRoleChoices.ROLE_ANYCAST,
                'description': f'gateway of {vpc}/{name}'[:200],
                **tenant,
            },
            refs={'vrf_id': vrf},
            initial={'status': IPAddressStatusChoices.STATUS_ACTIVE},
            match=('vrf_id', 'address'),
        )
        if subnet['dhcp']:
            start, end = subnet['dhcp']
            dhcp = subnet_key('dhcp', vpc, name)
            state.ipam[dhcp] = DesiredObject(
                key=dhcp,
                origin=origin,
                model=IPRange,
                label=f'IP range {start}-{end}',
                values={
                    'start_address': IPNetwork(f'{start}/{length}'),
                    'end_address': IPNetwork(f'{end}/{length}'),
                    'description': f'DHCP of {vpc}/{name}'[:200],
                    **tenant,
                },
                refs={'vrf_id': vrf},
                initial={'status': IPRangeStatusChoices.STATUS_ACTIVE},
                match=('vrf_id', 'start_address', 'end_address'),
            )


@dataclass
class InterfaceVLANs:
    """The VLANs VPC attachments put on one server-side interface (or LAG): the native one untagged, the rest tagged."""

    key: str  # the interface's mapping key
    origin: tuple  # the (first) attachment
    native: str | None = None  # VLAN mapping keys
    tagged: set = field(default_factory=set)
    # What the follow-up writes (see ``plan.FOLLOW_UPS``): the model and its fields.
    target: ClassVar = Interface
    fields: ClassVar = ('mode', 'untagged_vlan')


def _add_attachments(state, rows, connections, subnets):
    """Per server-side interface, the VLANs of the subnets attached to its connection.

    An attachment naming a connection or subnet that does not exist, or a connection that is not
    a server's, is a problem; two native VLANs on one interface are reported on both attachments.
    The VLANs of an interface with a problem attachment, or one whose VPC or connection is held for
    a problem, are left as they are.
    """
    known = {row['name'] for row in connections}
    held = {name for kind, _namespace, name in state.held if kind in ('VPC', 'Connection')}
    natives = defaultdict(list)
    parsed = []
    for row in rows:
        origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
        connection, subnet = spec.get('connection'), spec.get('subnet')
        vpc, _, name = subnet.partition('/') if isinstance(subnet, str) else ('', '', '')
        interface = state.server_sides.get(connection)
        if connection in held or vpc in held:
            if interface:
                state.vlans_held.add(interface)
            continue
        error = None
        if connection not in known:
            error = f'connection {connection!r} is not in the fabric'
        elif interface is None:
            error = f'connection {connection} is not a server connection (unbundled, bundled, MCLAG, ESLAG)'
        elif f'{vpc}/{name}' not in subnets or not name:
            error = f'subnet {subnet!r} is not a subnet of a VPC in the fabric'
        if error:
            if interface:
                state.vlans_held.add(interface)
            _problem(state, origin, error)
            continue
        native = spec.get('nativeVLAN') is True
        if native:
            natives[interface].append(row['name'])
        parsed.append((origin, interface, subnet_key('vlan', vpc, name), native))
    for origin, interface, vlan, native in parsed:
        if len(natives[interface]) > 1 and native:
            others = ', '.join(name for name in natives[interface] if name != origin[2])
            _problem(state, origin, f'attachment {others} also gives its connection a native VLAN')
            state.vlans_held.add(interface)
            continue
        vlans = state.interface_vlans.setdefault(interface, InterfaceVLANs(key=interface, origin=origin))
        if native:
            vlans.native = vlan
        else:
            vlans.tagged.add(vlan)
    for interface in state.vlans_held:
        state.interface_vlans.pop(interface, None)


# An External's VRF is named as Hedgehog names an External beside VPCs (``ext.<name>`` in a GatewayPeering), so
# that it reads apart from the VPCs' VRFs (named like their VPCs).
EXTERNAL_VRF_PREFIX = 'ext.'


def external_key(external):
    return f'external:{external}'


def _add_externals(state, by_kind, scope, tenant):
    """A VRF per External with its static prefixes, and the switch address of each ExternalAttachment in it."""
    namespaces = {row['name'] for row in by_kind['IPv4Namespace']}
    for row in by_kind['External']:
        _add_external(state, row, namespaces, scope, tenant)
    externals = {row['name'] for row in by_kind['External']}
    interface_type = ContentType.objects.get_for_model(Interface).pk
    _add_external_attachments(
        state, by_kind['ExternalAttachment'], by_kind['Connection'], externals, interface_type, tenant
    )


def _add_external(state, row, namespaces, scope, tenant):
    """The External's VRF, its communities in the description, and a prefix in it per static prefix.

    The External is a routing domain of its own on the border leaves (Hedgehog's ``VrfE<name>``),
    so it is a VRF beside the VPCs'. A /0 (a default route, the usual static prefix) is left out:
    NetBox refuses a /0 prefix.
    """
    origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
    namespace = spec.get('ipv4Namespace') or DEFAULT_NAMESPACE
    static = spec.get('static') if isinstance(spec.get('static'), dict) else {}
    prefixes = static.get('prefixes') if isinstance(static.get('prefixes'), list) else []
    networks = [_network(prefix) for prefix in prefixes]
    errors = [] if namespace in namespaces else [f'its IPv4 namespace {namespace!r} is not in the fabric']
    errors += [
        f'static prefix {prefix!r} is not a valid IPv4 prefix'
        for prefix, network in zip(prefixes, networks, strict=True)
        if network is None
    ]
    if errors:
        _problem(state, origin, '; '.join(errors))
        return
    external, vrf = row['name'], external_key(row['name'])
    communities = ', '.join(
        f'{direction} community {value}'
        for direction, value in (('inbound', spec.get('inboundCommunity')), ('outbound', spec.get('outboundCommunity')))
        if isinstance(value, str) and value
    )
    name = f'{EXTERNAL_VRF_PREFIX}{external}'[:VRF_NAME_LENGTH]
    state.ipam[vrf] = DesiredObject(
        key=vrf,
        origin=origin,
        model=VRF,
        label=f'VRF {name}',
        values={
            'name': name,
            'enforce_unique': True,
            'description': f'Hedgehog external {external}{": " if communities else ""}{communities}'[:200],
            **tenant,
        },
        match=('name',),
        shared=True,
    )
    for network in networks:
        if network.prefixlen == 0:
            continue
        key = f'external-prefix:{external}/{network}'
        state.ipam[key] = DesiredObject(
            key=key,
            origin=origin,
            model=Prefix,
            label=f'prefix {network}',
            values={
                'prefix': IPNetwork(str(network)),
                'description': f'static prefix of external {external}'[:200],
                **scope,
                **tenant,
            },
            refs={'vrf_id': vrf},
            initial={'status': PrefixStatusChoices.STATUS_ACTIVE},
            match=('vrf_id', 'prefix'),
        )


@dataclass(frozen=True)
class ExternalPort:
    """Where an ExternalAttachment's switch address sits: a switch port, or its VLAN subinterface (vlan not 0)."""

    device: str  # the switch's name
    port: str  # the port's name
    vlan: int


def _add_external_attachments(state, rows, connections, externals, interface_type, tenant):
    """Per ExternalAttachment, its switch address in its External's VRF, on the port of its ``external`` connection.

    With a VLAN, the switch configures the address on a subinterface of the port, and so does the
    mapping: a virtual interface ``<port>.<vlan>`` whose parent is the port. An attachment naming
    an External or connection that is not in the fabric, a connection that is not ``external``, a
    bad VLAN or address, or a VLAN of its port that another attachment uses (both reported) is a
    problem; one whose External or connection is held is held with it.
    """
    from .desired import connection_links

    ports = {}
    for row in connections:
        kind, links = connection_links(_spec(row)) or (None, ())
        if kind == 'external' and links and '/' in links[0].ports[0]:
            ports[row['name']] = links[0].ports[0]
    known = {row['name'] for row in connections}
    held = {(kind, name) for kind, _namespace, name in state.held}
    parsed, claims = [], defaultdict(list)
    for row in rows:
        origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
        # Names (a malformed spec may give another type): the attachment maps only when both name objects.
        external, connection = (
            value if isinstance(value, str) else '' for value in (spec.get('external'), spec.get('connection'))
        )
        if ('External', external) in held or ('Connection', connection) in held:
            state.held.add(origin)  # what it mapped stays until its External or connection maps again
            continue
        result = _external_attachment(spec, external, connection, externals, known, ports)
        if isinstance(result, str):
            _problem(state, origin, result)
            continue
        claims[result[0]].append(row['name'])
        parsed.append((origin, external_key(external), *result))
    for origin, vrf, where, address, peer in parsed:
        others = [name for name in claims[where] if name != origin[2]]
        if others:
            what = f'VLAN {where.vlan} of port' if where.vlan else 'port'
            _problem(state, origin, f'{what} {where.device}/{where.port} is also used by {", ".join(others)}')
            continue
        interface = _external_interface(state, origin, where)
        if address is not None:
            key = f'external-address:{origin[2]}'
            _add_address(state, key, origin, address, interface, interface_type, None, tenant, peer, vrf)


def _external_attachment(spec, external, connection, externals, connections, ports):
    """``(ExternalPort, address or None, peer)`` of an ExternalAttachment, or the reason it cannot be mapped.

    A BGP attachment has its address and VLAN under ``switch``, a static one under ``static``
    (where proxy-ARP may replace the address: the subinterface alone is mapped).
    """
    from .desired import NAME_LENGTH

    if external not in externals:
        return f'external {external!r} is not in the fabric'
    if connection not in connections:
        return f'connection {connection!r} is not in the fabric'
    if connection not in ports:
        return f'connection {connection} is not an external connection'
    static = spec.get('static') if isinstance(spec.get('static'), dict) else None
    body = static if static is not None else spec.get('switch') if isinstance(spec.get('switch'), dict) else {}
    vlan, value = body.get('vlan') or 0, body.get('ip')
    if not isinstance(vlan, int) or isinstance(vlan, bool) or not 0 <= vlan <= 4094:
        return f'VLAN {vlan!r} is not a VLAN ID (1-4094, or 0 for none)'
    device, _, port = ports[connection].partition('/')
    if vlan and len(f'{port}.{vlan}') > NAME_LENGTH:
        return f'its subinterface {port}.{vlan} has a longer name than NetBox allows ({NAME_LENGTH})'
    address = _interface_address(value)
    if not value and static is None:
        return 'it has no switch IP'
    if value and address is None:
        return f'switch IP {value!r} is not an IPv4 interface address'
    return ExternalPort(device, port, vlan), address, _peer(spec, static)


def _peer(spec, static):
    """What the attachment's address is for: its BGP neighbor (``neighbor 100.100.0.6 AS65102``) or next hop."""
    if static is not None:
        parts = [('next hop ', static.get('remoteIP'))]
    else:
        neighbor = spec.get('neighbor') if isinstance(spec.get('neighbor'), dict) else {}
        parts = [('neighbor ', neighbor.get('ip')), ('AS', neighbor.get('asn'))]
    return ' '.join(f'{label}{value}' for label, value in parts if value) or 'external attachment'


def _external_interface(state, origin, where):
    """The mapping key of the interface an attachment's address is on: its port, or the port's VLAN subinterface."""
    from .desired import DesiredInterface, device_key, interface_key

    port = interface_key(where.device, where.port)
    if not where.vlan:
        return port
    name = f'{where.port}.{where.vlan}'
    key = subinterface_key(where.device, name)
    state.interfaces[key] = DesiredInterface(
        key=key,
        origin=origin,
        device=device_key(where.device),
        name=name,
        type=InterfaceTypeChoices.TYPE_VIRTUAL,
        parent=port,
    )
    return key


def subinterface_key(device, name):
    return f'subinterface:{device}/{name}'


# The interfaces of a switch that carry its own addresses (named by the mapping, in SONiC's style), their type
# and whether they are for management only, and the address role. The management interface also has the boot MAC.
MANAGEMENT = ('Management0', InterfaceTypeChoices.TYPE_OTHER, True, None)
SWITCH_ADDRESSES = {
    'ip': MANAGEMENT,
    'protocolIP': ('Loopback0', InterfaceTypeChoices.TYPE_VIRTUAL, False, IPAddressRoleChoices.ROLE_LOOPBACK),
    'vtepIP': ('Loopback1', InterfaceTypeChoices.TYPE_VIRTUAL, False, IPAddressRoleChoices.ROLE_LOOPBACK),
}
# Connection types whose link ends carry an IP address: the switch sides of routed links (and a gateway's far
# end, when it is a mapped device), the switch port of a static external connection.
ADDRESSED_LINKS = ('fabric', 'mesh', 'gateway', 'staticExternal')


def _interface_address(value):
    """An interface address (``10.0.0.1/31``) as an IPNetwork, or None."""
    if not isinstance(value, str) or '/' not in value:
        return None
    try:
        interface = ipaddress.IPv4Interface(value.strip())
    except ValueError:
        return None
    return IPNetwork(str(interface))


def _mac(value):
    """A MAC address (any of the spellings netaddr reads) as NetBox writes it, or None."""
    if not isinstance(value, str):
        return None
    try:
        return EUI(value.strip(), version=48, dialect=mac_unix_expanded_uppercase)
    except (AddrFormatError, TypeError, ValueError):
        return None


def add_switch_addresses(state, switches, connections, fabric):
    """The switches' management and loopback interfaces with their addresses, and the connections' link addresses.

    The management address is the device's primary IPv4, the boot MAC (``spec.boot.mac``) its
    management interface's primary MAC. An address that is not an interface address, or a MAC
    that is not one, is a problem on its switch or connection, which then keeps what it mapped before.
    """
    from .desired import DesiredInterface, device_key, interface_key

    interface_type = ContentType.objects.get_for_model(Interface).pk
    tenant = {'tenant_id': fabric.dcim_tenant_id}
    for row in switches:
        origin, spec = (row['kind'], row['namespace'], row['name']), _spec(row)
        device = device_key(row['name'])
        if device not in state.devices:
            continue
        for field_name, (name, kind, mgmt_only, role) in SWITCH_ADDRESSES.items():
            value = spec.get(field_name)
            if not value:
                continue
            address = _interface_address(value)
            if address is None:
                _kept(state, origin, f'{field_name} {value!r} is not an IPv4 interface address')
                continue
            interface = interface_key(row['name'], name)
            state.interfaces[interface] = DesiredInterface(
                key=interface, origin=origin, device=device, name=name, type=kind, mgmt_only=mgmt_only
            )
            key = f'address:{row["name"]}/{field_name}'
            _add_address(state, key, origin, address, interface, interface_type, role, tenant, field_name)
            if field_name == 'ip':
                state.primary[device] = key
        _add_boot_mac(state, origin, spec, interface_type)
    for row in connections:
        origin = (row['kind'], row['namespace'], row['name'])
        if origin not in state.held:
            _add_link_addresses(state, origin, _spec(row), interface_type, tenant)


def _add_boot_mac(state, origin, spec, interface_type):
    """The switch's boot MAC on its management interface (created for it when the switch has no ``ip``)."""
    from .desired import DesiredInterface, device_key, interface_key

    boot = spec.get('boot') if isinstance(spec.get('boot'), dict) else {}
    if not boot.get('mac'):
        return
    mac = _mac(boot['mac'])
    if mac is None:
        _kept(state, origin, f'boot.mac {boot["mac"]!r} is not a MAC address')
        return
    switch = origin[2]
    name, kind, mgmt_only, _role = MANAGEMENT
    interface = interface_key(switch, name)
    state.interfaces.setdefault(
        interface,
        DesiredInterface(
            key=interface, origin=origin, device=device_key(switch), name=name, type=kind, mgmt_only=mgmt_only
        ),
    )
    key = f'mac:{switch}/boot'
    state.ipam[key] = DesiredObject(
        key=key,
        origin=origin,
        model=MACAddress,
        label=f'MAC address {mac}',
        values={'mac_address': mac, 'assigned_object_type_id': interface_type, 'description': f'{switch} boot'[:200]},
        refs={'assigned_object_id': interface},
        match=('assigned_object_type_id', 'assigned_object_id', 'mac_address'),
    )
    state.primary_macs[interface] = key


def _add_link_addresses(state, origin, spec, interface_type, tenant):
    """The addresses of a connection's mapped link ends, each on its interface (a link end not mapped has none).

    A static external connection ``withinVPC`` has its address in that VPC's VRF, as the switch
    configures it; the others are in the global table. An address that is not an interface
    address, or a VPC that is not in the fabric, is a problem and the connection keeps the
    addresses it had.
    """
    from .desired import connection_links, interface_key

    kind, links = connection_links(spec) or (None, ())
    if kind not in ADDRESSED_LINKS:
        return
    vpc = spec[kind].get('withinVPC')
    vrf = vrf_key(vpc) if isinstance(vpc, str) and vpc else None
    if vrf and vrf not in state.ipam and ('VPC', vpc) not in {(held[0], held[2]) for held in state.held}:
        _problem(state, origin, f'its VPC {vpc!r} (withinVPC) is not in the fabric')
        return
    addresses = []
    for link in links:
        for port, value in zip(link.ports, link.ips, strict=True):
            interface = interface_key(*port.split('/', 1)) if '/' in port else None
            if not value or interface not in state.interfaces:
                continue
            address = _interface_address(value)
            if address is None:
                _problem(state, origin, f'link IP {value!r} of {port} is not an IPv4 interface address')
                return
            addresses.append((f'address:{port}', address, interface))
    for key, address, interface in addresses:
        _add_address(state, key, origin, address, interface, interface_type, None, tenant, 'link', vrf)


def _add_address(state, key, origin, address, interface, interface_type, role, tenant, what, vrf=None):
    """An address on a mapped interface: in the global table, or in the VRF of mapping key ``vrf``."""
    state.ipam[key] = DesiredObject(
        key=key,
        origin=origin,
        model=IPAddress,
        label=f'IP address {address}',
        values={
            'address': address,
            'role': role,
            'assigned_object_type_id': interface_type,
            'description': f'{origin[2]} {what}'[:200],
            **tenant,
        },
        refs={'vrf_id': vrf, 'assigned_object_id': interface},
        initial={'status': IPAddressStatusChoices.STATUS_ACTIVE},
        match=('vrf_id', 'address'),
    )
