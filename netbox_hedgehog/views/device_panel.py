"""What the Hedgehog panel on a device page shows (see ``template_content.DeviceHedgehogPanel``)."""

from django.contrib.contenttypes.models import ContentType

from ..choices import ResourceSourceChoices
from ..models import HedgehogFabric, HedgehogOwnedObject, HedgehogResource, SyncRun

__all__ = ('device_panel_context',)


def device_panel_context(device, user):
    """The panel's context for ``device``, or None when no fabric owns it or the user may not view its fabric.

    The resource is the fabric object the device maps from, read from the source that drives the
    mapping (the other source's row when only that one has it); the agent's status comes from the
    fabric's Agent of the same name, which only the cluster has.
    """
    owner = (
        HedgehogOwnedObject.objects.filter(object_type=ContentType.objects.get_for_model(device), object_id=device.pk)
        .only('fabric_id', 'kind', 'namespace', 'name')
        .first()
    )
    if owner is None:
        return None
    fabric = HedgehogFabric.objects.restrict(user, 'view').filter(pk=owner.fabric_id).first()
    if fabric is None:
        return None
    resources = HedgehogResource.objects.restrict(user, 'view').filter(fabric=fabric)
    driving = fabric.dcim_source_name
    candidates = resources.filter(kind=owner.kind, namespace=owner.namespace, name=owner.name)
    resource = min(candidates, key=lambda row: row.source != driving, default=None)
    agent = (
        resources.filter(kind='Agent', name=owner.name, source=ResourceSourceChoices.KUBERNETES)
        .only('pk', 'fabric_id', 'heartbeat', 'applied_generation', 'status')
        .first()
    )
    version = agent.status.get('version') if agent is not None and isinstance(agent.status, dict) else None
    last_run = (
        SyncRun.objects.restrict(user, 'view')
        .filter(fabric=fabric, dry_run=False)
        .order_by('-started_at')
        .only('pk', 'started_at', 'outcome')
        .first()
    )
    return {
        'hedgehog_fabric': fabric,
        'hedgehog_owner': owner,
        'hedgehog_resource': resource,
        'hedgehog_agent': agent,
        'hedgehog_agent_version': version,
        'hedgehog_last_run': last_run,
    }
