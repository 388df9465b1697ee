"""The fabric's "Test connection": one cheap call per source, run in the worker, result kept on the fabric.

The web request only enqueues :func:`check_fabric_connection` on the plugin's queue
(``FabricScheduler.trigger_connection_test``); the job runs the ``probe()`` of each source the
fabric configures (see :class:`~netbox_hedgehog.sources.base.Source`), then writes ``connection_status``,
``connection_message`` and ``connection_checked`` on the fabric and returns the same as its
RQ job result.
"""

import logging
from dataclasses import asdict

from django.utils import timezone

from ..choices import ConnectionStatusChoices
from ..models import HedgehogFabric
from ..sources.base import NoSourceConfigured, SourceCheck, SourceError, configured_sources
from .scheduler import CONNECTION_TEST, FabricScheduler

logger = logging.getLogger('netbox_hedgehog.connection')


def probe(source):
    """The source's check; a :class:`SourceError` (settings that cannot be used) is a failed check like any other.

    Any other exception is a failed check too, named by its type only: its text may quote what
    a client was given (a header, a URL with credentials), and the result is kept on the fabric
    and in Redis, where every viewer of the fabric can read it.
    """
    try:
        return source.probe()
    except SourceError as exc:
        return SourceCheck(False, str(exc))
    except Exception as exc:
        logger.error('Connection test of %s failed unexpectedly: %s', source, type(exc).__name__)
        return SourceCheck(False, f'unexpected error: {type(exc).__name__} (see the worker log)')


def check_fabric_connection(fabric_id):
    """The job: check each configured source, record the outcome on the fabric, return it."""
    FabricScheduler().job_started(CONNECTION_TEST, fabric_id)
    fabric = HedgehogFabric.objects.filter(pk=fabric_id).first()
    if fabric is None:
        return {'fabric': fabric_id, 'status': None, 'message': 'The fabric no longer exists.'}
    try:
        checks = {source: probe(source) for source in configured_sources(fabric)}
    except NoSourceConfigured as exc:
        checks = {}
        status = ConnectionStatusChoices.NOT_CONFIGURED
        message = str(exc)
    else:
        status = (
            ConnectionStatusChoices.CONNECTED
            if all(check.ok for check in checks.values())
            else ConnectionStatusChoices.FAILED
        )
        message = '\n'.join(source.describe(check) for source, check in checks.items())
    checked = timezone.now()
    HedgehogFabric.objects.filter(pk=fabric.pk).update(
        connection_status=status,
        connection_message=message,
        connection_checked=checked,
    )
    (logger.info if status != ConnectionStatusChoices.FAILED else logger.warning)(
        'Connection test of fabric %s: %s\n%s',
        fabric,
        status,
        message,
    )
    return {
        'fabric': fabric.pk,
        'status': status,
        'message': message,
        'checked': checked.isoformat(),
        'sources': {source.name: asdict(check) for source, check in checks.items()},
    }
