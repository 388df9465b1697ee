"""Django's admin for fabrics, opted into with the plugin setting ``enable_django_admin``.

NetBox 4.7 does not install ``django.contrib.admin``; the setting makes the PluginConfig add
it, and only then does this module register anything (Django imports ``admin`` modules only
through the admin's autodiscovery, but a stray import must stay harmless too).

The admin is served under the plugin's URLs at ``admin/``. Django's admin reverses its own
URLs in the top-level ``admin`` namespace, which a plugin's URLs (nested in
``plugins:netbox_hedgehog``) cannot provide; so :func:`admin_site_urls` routes every admin
request through a root URLconf of its own: the admin site at that same path, then all of
NetBox's URLs.
"""

from functools import cache

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.urls import get_resolver, include, path, re_path, set_urlconf
from django.utils.translation import gettext_lazy as _

from .models import HedgehogFabric
from .scheduling.scheduler import FabricScheduler

CHANGE_PERMISSION = 'netbox_hedgehog.change_hedgehogfabric'


if apps.is_installed('django.contrib.admin'):
    from django.contrib import admin
    from django.contrib.auth.views import redirect_to_login

    class HedgehogAdminSite(admin.AdminSite):
        """The plugin's own admin site, since Django's default one does not fit NetBox's users.

        NetBox's ``User`` has no ``is_staff`` flag, which the default site and its login form
        require: here any active, logged-in user may enter, NetBox's permissions (model and
        object level, through its auth backend) decide what they see and do, and logging in
        happens on NetBox's login page. Models other apps register on ``admin.site`` stay off it.
        """

        site_header = _('NetBox Hedgehog administration')
        site_title = _('NetBox Hedgehog')
        site_url = None  # the "View site" link

        def has_permission(self, request):
            return request.user.is_active and request.user.is_authenticated

        def login(self, request, extra_context=None):
            return redirect_to_login(request.get_full_path())

    admin_site = HedgehogAdminSite(name='admin')

    class RestrictedModelAdmin(admin.ModelAdmin):
        """A ModelAdmin that applies NetBox's object permissions (their constraints), as NetBox's own views do.

        Django's admin asks only "may this user change fabrics?"; NetBox's permissions can say
        "only fabric A". So the list and every object lookup go through ``restrict()`` (view),
        each per-object check passes the object to NetBox's permission backend, a bulk delete
        refuses objects outside the user's delete constraints, and a save must leave the object
        inside the user's constraints (or it is rolled back, as in NetBox's edit views).
        """

        def get_queryset(self, request):
            return super().get_queryset(request).restrict(request.user, 'view')

        def _has_object_permission(self, request, action, obj):
            opts = self.opts
            return request.user.has_perm(f'{opts.app_label}.{action}_{opts.model_name}', obj)

        def has_view_permission(self, request, obj=None):
            return self._has_object_permission(request, 'view', obj) or self.has_change_permission(request, obj)

        def has_change_permission(self, request, obj=None):
            return self._has_object_permission(request, 'change', obj)

        def has_delete_permission(self, request, obj=None):
            return self._has_object_permission(request, 'delete', obj)

        def save_model(self, request, obj, form, change):
            super().save_model(request, obj, form, change)
            action = 'change' if change else 'add'
            if not self.model.objects.restrict(request.user, action).filter(pk=obj.pk).exists():
                raise PermissionDenied  # changeform_view is atomic: the save is rolled back

        def delete_queryset(self, request, queryset):
            if queryset.count() != queryset.restrict(request.user, 'delete').count():
                raise PermissionDenied
            super().delete_queryset(request, queryset)

    @admin.register(HedgehogFabric, site=admin_site)
    class HedgehogFabricAdmin(RestrictedModelAdmin):
        """Fabrics in the admin: settings without the secrets, sync state read-only, and "Schedule sync".

        Secrets stay bound to their endpoint here as everywhere: changing the API server or the Git
        host removes them (``HedgehogFabric.unbind_moved_secrets``).
        """

        list_display = ('name', 'sync_status', 'last_sync', 'next_sync')
        list_filter = ('sync_status', 'sync_enabled', 'scheduler_enabled')
        search_fields = ('name', 'description')
        actions = ('schedule_sync',)
        # The token and the kubeconfig are neither shown nor editable here: set them in NetBox's UI or API.
        fields = (
            'name',
            'description',
            'kubernetes_server',
            'kubernetes_namespace',
            'kubernetes_ca_cert',
            'git_repository_url',
            'git_branch',
            'git_path',
            'sync_enabled',
            'scheduler_enabled',
            'sync_interval',
            'sync_status',
            'sync_error',
            'connection_status',
            'last_sync',
            'last_successful_sync',
            'next_sync',
        )
        readonly_fields = (
            'sync_status',
            'sync_error',
            'connection_status',
            'last_sync',
            'last_successful_sync',
            'next_sync',
        )

        @admin.action(description=_('Schedule sync'), permissions=('change',))
        def schedule_sync(self, request, queryset):
            """Queue an immediate sync of each selected fabric the user may change."""
            if not request.user.has_perm(CHANGE_PERMISSION):
                raise PermissionDenied
            scheduler = FabricScheduler()
            for fabric in queryset.restrict(request.user, 'change'):
                result = scheduler.trigger_now(fabric)
                if result.coalesced:
                    self.message_user(
                        request,
                        _('A sync of {fabric} was already queued.').format(fabric=fabric),
                        messages.INFO,
                    )
                else:
                    self.message_user(
                        request,
                        _('Queued a sync of {fabric} (job {job}).').format(fabric=fabric, job=result.job_id),
                        messages.SUCCESS,
                    )


@cache
def _admin_urlconf(prefix):
    """A root URLconf with the admin site at ``prefix`` (so its ``admin`` namespace is top-level) and NetBox's URLs."""

    class URLConf:
        urlpatterns = [
            path(prefix, admin_site.urls),
            path('', include(settings.ROOT_URLCONF)),
        ]

    return URLConf


def serve_admin(request, admin_path):
    """Serve one admin page through :func:`_admin_urlconf`, which also serves ``reverse()`` for this request."""
    prefix = request.path_info[1 : len(request.path_info) - len(admin_path)]
    urlconf = _admin_urlconf(prefix)
    request.urlconf = urlconf
    set_urlconf(urlconf)
    match = get_resolver(urlconf).resolve(request.path_info)
    request.resolver_match = match
    return match.func(request, *match.args, **match.kwargs)


def admin_site_urls():
    """URL patterns for the plugin's ``urls.py``: everything below ``admin/`` goes to :func:`serve_admin`."""
    return include([re_path(r'^(?P<admin_path>.*)$', serve_admin, name='admin')])
