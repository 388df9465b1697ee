from collections import defaultdict

from ..choices import DriftStateChoices, ResourceSourceChoices
from ..models import HedgehogFabric, HedgehogResource
from .diff import KEY
from .drift import drift_state


def record_drift(fabric):
    """Compare each object's Git and cluster rows, store the state on both, and return the fabric's drift count.

    Only fabrics with both sources have drift; for others every state is empty. Only
    rows whose state changed are written.
    """
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
    compare = fabric.has_git_source and fabric.has_kubernetes_source
    moves = defaultdict(list)
    drift_count = 0
    for versions in by_key.values():
        state = (
            drift_state(
                versions.get(ResourceSourceChoices.GIT),
                versions.get(ResourceSourceChoices.KUBERNETES),
            )
            if compare
            else ''
        )
        drift_count += state not in ('', DriftStateChoices.IN_SYNC)
        moves[state].extend(row['pk'] for row in versions.values() if row['drift_state'] != state)
    for state, pks in moves.items():
        if pks:
            HedgehogResource.objects.filter(pk__in=pks).update(drift_state=state)
    HedgehogFabric.objects.filter(pk=fabric.pk).exclude(drift_count=drift_count).update(drift_count=drift_count)
    return drift_count
