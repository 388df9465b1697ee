"""The plugin's RQ queue and rq-scheduler, shared by every part of the scheduling."""

import django_rq
from rq import Queue
from rq_scheduler import Scheduler

QUEUE_NAME = 'netbox_hedgehog.hedgehog_sync'
SYNC_FUNCTION = 'netbox_hedgehog.scheduling.jobs.execute_fabric_sync'
CONNECTION_TEST_FUNCTION = 'netbox_hedgehog.scheduling.connection.check_fabric_connection'


def text(value):
    """A Redis reply as ``str`` (replies are bytes unless the client decodes them)."""
    return value.decode() if isinstance(value, bytes) else value


class QueueConnection:
    """The tasks Redis connection, the plugin's queue and rq-scheduler on it."""

    def __init__(self, connection=None):
        self.connection = connection or django_rq.get_connection(QUEUE_NAME)
        self.queue = Queue(QUEUE_NAME, connection=self.connection)
        self.scheduler = Scheduler(queue_name=QUEUE_NAME, connection=self.connection)
