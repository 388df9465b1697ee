"""One sync per fabric at a time: a Redis lock across workers, and a fence before a run writes anything."""

import logging
import threading
from contextlib import contextmanager

import redis_lock
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from redis.exceptions import RedisError

from ..settings import plugin_setting

logger = logging.getLogger('netbox_hedgehog.sync')

# PostgreSQL advisory locks are keyed (namespace, id): this namespace is the plugin's fabric applies.
APPLY_LOCK_NAMESPACE = 0x4E4248  # "NBH"


class LockLost(Exception):
    """This run no longer holds its fabric's lock (it expired or Redis lost it): another sync may be running."""


class FabricLock(redis_lock.Lock):
    """python-redis-lock's lock, with a renewal that survives Redis errors and notices when the lock is lost.

    Upstream's renewal thread dies on the first Redis error and nobody notices: the lock then
    expires while its holder keeps syncing, and a second sync of the fabric can start. This
    renewer retries at its next turn after an error (the key outlives one missed renewal) and
    records a lock that is gone, and :meth:`confirm` proves the lock is still held right now.
    """

    def __init__(self, connection, fabric_id):
        super().__init__(
            connection,
            name=f'netbox_hedgehog:fabric:{fabric_id}',
            expire=plugin_setting('lock_expire'),
            auto_renewal=True,
        )
        self.lost = threading.Event()

    @staticmethod
    def _lock_renewer(name, lockref, interval, stop):
        while not stop.wait(timeout=interval):
            lock = lockref()
            if lock is None:
                break
            try:
                lock.extend()
            except redis_lock.NotAcquired:
                logger.error('Lost %s: it expired or was taken while its sync ran', name)
                lock.lost.set()
                break
            except RedisError as exc:
                logger.warning('Could not renew %s (%s); trying again in %.0f s', name, exc, interval)
            del lock

    def confirm(self):
        """Renew the lock now, giving its holder a full expiry period; raise :class:`LockLost` if it is not ours."""
        if self.lost.is_set():
            raise LockLost(f'{self._name} was lost while the sync ran')
        try:
            self.extend()
        except (redis_lock.NotAcquired, RedisError) as exc:
            self.lost.set()
            raise LockLost(f'{self._name} is no longer held by this sync: {exc}') from exc


def fabric_lock(connection, fabric_id):
    """Return the lock that keeps one sync per fabric at a time, across every worker sharing this Redis.

    It expires after ``lock_expire`` seconds unless renewed; the holder renews it from a
    background thread, so a killed worker frees its fabric within one expiry period.
    """
    return FabricLock(connection, fabric_id)


def is_fabric_locked(connection, fabric_id):
    """True while some process holds the fabric's sync lock."""
    return fabric_lock(connection, fabric_id).locked()


@contextmanager
def holding_fabric_lock(connection, fabric_id, wait_seconds=0):
    """Hold the fabric's lock for the duration of the block; yields the lock, or None when it could not be had.

    A lock that expired before the block ended is logged, not raised: the run's writes were
    fenced (see :func:`apply_fence`), so only the release came too late.
    """
    lock = fabric_lock(connection, fabric_id)
    if wait_seconds:
        acquired = lock.acquire(blocking=True, timeout=wait_seconds)
    else:
        acquired = lock.acquire(blocking=False)
    try:
        yield lock if acquired else None
    finally:
        if acquired:
            try:
                lock.release()
            except (redis_lock.NotAcquired, RedisError) as exc:
                logger.warning('Could not release the lock of fabric %s (%s); it expires on its own', fabric_id, exc)


def apply_fence(lock, fabric_id):
    """The check a run makes inside its apply transaction, before writing anything.

    It first takes a PostgreSQL transaction lock for the fabric, so two applies of one fabric
    never interleave even if Redis misbehaves, then proves the Redis lock is still this run's
    (renewing it). A run that lost its lock raises :class:`LockLost` and its transaction rolls back.
    """

    def fence():
        with db_connection.cursor() as cursor:
            cursor.execute('SELECT pg_advisory_xact_lock(%s, %s)', _apply_lock_key(fabric_id))
        lock.confirm()

    return fence


def _apply_lock_key(fabric_id):
    return [APPLY_LOCK_NAMESPACE, fabric_id % 2**31]


def stop_applies(fabric_id, attempts=20):
    """Keep syncs of the fabric from writing until the caller's transaction ends; end the one writing now.

    A fabric's deletion takes this before it locks the fabric: it would otherwise wait for a
    running sync's writes (seconds on a large fabric) only to remove them. The writing sync is
    found by the advisory lock :func:`apply_fence` holds, so nothing else is touched; ending its
    database session rolls its transaction back at once, even between two of its queries, and
    the sync ends without a record (see ``scheduling.jobs``). Where this database role may not
    end other sessions, the deletion waits for the sync instead.
    """
    with db_connection.cursor() as cursor:
        for _ in range(attempts):
            cursor.execute('SELECT pg_try_advisory_xact_lock(%s, %s)', _apply_lock_key(fabric_id))
            if cursor.fetchone()[0]:
                return
            try:
                with transaction.atomic():
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid, 1000) FROM pg_locks WHERE locktype = 'advisory' "
                        'AND granted AND classid = %s AND objid = %s AND objsubid = 2',
                        _apply_lock_key(fabric_id),
                    )
            except DatabaseError as exc:
                logger.warning('Could not end the sync writing to fabric %s (%s); waiting for it', fabric_id, exc)
                break
        cursor.execute('SELECT pg_advisory_xact_lock(%s, %s)', _apply_lock_key(fabric_id))
