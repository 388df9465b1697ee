from ..models import HedgehogResource
from .diff import COMPARED_FIELDS, KEY, ResourceDiff


def stored_resources(fabric, source):
    """The rows one source produced for a fabric, in the shape ``diff_resources`` compares."""
    rows = HedgehogResource.objects.filter(fabric=fabric, source=source)
    return list(rows.values('pk', *KEY, *COMPARED_FIELDS))


def apply_diff(fabric, source, diff: ResourceDiff):
    """Write a diff with bulk queries; the caller holds the run's transaction.

    Bulk writes skip per-object change logging on purpose: a sync of thousands of objects
    is recorded once, in its :class:`~netbox_hedgehog.models.SyncRun`.
    """
    if diff.create:
        HedgehogResource.objects.bulk_create(
            [HedgehogResource(fabric=fabric, source=source, **row) for row in diff.create],
            batch_size=1000,
        )
    if diff.update:
        rows = list(HedgehogResource.objects.filter(pk__in=diff.update))
        for row in rows:
            for name, value in diff.update[row.pk].items():
                setattr(row, name, value)
        HedgehogResource.objects.bulk_update(rows, COMPARED_FIELDS, batch_size=1000)
    if diff.delete:
        HedgehogResource.objects.filter(pk__in=diff.delete).delete()
