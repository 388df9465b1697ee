"""Key fields of the vpc.githedgehog.com kinds."""

from .common import asn, dig, mapping, text, texts


def vpc(spec, status, name):
    """CIDRs of the subnets (ordered by subnet name, as the cluster lists them), and the two namespaces."""
    subnets = mapping(spec.get('subnets'))
    return {
        'subnets': texts([dig(subnets[key], 'subnet') for key in sorted(subnets, key=str)], 'subnets'),
        'ipv4_namespace': text(spec.get('ipv4Namespace'), 'ipv4_namespace'),
        'vlan_namespace': text(spec.get('vlanNamespace'), 'vlan_namespace'),
    }


def vpc_attachment(spec, status, name):
    """VPC and subnet name from ``spec.subnet`` = ``vpc/subnet`` (subnet ``default`` when it has no
    subnet part, as the fabric reads it), and the connection."""
    vpc_name, subnet = '', ''
    reference = spec.get('subnet')
    if isinstance(reference, str) and reference.partition('/')[0]:
        vpc_name, _, subnet = reference.partition('/')
        subnet = subnet or 'default'
    return {
        'vpc': text(vpc_name, 'vpc'),
        'subnets': texts([subnet], 'subnets'),
        'connection': text(spec.get('connection'), 'connection'),
    }


def ipv4_namespace(spec, status, name):
    return {'subnets': texts(spec.get('subnets'), 'subnets')}


def external(spec, status, name):
    return {
        'ipv4_namespace': text(spec.get('ipv4Namespace'), 'ipv4_namespace'),
        'subnets': texts(dig(spec, 'static', 'prefixes'), 'subnets'),
    }


def external_attachment(spec, status, name):
    return {
        'connection': text(spec.get('connection'), 'connection'),
        'asn': asn(dig(spec, 'neighbor', 'asn')),
    }


def external_peering(spec, status, name):
    return {'vpc': text(dig(spec, 'permit', 'vpc', 'name'), 'vpc')}


def nothing(spec, status, name):
    return {}


EXTRACTORS = {
    'VPC': vpc,
    'VPCAttachment': vpc_attachment,
    'VPCPeering': nothing,  # two VPCs (keys of permit[]) do not fit the single vpc column
    'IPv4Namespace': ipv4_namespace,
    'External': external,
    'ExternalAttachment': external_attachment,
    'ExternalPeering': external_peering,
}
