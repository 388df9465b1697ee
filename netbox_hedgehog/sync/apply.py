from django.db import connection

from ..models import HedgehogFabric, HedgehogResource
from ..sources.base import SourceListing, source_classes
from .diff import COMPARED_FIELDS, KEY, ResourceDiff


class FabricDeleted(Exception):
    """The fabric was deleted while it was syncing: nothing of the run is written."""


def stored_resources(fabric, source):
    """The rows one source produced for a fabric, in the shape ``diff_resources`` compares."""
    rows = HedgehogResource.objects.filter(fabric=fabric, source=source)
    return list(rows.values('pk', *KEY, *COMPARED_FIELDS))


def removed_source_diffs(fabric):
    """(listing, diff) pairs deleting the rows of each source the fabric no longer has.

    An operator who clears a fabric's Git repository (or its Kubernetes API) removes that
    source: its rows would otherwise stay forever and keep the fabric out of sync.
    """
    removed = [cls.name for cls in source_classes() if not cls.is_configured(fabric)]
    stored = HedgehogResource.objects.filter(fabric=fabric, source__in=removed).values('source', 'pk', *KEY)
    diffs = {}
    for row in stored:
        diff = diffs.setdefault(row['source'], ResourceDiff())
        diff.delete.append(row['pk'])
        diff.record('delete', row['source'], row)
    return [(SourceListing(source=source, objects=[], complete_kinds=set()), diff) for source, diff in diffs.items()]


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


def apply_diff(fabric, source, diff: ResourceDiff):
    """Write a diff with bulk queries; the caller holds the run's transaction.

    Bulk writes skip per-object change logging on purpose: a sync of thousands of objects
    is recorded once, in its :class:`~netbox_hedgehog.models.SyncRun`. They skip the search
    cache's signals too, so the written rows are indexed here.
    """
    lock_fabric(fabric)
    written = []
    if diff.create:
        written += HedgehogResource.objects.bulk_create(
            [HedgehogResource(fabric=fabric, source=source, **row) for row in diff.create],
            batch_size=1000,
        )
    if diff.update:
        rows = list(HedgehogResource.objects.filter(pk__in=diff.update))
        for row in rows:
            for name, value in diff.update[row.pk].items():
                setattr(row, name, value)
        HedgehogResource.objects.bulk_update(rows, COMPARED_FIELDS, batch_size=1000)
        written += rows
    if written:
        HedgehogResource.index_for_search(written)
    if diff.delete:
        HedgehogResource.delete_in_bulk(HedgehogResource.objects.filter(pk__in=diff.delete))
