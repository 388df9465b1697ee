"""Mixins shared by the plugin's test cases built on NetBox's ``utilities.testing``, and small test helpers."""

import contextlib
import json
import threading

from core.models import ObjectType
from django.urls import reverse
from rest_framework import status
from users.models import ObjectPermission


class PluginURLMixin:
    """NetBox's view test cases name URLs ``app:model_action``; a plugin's live under ``plugins:``."""

    def _get_base_url(self):
        return f'plugins:{self.model._meta.app_label}:{self.model._meta.model_name}_{{}}'


class PluginAPIMixin:
    """NetBox's API test cases look for ``app-api:…``; the plugin's REST API lives under ``plugins-api:``."""

    view_namespace = 'plugins-api:netbox_hedgehog'


class ObjectPermissionMixin:
    """Grant the test case's user an object permission, optionally constrained, as an administrator would."""

    def grant(self, model, *actions, **constraints):
        permission = ObjectPermission.objects.create(
            name=f'{"/".join(actions)} {model._meta.model_name}',
            actions=list(actions),
            constraints=constraints or None,
        )
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(model))
        return permission


class MappingRightsMixin:
    """Give the test case's user the rights that mapping a fabric to DCIM needs (``netbox_hedgehog.dcim.rights``)."""

    def setUp(self):
        super().setUp()
        from netbox_hedgehog.dcim.rights import MAPPING_PERMISSIONS

        self.add_permissions(*MAPPING_PERMISSIONS, 'dcim.view_site', 'tenancy.view_tenant')


class GraphQLMixin(ObjectPermissionMixin):
    """Send a GraphQL query as the test case's (token-authenticated) user, with the view permissions it needs."""

    def grant_view(self, model, **constraints):
        return self.grant(model, 'view', **constraints)

    def query(self, text):
        response = self.client.post(reverse('graphql'), data={'query': text}, format='json', **self.header)
        self.assertHttpStatus(response, status.HTTP_200_OK)
        return json.loads(response.content)


class FabricViewMixin:
    """For GraphQL test cases of types whose ``fabric`` is not nullable: without view permission on
    fabrics a query of them errors instead of returning the object, so the user gets it in setUp."""

    def setUp(self):
        super().setUp()
        self.add_permissions('netbox_hedgehog.view_hedgehogfabric')


def set_plugin_settings(settings, **values):
    """Override plugin settings for one test through pytest-django's ``settings`` fixture.

    ``PLUGINS_CONFIG`` is replaced, never changed in place: the fixture restores the attributes
    it saw assigned, and an in-place change would leak into every later test of the session.
    """
    plugin = {**settings.PLUGINS_CONFIG['netbox_hedgehog'], **values}
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_hedgehog': plugin}


@contextlib.contextmanager
def serving(server):
    """Run a ``socketserver`` server (e.g. an ``http.server``) in a daemon thread for the ``with`` block.

    Its loop looks for the stop request every 10 ms: with the default 0.5 s, every stop waited up to that long.
    """
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
