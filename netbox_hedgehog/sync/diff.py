from dataclasses import dataclass, field

from ..sources.base import ResourceObject, SourceListing

COMPARED_FIELDS = ('api_version', 'spec', 'labels', 'annotations', 'resource_version', 'uid', 'source_path')


@dataclass
class ResourceDiff:
    """What must change in NetBox for one source's stored rows to match its listing."""

    create: list[ResourceObject] = field(default_factory=list)
    update: dict[int, ResourceObject] = field(default_factory=dict)
    delete: list[int] = field(default_factory=list)
    unchanged: int = 0


def diff_resources(stored: list[dict], listing: SourceListing) -> ResourceDiff:
    """Compare stored rows (dicts with ``pk``, the key fields and ``COMPARED_FIELDS``) with a listing.

    Rows missing from the listing are deleted only for kinds the source listed completely,
    so a failed or partial read never prunes anything.
    """
    diff = ResourceDiff()
    listed = {obj.key: obj for obj in listing.objects}
    by_key = {(row['kind'], row['namespace'], row['name']): row for row in stored}
    for key, obj in listed.items():
        row = by_key.get(key)
        if row is None:
            diff.create.append(obj)
        elif any(row[name] != getattr(obj, name) for name in COMPARED_FIELDS):
            diff.update[row['pk']] = obj
        else:
            diff.unchanged += 1
    diff.delete = [
        row['pk'] for key, row in by_key.items()
        if key not in listed and row['kind'] in listing.complete_kinds
    ]
    return diff
