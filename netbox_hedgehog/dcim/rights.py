"""Who may decide what a fabric's mapping writes into NetBox's devices, interfaces and cables.

The mapping writes with the worker's rights, not with the rights of whoever edited the fabric.
A user who may edit fabrics but not devices (or prefixes, VLANs, addresses) must therefore not be
able to have the worker create, adopt, change or delete them in their stead: turning the mapping
on, pointing it at a site or tenant, choosing its source or conflict policy, turning pruning on,
or changing where a mapped fabric reads from (its API server, namespace, repository, branch or
path) needs the rights the mapping itself uses, and the chosen site and tenant must be ones the
user can see. Turning the mapping or pruning off, and every other edit (a new token, the
interval, the description), needs nothing more.

NetBox's object permissions are checked per model, as ``user.has_perm(name)`` does: a constraint
on them (devices of one site only, say) is not evaluated against objects the mapping will create.
"""

from dcim.models import Site
from django.utils.translation import gettext_lazy as _
from tenancy.models import Tenant

# Every right the mapping exercises when it writes.
MAPPING_PERMISSIONS = (
    'dcim.add_device',
    'dcim.change_device',
    'dcim.delete_device',
    'dcim.add_interface',
    'dcim.change_interface',
    'dcim.delete_interface',
    'dcim.add_cable',
    'dcim.change_cable',
    'dcim.delete_cable',
    'dcim.add_macaddress',
    'dcim.change_macaddress',
    'dcim.delete_macaddress',
    'dcim.add_devicerole',
    'dcim.add_manufacturer',
    'dcim.add_devicetype',
    'dcim.add_platform',
    *(
        f'ipam.{action}_{model}'
        for model in ('vlangroup', 'vrf', 'vlan', 'prefix', 'iprange', 'ipaddress')
        for action in ('add', 'change', 'delete')
    ),
)
MAPPING_FIELDS = ('dcim_site', 'dcim_tenant', 'dcim_source', 'dcim_conflict_policy')
# Where a fabric reads from, besides its API server (compared as an endpoint: see ``guarded_changes``).
SOURCE_FIELDS = (
    'kubernetes_namespace',
    'kubernetes_in_cluster',
    'git_repository_url',
    'git_branch',
    'git_path',
)


def guarded_changes(fabric, stored):
    """The fields of this save that decide what the mapping writes, given the fabric as ``stored`` (None: new)."""
    if not fabric.dcim_sync:
        return []
    if stored is None or not stored.dcim_sync:
        return ['dcim_sync']
    changed = [name for name in (*MAPPING_FIELDS, *SOURCE_FIELDS) if _value(fabric, name) != _value(stored, name)]
    if fabric.prune and not stored.prune:
        changed.append('prune')
    if _api_endpoint(fabric) != _api_endpoint(stored):
        changed.append('kubeconfig' if fabric.kubeconfig else 'kubernetes_server')
    return changed


def mapping_rights_errors(fabric, user):
    """Field errors when ``user`` may not make this save's changes to what the fabric's mapping writes."""
    from ..models import HedgehogFabric

    if not fabric.dcim_sync:  # nothing the mapping writes can change: no need to read the stored fabric
        return {}
    stored = HedgehogFabric.objects.filter(pk=fabric.pk).first() if fabric.pk else None
    changed = guarded_changes(fabric, stored)
    if not changed:
        return {}
    missing = [name for name in MAPPING_PERMISSIONS if not user.has_perm(name)]
    if missing:
        return {
            changed[0]: _(
                'Mapping to DCIM creates, changes and deletes devices, interfaces, cables and their IPAM objects '
                "with the worker's rights, so this change needs those rights of your own. Missing: {missing}."
            ).format(missing=', '.join(missing))
        }
    errors = {}
    if fabric.dcim_site_id and not Site.objects.restrict(user, 'view').filter(pk=fabric.dcim_site_id).exists():
        errors['dcim_site'] = _('You may not view this site, so you may not map devices into it.')
    if fabric.dcim_tenant_id and not Tenant.objects.restrict(user, 'view').filter(pk=fabric.dcim_tenant_id).exists():
        errors['dcim_tenant'] = _('You may not view this tenant, so you may not map devices to it.')
    return errors


def _api_endpoint(fabric):
    """The origin of the fabric's API server, or of its kubeconfig's cluster: a new token for it is no move."""
    from ..models.fabric import kubernetes_endpoint

    return kubernetes_endpoint(fabric.kubernetes_server, fabric.kubeconfig)


def _value(fabric, name):
    field = fabric._meta.get_field(name)
    return getattr(fabric, field.attname)
