"""Secrets never reach NetBox's change log (its UI and its object-changes API show the snapshots)."""

import json

from core.models import ObjectChange
from django.urls import reverse
from rest_framework import status
from utilities.testing import APITestCase

from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.models.fabric import SECRET_FIELDS

SECRETS = {
    'kubernetes_token': 'token-value-1f2e3d',
    'kubeconfig': 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://k"}}]\n'
    'contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n'
    'users: [{name: u, user: {token: kubeconfig-secret-9a8b}}]\n',
    'git_token': 'git-token-value-7c6b',
    'git_ssh_key': '-----BEGIN OPENSSH PRIVATE KEY-----\nssh-secret-5d4c\n-----END OPENSSH PRIVATE KEY-----\n',
}
SECRET_MARKERS = ('token-value-1f2e3d', 'kubeconfig-secret-9a8b', 'git-token-value-7c6b', 'ssh-secret-5d4c')


class SecretsInChangeLogTest(APITestCase):
    def test_create_and_edit_record_only_whether_secrets_are_set(self):
        self.add_permissions(
            'netbox_hedgehog.add_hedgehogfabric', 'netbox_hedgehog.change_hedgehogfabric', 'core.view_objectchange'
        )
        url = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-list')
        response = self.client.post(
            url,
            {
                'name': 'secretive',
                'git_repository_url': 'https://example.invalid/r.git',
                'kubernetes_token': SECRETS['kubernetes_token'],
            },
            format='json',
            **self.header,
        )
        self.assertEqual(response.status_code, status.HTTP_201_CREATED, response.content)
        fabric = HedgehogFabric.objects.get(name='secretive')
        detail = reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[fabric.pk])
        response = self.client.patch(
            detail,
            {name: value for name, value in SECRETS.items() if name != 'kubernetes_token'},
            format='json',
            **self.header,
        )
        self.assertEqual(response.status_code, status.HTTP_200_OK, response.content)

        changes = ObjectChange.objects.filter(changed_object_id=fabric.pk)
        self.assertEqual(changes.count(), 2)
        recorded = json.dumps([[change.prechange_data, change.postchange_data] for change in changes])
        for marker in SECRET_MARKERS:
            self.assertNotIn(marker, recorded)
        latest = changes.order_by('-time').first()
        self.assertEqual(
            {name: latest.postchange_data[name] for name in SECRET_FIELDS}, dict.fromkeys(SECRET_FIELDS, '(set)')
        )
        api = self.client.get(reverse('core-api:objectchange-list'), **self.header).content.decode()
        for marker in SECRET_MARKERS:
            self.assertNotIn(marker, api)
