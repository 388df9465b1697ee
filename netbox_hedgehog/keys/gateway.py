"""Key fields of the gateway.githedgehog.com kinds."""

from .common import asn


def gateway(spec, status, name):
    return {'asn': asn(spec.get('asn'))}


def nothing(spec, status, name):
    return {}


EXTRACTORS = {
    'Gateway': gateway,
    'GatewayGroup': nothing,  # empty spec
    'GatewayPeering': nothing,  # several VPCs/externals (keys of peering) do not fit the single vpc column
}
