"""Fabric credentials are encrypted in the database and no NetBox surface renders them.

Every surface is scanned for the clear text of each of the four credentials: the fabric's page,
list and CSV export, REST, GraphQL, the change log (page and API), an export template and a
custom link that ask for ``{{ object.git_token }}`` (and try to call ``reveal``), and the raw
database row. A wrong key makes a clear error on the fabric, not a crash; the rotation command
and the data migration are run for real.
"""

import json

from core.models import ObjectType
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.urls import reverse
from extras.models import CustomLink, ExportTemplate
from jinja2.exceptions import SecurityError
from rest_framework import status
from users.models import ObjectPermission
from utilities.testing import APITestCase, TestCase

from netbox_hedgehog.fields import SecretDecryptionError, reveal, vault
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.models.fabric import SECRET_FIELDS
from netbox_hedgehog.sync.pipeline import sync_fabric

TOKEN = 'at-rest-k8s-token-6a5b4c'
GIT_TOKEN = 'at-rest-git-token-3e2f1a'
KUBECONFIG_TOKEN = 'at-rest-kubeconfig-token-9d8c'
SSH_KEY_BODY = 'at-rest-ssh-key-body-7f6e'
SECRETS = {
    'kubernetes_token': TOKEN,
    'git_token': GIT_TOKEN,
    'git_ssh_key': f'-----BEGIN OPENSSH PRIVATE KEY-----\n{SSH_KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n',
}
KUBECONFIG = (
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://10.9.0.1:6443"}}]\n'
    'contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n'
    f'users: [{{name: u, user: {{token: {KUBECONFIG_TOKEN}}}}}]\n'
)
MARKERS = (TOKEN, GIT_TOKEN, KUBECONFIG_TOKEN, SSH_KEY_BODY)
OTHER_KEY = 'another-key-that-does-not-decrypt-0123456789abcdef'


def plugin_config(**overrides):
    """PLUGINS_CONFIG with this plugin's settings changed (for override_settings: restored afterwards)."""
    from django.conf import settings

    return {
        **settings.PLUGINS_CONFIG,
        'netbox_hedgehog': {**settings.PLUGINS_CONFIG['netbox_hedgehog'], **overrides},
    }


def raw_columns(fabric):
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {", ".join(SECRET_FIELDS)} FROM netbox_hedgehog_hedgehogfabric WHERE id = %s', [fabric.pk]
        )
        return dict(zip(SECRET_FIELDS, cursor.fetchone(), strict=True))


def create_fabrics():
    """One fabric with a token and the Git secrets, one with a kubeconfig: all four credentials stored."""
    with_token = HedgehogFabric.objects.create(
        name='secretive',
        kubernetes_server='https://10.9.0.1:6443',
        git_repository_url='https://git.example.invalid/fabric.git',
        **SECRETS,
    )
    with_kubeconfig = HedgehogFabric.objects.create(name='kubeconfigured', kubeconfig=KUBECONFIG)
    return with_token, with_kubeconfig


class SecretsAtRestTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fabric, cls.kubeconfig_fabric = create_fabrics()

    def test_database_holds_ciphertext_that_decrypts_to_the_secret(self):
        stored = {**raw_columns(self.fabric), 'kubeconfig': raw_columns(self.kubeconfig_fabric)['kubeconfig']}
        for name, value in stored.items():
            self.assertTrue(value, name)
            for marker in MARKERS:
                self.assertNotIn(marker, value)
        self.assertEqual(vault().decrypt(stored['kubernetes_token'].encode()).decode(), TOKEN)
        fabric = HedgehogFabric.objects.get(pk=self.fabric.pk)
        self.assertEqual(reveal(fabric.git_token), GIT_TOKEN)
        self.assertEqual(reveal(HedgehogFabric.objects.get(pk=self.kubeconfig_fabric.pk).kubeconfig), KUBECONFIG)

    def test_queryset_update_with_text_stores_it_encrypted(self):
        HedgehogFabric.objects.filter(pk=self.fabric.pk).update(git_token='updated-git-token-55aa')
        self.assertNotIn('updated-git-token-55aa', raw_columns(self.fabric)['git_token'])
        self.assertEqual(reveal(HedgehogFabric.objects.get(pk=self.fabric.pk).git_token), 'updated-git-token-55aa')

    def test_attribute_renders_redacted(self):
        fabric = HedgehogFabric.objects.get(pk=self.fabric.pk)
        for name in SECRET_FIELDS[:1] + SECRET_FIELDS[2:]:
            value = getattr(fabric, name)
            self.assertEqual((str(value), f'{value}', value.__html__()), ('(set)', '(set)', '(set)'))
            self.assertNotIn('at-rest', repr(value))
        self.assertEqual(str(fabric.kubeconfig), '')


class SecretsOnSurfacesTestCase(TestCase):
    """Pages, exports, export templates and custom links, as a user who may view (and change) fabrics."""

    user_permissions = ('netbox_hedgehog.view_hedgehogfabric', 'core.view_objectchange', 'extras.view_exporttemplate')

    @classmethod
    def setUpTestData(cls):
        cls.fabric, cls.kubeconfig_fabric = create_fabrics()
        fabric_type = ObjectType.objects.get_for_model(HedgehogFabric)
        template = ExportTemplate.objects.create(
            name='leak',
            template_code=(
                '{% for fabric in queryset %}{{ fabric.git_token }} {{ fabric.kubernetes_token }} '
                '{{ fabric.kubeconfig }} {{ fabric.git_ssh_key }} {{ fabric.git_token.ciphertext }}\n{% endfor %}'
            ),
        )
        template.object_types.set([fabric_type])
        calls = ExportTemplate.objects.create(name='call', template_code='{{ queryset[0].git_token.reveal() }}')
        calls.object_types.set([fabric_type])
        link = CustomLink.objects.create(
            name='leak-link',
            link_text='token {{ object.git_token }} {{ object.kubernetes_token }}',
            link_url='https://example.invalid/?t={{ object.git_token }}&k={{ object.kubeconfig }}',
        )
        link.object_types.set([fabric_type])
        calling = CustomLink.objects.create(
            name='reveal-link', link_text='r', link_url='https://example.invalid/?t={{ object.git_token.reveal() }}'
        )
        calling.object_types.set([fabric_type])

    def assertNoSecret(self, content):
        text = content.decode() if isinstance(content, bytes) else content
        for marker in MARKERS:
            self.assertNotIn(marker, text)

    def get(self, url):
        response = self.client.get(url)
        self.assertLess(response.status_code, 500, url)
        content = b''.join(response.streaming_content) if response.streaming else response.content
        self.assertNoSecret(content)
        return response, content.decode()

    def test_pages_and_exports(self):
        for fabric in (self.fabric, self.kubeconfig_fabric):
            response, content = self.get(fabric.get_absolute_url())
            self.assertEqual(response.status_code, 200)
        # The fabric page has no custom-link buttons; render the links as NetBox does wherever it shows them.
        fabric = HedgehogFabric.objects.get(pk=self.fabric.pk)
        rendered = CustomLink.objects.get(name='leak-link').render({'object': fabric})
        self.assertEqual(rendered['text'], 'token (set) (set)')
        self.assertNoSecret(rendered['link'])
        with self.assertRaises(SecurityError):
            CustomLink.objects.get(name='reveal-link').render({'object': fabric})
        list_url = reverse('plugins:netbox_hedgehog:hedgehogfabric_list')
        for query in ('', '?export=table', '?export', '?export=leak'):
            response, content = self.get(list_url + query)
            self.assertEqual(response.status_code, 200, query)
        self.assertIn('(set) (set)  (set) gAAAA', content)  # the template's output: redacted, ciphertext at most

    def test_templates_cannot_call_reveal(self):
        # NetBox's sandboxed Jinja2 refuses the call; whatever it answers holds no secret.
        self.get(reverse('plugins:netbox_hedgehog:hedgehogfabric_list') + '?export=call')

    def test_change_log(self):
        self.add_permissions('netbox_hedgehog.change_hedgehogfabric')
        self.get(reverse('core:objectchange_list'))
        self.get(reverse('plugins:netbox_hedgehog:hedgehogfabric_changelog', args=[self.fabric.pk]))

    def test_edit_form_does_not_send_secrets_back(self):
        self.add_permissions('netbox_hedgehog.change_hedgehogfabric')
        for fabric in (self.fabric, self.kubeconfig_fabric):
            response, _ = self.get(reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[fabric.pk]))
            self.assertEqual(response.status_code, 200)


class SecretsInApiTestCase(APITestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fabric, cls.kubeconfig_fabric = create_fabrics()

    def test_rest_and_graphql(self):
        permission = ObjectPermission.objects.create(name='view fabrics', actions=['view'])
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(HedgehogFabric))
        for url in (
            reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-list'),
            reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-detail', args=[self.fabric.pk]),
            reverse('plugins-api:netbox_hedgehog-api:hedgehogfabric-list') + '?brief=1',
        ):
            response = self.client.get(url, **self.header)
            self.assertHttpStatus(response, status.HTTP_200_OK)
            for marker in MARKERS:
                self.assertNotIn(marker, response.content.decode())
            for name in SECRET_FIELDS:
                self.assertNotIn(f'"{name}"', response.content.decode())
        response = self.client.post(
            reverse('graphql'),
            data={'query': '{ hedgehog_fabric_list { name kubernetes_server } }'},
            format='json',
            **self.header,
        )
        self.assertHttpStatus(response, status.HTTP_200_OK)
        self.assertEqual(len(json.loads(response.content)['data']['hedgehog_fabric_list']), 2)
        for marker in MARKERS:
            self.assertNotIn(marker, response.content.decode())
        response = self.client.post(
            reverse('graphql'),
            data={'query': '{ hedgehog_fabric_list { name git_token } }'},
            format='json',
            **self.header,
        )
        self.assertIn('errors', json.loads(response.content))  # no such field
        self.assertNotIn(GIT_TOKEN, response.content.decode())


class WrongKeyTestCase(TestCase):
    user_permissions = ('netbox_hedgehog.view_hedgehogfabric', 'netbox_hedgehog.change_hedgehogfabric')

    @classmethod
    def setUpTestData(cls):
        cls.fabric, cls.kubeconfig_fabric = create_fabrics()

    def test_wrong_key_is_a_clear_error_not_a_crash(self):
        with override_settings(PLUGINS_CONFIG=plugin_config(secret_keys=[OTHER_KEY])):
            fabric = HedgehogFabric.objects.get(pk=self.fabric.pk)
            with self.assertRaisesMessage(SecretDecryptionError, 'the stored Kubernetes token cannot be decrypted'):
                reveal(fabric.kubernetes_token)
            for url in (
                fabric.get_absolute_url(),
                self.kubeconfig_fabric.get_absolute_url(),
                reverse('plugins:netbox_hedgehog:hedgehogfabric_edit', args=[self.kubeconfig_fabric.pk]),
            ):
                self.assertHttpStatus(self.client.get(url), 200)

            result = sync_fabric(HedgehogFabric.objects.get(pk=self.kubeconfig_fabric.pk))
        self.assertFalse(result.succeeded)
        self.assertIn('the stored kubeconfig cannot be decrypted with the configured keys', result.error_text())


class RotateKeyCommandTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fabric, cls.kubeconfig_fabric = create_fabrics()

    def test_rotation_re_encrypts_with_the_new_key(self):
        from django.conf import settings

        before = raw_columns(self.fabric)
        with override_settings(PLUGINS_CONFIG=plugin_config(secret_keys=[OTHER_KEY, settings.SECRET_KEY])):
            call_command('hedgehog_rotate_key', '--dry-run', stdout=open('/dev/null', 'w'))
            self.assertEqual(raw_columns(self.fabric), before)
            call_command('hedgehog_rotate_key', stdout=open('/dev/null', 'w'))
        after = raw_columns(self.fabric)
        self.assertNotEqual(after['git_token'], before['git_token'])
        with override_settings(PLUGINS_CONFIG=plugin_config(secret_keys=[OTHER_KEY])):
            fabric = HedgehogFabric.objects.get(pk=self.fabric.pk)
            self.assertEqual(
                [reveal(getattr(fabric, name)) for name in ('kubernetes_token', 'git_token')], [TOKEN, GIT_TOKEN]
            )
            self.assertEqual(reveal(HedgehogFabric.objects.get(pk=self.kubeconfig_fabric.pk).kubeconfig), KUBECONFIG)

    def test_undecryptable_credentials_are_named(self):
        with override_settings(PLUGINS_CONFIG=plugin_config(secret_keys=[OTHER_KEY])):
            with self.assertRaisesMessage(CommandError, 'secretive: kubernetes_token'):
                call_command('hedgehog_rotate_key', stdout=open('/dev/null', 'w'))


class EncryptMigrationTestCase(TestCase):
    """Rows written before 0003 (clear text) are encrypted by it, and decrypted again when it is reversed."""

    def test_migration_encrypts_existing_rows(self):
        fabric = HedgehogFabric.objects.create(name='legacy')
        with connection.cursor() as cursor:
            # Run the new row's deferred foreign-key checks now: reversing later migrations drops foreign keys
            # of this table, which PostgreSQL refuses while checks on it are pending.
            cursor.execute('SET CONSTRAINTS ALL IMMEDIATE')
        executor = MigrationExecutor(connection)
        target = ('netbox_hedgehog', '0003_encrypt_secrets')
        (parent,) = executor.loader.graph.node_map[target].parents
        leaves = executor.loader.graph.leaf_nodes('netbox_hedgehog')
        executor.migrate([parent.key])
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    'UPDATE netbox_hedgehog_hedgehogfabric SET git_token = %s, kubernetes_token = %s WHERE id = %s',
                    [GIT_TOKEN, '', fabric.pk],
                )
        finally:
            executor = MigrationExecutor(connection)
            executor.migrate(leaves)
        stored = raw_columns(fabric)
        self.assertNotIn(GIT_TOKEN, stored['git_token'])
        self.assertEqual(stored['kubernetes_token'], '')
        self.assertEqual(reveal(HedgehogFabric.objects.get(pk=fabric.pk).git_token), GIT_TOKEN)
