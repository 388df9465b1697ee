"""Django settings for pytest: NetBox's own settings, with the test configuration selected.

pytest-django imports the settings module before any conftest.py runs, so the environment
NetBox's settings read must be in place by then. Pointing DJANGO_SETTINGS_MODULE here
(pyproject's ``[tool.pytest.ini_options]``) lets a plain ``pytest`` work without
``dev/test``; the variables below are only defaults, ``dev/test`` and CI set the same ones.
"""

import os
import tempfile

os.environ.setdefault('NETBOX_CONFIGURATION', 'tests.netbox_configuration')
os.environ.setdefault('NETBOX_ROOT', os.path.join(tempfile.gettempdir(), 'netbox-hedgehog-tests', 'root'))


def isolate_xdist_worker():
    """Give a pytest-xdist worker (``gw0``, ``gw1``, …) its own database, Redis databases and directories.

    Every test flushes the tasks Redis database and the session re-creates its database, so two
    workers must never share them. Worker N takes ``<database>_gwN`` and the Redis databases
    4·N below the configured pair (gw0: 14/15, gw1: 10/11; the demo keeps 12/13, benchmarks 8/9).
    The variables are rewritten in this process's environment, so the worker, scheduler and CLI
    processes a test starts inherit them; ``HEDGEHOG_XDIST_WORKER`` marks them done, so that no
    process applies the offsets twice.
    """
    worker = os.environ.get('PYTEST_XDIST_WORKER')
    if not worker or os.environ.get('HEDGEHOG_XDIST_WORKER') == worker:
        return
    index = int(worker.removeprefix('gw'))
    env = os.environ
    env['HEDGEHOG_DB_NAME'] = f'{env.get("HEDGEHOG_DB_NAME", "netbox_hedgehog_test")}_{worker}'
    for variable, default in (('HEDGEHOG_REDIS_TASKS_DB', 14), ('HEDGEHOG_REDIS_CACHING_DB', 15)):
        number = int(env.get(variable, default)) - 4 * index
        if number < 0:
            raise RuntimeError(
                f'{variable} leaves no Redis database for pytest-xdist worker {worker}: use higher numbers'
            )
        env[variable] = str(number)
    env['NETBOX_ROOT'] = os.path.join(env['NETBOX_ROOT'], worker)
    env['HEDGEHOG_GIT_CACHE_DIR'] = os.path.join(
        env.get('HEDGEHOG_GIT_CACHE_DIR', os.path.join(tempfile.gettempdir(), 'netbox-hedgehog-tests', 'git')), worker
    )
    os.makedirs(env['NETBOX_ROOT'], exist_ok=True)
    env['HEDGEHOG_XDIST_WORKER'] = worker


isolate_xdist_worker()

from netbox.settings import *  # noqa: E402,F401,F403
