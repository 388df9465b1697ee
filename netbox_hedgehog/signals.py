"""Keep a fabric's schedule in step with its settings the moment they are saved."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import HedgehogFabric

logger = logging.getLogger('netbox_hedgehog.scheduling')


def _update_schedule(action):
    try:
        from .scheduling.scheduler import FabricScheduler

        action(FabricScheduler())
    except Exception:
        # The edit itself succeeded; the watchdog or the next bootstrap repairs the schedule.
        logger.exception('Could not update the sync schedule')


@receiver(post_save, sender=HedgehogFabric)
def reschedule_fabric(sender, instance, **kwargs):
    """A saved fabric gets its chain created, moved to its new interval, or ended."""
    transaction.on_commit(lambda: _update_schedule(lambda scheduler: scheduler.ensure(instance, reanchor=True)))


@receiver(post_delete, sender=HedgehogFabric)
def unschedule_fabric(sender, instance, **kwargs):
    """A deleted fabric's chain entry is removed."""
    fabric_id = instance.pk
    transaction.on_commit(lambda: _update_schedule(lambda scheduler: scheduler.cancel(fabric_id)))
