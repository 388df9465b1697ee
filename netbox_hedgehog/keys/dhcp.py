"""Key fields of the dhcp.githedgehog.com kinds."""

from .common import text, texts


def dhcp_subnet(spec, status, name):
    """The CIDR block, and the VPC from ``spec.subnet`` (``vpc/subnet``) or else the name ``<vpc>--<subnet>``."""
    vpc = ''
    reference = spec.get('subnet')
    if isinstance(reference, str) and '/' in reference:
        vpc = reference.partition('/')[0]
    elif isinstance(name, str) and '--' in name:
        vpc = name.partition('--')[0]
    return {
        'subnets': texts([spec.get('cidrBlock')], 'subnets'),
        'vpc': text(vpc, 'vpc'),
    }


EXTRACTORS = {
    'DHCPSubnet': dhcp_subnet,
}
