"""The fabric's "sync" buttons, as NetBox object actions (rendered only for users with change permission)."""

from django.middleware.csrf import get_token
from django.utils.translation import gettext_lazy as _

from netbox.object_actions import ObjectAction

__all__ = (
    'BulkScheduleSync',
    'ScheduleSync',
    'ConnectionTestAction',
)


class ScheduleSync(ObjectAction):
    """Queue an immediate sync of one fabric (a POST form on its detail page)."""

    name = 'schedule_sync'
    label = _('Sync now')
    permissions_required = {'change'}
    url_kwargs = ['pk']
    template_name = 'netbox_hedgehog/buttons/schedule_sync.html'

    @classmethod
    def get_context(cls, context, obj):
        # Buttons are rendered outside the page's RequestContext, so the form needs its token passed in.
        return {'csrf_token': get_token(context['request'])}


class BulkScheduleSync(ObjectAction):
    """Queue an immediate sync of each fabric selected in the list."""

    name = 'bulk_schedule_sync'
    label = _('Schedule sync')
    multi = True
    permissions_required = {'change'}
    template_name = 'netbox_hedgehog/buttons/bulk_schedule_sync.html'


class ConnectionTestAction(ObjectAction):
    """Queue a test of the fabric's Kubernetes API and Git remote (a POST form on its detail page)."""

    name = 'test_connection'
    label = _('Test connection')
    permissions_required = {'change'}
    url_kwargs = ['pk']
    template_name = 'netbox_hedgehog/buttons/test_connection.html'

    @classmethod
    def get_context(cls, context, obj):
        return {'csrf_token': get_token(context['request'])}
