"""What every benchmark needs: its database, a GitOps repository to sync from, and a table to print."""

import tempfile
from pathlib import Path

import django

REPO_ROOT = Path(__file__).resolve().parent.parent


def setup_django():
    """Load Django and give the benchmark a fresh database cloned from the NetBox template."""
    django.setup()
    from django.conf import settings

    from tests.database import prepare_test_database

    prepare_test_database(settings.DATABASES['default']['NAME'])


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def make_gitops_repo():
    """A throw-away Git repository holding the project's demo wiring (the caller removes it)."""
    from tests.live import make_gitops_repo as make_repo

    return make_repo(Path(tempfile.mkdtemp(prefix='nbhh-bench-gitops-')) / 'gitops')


def print_table(rows):
    """Print (metric, value) rows as a two-column table."""
    width = max(len(name) for name, _ in rows)
    print(f'\n{"metric".ljust(width)} | value')
    print(f'{"-" * width}-|-{"-" * 60}')
    for name, value in rows:
        print(f'{name.ljust(width)} | {value}')
