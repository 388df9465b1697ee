"""The one way anything in the plugin schedules, cancels, triggers or reports a fabric sync.

``FabricScheduler`` is a facade; each concern lives in its own module:
:mod:`.chains` (the periodic chain per fabric), :mod:`.triggers` (immediate jobs and their
coalescing), :mod:`.status` (what operators see) and :mod:`.repair` (what the watchdog fixes).
"""

from .chains import CHAIN_JOB_PREFIX, ChainScheduling, chain_job_id
from .queue import CONNECTION_TEST_FUNCTION, QUEUE_NAME, SYNC_FUNCTION, QueueConnection
from .repair import INTERRUPTED_SYNC, StaleRunRepair
from .status import StatusReporting
from .triggers import CONNECTION_TEST, ImmediateTriggers, TriggerResult, manual_action

__all__ = (
    'CHAIN_JOB_PREFIX',
    'CONNECTION_TEST',
    'CONNECTION_TEST_FUNCTION',
    'INTERRUPTED_SYNC',
    'QUEUE_NAME',
    'SYNC_FUNCTION',
    'FabricScheduler',
    'TriggerResult',
    'chain_job_id',
    'manual_action',
)


class FabricScheduler(ChainScheduling, ImmediateTriggers, StatusReporting, StaleRunRepair, QueueConnection):
    """Facade over rq-scheduler and the plugin's RQ queue for the per-fabric sync chains.

    A fabric with periodic sync has exactly one entry in rq-scheduler, under
    :func:`chain_job_id`; the sync job re-schedules that same entry when it finishes.
    Manual "sync now" requests are separate, immediate jobs that never touch the chain.
    """
