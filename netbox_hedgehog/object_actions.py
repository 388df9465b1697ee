"""The fabric's "sync" buttons, as NetBox object actions (rendered only for users with change permission)."""

from django.middleware.csrf import get_token
from django.utils.translation import gettext_lazy as _
from netbox.object_actions import ObjectAction

__all__ = (
    'BulkScheduleSync',
    'ConnectionTestAction',
    'DryRunSync',
    'ScheduleSync',
)


class FabricPostAction(ObjectAction):
    """A button on the fabric's detail page that POSTs to one of its views (a small form of its own)."""

    permissions_required = {'change'}
    url_kwargs = ['pk']
    template_name = 'netbox_hedgehog/buttons/post_action.html'
    button_class = 'btn-primary'
    icon = 'sync'

    @classmethod
    def get_context(cls, context, obj):
        # Buttons are rendered outside the page's RequestContext, so the form needs its token passed in.
        return {'csrf_token': get_token(context['request']), 'button_class': cls.button_class, 'icon': cls.icon}


class ScheduleSync(FabricPostAction):
    """Queue an immediate sync of one fabric."""

    name = 'schedule_sync'
    label = _('Sync now')


class DryRunSync(FabricPostAction):
    """Queue an immediate dry run of one fabric: the diff is computed and recorded on the run, not applied."""

    name = 'dry_run'
    label = _('Dry run')
    button_class = 'btn-outline-primary'
    icon = 'file-compare'


class ConnectionTestAction(FabricPostAction):
    """Queue a test of the fabric's Kubernetes API and Git remote."""

    name = 'test_connection'
    label = _('Test connection')
    button_class = 'btn-outline-secondary'
    icon = 'lan-connect'


class BulkScheduleSync(ObjectAction):
    """Queue an immediate sync of each fabric selected in the list."""

    name = 'bulk_schedule_sync'
    label = _('Schedule sync')
    multi = True
    permissions_required = {'change'}
    template_name = 'netbox_hedgehog/buttons/bulk_schedule_sync.html'
