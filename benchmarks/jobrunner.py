"""The fabric sync as NetBox's own recurring background job, for ``benchmarks.schedule_precision`` only.

Imported after Django is set up (``netbox.jobs`` needs the apps loaded); the workers import it
by name when they run a job enqueued from here.
"""

from netbox.jobs import JobRunner

from netbox_hedgehog.choices import SyncTriggerChoices
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync


class FabricSyncJobRunner(JobRunner):
    """One fabric's sync, repeated by ``JobRunner.handle`` every ``interval`` minutes (whole minutes only)."""

    class Meta:
        name = 'Fabric sync (JobRunner comparison)'

    def run(self, fabric_id, **kwargs):
        execute_fabric_sync(fabric_id, trigger=SyncTriggerChoices.MANUAL)
