from netbox.api.routers import NetBoxRouter

from . import views

app_name = 'netbox_hedgehog-api'

router = NetBoxRouter()
router.APIRootView = views.HedgehogRootView

router.register('fabrics', views.HedgehogFabricViewSet)
router.register('resources', views.HedgehogResourceViewSet)
router.register('owned-objects', views.HedgehogOwnedObjectViewSet)
router.register('sync-runs', views.SyncRunViewSet)

urlpatterns = router.urls
