"""What operators ask of the scheduling: is each fabric healthy, when did it run, when does it run next."""

from dataclasses import asdict, dataclass
from datetime import datetime

from ..choices import SyncStatusChoices, SyncTriggerChoices
from ..models import SyncRun
from .health import ProcessHealth


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


@dataclass(frozen=True)
class FabricSyncStatus:
    """One fabric's sync state, with its chain entry as rq-scheduler holds it."""

    id: int
    name: str
    sync_enabled: bool
    periodic: bool
    sync_interval: int
    sync_status: str
    stale: bool
    connection_status: str
    last_sync: datetime | None
    last_start_lateness: float | None
    last_successful_sync: datetime | None
    next_run: datetime | None
    sync_error: str

    @property
    def chain_missing(self):
        """A periodic fabric whose chain has no entry in rq-scheduler and is not running either."""
        return self.periodic and self.next_run is None and self.sync_status != SyncStatusChoices.SYNCING

    def as_dict(self):
        data = asdict(self)
        for name, value in data.items():
            if isinstance(value, datetime):
                data[name] = value.isoformat()
        data['chain_missing'] = self.chain_missing
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
