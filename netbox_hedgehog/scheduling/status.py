"""What operators ask of the scheduling: is each fabric healthy, when did it run, when does it run next."""

from dataclasses import asdict, dataclass
from datetime import datetime

from ..choices import SyncStatusChoices
from .health import ProcessHealth


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
    last_sync_planned: datetime | None
    last_successful_sync: datetime | None
    next_run: datetime | None
    sync_error: str

    @property
    def lateness(self):
        """Seconds between the last periodic run's planned and actual start."""
        if self.last_sync is None or self.last_sync_planned is None:
            return None
        return (self.last_sync - self.last_sync_planned).total_seconds()

    @property
    def chain_missing(self):
        """A periodic fabric whose chain has no entry in rq-scheduler and is not running either."""
        return self.periodic and self.next_run is None and self.sync_status != SyncStatusChoices.SYNCING

    def as_dict(self):
        data = asdict(self)
        for name, value in data.items():
            if isinstance(value, datetime):
                data[name] = value.isoformat()
        data['lateness_seconds'] = self.lateness
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
