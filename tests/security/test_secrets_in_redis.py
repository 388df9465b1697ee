"""No credential reaches Redis or a stored message, even when a source fails in a way nobody foresaw.

The jobs run in a real (in-process) RQ worker, so their results, failures and tracebacks land in
Redis as they would in production; then every key of the tests' Redis database is read and searched.
"""

import base64
import binascii
import zlib

import pytest
from rq import Queue, SimpleWorker

from netbox_hedgehog.choices import ConnectionStatusChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, SyncRun
from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME, FabricScheduler
from netbox_hedgehog.sources.git import GitSource
from netbox_hedgehog.sources.kubernetes import KubernetesSource

pytestmark = pytest.mark.django_db

TOKEN = 'redis-scan-secret-token-0123456789'
GIT_TOKEN = 'redis-scan-git-token-9876543210'


def everything_in(redis):
    """Every value stored in the Redis database, decompressed where RQ compressed it."""
    values = []
    for key in redis.scan_iter():
        kind = redis.type(key).decode()
        if kind == 'string':
            values.append(redis.get(key))
        elif kind == 'hash':
            values.extend(redis.hgetall(key).values())
        elif kind == 'list':
            values.extend(redis.lrange(key, 0, -1))
        elif kind == 'set':
            values.extend(redis.smembers(key))
        elif kind == 'zset':
            values.extend(redis.zrange(key, 0, -1))
        elif kind == 'stream':
            values.extend(value for _id, fields in redis.xrange(key) for value in fields.values())
    return [text for value in values for text in readings(value)]


def readings(value):
    """The value as stored, and as RQ may have encoded it (zlib, base64): a secret must be in none."""
    found = [value]
    for decode in (zlib.decompress, base64.b64decode, lambda data: zlib.decompress(base64.b64decode(data))):
        try:
            found.append(decode(value))
        except (zlib.error, binascii.Error, ValueError):
            pass
    return [item.decode(errors='replace') for item in found]


def leaking(*_args, **_kwargs):
    raise RuntimeError(f'header value {TOKEN!r} / https://user:{GIT_TOKEN}@git.example.com/x.git')


@pytest.fixture
def fabric():
    return HedgehogFabric.objects.create(
        name='scanned',
        kubernetes_server='https://127.0.0.1:9',
        kubernetes_token=TOKEN,
        git_repository_url='https://git.example.com/org/fabric.git',
        git_token=GIT_TOKEN,
        scheduler_enabled=False,
    )


def run_queued_jobs(redis):
    SimpleWorker([Queue(QUEUE_NAME, connection=redis)], connection=redis).work(burst=True)


def test_a_connection_test_failing_unexpectedly_keeps_no_secret(fabric, tasks_redis, monkeypatch, caplog):
    monkeypatch.setattr(KubernetesSource, 'probe', leaking)
    monkeypatch.setattr(GitSource, 'probe', leaking)

    FabricScheduler().trigger_connection_test(fabric)
    run_queued_jobs(tasks_redis)

    fabric.refresh_from_db()
    assert fabric.connection_status == ConnectionStatusChoices.FAILED
    assert 'unexpected error: RuntimeError' in fabric.connection_message
    stored = [fabric.connection_message, *everything_in(tasks_redis), caplog.text]
    assert any('RuntimeError' in text for text in stored[1:-1]), 'the job result is not in Redis: nothing was scanned'
    assert not [text for text in stored if TOKEN in text or GIT_TOKEN in text]


def test_a_sync_failing_unexpectedly_keeps_no_secret(fabric, tasks_redis, monkeypatch, caplog):
    monkeypatch.setattr(KubernetesSource, 'fetch', leaking)
    monkeypatch.setattr(GitSource, 'fetch', leaking)

    FabricScheduler().trigger_now(fabric)
    run_queued_jobs(tasks_redis)

    run = SyncRun.objects.get(fabric=fabric, trigger=SyncTriggerChoices.MANUAL)
    fabric.refresh_from_db()
    assert 'RuntimeError' in run.error
    stored = [run.error, fabric.sync_error, *everything_in(tasks_redis), caplog.text]
    assert not [text for text in stored if TOKEN in text or GIT_TOKEN in text]
