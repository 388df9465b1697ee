from django.apps import apps
from django.urls import include, path
from utilities.urls import get_model_urls

from . import views  # noqa: F401  (registers the model views)

app_name = 'netbox_hedgehog'

urlpatterns = [
    path('fabrics/', include(get_model_urls('netbox_hedgehog', 'hedgehogfabric', detail=False))),
    path('fabrics/<int:pk>/', include(get_model_urls('netbox_hedgehog', 'hedgehogfabric'))),
    path('resources/', include(get_model_urls('netbox_hedgehog', 'hedgehogresource', detail=False))),
    path('resources/<int:pk>/', include(get_model_urls('netbox_hedgehog', 'hedgehogresource'))),
    path('owned-objects/', include(get_model_urls('netbox_hedgehog', 'hedgehogownedobject', detail=False))),
    path('sync-runs/', include(get_model_urls('netbox_hedgehog', 'syncrun', detail=False))),
    path('sync-runs/<int:pk>/', include(get_model_urls('netbox_hedgehog', 'syncrun'))),
]

# Django's admin, opted into with the plugin setting ``enable_django_admin`` (which installs the app).
if apps.is_installed('django.contrib.admin'):
    from .admin import admin_site_urls

    urlpatterns.append(path('admin/', admin_site_urls()))
