"""Test data: fabrics with secrets (for the tests that check the secrets never leak), a small wiring
read from both sources, the demo wiring the plugin ships, and NetBox objects a fabric owns."""

from pathlib import Path

import netbox_hedgehog
from netbox_hedgehog.models import HedgehogFabric

# The demo wiring shipped with the plugin (dev/demo loads it): a realistic GitOps directory.
DEMO_WIRING = Path(netbox_hedgehog.__file__).parent / 'fixtures' / 'demo-wiring'

TOKEN = 'secret-token-views-0123456789'
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://10.0.0.1:6443'}
users:
- name: u
  user: {token: secret-kubeconfig-token-views}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
"""
# A token inside the kubeconfig: it must not appear in any page or response either.
KUBECONFIG_SECRET = 'secret-kubeconfig-token-views'
GIT_TOKEN = 'secret-git-token-views-0123456789'
GIT_SSH_KEY = """\
-----BEGIN OPENSSH PRIVATE KEY-----
secret-git-ssh-key-views-material
-----END OPENSSH PRIVATE KEY-----
"""
# The part of the SSH key that no page or response may contain.
GIT_SSH_KEY_SECRET = 'secret-git-ssh-key-views-material'
# Every secret create_fabrics() stores.
SECRETS = (TOKEN, KUBECONFIG_SECRET, GIT_TOKEN, GIT_SSH_KEY_SECRET)


def create_fabrics():
    return (
        HedgehogFabric.objects.create(
            name='fabric-1', kubernetes_server='https://10.0.0.1:6443', kubernetes_token=TOKEN
        ),
        HedgehogFabric.objects.create(name='fabric-2', kubeconfig=KUBECONFIG),
        HedgehogFabric.objects.create(
            name='fabric-3',
            git_repository_url='https://example.com/wiring.git',
            git_token=GIT_TOKEN,
            git_ssh_key=GIT_SSH_KEY,
        ),
    )


# A small wiring read from both sources, for the key-field, link and drift tests.
CONNECTION = 'server-01--unbundled--leaf-01'
ATTACHMENT = 'vpc-1--default--server-01--unbundled--leaf-01'
WIRING = (
    ('Switch', 'leaf-01', {'role': 'server-leaf', 'asn': 65101, 'profile': 'vs', 'vlanNamespaces': ['default']}),
    ('Switch', 'leaf-02', {'role': 'server-leaf', 'asn': 65102, 'profile': 'vs'}),
    ('Server', 'server-01', {'description': 'S1'}),
    ('SwitchProfile', 'vs', {'displayName': 'Virtual switch'}),
    ('VLANNamespace', 'default', {'ranges': [{'from': 1000, 'to': 2999}]}),
    ('IPv4Namespace', 'default', {'subnets': ['10.0.0.0/16']}),
    (
        'Connection',
        CONNECTION,
        {
            'unbundled': {
                'link': {
                    'server': {'port': 'server-01/enp2s1'},
                    'switch': {'port': 'leaf-01/E1/1'},
                }
            }
        },
    ),
    (
        'VPC',
        'vpc-1',
        {
            'ipv4Namespace': 'default',
            'vlanNamespace': 'default',
            'subnets': {'default': {'subnet': '10.0.1.0/24', 'vlan': 1001}},
        },
    ),
    ('VPCAttachment', ATTACHMENT, {'subnet': 'vpc-1/default', 'connection': CONNECTION}),
)
# The cluster's leaf-02 has another ASN than Git's: its rows differ.
DRIFT_LINE = 'spec.asn: 65102 in Git, 65199 in the cluster'
AGENT_STATUS = {
    'lastHeartbeat': '2025-01-02T03:04:05Z',
    'lastAppliedGen': 7,
    'conditions': [
        {
            'type': 'Applied',
            'status': 'True',
            'reason': 'ApplySucceeded',
            'message': 'Config applied to the switch',
            'lastTransitionTime': '2025-01-02T03:00:00Z',
        }
    ],
}


def create_resource(fabric, source, kind, name, spec, status=None, **fields):
    """A resource row with its key-field columns read from spec/status the way the sync reads them."""
    from netbox_hedgehog.keys import key_fields
    from netbox_hedgehog.kinds import KINDS_BY_NAME
    from netbox_hedgehog.models import HedgehogResource

    return HedgehogResource.objects.create(
        fabric=fabric,
        source=source,
        api_version=KINDS_BY_NAME[kind].api_version,
        kind=kind,
        name=name,
        spec=spec,
        status=status or {},
        **key_fields(kind, spec, status or {}, name=name),
        **fields,
    )


def create_wiring(name='fabric-wiring'):
    """A fabric with both sources holding WIRING (leaf-02 drifting) and a cluster-only Agent, drift recorded."""
    from netbox_hedgehog.choices import ResourceSourceChoices
    from netbox_hedgehog.sync.drift_records import record_drift

    fabric = HedgehogFabric.objects.create(
        name=name,
        kubernetes_server='https://10.9.0.1:6443',
        git_repository_url='https://example.com/wiring.git',
    )
    for kind, object_name, spec in WIRING:
        create_resource(fabric, ResourceSourceChoices.GIT, kind, object_name, spec, source_path='wiring.yaml')
        if object_name == 'leaf-02':
            spec = {**spec, 'asn': 65199}
        create_resource(
            fabric,
            ResourceSourceChoices.KUBERNETES,
            kind,
            object_name,
            spec,
            uid=f'uid-{kind}-{object_name}',
            resource_version='1234',
        )
    create_resource(
        fabric,
        ResourceSourceChoices.KUBERNETES,
        'Agent',
        'leaf-01',
        {'role': 'server-leaf', 'switch': {'role': 'server-leaf', 'asn': 65101, 'profile': 'vs'}},
        status=AGENT_STATUS,
        uid='uid-agent-leaf-01',
        resource_version='1240',
    )
    record_drift(fabric)
    fabric.refresh_from_db()
    return fabric


def own(fabric, obj, key, kind, name):
    from django.contrib.contenttypes.models import ContentType

    from netbox_hedgehog.models import HedgehogOwnedObject

    return HedgehogOwnedObject.objects.create(
        fabric=fabric,
        object_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        key=key,
        kind=kind,
        name=name,
    )


def create_owned_switches(fabric, count, vrf_name):
    """``count`` switches as a fabric's mapping leaves them: a device, its port cabled to a server's port, the
    port's address, and the VPC's VRF, each owned by ``fabric``; a row per type the mapping creates."""
    from dcim.models import Cable, Device, DeviceRole, DeviceType, Interface, Manufacturer, Site
    from ipam.models import VRF, IPAddress

    site = Site.objects.get_or_create(name='DC', slug='dc')[0]
    device_type = DeviceType.objects.get_or_create(
        manufacturer=Manufacturer.objects.get_or_create(name='Hedgehog', slug='hedgehog')[0],
        model='Virtual Switch',
        slug='virtual-switch',
    )[0]
    role = DeviceRole.objects.get_or_create(name='Switch', slug='switch')[0]
    vrf = VRF.objects.create(name=vrf_name)
    own(fabric, vrf, f'vrf:{vrf_name}', 'VPC', vrf_name)
    for number in range(count):
        name = f'{fabric.name}-leaf-{number}'
        leaf = Device.objects.create(name=name, site=site, device_type=device_type, role=role)
        server = Device.objects.create(name=f'{name}-server', site=site, device_type=device_type, role=role)
        port = Interface.objects.create(device=leaf, name='E1/1', type='100gbase-x-qsfp28')
        server_port = Interface.objects.create(device=server, name='enp2s1', type='100gbase-x-qsfp28')
        cable = Cable(a_terminations=[server_port], b_terminations=[port])
        cable.save()
        address = IPAddress.objects.create(address=f'10.0.{number}.1/31', vrf=vrf, assigned_object=port)
        own(fabric, leaf, f'device:{name}', 'Switch', name)
        own(fabric, port, f'interface:{name}/E1/1', 'Connection', f'{name}--server')
        own(fabric, cable, f'cable:{name}/E1/1', 'Connection', f'{name}--server')
        own(fabric, address, f'address:{name}/E1/1', 'Connection', f'{name}--server')
