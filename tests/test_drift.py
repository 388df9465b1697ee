"""Drift between Git (desired) and the cluster (actual): pure functions, no database needed."""

import copy

import pytest

from netbox_hedgehog.choices import DriftStateChoices
from netbox_hedgehog.sync.drift import comparable, drift_diff, drift_state

GIT_SWITCH = {
    'kind': 'Switch',
    'spec': {
        'role': 'server-leaf',
        'profile': 'dell-s5248f-on',
        'asn': 65101,
        'description': 'leaf-01',
        'groups': ['zeta', 'alpha'],
        'boot': {'mac': '0c:20:12:fe:03:00'},
        'redundancy': {},
        'portBreakouts': {'E1/55': '4x25G'},
    },
    'labels': {'team': 'net', 'fabric.githedgehog.com/profile': 'stale-value'},
    'annotations': {},
}
# The same switch as the cluster shows it after the admission webhook: defaults, sorted lists, its labels.
CLUSTER_SWITCH = {
    'kind': 'Switch',
    'spec': {
        'role': 'server-leaf',
        'profile': 'dell-s5248f-on',
        'asn': 65101,
        'description': 'leaf-01',
        'groups': ['alpha', 'zeta'],
        'boot': {'mac': '0c:20:12:fe:03:00'},
        'vlanNamespaces': ['default'],
        'portBreakouts': {'E1/55': '4x25G'},
        'enableAllPorts': False,
    },
    'labels': {
        'team': 'net',
        'fabric.githedgehog.com/profile': 'dell-s5248f-on',
        'vlanns.fabric.githedgehog.com/default': 'true',
        'switchgroup.fabric.githedgehog.com/alpha': 'true',
        'app.kubernetes.io/instance': 'fabric',  # e.g. a GitOps tool's tracking label: cluster-only
    },
    'annotations': {
        'fabric.githedgehog.com/route-summ': 'true',
        'kubectl.kubernetes.io/last-applied-configuration': '{"spec": {}}',
    },
}

GIT_VPC = {
    'kind': 'VPC',
    'spec': {'subnets': {'default': {'subnet': '10.0.1.0/24', 'vlan': 1001, 'dhcp': {'enable': True}}}},
    'labels': {},
    'annotations': {},
}
CLUSTER_VPC = {
    'kind': 'VPC',
    'spec': {
        'ipv4Namespace': 'default',
        'vlanNamespace': 'default',
        'topology': {'fabric': 'default'},
        'subnets': {
            'default': {
                'subnet': '10.0.1.0/24',
                'gateway': '10.0.1.1',
                'vlan': 1001,
                'dhcp': {'enable': True, 'range': {'start': '10.0.1.10', 'end': '10.0.1.254'}},
            }
        },
    },
    'labels': {'fabric.githedgehog.com/ipv4ns': 'default', 'fabric.githedgehog.com/vlanns': 'default'},
    'annotations': {},
}


def changed(obj, change):
    obj = copy.deepcopy(obj)
    change(obj)
    return obj


# ---------------------------------------------------------------------------- comparable


def test_comparable_drops_webhook_and_kubectl_metadata_only():
    parts = comparable(CLUSTER_SWITCH['spec'], CLUSTER_SWITCH['labels'], CLUSTER_SWITCH['annotations'])
    assert parts['spec'] == CLUSTER_SWITCH['spec']
    assert parts['labels'] == {'team': 'net', 'app.kubernetes.io/instance': 'fabric'}
    assert parts['annotations'] == {}
    gateway = comparable({}, {'vpc.gateway.githedgehog.com/vpc-1': 'true', 'owner': 'ops'}, None)
    assert gateway == {'spec': {}, 'labels': {'owner': 'ops'}, 'annotations': {}}


def test_comparable_tolerates_odd_shapes():
    assert comparable(None, None, None) == {'spec': {}, 'labels': {}, 'annotations': {}}
    assert comparable(['x'], 'labels', 5) == {'spec': {}, 'labels': {}, 'annotations': {}}


# ---------------------------------------------------------------------------- drift_state


def test_webhook_labels_and_defaults_are_in_sync():
    assert drift_state(GIT_SWITCH, CLUSTER_SWITCH) == DriftStateChoices.IN_SYNC
    assert drift_diff(GIT_SWITCH, CLUSTER_SWITCH) == []


def test_vpc_cluster_only_defaults_are_in_sync():
    assert drift_state(GIT_VPC, CLUSTER_VPC) == DriftStateChoices.IN_SYNC


def test_vpc_attachment_subnet_defaulted_by_the_webhook_is_in_sync():
    git = {'kind': 'VPCAttachment', 'spec': {'subnet': 'vpc-1', 'connection': 'c-1'}, 'labels': {}, 'annotations': {}}
    cluster = {
        'kind': 'VPCAttachment',
        'spec': {'subnet': 'vpc-1/default', 'connection': 'c-1'},
        'labels': {'fabric.githedgehog.com/vpc': 'vpc-1', 'fabric.githedgehog.com/subnet': 'default'},
        'annotations': {},
    }
    assert drift_state(git, cluster) == DriftStateChoices.IN_SYNC
    other = changed(cluster, lambda obj: obj['spec'].update(subnet='vpc-1/web'))
    assert drift_state(git, other) == DriftStateChoices.DIFFERS
    assert drift_diff(git, other) == ['spec.subnet: "vpc-1/default" in Git, "vpc-1/web" in the cluster']


def test_none_and_empty_values_in_git_are_not_set():
    git = changed(
        GIT_VPC, lambda obj: obj['spec'].update(ipv4Namespace=None, vlanNamespace='', staticRoutes=[], mode='')
    )
    assert drift_state(git, CLUSTER_VPC) == DriftStateChoices.IN_SYNC


def test_false_in_git_matches_an_omitted_field_but_not_true():
    git = changed(GIT_VPC, lambda obj: obj['spec']['subnets']['default'].update(isolated=False))
    assert drift_state(git, CLUSTER_VPC) == DriftStateChoices.IN_SYNC
    cluster = changed(CLUSTER_VPC, lambda obj: obj['spec']['subnets']['default'].update(isolated=True))
    assert drift_state(git, cluster) == DriftStateChoices.DIFFERS
    assert drift_diff(git, cluster) == ['spec.subnets.default.isolated: false in Git, true in the cluster']


def test_a_changed_value_differs():
    cluster = changed(CLUSTER_SWITCH, lambda obj: obj['spec'].update(asn=65102))
    assert drift_state(GIT_SWITCH, cluster) == DriftStateChoices.DIFFERS
    assert drift_diff(GIT_SWITCH, cluster) == ['spec.asn: 65101 in Git, 65102 in the cluster']


def test_a_changed_nested_value_differs():
    cluster = changed(CLUSTER_VPC, lambda obj: obj['spec']['subnets']['default'].update(vlan=1002))
    assert drift_state(GIT_VPC, cluster) == DriftStateChoices.DIFFERS
    assert drift_diff(GIT_VPC, cluster) == ['spec.subnets.default.vlan: 1001 in Git, 1002 in the cluster']


def test_a_value_missing_in_the_cluster_differs():
    cluster = changed(CLUSTER_VPC, lambda obj: obj['spec']['subnets']['default'].pop('vlan'))
    assert drift_state(GIT_VPC, cluster) == DriftStateChoices.DIFFERS
    assert drift_diff(GIT_VPC, cluster) == ['spec.subnets.default.vlan: set in Git (1001), missing in the cluster']


def test_a_removed_list_element_differs():
    cluster = changed(CLUSTER_SWITCH, lambda obj: obj['spec'].update(groups=['alpha']))
    assert drift_state(GIT_SWITCH, cluster) == DriftStateChoices.DIFFERS
    (line,) = drift_diff(GIT_SWITCH, cluster)
    assert line.startswith('spec.groups: 2 item(s) in Git') and '1 in the cluster' in line


def test_an_extra_list_element_in_the_cluster_differs():
    cluster = changed(CLUSTER_SWITCH, lambda obj: obj['spec'].update(groups=['alpha', 'beta', 'zeta']))
    assert drift_state(GIT_SWITCH, cluster) == DriftStateChoices.DIFFERS


def test_list_of_dicts_compares_element_by_element_with_the_subset_rule():
    git = {
        'kind': 'Connection',
        'spec': {
            'fabric': {
                'links': [
                    {'spine': {'port': 'spine-01/E1/1'}, 'leaf': {'port': 'leaf-01/E1/49'}},
                    {'spine': {'port': 'spine-01/E1/2'}, 'leaf': {'port': 'leaf-01/E1/50'}},
                ]
            }
        },
        'labels': {},
        'annotations': {},
    }
    cluster = changed(git, lambda obj: obj['spec']['fabric']['links'][0]['spine'].update(ip='172.30.128.0/31'))
    assert drift_state(git, cluster) == DriftStateChoices.IN_SYNC
    moved = changed(cluster, lambda obj: obj['spec']['fabric']['links'][1]['leaf'].update(port='leaf-01/E1/52'))
    assert drift_state(git, moved) == DriftStateChoices.DIFFERS
    assert drift_diff(git, moved) == [
        'spec.fabric.links[1].leaf.port: "leaf-01/E1/50" in Git, "leaf-01/E1/52" in the cluster',
    ]


def test_a_reordered_list_is_in_sync():
    git = {'spec': {'subnets': ['10.2.0.0/16', '10.1.0.0/16']}, 'labels': {}, 'annotations': {}}
    cluster = {'spec': {'subnets': ['10.1.0.0/16', '10.2.0.0/16']}, 'labels': {}, 'annotations': {}}
    assert drift_state(git, cluster) == DriftStateChoices.IN_SYNC


def test_type_changes_differ():
    git = {'spec': {'asn': 65101, 'redundancy': {'group': 'g'}, 'groups': ['a']}, 'labels': {}, 'annotations': {}}
    cluster = {'spec': {'asn': '65101', 'redundancy': 'g', 'groups': 'a'}, 'labels': {}, 'annotations': {}}
    assert drift_diff(git, cluster) == [
        'spec.asn: 65101 in Git, "65101" in the cluster',
        'spec.redundancy: {"group": "g"} in Git, "g" in the cluster',
        'spec.groups: ["a"] in Git, "a" in the cluster',
    ]
    assert drift_state({'spec': {'roce': True}}, {'spec': {'roce': 1}}) == DriftStateChoices.DIFFERS


def test_user_labels_and_annotations_count():
    cluster = changed(CLUSTER_SWITCH, lambda obj: obj['labels'].update(team='ops'))
    assert drift_state(GIT_SWITCH, cluster) == DriftStateChoices.DIFFERS
    assert drift_diff(GIT_SWITCH, cluster) == ['labels.team: "net" in Git, "ops" in the cluster']
    git = changed(GIT_SWITCH, lambda obj: obj['annotations'].update(note='rack 4'))
    assert drift_diff(git, CLUSTER_SWITCH) == ['annotations.note: set in Git ("rack 4"), missing in the cluster']


def test_webhook_labels_set_in_git_are_ignored():
    git = changed(GIT_VPC, lambda obj: obj['labels'].update({'fabric.githedgehog.com/ipv4ns': 'other'}))
    assert drift_state(git, CLUSTER_VPC) == DriftStateChoices.IN_SYNC


@pytest.mark.parametrize(
    ('desired', 'actual', 'state'),
    [
        (GIT_SWITCH, None, DriftStateChoices.ONLY_IN_GIT),
        (None, CLUSTER_SWITCH, DriftStateChoices.ONLY_IN_CLUSTER),
        (None, None, ''),
    ],
)
def test_objects_in_one_source_only(desired, actual, state):
    assert drift_state(desired, actual) == state


def test_drift_diff_for_objects_in_one_source_only():
    assert drift_diff(GIT_SWITCH, None) == ['only in Git: not in the cluster']
    assert drift_diff(None, CLUSTER_SWITCH) == ['only in the cluster: not in Git']
    assert drift_diff(None, None) == []


def test_rows_as_stored_compare_too():
    """drift_records passes database rows: extra columns, and None where a JSON column is empty."""
    git = {
        'pk': 1,
        'source': 'git',
        'kind': 'Server',
        'namespace': 'default',
        'name': 's-1',
        'spec': {'description': 'db'},
        'labels': None,
        'annotations': None,
        'drift_state': '',
    }
    cluster = {
        **git,
        'pk': 2,
        'source': 'kubernetes',
        'spec': {'description': 'db', 'profile': 'x'},
        'labels': {'server.fabric.githedgehog.com/s-1': 'true'},
    }
    assert drift_state(git, cluster) == DriftStateChoices.IN_SYNC
    assert drift_state({**git, 'spec': None}, cluster) == DriftStateChoices.IN_SYNC


def test_several_differences_each_get_a_line():
    cluster = changed(
        CLUSTER_SWITCH,
        lambda obj: (
            obj['spec'].update(asn=65199, profile='celestica-ds3000'),
            obj['spec']['boot'].pop('mac'),
        ),
    )
    assert drift_diff(GIT_SWITCH, cluster) == [
        'spec.profile: "dell-s5248f-on" in Git, "celestica-ds3000" in the cluster',
        'spec.asn: 65101 in Git, 65199 in the cluster',
        'spec.boot.mac: set in Git ("0c:20:12:fe:03:00"), missing in the cluster',
    ]


def test_long_values_are_shortened_in_lines():
    git = {'spec': {'description': 'x' * 500}}
    (line,) = drift_diff(git, {'spec': {'description': 'y'}})
    assert len(line) < 300 and line.endswith('"y" in the cluster')
