"""What operators ask of the scheduling: is each fabric healthy, is it running, when does it run next."""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from ..choices import SyncOutcomeChoices, SyncTriggerChoices
from ..models import HedgehogFabric, SyncRun
from .health import ProcessHealth, process_health
from .locks import is_fabric_locked
from .timing import next_run_time

# A chain entry this far past its time means no rq-scheduler is moving it.
NEXT_RUN_GRACE = timedelta(seconds=60)


def last_start_lateness():
    """Seconds by which each fabric's latest periodic run started after its planned time, by fabric id.

    Read from the run records, because a manual run in between has no planned time.
    """
    runs = (
        SyncRun.objects.filter(trigger=SyncTriggerChoices.SCHEDULE, planned_at__isnull=False)
        .order_by('fabric_id', '-started_at')
        .distinct('fabric_id')
        .values_list('fabric_id', 'planned_at', 'started_at')
    )
    return {fabric_id: (started - planned).total_seconds() for fabric_id, planned, started in runs}


def running_since(fabric_ids=None):
    """When the sync in progress of each fabric started, by fabric id (dry runs leave the fabric alone)."""
    runs = SyncRun.objects.filter(outcome=SyncOutcomeChoices.RUNNING, dry_run=False)
    if fabric_ids is not None:
        runs = runs.filter(fabric_id__in=fabric_ids)
    return dict(runs.values('fabric_id').annotate(since=Min('started_at')).values_list('fabric_id', 'since'))


@dataclass(frozen=True)
class FabricSyncStatus:
    """One fabric's sync state: the last outcome, the run in progress, and its chain as rq-scheduler holds it.

    ``sync_status`` is the outcome of the last finished run; ``running_since`` says a sync is in
    progress (and since when). While the chain job is queued or running ``next_run`` is the next
    slot of its grid; otherwise it is the chain's entry in rq-scheduler.
    """

    id: int
    name: str
    sync_enabled: bool
    periodic: bool
    sync_interval: int
    sync_status: str
    running_since: datetime | None
    stale: bool
    connection_status: str
    last_sync: datetime | None
    last_start_lateness: float | None
    last_successful_sync: datetime | None
    next_run: datetime | None
    sync_error: str

    @property
    def chain_missing(self):
        """A periodic fabric whose chain has no entry in rq-scheduler and is neither queued nor running."""
        return self.periodic and self.next_run is None

    @property
    def next_run_late(self):
        """The chain's entry is well past its time: no rq-scheduler moves it to the queue."""
        return self.next_run is not None and self.next_run < timezone.now() - NEXT_RUN_GRACE

    def as_dict(self):
        data = asdict(self)
        for name, value in data.items():
            if isinstance(value, datetime):
                data[name] = value.isoformat()
        data['chain_missing'] = self.chain_missing
        data['next_run_late'] = self.next_run_late
        return data


@dataclass(frozen=True)
class SchedulingStatus:
    fabrics: list[FabricSyncStatus]
    processes: ProcessHealth

    def as_dict(self):
        return {
            'workers': self.processes.workers,
            'schedulers': self.processes.schedulers,
            'problems': self.processes.problems(),
            'fabrics': [fabric.as_dict() for fabric in self.fabrics],
        }


class StatusReporting:
    """The status report of the fabrics' scheduling (mixed into ``FabricScheduler``)."""

    def status(self, fabrics=None) -> SchedulingStatus:
        """The sync state of the given fabrics (default: all) and whether workers and a scheduler are alive."""
        fabrics = list(HedgehogFabric.objects.all() if fabrics is None else fabrics)
        lateness = last_start_lateness()
        running = running_since([fabric.pk for fabric in fabrics])
        return SchedulingStatus(
            fabrics=[
                self._fabric_status(fabric, lateness.get(fabric.pk), running.get(fabric.pk)) for fabric in fabrics
            ],
            processes=process_health(self.queue),
        )

    def _fabric_status(self, fabric, lateness, since):
        next_run = self.planned_time(fabric.pk)
        if next_run is None and fabric.is_periodic and (since is not None or self._chain_in_flight(fabric.pk)):
            # The chain job is queued or running and schedules its successor when it ends: show its grid's next slot.
            anchor = fabric.last_sync_planned or fabric.next_sync
            next_run = next_run_time(anchor, fabric.sync_interval, timezone.now())
        return FabricSyncStatus(
            id=fabric.pk,
            name=fabric.name,
            sync_enabled=fabric.sync_enabled,
            periodic=fabric.is_periodic,
            sync_interval=fabric.sync_interval,
            sync_status=fabric.sync_status,
            running_since=since,
            stale=since is not None and not is_fabric_locked(self.connection, fabric.pk),
            connection_status=fabric.connection_status,
            last_sync=fabric.last_sync,
            last_start_lateness=lateness,
            last_successful_sync=fabric.last_successful_sync,
            next_run=next_run,
            sync_error=fabric.sync_error,
        )
