"""Key fields of the wiring.githedgehog.com kinds."""

from .common import asn, device_of, dig, mapping, sequence, text, texts

# spec key of each connection type -> its name in the webhook's connection-type label
CONNECTION_TYPES = {
    'unbundled': 'unbundled',
    'bundled': 'bundled',
    'eslag': 'eslag',
    'mclag': 'mclag',
    'mclagDomain': 'mclag-domain',
    'fabric': 'fabric',
    'mesh': 'mesh',
    'gateway': 'gateway',
    'vpcLoopback': 'vpc-loopback',
    'external': 'external',
    'staticExternal': 'static-external',
}
# where a connection type keeps its links: one ``link`` or lists of them
LINK_KEYS = ('link',)
LINK_LIST_KEYS = ('links', 'peerLinks', 'sessionLinks')


def switch(spec, status, name):
    """role, asn, profile; the VLAN namespace only when the switch names exactly one (the column holds one)."""
    vlan_namespaces = texts(spec.get('vlanNamespaces'), 'vlan_namespace')
    return {
        'role': text(spec.get('role'), 'role'),
        'asn': asn(spec.get('asn')),
        'profile': text(spec.get('profile'), 'profile'),
        'vlan_namespace': vlan_namespaces[0] if len(vlan_namespaces) == 1 else '',
    }


def server(spec, status, name):
    return {'profile': text(spec.get('profile'), 'profile')}


def connection_links(body):
    """Every link dict of one connection type's body (``link`` and the lists of links)."""
    body = mapping(body)
    links = [body[key] for key in LINK_KEYS if isinstance(body.get(key), dict)]
    for key in LINK_LIST_KEYS:
        links.extend(link for link in sequence(body.get(key)) if isinstance(link, dict))
    return links


def connection_ports(spec):
    """Every ``device/port`` string of every link of every connection type present, in link order."""
    ports = []
    for key in CONNECTION_TYPES:
        for link in connection_links(spec.get(key)):
            for role in sorted(link, key=str):  # endpoint roles (server, switch, leaf, …): stable order
                port = dig(link, role, 'port')
                if isinstance(port, str) and port and port not in ports:
                    ports.append(port)
    return ports


def connection(spec, status, name):
    """connection type (only when exactly one type is set), devices and ports of the links,
    the VPC of a static external connection and the subnets it routes."""
    present = [key for key in CONNECTION_TYPES if isinstance(spec.get(key), dict)]
    ports = connection_ports(spec)
    static = mapping(spec.get('staticExternal'))
    return {
        'connection_type': CONNECTION_TYPES[present[0]] if len(present) == 1 else '',
        'devices': sorted(texts([device_of(port) for port in ports], 'devices')),
        'ports': texts(ports, 'ports'),
        'vpc': text(static.get('withinVPC'), 'vpc'),
        'subnets': texts(dig(static, 'link', 'switch', 'subnets'), 'subnets'),
    }


def nothing(spec, status, name):
    """A kind with no field that fits a key-field column."""
    return {}


EXTRACTORS = {
    'Switch': switch,
    'Server': server,
    'Connection': connection,
    'SwitchGroup': nothing,  # empty spec
    'SwitchProfile': nothing,  # model data (ports, features) — no reference to another object
    'ServerProfile': nothing,  # NIC port names without a device
    'VLANNamespace': nothing,  # VLAN ranges
}
