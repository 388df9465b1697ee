"""Keep a fabric's schedule in step with its settings the moment they are saved."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .models import HedgehogFabric

logger = logging.getLogger('netbox_hedgehog.scheduling')

# The fields that decide when a fabric's chain runs: only a change to one of them re-anchors it.
SCHEDULE_FIELDS = ('sync_enabled', 'scheduler_enabled', 'sync_interval')


def _update_schedule(action):
    try:
        from .scheduling.scheduler import FabricScheduler

        action(FabricScheduler())
    except Exception:
        # The edit itself succeeded; the watchdog or the next bootstrap repairs the schedule.
        logger.exception('Could not update the sync schedule')


def _schedule_of(values):
    return tuple(values[name] for name in SCHEDULE_FIELDS)


@receiver(pre_save, sender=HedgehogFabric)
def remember_schedule(sender, instance, **kwargs):
    """Note the stored schedule fields, so that ``post_save`` can tell whether the edit changed them."""
    stored = HedgehogFabric.objects.filter(pk=instance.pk).values(*SCHEDULE_FIELDS).first() if instance.pk else None
    instance._stored_schedule = _schedule_of(stored) if stored else None


@receiver(post_save, sender=HedgehogFabric)
def reschedule_fabric(sender, instance, **kwargs):
    """A saved fabric gets its chain created or ended; it is moved only when its interval or switches changed."""
    stored = getattr(instance, '_stored_schedule', None)
    reanchor = stored is not None and stored != _schedule_of(vars(instance))
    transaction.on_commit(lambda: _update_schedule(lambda scheduler: scheduler.ensure(instance, reanchor=reanchor)))


@receiver(post_delete, sender=HedgehogFabric)
def unschedule_fabric(sender, instance, **kwargs):
    """A deleted fabric's chain entry is removed."""
    fabric_id = instance.pk
    transaction.on_commit(lambda: _update_schedule(lambda scheduler: scheduler.cancel(fabric_id)))
