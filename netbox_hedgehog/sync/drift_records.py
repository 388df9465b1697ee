from collections import defaultdict

from ..choices import DriftStateChoices, ResourceSourceChoices
from ..models import HedgehogFabric, HedgehogResource
from ..settings import plugin_setting
from .diff import KEY
from .drift import drift_state


def compared_kinds(git_kinds):
    """The kinds whose Git and cluster versions are compared: those Git declares, less the controller's own.

    The controller creates objects of its own (an Agent per switch, DHCP subnets, …) that no
    Git repository holds, and a repository that declares no object of a kind leaves that kind
    to the cluster: neither counts as drift.
    """
    return set(git_kinds) - set(plugin_setting('cluster_owned_kinds'))


def record_drift(fabric):
    """Compare each object's Git and cluster rows, store the state on both, and return the fabric's drift count.

    Only fabrics with both sources have drift, and only for the kinds of :func:`compared_kinds`;
    every other state is empty. Only rows whose state changed are written.
    """
    if not (fabric.has_git_source and fabric.has_kubernetes_source):
        HedgehogResource.objects.filter(fabric=fabric).exclude(drift_state='').update(drift_state='')
        HedgehogFabric.objects.filter(pk=fabric.pk).exclude(drift_count=0).update(drift_count=0)
        return 0
    rows = HedgehogResource.objects.filter(fabric=fabric).values(
        'pk',
        'source',
        *KEY,
        'spec',
        'labels',
        'annotations',
        'drift_state',
    )
    by_key = defaultdict(dict)
    for row in rows:
        by_key[tuple(row[part] for part in KEY)][row['source']] = row
    compared = compared_kinds(key[0] for key, versions in by_key.items() if ResourceSourceChoices.GIT in versions)
    moves = defaultdict(list)
    drift_count = 0
    for (kind, _namespace, _name), versions in by_key.items():
        state = (
            drift_state(
                versions.get(ResourceSourceChoices.GIT),
                versions.get(ResourceSourceChoices.KUBERNETES),
                kind,
            )
            if kind in compared
            else ''
        )
        drift_count += state not in ('', DriftStateChoices.IN_SYNC)
        moves[state].extend(row['pk'] for row in versions.values() if row['drift_state'] != state)
    for state, pks in moves.items():
        if pks:
            HedgehogResource.objects.filter(pk__in=pks).update(drift_state=state)
    HedgehogFabric.objects.filter(pk=fabric.pk).exclude(drift_count=drift_count).update(drift_count=drift_count)
    return drift_count
