import gc
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import dcim
from ..choices import ConnectionStatusChoices, SyncOutcomeChoices
from ..settings import plugin_setting
from ..sources.base import NoSourceConfigured, SourceError, configured_sources
from .apply import apply_diff, load_rows, lock_fabric, record_reads, removed_source_diffs, stored_index
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
    dcim_created: int = 0
    dcim_updated: int = 0
    dcim_deleted: int = 0
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
        """Time one step of the run into ``step_durations``; a step timed in parts adds them up."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.step_durations[name] = round(self.step_durations.get(name, 0) + time.perf_counter() - started, 6)


def read_sources(fabric, result: SyncResult, stored, full_comparison=False):
    """Read every source the fabric has; a failing source is recorded in ``result`` and left out.

    Each source gets its stored rows (``stored``, see ``sync.apply.stored_index``) to skip what
    did not change since, unless this is a ``full_comparison``. ``connection_status`` says whether
    every configured source could be read.
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
                listing = source.fetch(None if full_comparison else stored.get(source.name, {}))
            except SourceError as exc:
                result.errors.append(source.describe(exc))
                continue
        listing.read_at = timezone.now()
        result.step_durations[source.step] = round(result.step_durations[source.step] - listing.parse_seconds, 6)
        result.step_durations[source.parse_step] = round(listing.parse_seconds, 6)
        listings.append(listing)
        result.invalid += len(listing.problems)
        result.problems.extend(source.describe(problem) for problem in listing.problems)
        setattr(result, source.revision_field, listing.revision)
    result.connection_status = ConnectionStatusChoices.FAILED if result.errors else ConnectionStatusChoices.CONNECTED
    return listings


def full_comparison_due(fabric):
    """Whether this run compares every object in full instead of trusting unchanged versions and files.

    A cluster restored from a backup can hold a changed object under the same resourceVersion;
    the plugin setting ``full_comparison_interval`` bounds how long such a change goes unseen.
    """
    interval = plugin_setting('full_comparison_interval')
    last = fabric.last_full_comparison
    return not interval or last is None or last <= timezone.now() - timedelta(seconds=interval)


@contextmanager
def gc_frozen():
    """Keep Python's cyclic garbage collector from walking what the run has built so far, until the block ends.

    The listings, stored rows and diffs of a large run live to its end, and every full collection
    would walk all of them again: a fifth of the CPU time of a large initial sync. Frozen, they are
    left out of collections (:func:`gc.freeze`, again at each call of the ``refreeze`` it yields),
    while the garbage that diff and apply make batch by batch is still collected.
    """
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()


def sync_fabric(fabric, dry_run=False, allow_empty_kinds=False, before_apply=None) -> SyncResult:
    """Bring the fabric's resources in NetBox in line with its sources: read, diff, apply, compare.

    Each source's rows are diffed and applied on their own, so a source that failed keeps
    its last good data while the others are brought up to date. All writes happen in one
    transaction, and only when something changed: an unchanged resync writes no resource row,
    only the fabric's read time of each source. A dry run computes and counts the same diff
    without writing. ``before_apply`` runs inside the apply transaction before anything is
    written (the job's lock fence); raising aborts the apply.

    With ``dcim_sync`` on, the fabric's devices, interfaces and cables are then brought in line
    (``netbox_hedgehog.dcim``) in the same transaction, or in one of their own when only they
    differ; a dry run counts their changes too.
    """
    result = SyncResult()
    full_comparison = full_comparison_due(fabric)
    with result.step('diff'):
        stored = stored_index(fabric)
    listings = read_sources(fabric, result, stored, full_comparison)
    with gc_frozen() as refreeze:
        with result.step('diff'):
            diffs = [
                (
                    listing,
                    diff_resources(
                        stored.get(listing.source, {}),
                        listing,
                        load_rows,
                        prune=fabric.prune,
                        allow_empty_kinds=allow_empty_kinds,
                    ),
                )
                for listing in listings
            ]
            diffs += removed_source_diffs(fabric, stored)
        for _listing, diff in diffs:
            result.created += len(diff.create)
            result.updated += len(diff.update)
            result.deleted += len(diff.delete)
            result.unchanged += diff.unchanged
            result.prune_skipped += diff.prune_skipped
            result.problems.extend(diff.problems)
            result.changes.extend(diff.changes[: MAX_RECORDED_CHANGES - len(result.changes)])
        full_comparison = full_comparison and not result.errors
        changed = result.created or result.updated or result.deleted
        if dry_run:
            if fabric.dcim_sync:
                # What the run would store for the driving source: its rows with this run's diff laid over them.
                source = fabric.dcim_source_name
                source_diff = next((diff for listing, diff in diffs if listing.source == source), None)
                with result.step('dcim'):
                    dcim.plan_fabric(fabric, result, source_diff)
            result.drift_count = fabric.drift_count
            return result
        if not changed:
            record_reads(fabric, listings, diffs, full_comparison)
            result.drift_count = fabric.drift_count
            if fabric.dcim_sync:
                map_unchanged_fabric(fabric, result, before_apply)
            return result
        refreeze()
        with dcim.change_logging() if fabric.dcim_sync else nullcontext(), transaction.atomic():
            if before_apply is not None:
                with result.step('apply'):
                    before_apply()
            for listing, diff in diffs:
                apply_diff(fabric, listing.source, diff, result.step)
            with result.step('apply'):
                record_reads(fabric, listings, diffs, full_comparison)
            with result.step('drift'):
                result.drift_count = record_drift(fabric)
            if fabric.dcim_sync:
                with result.step('dcim'):
                    if plan := dcim.plan_fabric(fabric, result):
                        dcim.apply_fabric(fabric, plan, result)
        return result


def map_unchanged_fabric(fabric, result, before_apply):
    """Bring the fabric's DCIM objects in line when its resources did not change (mapping just turned on, an
    operator deleted a mapped cable, ...).

    Planned outside a transaction: a fabric whose DCIM objects are in step costs a few reads and
    writes nothing. Otherwise the changes are written in a transaction of their own, behind the
    run's lock fence (``before_apply``) and the fabric's row lock, as a resource apply is.
    """
    with result.step('dcim'):
        plan = dcim.plan_fabric(fabric, result)
    if plan is None or plan.empty:
        return
    with dcim.change_logging(), transaction.atomic():
        with result.step('apply'):
            if before_apply is not None:
                before_apply()
            lock_fabric(fabric)
        with result.step('dcim'):
            dcim.apply_fabric(fabric, plan, result)
