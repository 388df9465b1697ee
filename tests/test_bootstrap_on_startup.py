"""``ready()`` bootstraps the chains without ever blocking or crashing the process that starts."""

import logging
import threading

import pytest
import redis
from django.db import OperationalError
from redis.backoff import NoBackoff
from redis.retry import Retry

from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.scheduling import bootstrap


@pytest.fixture
def startup(monkeypatch, settings):
    """Pretend to be a starting web process with bootstrap_on_ready on; return the bootstrap thread."""
    monkeypatch.setitem(settings.PLUGINS_CONFIG['netbox_hedgehog'], 'bootstrap_on_ready', True)
    monkeypatch.setattr('sys.argv', ['netbox', 'runserver'])

    threads = []

    class RecordingThread(threading.Thread):
        def start(self):
            threads.append(self)
            super().start()

    monkeypatch.setattr(bootstrap.threading, 'Thread', RecordingThread)

    def start(went_on=None):
        """Start up; ``went_on`` (an Event) is set once the starting process has gone on."""
        bootstrap.bootstrap_on_startup()
        if went_on:
            went_on.set()
        (thread,) = threads
        thread.join(timeout=120)
        assert not thread.is_alive()

    return start


@pytest.mark.django_db(transaction=True)
def test_unreachable_redis_is_logged_not_raised(startup, monkeypatch, caplog):
    HedgehogFabric.objects.create(name='waiting', git_repository_url='/repo')
    went_on = threading.Event()
    waited = []

    def unreachable_redis(*args, **kwargs):
        # Held until the starting process has gone on: a start-up that waited for Redis would wait here in vain.
        waited.append(went_on.wait(timeout=60))
        # No retries: redis-py's default back-off would spend ~4 s on a refusal that is certain.
        return redis.Redis(host='127.0.0.1', port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))

    monkeypatch.setattr('django_rq.get_connection', unreachable_redis)

    with caplog.at_level(logging.WARNING, logger='netbox_hedgehog.scheduling'):
        startup(went_on)

    assert waited and all(waited)  # the process went on at once; the thread did the waiting
    assert 'Could not bootstrap the fabric sync chains' in caplog.text
    assert 'start_periodic_sync --bootstrap' in caplog.text


@pytest.mark.django_db(transaction=True)
def test_unavailable_database_is_logged_not_raised(startup, monkeypatch, caplog):
    def database_down(*args, **kwargs):
        raise OperationalError('connection refused')

    monkeypatch.setattr(HedgehogFabric.objects, 'all', database_down)

    with caplog.at_level(logging.WARNING, logger='netbox_hedgehog.scheduling'):
        startup()

    assert 'connection refused' in caplog.text


@pytest.mark.parametrize('command', ['migrate', 'makemigrations', 'collectstatic'])
def test_maintenance_commands_do_not_bootstrap(monkeypatch, settings, command):
    monkeypatch.setitem(settings.PLUGINS_CONFIG['netbox_hedgehog'], 'bootstrap_on_ready', True)
    monkeypatch.setattr('sys.argv', ['netbox', command])
    before = threading.active_count()

    bootstrap.bootstrap_on_startup()

    assert threading.active_count() == before
