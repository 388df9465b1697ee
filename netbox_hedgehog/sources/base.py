from dataclasses import dataclass, field


class SourceError(Exception):
    """A source could not be read; the message is shown to operators as the fabric's sync error."""


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
    kinds may be pruned from NetBox when they are missing from ``objects``.
    ``problems`` holds one readable line per object or file that had to be skipped.
    """

    source: str
    objects: list[ResourceObject]
    complete_kinds: set[str]
    revision: str = ''
    problems: list[str] = field(default_factory=list)
