import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction

from ..choices import ConnectionStatusChoices, SyncOutcomeChoices
from ..models import HedgehogResource
from ..sources.base import NoSourceConfigured, SourceError, configured_sources
from .apply import apply_diff, removed_source_diffs, stored_resources
from .changes import MAX_RECORDED_CHANGES
from .diff import diff_resources
from .drift_records import record_drift


@dataclass
class SyncResult:
    """What one run of the pipeline did, and what kept it from succeeding."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    invalid: int = 0
    prune_skipped: int = 0
    drift_count: int | None = None
    git_commit: str = ''
    kubernetes_revision: str = ''
    connection_status: str = ConnectionStatusChoices.NOT_CONFIGURED
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    step_durations: dict[str, float] = field(default_factory=dict)

    @property
    def outcome(self):
        """Failed when a source could not be read; partial when objects were skipped or kept unsafely."""
        if self.errors:
            return SyncOutcomeChoices.FAILED
        if self.problems:
            return SyncOutcomeChoices.PARTIAL
        return SyncOutcomeChoices.SUCCESS

    @property
    def succeeded(self):
        return self.outcome == SyncOutcomeChoices.SUCCESS

    def error_text(self):
        """One message for the fabric's ``sync_error``: failed sources first, then skipped objects."""
        lines = list(self.errors)
        if self.problems:
            lines.append(f'{len(self.problems)} problem(s):')
            lines.extend(f'  {problem}' for problem in self.problems)
        return '\n'.join(lines)

    @contextmanager
    def step(self, name):
        """Time one step of the run into ``step_durations``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.step_durations[name] = round(time.perf_counter() - started, 6)


def read_sources(fabric, result: SyncResult):
    """Read every source the fabric has; a failing source is recorded in ``result`` and left out.

    ``connection_status`` says whether every configured source could be read.
    """
    try:
        sources = configured_sources(fabric)
    except NoSourceConfigured as exc:
        result.errors.append(str(exc))
        return []
    listings = []
    for source in sources:
        with result.step(source.step):
            try:
                listing = source.fetch()
            except SourceError as exc:
                result.errors.append(source.describe(exc))
                continue
        listings.append(listing)
        result.invalid += len(listing.problems)
        result.problems.extend(source.describe(problem) for problem in listing.problems)
        setattr(result, source.revision_field, listing.revision)
    result.connection_status = ConnectionStatusChoices.FAILED if result.errors else ConnectionStatusChoices.CONNECTED
    return listings


def sync_fabric(fabric, dry_run=False, allow_empty_kinds=False, before_apply=None) -> SyncResult:
    """Bring the fabric's resources in NetBox in line with its sources: read, diff, apply, compare.

    Each source's rows are diffed and applied on their own, so a source that failed keeps
    its last good data while the others are brought up to date. All writes happen in one
    transaction, and only when something changed: an unchanged resync writes nothing.
    A dry run computes and counts the same diff without writing. ``before_apply`` runs inside
    the apply transaction before anything is written (the job's lock fence); raising aborts the apply.
    """
    result = SyncResult()
    listings = read_sources(fabric, result)
    with result.step('diff'):
        diffs = [
            (
                listing,
                diff_resources(
                    stored_resources(fabric, listing.source),
                    listing,
                    prune=fabric.prune,
                    allow_empty_kinds=allow_empty_kinds,
                ),
            )
            for listing in listings
        ]
        diffs += removed_source_diffs(fabric)
    for _listing, diff in diffs:
        result.created += len(diff.create)
        result.updated += len(diff.update)
        result.deleted += len(diff.delete)
        result.unchanged += diff.unchanged
        result.prune_skipped += diff.prune_skipped
        result.problems.extend(diff.problems)
        result.changes.extend(diff.changes[: MAX_RECORDED_CHANGES - len(result.changes)])
    if not dry_run:
        HedgehogResource.mark_seen(fabric, listings)
    changed = result.created or result.updated or result.deleted
    if dry_run or not changed:
        result.drift_count = fabric.drift_count
        return result
    with result.step('apply'), transaction.atomic():
        if before_apply is not None:
            before_apply()
        for listing, diff in diffs:
            apply_diff(fabric, listing.source, diff)
        result.drift_count = record_drift(fabric)
    return result
