from collections import Counter
from dataclasses import asdict, dataclass, field

from ..keys import KEY_FIELD_DEFAULTS, key_fields
from ..sources.base import SourceListing
from .changes import MAX_RECORDED_CHANGES, field_changes, object_change

KEY = ('kind', 'namespace', 'name')
COMPARED_FIELDS = (
    'api_version',
    'spec',
    'status',
    'labels',
    'annotations',
    'resource_version',
    'uid',
    'source_path',
    *KEY_FIELD_DEFAULTS,
)


def desired_row(obj):
    """The column values a listed object should have in NetBox: the object itself plus its kind's key fields."""
    return {**asdict(obj), **key_fields(obj.kind, obj.spec, obj.status, name=obj.name)}


@dataclass
class ResourceDiff:
    """What must change in NetBox for one source's stored rows to match its listing."""

    create: list[dict] = field(default_factory=list)
    update: dict[int, dict] = field(default_factory=dict)
    delete: list[int] = field(default_factory=list)
    unchanged: int = 0
    prune_skipped: int = 0
    problems: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)

    def record(self, action, source, row, fields=()):
        """Note a change for the run record, up to :data:`MAX_RECORDED_CHANGES`."""
        if len(self.changes) < MAX_RECORDED_CHANGES:
            self.changes.append(object_change(action, source, row, fields))


def diff_resources(stored: list[dict], listing: SourceListing, prune=True, allow_empty_kinds=False) -> ResourceDiff:
    """Compare stored rows (dicts with ``pk`` and ``COMPARED_FIELDS``) with a listing.

    A row missing from the listing is deleted only when pruning is on, its kind was listed
    completely, and the listing did not suddenly come back empty for a kind that had rows —
    the sign of a wrong namespace, path or account rather than of deleted objects — unless
    the operator confirmed that (``allow_empty_kinds``). Kept rows are counted as
    ``prune_skipped``; an empty kind is also reported as a problem.
    """
    diff = ResourceDiff()
    listed = {tuple(getattr(obj, part) for part in KEY): obj for obj in listing.objects}
    listed_kinds = Counter(obj.kind for obj in listing.objects)
    by_key = {tuple(row[part] for part in KEY): row for row in stored}
    for key, obj in listed.items():
        desired = desired_row(obj)
        row = by_key.get(key)
        if row is None:
            diff.create.append(desired)
            diff.record('create', listing.source, desired)
        elif any(row[name] != desired[name] for name in COMPARED_FIELDS):
            diff.update[row['pk']] = desired
            changed = {name: row[name] for name in COMPARED_FIELDS}, {name: desired[name] for name in COMPARED_FIELDS}
            diff.record('update', listing.source, desired, field_changes(*changed))
        else:
            diff.unchanged += 1
    missing = [row for key, row in by_key.items() if key not in listed]
    emptied = Counter(row['kind'] for row in missing if not listed_kinds[row['kind']])
    for row in missing:
        kind = row['kind']
        if prune and kind in listing.complete_kinds and (allow_empty_kinds or kind not in emptied):
            diff.delete.append(row['pk'])
            diff.record('delete', listing.source, row)
        else:
            diff.prune_skipped += 1
    if prune and not allow_empty_kinds:
        diff.problems.extend(
            f'{listing.source}: lists no {kind} objects although NetBox holds {count}; they were kept '
            f'(confirm with a manual sync that allows emptied kinds)'
            for kind, count in sorted(emptied.items())
            if kind in listing.complete_kinds
        )
    return diff
