"""The Hedgehog custom resource kinds this plugin reads (see the fabric's CRDs)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceKind:
    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self):
        return f'{self.group}/{self.version}'


FABRIC_KINDS = (
    ResourceKind('wiring.githedgehog.com', 'v1beta1', 'vlannamespaces', 'VLANNamespace'),
    ResourceKind('wiring.githedgehog.com', 'v1beta1', 'switchgroups', 'SwitchGroup'),
    ResourceKind('wiring.githedgehog.com', 'v1beta1', 'switchprofiles', 'SwitchProfile'),
    ResourceKind('wiring.githedgehog.com', 'v1beta1', 'switches', 'Switch'),
    ResourceKind('wiring.githedgehog.com', 'v1beta1', 'serverprofiles', 'ServerProfile'),
    ResourceKind('wiring.githedgehog.com', 'v1beta1', 'servers', 'Server'),
    ResourceKind('wiring.githedgehog.com', 'v1beta1', 'connections', 'Connection'),
    ResourceKind('vpc.githedgehog.com', 'v1beta1', 'ipv4namespaces', 'IPv4Namespace'),
    ResourceKind('vpc.githedgehog.com', 'v1beta1', 'vpcs', 'VPC'),
    ResourceKind('vpc.githedgehog.com', 'v1beta1', 'vpcattachments', 'VPCAttachment'),
    ResourceKind('vpc.githedgehog.com', 'v1beta1', 'vpcpeerings', 'VPCPeering'),
    ResourceKind('vpc.githedgehog.com', 'v1beta1', 'externals', 'External'),
    ResourceKind('vpc.githedgehog.com', 'v1beta1', 'externalattachments', 'ExternalAttachment'),
    ResourceKind('vpc.githedgehog.com', 'v1beta1', 'externalpeerings', 'ExternalPeering'),
    ResourceKind('dhcp.githedgehog.com', 'v1beta1', 'dhcpsubnets', 'DHCPSubnet'),
    ResourceKind('agent.githedgehog.com', 'v1beta1', 'agents', 'Agent'),
    ResourceKind('gateway.githedgehog.com', 'v1alpha1', 'gateways', 'Gateway'),
    ResourceKind('gateway.githedgehog.com', 'v1alpha1', 'gatewaygroups', 'GatewayGroup'),
    ResourceKind('gateway.githedgehog.com', 'v1alpha1', 'gatewaypeerings', 'GatewayPeering'),
)

KINDS_BY_NAME = {kind.kind: kind for kind in FABRIC_KINDS}
