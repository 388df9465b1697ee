import logging
from dataclasses import dataclass, field

from django.db import transaction

from ..choices import ConnectionStatusChoices
from ..sources.base import SourceError
from ..sources.git import read_git_repository
from ..sources.kubernetes import list_fabric_resources
from .apply import apply_diff, stored_resources
from .diff import diff_resources

logger = logging.getLogger('netbox_hedgehog.sync')


@dataclass
class SyncResult:
    """What one run of the pipeline did, and what kept it from succeeding."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    git_commit: str = ''
    connection_status: str = ConnectionStatusChoices.NOT_CONFIGURED
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def succeeded(self):
        return not self.errors and not self.problems

    def error_text(self):
        """One message for the fabric's ``sync_error``: failed sources first, then skipped objects."""
        lines = list(self.errors)
        if self.problems:
            lines.append(f'{len(self.problems)} object(s) skipped:')
            lines.extend(f'  {problem}' for problem in self.problems)
        return '\n'.join(lines)


def read_sources(fabric, result: SyncResult):
    """Read every source the fabric has; a failing source is recorded in ``result`` and left out.

    ``connection_status`` says whether every configured source could be read.
    """
    readers = []
    if fabric.has_kubernetes_source:
        readers.append(('Kubernetes', list_fabric_resources))
    if fabric.has_git_source:
        readers.append(('Git', read_git_repository))
    if not readers:
        result.errors.append('No source configured: set a Kubernetes API or a Git repository.')
        return []
    listings = []
    for label, read in readers:
        try:
            listings.append(read(fabric))
        except SourceError as exc:
            result.errors.append(f'{label}: {exc}')
    result.git_commit = next((listing.revision for listing in listings if listing.source == 'git'), '')
    result.connection_status = (
        ConnectionStatusChoices.FAILED if result.errors else ConnectionStatusChoices.CONNECTED
    )
    return listings


def sync_fabric(fabric) -> SyncResult:
    """Bring the fabric's resources in NetBox in line with its sources, in one transaction.

    Each source's rows are diffed and applied on their own, so a source that failed keeps
    its last good data while the others are brought up to date.
    """
    result = SyncResult()
    listings = read_sources(fabric, result)
    with transaction.atomic():
        for listing in listings:
            result.problems.extend(listing.problems)
            diff = diff_resources(stored_resources(fabric, listing.source), listing)
            apply_diff(fabric, listing.source, diff)
            result.created += len(diff.create)
            result.updated += len(diff.update)
            result.deleted += len(diff.delete)
            result.unchanged += diff.unchanged
    return result
