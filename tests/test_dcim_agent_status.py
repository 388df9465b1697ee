"""A mapped switch's status follows its Agent's heartbeat (plugin setting ``agent_offline_after``): Offline when the
heartbeat is stale or missing, Active again when it is fresh, while the status is Active or Offline; any other status
and switches without an Agent are the operator's.

The fabric reads the demo wiring from a Kubernetes API (kmock) that also serves the controller's Agents.
"""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from core.models import ObjectChange
from dcim.models import Device
from django.utils import timezone

from netbox_hedgehog.dcim.desired import agent_status, desired_state
from netbox_hedgehog.dcim.plan import device_status
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.base import set_plugin_settings
from tests.kmock_server import kube_api
from tests.test_dcim_mapping import UNCHANGED, resync, site  # noqa: F401  (fixture)
from tests.test_drift_sync import as_the_cluster_shows_it, wiring_documents

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SWITCHES = ('spine-01', 'spine-02', 'leaf-01', 'leaf-02')
ACTIVE, OFFLINE, PLANNED = 'active', 'offline', 'planned'


def switch_row(name):
    return {'kind': 'Switch', 'namespace': 'default', 'name': name, 'spec': {'role': 'spine'}}


def agent_row(name, heartbeat):
    return {'kind': 'Agent', 'namespace': 'default', 'name': name, 'heartbeat': heartbeat}


def test_an_agent_is_stale_once_its_heartbeat_is_older_than_the_setting_or_missing():
    assert agent_status(NOW - timedelta(seconds=300), NOW, 300) == ACTIVE
    assert agent_status(NOW + timedelta(seconds=5), NOW, 300) == ACTIVE  # a clock ahead of ours
    assert agent_status(NOW - timedelta(seconds=301), NOW, 300) == OFFLINE
    assert agent_status(None, NOW, 300) == OFFLINE


def test_only_switches_with_an_agent_get_a_status_and_none_with_the_rule_off():
    rows = [
        switch_row('fresh'),
        switch_row('stale'),
        switch_row('no-agent'),
        {'kind': 'Server', 'namespace': 'default', 'name': 'server', 'spec': {}},
        agent_row('fresh', NOW - timedelta(seconds=10)),
        agent_row('stale', NOW - timedelta(hours=1)),
        agent_row('server', NOW - timedelta(hours=1)),  # not a switch's
        agent_row('gone', None),  # no such switch
    ]

    devices = desired_state(rows, now=NOW, offline_after=300).devices

    assert {key: device.status for key, device in devices.items()} == {
        'device:fresh': ACTIVE,
        'device:stale': OFFLINE,
        'device:no-agent': None,
        'device:server': None,
    }
    for state in (desired_state(rows, now=NOW, offline_after=0), desired_state(rows)):
        assert {device.status for device in state.devices.values()} == {None}


@pytest.mark.parametrize(
    'agent, current, expected',
    [
        (None, None, ACTIVE),  # created Active
        (OFFLINE, None, OFFLINE),  # created Offline: its agent is stale already
        (OFFLINE, ACTIVE, OFFLINE),
        (ACTIVE, OFFLINE, ACTIVE),
        (OFFLINE, PLANNED, PLANNED),
        (ACTIVE, 'failed', 'failed'),
        (None, OFFLINE, OFFLINE),  # no agent: the operator's
    ],
)
def test_the_agent_moves_a_device_only_between_active_and_offline(agent, current, expected):
    assert device_status(SimpleNamespace(status=agent), current) == expected


def heartbeat(age):
    return (timezone.now() - timedelta(seconds=age)).strftime('%Y-%m-%dT%H:%M:%SZ')


def agent(name, age):
    """The Agent the controller keeps for switch ``name``; ``age``: seconds since its last heartbeat, None: never."""
    status = {'lastAppliedGen': 3} if age is None else {'lastHeartbeat': heartbeat(age), 'lastAppliedGen': 3}
    return {
        'apiVersion': 'agent.githedgehog.com/v1beta1',
        'kind': 'Agent',
        'metadata': {'name': name, 'namespace': 'default'},
        'spec': {'switch': {'role': 'spine'}},
        'status': status,
    }


@pytest.fixture
def cluster(site):  # noqa: F811
    """``(fabric, api)``: the demo wiring in a cluster, mapped from it, with a fresh Agent per switch but spine-02."""
    with kube_api() as api:
        for version, document in enumerate(wiring_documents(), start=100):
            api.add(as_the_cluster_shows_it(document, version))
        for name in SWITCHES[:1] + SWITCHES[2:]:
            api.add(agent(name, 10))
        fabric = HedgehogFabric.objects.create(name='cluster', dcim_sync=True, dcim_site=site, **api.fabric_fields())
        yield fabric, api


def sync(fabric):
    result = sync_fabric(fabric)
    assert result.succeeded, result.error_text()
    return result


def statuses():
    return dict(Device.objects.filter(name__in=SWITCHES).values_list('name', 'status'))


def set_status(name, status):
    device = Device.objects.get(name=name)
    device.snapshot()
    device.status = status
    device.save()


def test_a_stale_heartbeat_makes_the_switch_offline_and_a_fresh_one_active_again(cluster):
    fabric, api = cluster
    sync(fabric)
    assert set(statuses().values()) == {ACTIVE}
    api.add(agent('leaf-01', 3600))

    dry = sync_fabric(fabric, dry_run=True)
    assert (dry.dcim_created, dry.dcim_updated, dry.dcim_deleted) == (0, 1, 0)
    assert statuses()['leaf-01'] == ACTIVE
    result = sync(fabric)

    assert (result.dcim_created, result.dcim_updated, result.dcim_deleted) == (0, 1, 0)
    assert statuses() == {'spine-01': ACTIVE, 'spine-02': ACTIVE, 'leaf-01': OFFLINE, 'leaf-02': ACTIVE}
    leaf = Device.objects.get(name='leaf-01')
    change = ObjectChange.objects.filter(changed_object_id=leaf.pk, changed_object_type__model='device').latest('time')
    assert change.action == 'update'
    assert (change.prechange_data['status'], change.postchange_data['status']) == (ACTIVE, OFFLINE)

    api.add(agent('leaf-01', 0))
    result = sync(fabric)

    assert result.dcim_updated == 1
    assert statuses()['leaf-01'] == ACTIVE


def test_a_heartbeat_that_ages_past_the_setting_turns_offline_without_any_resource_change(cluster, settings):
    fabric, api = cluster
    api.add(agent('leaf-01', 120))
    sync(fabric)
    assert statuses()['leaf-01'] == ACTIVE

    set_plugin_settings(settings, agent_offline_after=60)  # as if two minutes had passed with no heartbeat
    result = sync(fabric)

    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert result.dcim_updated == 1
    assert statuses()['leaf-01'] == OFFLINE


def test_an_agent_without_a_heartbeat_creates_its_switch_offline(cluster):
    fabric, api = cluster
    api.add(agent('leaf-02', None))

    sync(fabric)

    assert statuses() == {'spine-01': ACTIVE, 'spine-02': ACTIVE, 'leaf-01': ACTIVE, 'leaf-02': OFFLINE}


def test_an_operators_status_and_a_switch_without_an_agent_are_left_alone(cluster):
    fabric, api = cluster
    sync(fabric)
    set_status('leaf-01', PLANNED)
    set_status('leaf-02', 'failed')
    set_status('spine-02', OFFLINE)  # no Agent: its status is the operator's
    api.add(agent('leaf-01', 3600))
    api.add(agent('leaf-02', 3600))

    result = sync(fabric)

    assert result.dcim_updated == 0
    assert statuses() == {'spine-01': ACTIVE, 'spine-02': OFFLINE, 'leaf-01': PLANNED, 'leaf-02': 'failed'}


def test_a_setting_of_0_leaves_the_status_alone(cluster, settings):
    fabric, api = cluster
    set_plugin_settings(settings, agent_offline_after=0)
    api.add(agent('leaf-01', 3600))
    sync(fabric)
    set_status('leaf-02', OFFLINE)

    result = sync(fabric)

    assert result.dcim_updated == 0
    assert statuses() == {'spine-01': ACTIVE, 'spine-02': ACTIVE, 'leaf-01': ACTIVE, 'leaf-02': OFFLINE}


def test_an_unchanged_resync_with_stale_and_fresh_agents_writes_nothing(cluster):
    fabric, api = cluster
    api.add(agent('leaf-01', 3600))
    sync(fabric)
    assert statuses()['leaf-01'] == OFFLINE

    writes, _queries = resync(fabric)

    assert writes == UNCHANGED
