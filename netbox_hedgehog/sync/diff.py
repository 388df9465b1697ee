from collections import Counter
from dataclasses import dataclass, field
from itertools import batched

from ..keys import KEY_FIELD_DEFAULTS, key_fields
from ..sources.base import SourceListing
from .changes import MAX_RECORDED_CHANGES, field_changes, object_change

KEY = ('kind', 'namespace', 'name')
# Listed objects compared per query of their stored rows: bounds the rows held at once.
COMPARE_BATCH = 2000
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
    return {**vars(obj), **key_fields(obj.kind, obj.spec, obj.status, name=obj.name)}


@dataclass
class ResourceDiff:
    """What must change in NetBox for one source's stored rows to match its listing.

    ``relisted`` and ``unlisted`` hold rows whose ``last_listed`` changes: rows the source lists
    again, and rows it stopped listing that are kept (see ``HedgehogResource.last_seen``).
    """

    create: list[dict] = field(default_factory=list)
    update: dict[int, dict] = field(default_factory=dict)
    delete: list[int] = field(default_factory=list)
    unchanged: int = 0
    prune_skipped: int = 0
    problems: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    relisted: list[int] = field(default_factory=list)
    unlisted: list[int] = field(default_factory=list)

    def record(self, action, source, row, fields=()):
        """Note a change for the run record, up to :data:`MAX_RECORDED_CHANGES`."""
        if len(self.changes) < MAX_RECORDED_CHANGES:
            self.changes.append(object_change(action, source, row, fields))


def diff_resources(stored, listing: SourceListing, load_rows, prune=True, allow_empty_kinds=False) -> ResourceDiff:
    """Compare the stored rows of one source (``{key: row}``, see ``sync.apply.stored_index``) with its listing.

    Only the objects the listing built are compared field by field, with their rows' ``COMPARED_FIELDS``
    fetched by ``load_rows(pks)`` (``{pk: row}``) batch by batch; the keys in its ``unchanged`` count as
    unchanged. A row missing from the listing is deleted only when pruning is on, its kind was listed
    completely, and the listing did not suddenly come back empty for a kind that had rows —
    the sign of a wrong namespace, path or account rather than of deleted objects — unless
    the operator confirmed that (``allow_empty_kinds``). Kept rows are counted as
    ``prune_skipped``; an empty kind is also reported as a problem.
    """
    diff = ResourceDiff(unchanged=len(listing.unchanged))
    listed = set(listing.unchanged)
    for batch in batched(listing.objects, COMPARE_BATCH):
        rows = load_rows([stored[obj.key]['pk'] for obj in batch if obj.key in stored])
        for obj in batch:
            listed.add(obj.key)
            desired = desired_row(obj)
            row = rows[stored[obj.key]['pk']] if obj.key in stored else None
            if row is None:
                diff.create.append(desired)
                diff.record('create', listing.source, desired)
            elif any(row[name] != desired[name] for name in COMPARED_FIELDS):
                diff.update[row['pk']] = desired
                changed = (
                    {name: row[name] for name in COMPARED_FIELDS},
                    {name: desired[name] for name in COMPARED_FIELDS},
                )
                diff.record('update', listing.source, desired, field_changes(*changed))
            else:
                diff.unchanged += 1
    listed_kinds = listing.kinds()
    missing = []
    for key, row in stored.items():
        if key not in listed:
            missing.append(row)
        elif row['last_listed'] is not None:
            diff.relisted.append(row['pk'])
    emptied = Counter(row['kind'] for row in missing if not listed_kinds[row['kind']])
    for row in missing:
        kind = row['kind']
        if prune and kind in listing.complete_kinds and (allow_empty_kinds or kind not in emptied):
            diff.delete.append(row['pk'])
            diff.record('delete', listing.source, row)
        else:
            diff.prune_skipped += 1
            if row['last_listed'] is None:
                diff.unlisted.append(row['pk'])
    if prune and not allow_empty_kinds:
        diff.problems.extend(
            f'{listing.source}: lists no {kind} objects although NetBox holds {count}; they were kept '
            f'(confirm with a manual sync that allows emptied kinds)'
            for kind, count in sorted(emptied.items())
            if kind in listing.complete_kinds
        )
    return diff
