"""A Kubernetes API for synchronous tests: kmock's emulator over real HTTP on 127.0.0.1.

kmock only runs inside an event loop, while the code under test (the official ``kubernetes``
client) is synchronous; :func:`kube_api` therefore runs the emulator on its own loop in a
background thread, and every change a test makes is applied on that loop::

    with kube_api() as api:
        api.add({'apiVersion': 'wiring.githedgehog.com/v1beta1', 'kind': 'Switch',
                 'metadata': {'name': 'leaf-01'}, 'spec': {'role': 'server-leaf'}})
        fabric = SimpleNamespace(pk=1, **api.fabric_fields())
        listing = list_fabric_resources(fabric)
        api.fail('Switch', 403)              # every later list of switches answers 403
        api.delay('VPC', 5)                  # every later list of VPCs answers 5 s late
        api.delay('VPC', None)               # ... and on time again (also wakes waiting requests)
        api.list_requests('Switch')          # the list requests so far (.params, .headers)

All Hedgehog kinds of ``FABRIC_KINDS`` are served unless ``kube_api(kinds=...)`` names fewer;
a kind that is not served answers 404 like on a cluster without its CRD.
"""

import asyncio
import contextlib
import itertools
import threading
import time
import uuid

import aiohttp.test_utils
import kmock
import yaml

from netbox_hedgehog.kinds import FABRIC_KINDS, KINDS_BY_NAME

TOKEN = 'kmock-test-token-0123456789'


class PagingKubernetesEmulator(kmock.KubernetesEmulator):
    """kmock's emulator plus the ``limit``/``continue`` list pagination of a real API server.

    The continue token is the offset of the next item in the (namespace, name) order of the
    listing the first page was cut from: like a real API server, the later pages come from the
    same snapshot (and a listing of 100,000 objects is sorted once, not once per page).
    ``list_delays`` (resource -> seconds) holds list answers back, like a slow or hanging
    API server; setting ``list_release`` wakes every request that is being held.
    """

    list_delays = None
    list_release = None
    list_arrivals = None
    list_snapshots = None

    async def _serve_list(self, request):
        if self.list_arrivals is None:
            self.list_arrivals = []
        self.list_arrivals.append((request.resource, time.time()))
        delay = (self.list_delays or {}).get(request.resource)
        if delay and self.list_release is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.list_release.wait(), delay)
        start = int(request.params.get('continue') or 0)
        snapshot = (request.resource, request.namespace)
        if self.list_snapshots is None:
            self.list_snapshots = {}
        if not start or snapshot not in self.list_snapshots:
            self.list_snapshots[snapshot] = ('...', self._listed_items(request))
        version, items = self.list_snapshots[snapshot]
        limit = int(request.params.get('limit') or 0)
        end = start + limit if limit else len(items)
        metadata = {'resourceVersion': version}
        if end < len(items):
            metadata['continue'] = str(end)
        return {'metadata': metadata, 'items': items[start:end]}

    def _listed_items(self, request):
        """The live objects of the request's resource and namespace in (namespace, name) order.

        kmock's own listing compares every stored object with the request several times over
        (seconds for 100,000 objects); one pass over the store does the same. A resource
        that is neither declared nor holds objects answers 404, as kmock's does.
        """
        resource, namespace = request.resource, request.namespace
        found = sorted(
            (key[1] or '', key[2], obj.raw)
            for key, obj in self._objects.items()
            if key[0] == resource and (namespace is None or key[1] == namespace) and not obj.deleted
        )
        if not found and resource not in kmock.KubernetesScaffold._get_resources(self):
            raise kmock.KubernetesResourceNotFoundError()
        return [raw for _namespace, _name, raw in found]


def resource_of(kind):
    """The kmock resource of a Hedgehog kind name such as ``'Switch'``."""
    info = KINDS_BY_NAME[kind]
    return kmock.resource(info.group, info.version, info.plural)


class KubeAPI:
    """A running emulated API; use it only inside ``with kube_api() as api``."""

    def __init__(self, emulator, url, loop):
        self.emulator = emulator
        self.url = url
        self._loop = loop
        self._versions = itertools.count(1)
        self._failures = {}

    def call(self, function, *args):
        """Run ``function(*args)`` on the emulator's event loop and return its result."""

        async def run():
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def add(self, obj):
        """Store (or replace) an object given as a full manifest; returns the stored copy.

        Like a real API server, it gets ``namespace: default`` if it has none, a uid on
        first creation and a new resourceVersion on every write.
        """
        metadata = dict(obj.get('metadata') or {})
        namespace = metadata.setdefault('namespace', 'default')
        key = (resource_of(obj['kind']), namespace, metadata['name'])

        def store():
            objects = self.emulator.objects
            if 'uid' not in metadata:
                existing = objects[key].get('metadata', {}) if key in objects and not objects[key].deleted else {}
                metadata['uid'] = existing.get('uid') or str(uuid.uuid4())
            metadata['resourceVersion'] = str(next(self._versions))
            stored = {**obj, 'metadata': metadata}
            self.emulator.objects[key] = stored
            return stored

        return self.call(store)

    def delete(self, kind, name, namespace='default'):
        """Remove an object, as ``kubectl delete`` would."""
        self.call(self.emulator.objects.__delitem__, (resource_of(kind), namespace, name))

    def fail(self, kind, status, reason='Failure'):
        """Make every later list request for ``kind`` answer ``status`` with a Kubernetes Status body."""
        body = {
            'apiVersion': 'v1',
            'kind': 'Status',
            'metadata': {},
            'status': 'Failure',
            'code': status,
            'reason': reason,
            'message': f'{reason} (scripted by the test)',
        }
        reaction = self.call(lambda: self.emulator['list', resource_of(kind)] << status << body)
        self._failures.setdefault(kind, []).append(reaction)

    def recover(self, kind):
        """Undo :meth:`fail` for ``kind``: its list requests are served normally again."""
        reactions = self._failures.pop(kind, [])

        def remove():
            for reaction in reactions:
                for root in reaction._walk(kmock.Root, unique=True):
                    root._payloads[:] = [payload for payload in root._payloads if payload is not reaction]

        self.call(remove)

    def delay(self, kind, seconds):
        """Make every later list request for ``kind`` answer ``seconds`` late (a large value: it hangs).

        ``seconds=None`` (or 0) ends the delay, and also answers the requests being held right now.
        """
        resource = resource_of(kind)

        def update():
            emulator = self.emulator
            if emulator.list_delays is None:
                emulator.list_delays = {}
            if seconds:
                if emulator.list_release is None or emulator.list_release.is_set():
                    emulator.list_release = asyncio.Event()
                emulator.list_delays[resource] = seconds
            else:
                emulator.list_delays.pop(resource, None)
                if not emulator.list_delays and emulator.list_release is not None:
                    emulator.list_release.set()

        self.call(update)

    def list_requests(self, kind):
        """Every list request made for ``kind`` so far, oldest first (kmock ``Request``: .params, .headers)."""
        resource = resource_of(kind)
        return self.call(
            lambda: [
                request
                for request in self.emulator
                if request.action == kmock.action.LIST and request.resource == resource
            ]
        )

    def forget_requests(self):
        """Drop the requests recorded so far (kmock keeps every request it served, in ``_requests``).

        kmock matches each new request against its record of past ones, so an emulator that
        serves listing after listing answers a little slower each time; a benchmark calls this
        between runs so that its tenth run is served as fast as its first, as by a real API server.
        """

        def forget():
            self.emulator._requests.clear()
            for reaction in self.emulator._payloads:
                reaction._requests.clear()

        self.call(forget)

    def list_arrivals(self, kind):
        """Wall-clock times (``time.time()``) at which list requests for ``kind`` reached the served listing."""
        resource = resource_of(kind)
        return self.call(lambda: [at for served, at in (self.emulator.list_arrivals or []) if served == resource])

    def fabric_fields(self, **overrides):
        """Fabric fields that point at this API with a bearer token."""
        return {
            'kubernetes_server': self.url,
            'kubernetes_token': TOKEN,
            'kubernetes_ca_cert': '',
            'kubernetes_namespace': 'default',
            'kubeconfig': '',
            'allow_insecure_transport': True,  # kmock serves plain http://
            **overrides,
        }

    def kubeconfig(self, token=TOKEN):
        """A kubeconfig (YAML text) whose current context points at this API."""
        return yaml.safe_dump(
            {
                'apiVersion': 'v1',
                'kind': 'Config',
                'clusters': [{'name': 'kmock', 'cluster': {'server': self.url}}],
                'users': [{'name': 'tester', 'user': {'token': token}}],
                'contexts': [{'name': 'kmock', 'context': {'cluster': 'kmock', 'user': 'tester'}}],
                'current-context': 'kmock',
            }
        )


class TLSTestServer(aiohttp.test_utils.RawTestServer):
    """aiohttp's test server with TLS: kmock takes the server class, but has no TLS option of its own."""

    ssl_context = None

    async def start_server(self, **kwargs):
        await super().start_server(ssl=self.ssl_context, **kwargs)


@contextlib.contextmanager
def kube_api(kinds=FABRIC_KINDS, ssl_context=None):
    """Serve an emulated Kubernetes API for the duration of the ``with`` block (over https:// with ``ssl_context``)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name='kmock', daemon=True)
    thread.start()

    async def start():
        emulator = PagingKubernetesEmulator()
        for kind in kinds:
            emulator.resources[kind.group, kind.version, kind.plural] = {'kind': kind.kind, 'namespaced': True}
        await emulator.__aenter__()
        if ssl_context is None:
            server = kmock.Server(emulator)
        else:
            server_cls = type('KubeAPITLSServer', (TLSTestServer,), {'ssl_context': ssl_context})
            server = kmock.Server(emulator, server_cls=server_cls)
        await server.__aenter__()
        return emulator, server

    async def stop(emulator, server):
        if emulator.list_release is not None:  # answer held requests, or the server waits for them
            emulator.list_release.set()
        await server.__aexit__(None, None, None)
        await emulator.__aexit__(None, None, None)

    try:
        emulator, server = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
        try:
            yield KubeAPI(emulator, str(server.url).rstrip('/'), loop)
        finally:
            asyncio.run_coroutine_threadsafe(stop(emulator, server), loop).result(timeout=10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
