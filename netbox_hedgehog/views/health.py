"""Process health as the UI and the API present it: a banner, and a warning beside every "queued" answer.

A sync, dry run or connection test is only queued by the web process; if no worker listens on
the sync queue, nothing runs it, and saying "Queued" in green would be a lie of omission.
"""

import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..scheduling.health import QUEUE_NAME, WORKER_COMMAND, ProcessHealth, process_health
from ..scheduling.scheduler import FabricScheduler

__all__ = (
    'WARNING_HEADER',
    'OperatorHealth',
    'operator_health',
)

logger = logging.getLogger(__name__)

# The API's sync action sets this response header when nothing will run the queued job.
WARNING_HEADER = 'X-Hedgehog-Warning'


@dataclass(frozen=True)
class OperatorHealth:
    """What a page tells the operator about the worker and the scheduler.

    ``processes`` is None when Redis could not be asked; ``problems`` then says so.
    """

    processes: ProcessHealth | None
    problems: list[str]

    @property
    def worker_listening(self):
        return self.processes is not None and bool(self.processes.workers)


def trigger_warning(result):
    """Why a job just queued will not run (None when a worker listens): the trigger checked as it queued."""
    if result.worker_listening:
        return None
    return _('No worker is listening on {queue}: the job waits until one is started ({command}).').format(
        queue=QUEUE_NAME,
        command=WORKER_COMMAND,
    )


def trigger_answer(result, request):
    """The JSON answer of every non-browser trigger (view or REST API) and its headers.

    The trigger's own fields (``TriggerResult.as_dict``) plus ``warning``, which is also sent as
    the ``X-Hedgehog-Warning`` header when no worker will run the job.
    """
    warning = trigger_warning(result)
    data = {**result.as_dict(request), 'warning': str(warning or '')}
    return data, ({WARNING_HEADER: data['warning']} if warning else {})


def operator_health() -> OperatorHealth:
    """Ask Redis which workers and schedulers are alive; an unreachable Redis is itself the problem shown."""
    try:
        processes = process_health(FabricScheduler().queue)
    except Exception as exc:  # a page must render without Redis: show why instead
        logger.warning('cannot read process health from Redis: %s', exc)
        return OperatorHealth(
            processes=None,
            problems=[_('Cannot read worker and scheduler state from Redis: {error}').format(error=type(exc).__name__)],
        )
    return OperatorHealth(processes=processes, problems=processes.problems())
