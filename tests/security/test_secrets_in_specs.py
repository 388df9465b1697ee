"""Credentials inside synced objects (an Agent's user password hashes and SSH keys, metrics tokens, …).

A real sync from an emulated cluster stores them as keyed fingerprints: the resource page, REST,
GraphQL and the run records never hold them, while a changed password is still an update.
"""

import json

from core.models import ObjectType
from django.urls import reverse
from rest_framework import status
from users.models import ObjectPermission
from utilities.testing import APITestCase

from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.sources.redact import LAST_APPLIED, is_redacted, redact
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.kmock_server import kube_api

PASSWORD_HASH = '$5$saltsalt$agentpasswordhash0123456789abcdefABCDEF'
CHANGED_HASH = '$5$saltsalt$changedpasswordhash9876543210fedcbaFEDCBA'
SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIagentsshkeymarker0123456789 admin@example'
BEARER = 'metrics-bearer-token-5c4d3e'
MARKERS = (PASSWORD_HASH, CHANGED_HASH, 'agentsshkeymarker', BEARER)


def agent(password):
    spec = {
        'role': 'server-leaf',
        'users': [{'name': 'admin', 'role': 'admin', 'password': password, 'sshKeys': [SSH_KEY]}],
        'alloy': {'prometheusTargets': {'grafana': {'url': 'https://metrics.example', 'bearerToken': BEARER}}},
    }
    return {
        'apiVersion': 'agent.githedgehog.com/v1beta1',
        'kind': 'Agent',
        'metadata': {'name': 'leaf-01', 'annotations': {LAST_APPLIED: json.dumps({'spec': spec})}},
        'spec': spec,
    }


def test_redaction_is_stable_and_keyed_by_field_name():
    first, again, changed = (redact(agent(value)['spec']) for value in (PASSWORD_HASH, PASSWORD_HASH, CHANGED_HASH))
    user = first['users'][0]
    assert is_redacted(user['password']) and is_redacted(user['sshKeys'])
    assert first['alloy']['prometheusTargets']['grafana']['url'] == 'https://metrics.example'
    assert is_redacted(first['alloy']['prometheusTargets']['grafana']['bearerToken'])
    assert (user['name'], user['role'], first['role']) == ('admin', 'admin', 'server-leaf')
    assert first == again
    assert changed['users'][0]['password'] != user['password']
    assert redact({'noPassAuth': True, 'inboundCommunity': '50000:1', 'password': ''}) == {
        'noPassAuth': True,
        'inboundCommunity': '50000:1',
        'password': '',
    }


class AgentSecretsTestCase(APITestCase):
    def setUp(self):
        super().setUp()
        permission = ObjectPermission.objects.create(name='view hedgehog', actions=['view'])
        permission.users.add(self.user)
        permission.object_types.set(
            [ObjectType.objects.get_for_model(model) for model in (HedgehogFabric, HedgehogResource, SyncRun)]
        )

    def assertNoSecret(self, text):
        for marker in MARKERS:
            self.assertNotIn(marker, text)

    def test_synced_agent_secrets_are_fingerprints_everywhere(self):
        with kube_api() as api:
            api.add(agent(PASSWORD_HASH))
            fabric = HedgehogFabric.objects.create(name='agents', **api.fabric_fields())
            first = sync_fabric(fabric)
            resource = HedgehogResource.objects.get(fabric=fabric, kind='Agent')
            fingerprint = resource.spec['users'][0]['password']

            api.add(agent(CHANGED_HASH))
            second = sync_fabric(HedgehogFabric.objects.get(pk=fabric.pk))
            third = sync_fabric(HedgehogFabric.objects.get(pk=fabric.pk))
        self.assertTrue(first.succeeded, first.error_text())
        self.assertTrue(is_redacted(fingerprint))
        self.assertEqual((second.updated, third.updated), (1, 0))  # a changed password is a change; once
        resource.refresh_from_db()
        self.assertNotEqual(resource.spec['users'][0]['password'], fingerprint)

        database = json.dumps(list(HedgehogResource.objects.values('spec', 'status', 'annotations')))
        self.assertNoSecret(database)
        self.assertNoSecret(json.dumps(list(SyncRun.objects.values()), default=str))

        for url in (
            reverse('plugins-api:netbox_hedgehog-api:hedgehogresource-detail', args=[resource.pk]),
            reverse('plugins-api:netbox_hedgehog-api:hedgehogresource-list'),
            reverse('plugins-api:netbox_hedgehog-api:syncrun-list'),
        ):
            response = self.client.get(url, **self.header)
            self.assertHttpStatus(response, status.HTTP_200_OK)
            self.assertNoSecret(response.content.decode())
        response = self.client.post(
            reverse('graphql'),
            data={'query': '{ hedgehog_resource_list { kind name spec annotations status } }'},
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_200_OK)
        self.assertIn('redacted hmac:', response.content.decode())
        self.assertNoSecret(response.content.decode())

        self.client.force_login(self.user)
        for url in (
            resource.get_absolute_url(),
            reverse('plugins:netbox_hedgehog:hedgehogresource_list') + '?export=table',
        ):
            response = self.client.get(url)
            self.assertHttpStatus(response, status.HTTP_200_OK)
            self.assertNoSecret(response.content.decode())
