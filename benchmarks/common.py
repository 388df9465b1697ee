"""What every benchmark needs: its database, a GitOps repository to sync from, and a table to print."""

import tempfile
from datetime import timedelta
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


def spread_first_runs(fabrics, interval, lead_seconds):
    """Plan the fabrics' first runs evenly over one interval from ``lead_seconds`` on, as fabrics created
    over time would be (not all in one second), and return when the first is due.

    Fabric i "last ran" at start + i·interval/N - interval; bootstrap then plans it on that grid.
    """
    from django.utils import timezone

    from netbox_hedgehog.models import HedgehogFabric

    start = timezone.now().replace(microsecond=0) + timedelta(seconds=lead_seconds)
    for index, fabric in enumerate(fabrics):
        offset = timedelta(seconds=(index * interval) // len(fabrics)) - timedelta(seconds=interval)
        HedgehogFabric.objects.filter(pk=fabric.pk).update(last_sync_planned=start + offset)
    return start


def print_table(rows):
    """Print (metric, value) rows as a two-column table."""
    width = max(len(name) for name, _ in rows)
    print(f'\n{"metric".ljust(width)} | value')
    print(f'{"-" * width}-|-{"-" * 60}')
    for name, value in rows:
        print(f'{name.ljust(width)} | {value}')
