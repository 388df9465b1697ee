from contextlib import contextmanager

import redis_lock

from ..settings import plugin_setting


def fabric_lock(connection, fabric_id):
    """Return the lock that keeps one sync per fabric at a time, across every worker sharing this Redis.

    It expires after ``lock_expire`` seconds unless renewed; the holder renews it from a
    background thread, so a killed worker frees its fabric within one expiry period.
    """
    return redis_lock.Lock(
        connection,
        name=f'netbox_hedgehog:fabric:{fabric_id}',
        expire=plugin_setting('lock_expire'),
        auto_renewal=True,
    )


def is_fabric_locked(connection, fabric_id):
    """True while some process holds the fabric's sync lock."""
    return fabric_lock(connection, fabric_id).locked()


@contextmanager
def holding_fabric_lock(connection, fabric_id, wait_seconds=0):
    """Hold the fabric's lock for the duration of the block; yields False when it could not be had."""
    lock = fabric_lock(connection, fabric_id)
    if wait_seconds:
        acquired = lock.acquire(blocking=True, timeout=wait_seconds)
    else:
        acquired = lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
