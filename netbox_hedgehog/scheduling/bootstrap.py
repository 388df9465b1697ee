"""What a NetBox process does for the sync chains when it starts, by the role the process has."""

import logging
import sys
import threading

from django.db import connections

from ..settings import plugin_setting

logger = logging.getLogger('netbox_hedgehog.scheduling')

# Management commands during which fabrics must not be scheduled (the schema may not even exist yet).
SKIPPED_COMMANDS = {
    'migrate',
    'makemigrations',
    'showmigrations',
    'sqlmigrate',
    'collectstatic',
    'test',
    'check',
    'createsuperuser',
    'shell',
    'nbshell',
    'dbshell',
    'flush',
    'reindex',
    'start_periodic_sync',
    'hedgehog_health',
}


def bootstrap_on_startup():
    """Bootstrap the chains in a background thread, so a missing Redis or database never blocks start-up.

    Called from the plugin's ``ready()``. Bootstrap is idempotent, so every web, worker
    and scheduler process may run it.
    """
    if not plugin_setting('bootstrap_on_ready') or _running_skipped_command():
        return
    threading.Thread(target=_bootstrap_quietly, name='netbox-hedgehog-bootstrap', daemon=True).start()


def _running_skipped_command():
    return len(sys.argv) > 1 and sys.argv[1] in SKIPPED_COMMANDS


def start_process_services():
    """Called from ``ready()``: the start-up work of web, worker and scheduler processes.

    An ``rqworker`` imports the sync job once (and the Kubernetes client with it): RQ forks a
    work horse per job and resolves the job function there, so without this every sync would
    first spend ~0.3 s importing into a throw-away process. The scheduler process keeps the
    watchdog system job seeded. Every process bootstraps the chains.
    """
    command = sys.argv[1] if len(sys.argv) > 1 else ''
    if command in ('rqworker', 'rqworker-pool'):
        from . import jobs  # noqa: F401
    if command in ('rqscheduler', 'hedgehog_scheduler'):
        from .watchdog import keep_watchdog_scheduled

        keep_watchdog_scheduled()
    bootstrap_on_startup()


def _bootstrap_quietly():
    from .scheduler import FabricScheduler

    try:
        summary = FabricScheduler().bootstrap()
        logger.info('Sync chains bootstrapped: %s', summary)
    except Exception as exc:
        logger.warning(
            'Could not bootstrap the fabric sync chains (%s); run "manage.py start_periodic_sync --bootstrap" '
            'once Redis and the database answer',
            exc,
        )
    finally:
        connections.close_all()
