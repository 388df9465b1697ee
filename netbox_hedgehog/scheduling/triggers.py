"""Immediate requests (sync now, dry run, connection test): queued at once, coalesced while one waits."""

import uuid
from dataclasses import asdict, dataclass

from django.urls import reverse

from ..choices import SyncTriggerChoices
from ..settings import plugin_setting
from .health import live_workers
from .queue import CONNECTION_TEST_FUNCTION, SYNC_FUNCTION, text

# Immediate jobs per fabric are coalesced while one of the same action waits in the queue.
CONNECTION_TEST = 'connection-test'


def manual_action(dry_run=False, allow_empty_kinds=False):
    """The coalescing name of a manual sync request: requests differing in their options never merge."""
    return '-'.join(['manual', *(['dry-run'] if dry_run else []), *(['allow-empty'] if allow_empty_kinds else [])])


def _pending_key(action, fabric_id):
    return f'netbox_hedgehog:{action}-pending:{fabric_id}'


@dataclass(frozen=True)
class TriggerResult:
    """What an immediate request did: the job that will run it, whether it joined one already waiting,
    and whether any worker listens on the queue (if not, nothing will run it: callers warn)."""

    fabric: int
    job_id: str
    coalesced: bool
    worker_listening: bool

    def as_dict(self, request=None):
        """The answer every entry point gives (web view, REST API, management command)."""
        return asdict(self)


@dataclass(frozen=True)
class SyncTriggerResult(TriggerResult):
    def run_url(self, request):
        """Where the run's record appears once the worker starts it: the REST API's runs filtered by job."""
        path = reverse('plugins-api:netbox_hedgehog-api:syncrun-list')
        return request.build_absolute_uri(f'{path}?job_id={self.job_id}')

    def as_dict(self, request=None):
        data = super().as_dict()
        if request is not None:
            data['run'] = self.run_url(request)
        return data


class ImmediateTriggers:
    """Queue immediate jobs of a fabric (mixed into ``FabricScheduler``)."""

    def trigger_now(self, fabric, dry_run=False, allow_empty_kinds=False) -> SyncTriggerResult:
        """Queue an immediate sync of the fabric, or return the one already waiting to start.

        The job takes the same fabric lock as the chain (waiting for a running sync to end),
        so requests that arrive while one is queued are coalesced into it and none is lost.
        ``dry_run`` records the diff without applying it; ``allow_empty_kinds`` confirms
        pruning kinds that a source suddenly lists as empty.
        """
        return self._enqueue_coalesced(
            SyncTriggerResult,
            manual_action(dry_run, allow_empty_kinds),
            fabric,
            SYNC_FUNCTION,
            # The job may first wait up to one sync_job_timeout for a running sync to release the lock.
            timeout=2 * plugin_setting('sync_job_timeout'),
            description=f'Manual {"dry run" if dry_run else "sync"} of fabric {fabric.name}',
            trigger=SyncTriggerChoices.MANUAL,
            dry_run=dry_run,
            allow_empty_kinds=allow_empty_kinds,
        )

    def trigger_connection_test(self, fabric) -> TriggerResult:
        """Queue a test of the fabric's sources (see :mod:`.connection`), coalesced like ``trigger_now``."""
        return self._enqueue_coalesced(
            TriggerResult,
            CONNECTION_TEST,
            fabric,
            CONNECTION_TEST_FUNCTION,
            timeout=4 * plugin_setting('kubernetes_timeout') + 30,
            description=f'Connection test of fabric {fabric.name}',
        )

    def job_started(self, action, fabric_id):
        """Called by an immediate job as it starts: later requests must queue a new job, not join this one."""
        self.connection.delete(_pending_key(action, fabric_id))

    def _enqueue_coalesced(self, result_class, action, fabric, function, timeout, description, **kwargs):
        def result(job_id, coalesced):
            return result_class(
                fabric=fabric.pk,
                job_id=job_id,
                coalesced=coalesced,
                worker_listening=bool(live_workers(self.queue)),
            )

        pending_key = _pending_key(action, fabric.pk)
        job_id = f'netbox_hedgehog-{action}-fabric-{fabric.pk}-{uuid.uuid4().hex[:12]}'
        # The pending job may start (and clear its key) between our SET and GET: then try again.
        while not self.connection.set(pending_key, job_id, nx=True, ex=timeout):
            pending = self.connection.get(pending_key)
            if pending is not None:
                return result(text(pending), coalesced=True)
        self.queue.enqueue(
            function,
            fabric.pk,
            job_id=job_id,
            job_timeout=timeout,
            result_ttl=3600,
            description=description,
            **kwargs,
        )
        return result(job_id, coalesced=False)
