from collections import defaultdict
from contextlib import nullcontext
from itertools import batched

from django.db import connection, transaction
from django.utils import timezone

from ..models import HedgehogFabric, HedgehogResource
from ..models.resource import copy_insert, copy_update
from ..sources.base import SourceListing, registry, source_classes
from .diff import COMPARED_FIELDS, KEY, ResourceDiff

# Rows written (and indexed for search) at a time: bounds the model instances held at once.
WRITE_BATCH = 5000


class FabricDeleted(Exception):
    """The fabric was deleted while it was syncing: nothing of the run is written."""


def stored_index(fabric):
    """Every row the fabric holds, as ``{source: {key: row}}`` with what a run needs before comparing: one query.

    A row here carries its ``pk``, key, ``uid``, ``resource_version``, ``source_path`` and
    ``last_listed``; the compared fields are read only for the objects a source built (:func:`load_rows`).
    """
    index = defaultdict(dict)
    rows = HedgehogResource.objects.filter(fabric=fabric).values(
        'pk', 'source', *KEY, 'uid', 'resource_version', 'source_path', 'last_listed'
    )
    for row in rows:
        index[row['source']][tuple(row[part] for part in KEY)] = row
    return index


def load_rows(pks):
    """``{pk: row}`` with the ``COMPARED_FIELDS`` of the given rows, in one query (none for no rows)."""
    if not pks:
        return {}
    return {row['pk']: row for row in HedgehogResource.objects.filter(pk__in=pks).values('pk', *COMPARED_FIELDS)}


def removed_source_diffs(fabric, stored):
    """(listing, diff) pairs deleting the rows of each source the fabric no longer has.

    An operator who clears a fabric's Git repository (or its Kubernetes API) removes that
    source: its rows would otherwise stay forever and keep the fabric out of sync.
    """
    diffs = []
    for cls in source_classes():
        rows = stored.get(cls.name)
        if rows and not cls.is_configured(fabric):
            diff = ResourceDiff()
            for row in rows.values():
                diff.delete.append(row['pk'])
                diff.record('delete', cls.name, row)
            diffs.append((SourceListing(source=cls.name, objects=[], complete_kinds=set()), diff))
    return diffs


def record_reads(fabric, listings, diffs, full_comparison=False):
    """Store when each listed source was read, its state, and which rows its listing no longer holds.

    A row its source stops listing keeps the fabric's previous read time of the source as its
    ``last_listed``; a row listed again loses it. The fabric's read time of each source read
    in this run is its listed rows' ``last_seen``: a run that changes nothing writes no row.
    """
    read_at = {listing.source: listing.read_at for listing in listings}
    stamp = {registry[source].read_at_field: when for source, when in read_at.items()}
    for listing in listings:
        field = registry[listing.source].state_field
        if field and listing.state is not None and listing.state != getattr(fabric, field):
            stamp[field] = listing.state
    if full_comparison:
        stamp['last_full_comparison'] = timezone.now()
    moved = any(diff.relisted or diff.unlisted for _listing, diff in diffs)
    with transaction.atomic() if moved else nullcontext():
        for listing, diff in diffs:
            if diff.relisted:
                HedgehogResource.objects.filter(pk__in=diff.relisted).update(last_listed=None)
            if diff.unlisted:
                last_read = getattr(fabric, registry[listing.source].read_at_field) or read_at[listing.source]
                HedgehogResource.objects.filter(pk__in=diff.unlisted).update(last_listed=last_read)
        if stamp:
            HedgehogFabric.objects.filter(pk=fabric.pk).update(**stamp)
    for name, value in stamp.items():
        setattr(fabric, name, value)


def lock_fabric(fabric):
    """Hold the fabric's row (FOR KEY SHARE) until the run's transaction ends; raise if it was deleted.

    A deletion of the fabric locks the row first, so it waits for a run that is writing and a
    run that starts writing meanwhile waits for it, then finds the fabric gone: the two never
    interleave (which would deadlock, or leave rows behind that break the deletion).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 1 FROM {connection.ops.quote_name(HedgehogFabric._meta.db_table)} WHERE id = %s FOR KEY SHARE',
            [fabric.pk],
        )
        if cursor.fetchone() is None:
            raise FabricDeleted(f'Fabric {fabric} was deleted during its sync; nothing was written.')


def apply_diff(fabric, source, diff: ResourceDiff, step):
    """Write a diff with bulk queries, batch by batch; the caller holds the run's transaction.

    Bulk writes skip per-object change logging on purpose: a sync of thousands of objects is
    recorded once, in its :class:`~netbox_hedgehog.models.SyncRun`. They skip the search cache's
    signals too, so the written rows are indexed here. ``step(name)`` (``SyncResult.step``)
    times the writes (``apply``) and the indexing (``search_index``).
    """
    with step('apply'):
        lock_fabric(fabric)
    for batch in batched(diff.create, WRITE_BATCH):
        with step('apply'):
            created = [HedgehogResource(fabric_id=fabric.pk, source=source, **row) for row in batch]
            copy_insert(created)
        with step('search_index'):
            HedgehogResource.index_for_search(created)
    for batch in batched(diff.update, WRITE_BATCH):
        with step('apply'):
            updated = list(HedgehogResource.objects.filter(pk__in=batch))
            for row in updated:
                for name, value in diff.update[row.pk].items():
                    setattr(row, name, value)
            copy_update(updated, COMPARED_FIELDS)
        with step('search_index'):
            HedgehogResource.index_for_search(updated, replace=True)
    if diff.delete:
        with step('apply'):
            HedgehogResource.delete_in_bulk(HedgehogResource.objects.filter(pk__in=diff.delete))
