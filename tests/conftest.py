"""Test session setup. Database machinery lives in tests/database.py; keep this file thin.

Environment: pytest-django loads the Django settings before conftest files are imported,
so NETBOX_CONFIGURATION / NETBOX_ROOT must already be set when pytest starts: ``dev/test``
exports them (and ``tests/settings.py`` does when it is the DJANGO_SETTINGS_MODULE). The
defaults below are for the processes the tests start (``netbox rqworker``, ``rqscheduler``):
they inherit this environment and must import ``tests.netbox_configuration`` too.
"""

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault('NETBOX_CONFIGURATION', 'tests.netbox_configuration')
os.environ.setdefault('NETBOX_ROOT', os.path.join(tempfile.gettempdir(), 'netbox-hedgehog-tests', 'root'))
if str(REPO_ROOT) not in os.environ.get('PYTHONPATH', '').split(os.pathsep):
    os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get('PYTHONPATH')]))


def pytest_configure(config):
    """Refuse to run against anything but the test configuration: the session drops its database."""
    if config.option.help or config.option.version:
        return
    loaded = getattr(sys.modules.get('netbox.settings'), 'configuration', None)
    if getattr(loaded, '__name__', None) != 'tests.netbox_configuration':
        raise pytest.UsageError(
            f'NetBox loaded the configuration {getattr(loaded, "__file__", loaded)!r}, not '
            'tests.netbox_configuration; run the tests with ./dev/test (it sets NETBOX_CONFIGURATION)'
        )


@pytest.fixture(scope='session')
def django_db_setup(request, django_db_blocker):
    """Use the database named by HEDGEHOG_DB_NAME itself (no ``test_`` prefix), so the worker and
    scheduler processes the tests start see the same data.

    It is re-created from the NetBox-only template at the start of every session and left in
    place afterwards: inspecting it after a failure is useful, and the next session drops it.
    """
    from django.conf import settings

    from tests.database import prepare_test_database

    capture = request.config.pluginmanager.getplugin('capturemanager')  # show progress: a build takes minutes
    uncaptured = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with uncaptured, django_db_blocker.unblock():
        prepare_test_database(settings.DATABASES['default']['NAME'])


@pytest.fixture
def tasks_redis():
    """The tests' own tasks Redis database (HEDGEHOG_REDIS_TASKS_DB), emptied before the test."""
    import django_rq

    from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME

    connection = django_rq.get_connection(QUEUE_NAME)
    connection.flushdb()
    return connection


@pytest.fixture
def gitops_repo(tmp_path):
    """A local GitOps repository (branch ``main``) holding the project's demo wiring."""
    from tests.live import make_gitops_repo

    return make_gitops_repo(tmp_path / 'gitops')
