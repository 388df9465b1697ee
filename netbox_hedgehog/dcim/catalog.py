"""What the fabric's switch profiles say about hardware: device type names and port types.

A cluster lists its SwitchProfiles (the controller creates them from built-in profiles), a GitOps
repository normally does not. The display names of the built-in profiles (githedgehog/fabric
``pkg/ctrl/switchprofile`` at 78827deb) are kept here so that a Git-driven mapping names the same
device types; a SwitchProfile the source does list wins.
"""

from dcim.choices import InterfaceTypeChoices

# Device types of servers, which the fabric describes only by name and ports.
SERVER_MANUFACTURER = 'Generic'
SERVER_MODEL = 'Server'
SERVER_ROLE = 'server'

BUILTIN_DISPLAY_NAMES = {
    'celestica-ds2000': 'Celestica DS2000',
    'celestica-ds2000-clsp': 'Celestica DS2000',
    'celestica-ds3000': 'Celestica DS3000',
    'celestica-ds3000-clsp': 'Celestica DS3000',
    'celestica-ds4000': 'Celestica DS4000',
    'celestica-ds4000-clsp': 'Celestica DS4000',
    'celestica-ds4101': 'Celestica DS4101',
    'celestica-ds4101-clsp': 'Celestica DS4101',
    'celestica-ds5000': 'Celestica DS5000',
    'celestica-ds5000-clsp': 'Celestica DS5000',
    'cumulus-vx': 'Cumulus VX',
    'dell-s5232f-on': 'Dell S5232F-ON',
    'dell-s5248f-on': 'Dell S5248F-ON',
    'dell-z9332f-on': 'Dell Z9332F-ON',
    'edgecore-dcs203': 'Edgecore DCS203',
    'edgecore-dcs204': 'Edgecore DCS204',
    'edgecore-dcs240': 'Edgecore DCS240',
    'edgecore-dcs501': 'Edgecore DCS501',
    'edgecore-eps202': 'Edgecore EPS202',
    'edgecore-eps203': 'Edgecore EPS203',
    'supermicro-sse-c4632sb': 'Supermicro SSE-C4632SB',
    'vs': 'Virtual Switch',
    'vs-clsp': 'Virtual Switch CLS+',
}
# Virtual switches are Hedgehog's own software, not a vendor's box.
VIRTUAL_MANUFACTURER = 'Hedgehog'

# SwitchProfile port profiles (cage and speed) as NetBox interface types; anything else is "other".
PORT_PROFILE_TYPES = {
    'OSFP-2x400G': InterfaceTypeChoices.TYPE_800GE_OSFP,
    'OSFP-800G': InterfaceTypeChoices.TYPE_800GE_OSFP,
    'QSFP28-100G': InterfaceTypeChoices.TYPE_100GE_QSFP28,
    'QSFP28-100G-nb': InterfaceTypeChoices.TYPE_100GE_QSFP28,
    'QSFP56DD-400G': InterfaceTypeChoices.TYPE_400GE_QSFP_DD,
    'QSFPDD-400G': InterfaceTypeChoices.TYPE_400GE_QSFP_DD,
    'RJ45-10G': InterfaceTypeChoices.TYPE_10GE_FIXED,
    'RJ45-1G': InterfaceTypeChoices.TYPE_1GE_FIXED,
    'RJ45-2.5G': InterfaceTypeChoices.TYPE_2GE_FIXED,
    'SFP28-10G': InterfaceTypeChoices.TYPE_10GE_SFP_PLUS,
    'SFP28-25G': InterfaceTypeChoices.TYPE_25GE_SFP28,
}


def device_type_name(profile_name, profile_spec):
    """``(manufacturer, model)`` of a switch profile: its display name split after the vendor's name.

    The spec of a SwitchProfile the source lists is used first, then the built-in names; an
    unknown profile becomes a generic device type named after it, so the switch is still mapped.
    """
    spec = profile_spec if isinstance(profile_spec, dict) else {}
    display = spec.get('displayName') if isinstance(spec.get('displayName'), str) else ''
    display = display.strip() or BUILTIN_DISPLAY_NAMES.get(profile_name, '')
    if not display:
        return SERVER_MANUFACTURER, (profile_name or 'Switch')[:100]
    if display.startswith('Virtual Switch') or spec.get('switchSilicon') == 'vs':
        return VIRTUAL_MANUFACTURER, display[:100]
    vendor, _, model = display.partition(' ')
    return vendor[:100], (model.strip() or display)[:100]


class ProfilePorts:
    """The ports one SwitchProfile declares, for checking a connection's port names and typing interfaces.

    ``known`` is False when the source lists no such profile: then every port name is accepted
    (a GitOps repository carries no profiles) and typed ``other``.
    """

    def __init__(self, spec=None):
        spec = spec if isinstance(spec, dict) else {}
        ports = spec.get('ports')
        self.known = isinstance(ports, dict) and bool(ports)
        self.ports = ports if self.known else {}
        groups = spec.get('portGroups')
        self.groups = groups if isinstance(groups, dict) else {}

    def has(self, port):
        """Whether the profile has the port, or the port is a breakout (``E1/55/1``) of one it has."""
        if not self.known or port in self.ports:
            return True
        base, slash, lane = port.rpartition('/')
        return bool(slash and lane.isdigit() and base in self.ports)

    def interface_type(self, port):
        """The NetBox interface type of a port: from its port profile (or its group's); breakouts are ``other``."""
        definition = self.ports.get(port)
        if not isinstance(definition, dict):
            return InterfaceTypeChoices.TYPE_OTHER
        profile = definition.get('profile')
        if not profile:
            group = self.groups.get(str(definition.get('group')))
            profile = group.get('profile') if isinstance(group, dict) else None
        return PORT_PROFILE_TYPES.get(profile, InterfaceTypeChoices.TYPE_OTHER)
