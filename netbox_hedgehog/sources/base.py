"""What every source shares: the normalised object and listing, the error type, and the registry of source classes."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ..choices import ResourceSourceChoices
from ..errors import SourceError


@dataclass(frozen=True)
class ResourceObject:
    """One custom resource, normalised to the same shape whichever source it came from."""

    api_version: str
    kind: str
    namespace: str
    name: str
    spec: dict
    status: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    resource_version: str = ''
    uid: str = ''
    source_path: str = ''

    @property
    def key(self):
        return (self.kind, self.namespace, self.name)


@dataclass
class SourceListing:
    """Everything one source holds for a fabric, as read in one sync run.

    ``objects`` holds each key (kind, namespace, name) once; a source that meets a second
    definition of an object keeps the first and reports the other in ``problems``.

    ``complete_kinds`` names the kinds that were listed completely; only objects of those
    kinds may be pruned from NetBox when they are missing from ``objects`` and ``unchanged``.
    ``unchanged`` holds the keys of listed objects the source found unchanged since NetBox stored
    them (same uid and resourceVersion, same Git file), which it therefore did not build again.
    ``problems`` holds one readable line per object or file that had to be skipped.
    ``read_at`` is when the source was read; ``parse_seconds`` the part of the read spent
    turning what it returned into objects. ``state`` is what the source keeps on the fabric
    between runs (its ``state_field``), as of this listing.
    """

    source: str
    objects: list[ResourceObject]
    complete_kinds: set[str]
    revision: str = ''
    problems: list[str] = field(default_factory=list)
    unchanged: set[tuple] = field(default_factory=set)
    read_at: datetime | None = None
    parse_seconds: float = 0.0
    state: dict | None = None

    def kinds(self):
        """How many objects of each kind the source listed, built or not."""
        return Counter(obj.kind for obj in self.objects) + Counter(kind for kind, _namespace, _name in self.unchanged)


@dataclass
class SourceCheck:
    """The outcome of one source's "Test connection" probe."""

    ok: bool
    message: str

    def __str__(self):
        return f'{"OK" if self.ok else "FAILED"} - {self.message}'


class NoSourceConfigured(SourceError):
    """The fabric has none of the registered sources configured, so there is nothing to read or test."""


class Source:
    """One place a fabric's objects are read from, in the way NetBox's ``DataBackend`` is one place data is synced from.

    A subclass is registered with :func:`register_source` and owns everything that differs between
    sources: whether the fabric configures it, reading it, probing it for "Test connection", and the
    words used for it in run records and messages. Callers iterate :func:`configured_sources` and never
    name a source.

    Attributes:
        name: The ``ResourceSourceChoices`` value: ``SourceListing.source`` and the source stored on each resource
        label: How errors, problems and test results name the source
        step: The run's ``step_durations`` key for reading the source
        parse_step: The ``step_durations`` key for the part of the read that builds the objects
        state_field: The fabric field the source keeps its listing's ``state`` in, if it keeps one
        revision_field: The ``SyncResult`` attribute (and sync run field) that records the listing's revision
        read_at_field: The fabric field holding when a sync last read the source (its rows' ``last_seen``)
        setup_hint: What the operator sets to configure the source, for the "No source configured" message
    """

    name = None
    label = None
    step = None
    revision_field = None
    read_at_field = None
    parse_step = None
    state_field = None
    setup_hint = None

    def __init__(self, fabric):
        self.fabric = fabric

    @classmethod
    def is_configured(cls, fabric):
        """True when the fabric holds enough settings for this source to be read."""
        raise NotImplementedError

    def fetch(self, stored=None) -> SourceListing:
        """Read everything the source holds for the fabric; raises :class:`SourceError` when it cannot be read.

        ``stored`` maps the key of each row NetBox holds from this source to that row (``pk``, ``uid``,
        ``resource_version``, ``source_path``, ``last_listed``); a source may put the objects it can
        tell are unchanged since into the listing's ``unchanged`` instead of building them.
        None asks for every object in full.
        """
        raise NotImplementedError

    def probe(self) -> SourceCheck:
        """One cheap call that proves the source can be reached with the fabric's settings, for "Test connection".

        Raising :class:`SourceError` (settings that cannot be used at all, say) counts as a failed check.
        """
        raise NotImplementedError

    def describe(self, text):
        """Prefix an error, a problem or a test result with the label, so the operator knows where it came from."""
        return f'{self.label}: {text}'


registry = {}


def register_source(cls):
    """Register a :class:`Source` subclass under its ``name``, as NetBox's ``register_data_backend`` does backends."""
    registry[cls.name] = cls
    return cls


def source_classes():
    """The registered sources in ``ResourceSourceChoices`` order: the order a run reads and reports them in."""
    return [registry[name] for name in ResourceSourceChoices.values()]


def configured_sources(fabric):
    """One :class:`Source` per source the fabric configures.

    Raises :class:`NoSourceConfigured`, naming what may be set, when the fabric configures none: the one place
    that message is worded, for both sync runs and "Test connection".
    """
    classes = source_classes()
    sources = [cls(fabric) for cls in classes if cls.is_configured(fabric)]
    if not sources:
        hints = ' or '.join(cls.setup_hint for cls in classes)
        raise NoSourceConfigured(f'No source configured: set {hints}.')
    return sources
