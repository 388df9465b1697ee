"""Credentials inside synced resources are replaced by a fingerprint before anything stores them.

Some Hedgehog objects carry secrets of their own: an Agent's ``spec.users[].password`` (a crypt
hash) and ``sshKeys``, the ``basicAuth.password`` and ``bearerToken`` of its (and the
Fabricator's) metrics/logs targets, the Fabricator's ``joinToken`` and ``authorizedKeys``. Both
sources pass every object through :func:`redact_resource` where they build it, so the database
and with it every surface (pages, REST, GraphQL, exports, run records, drift) holds only
``<redacted hmac:…>`` markers. The marker is a keyed fingerprint of the value (see
``netbox_hedgehog.fields.fingerprint``): equal values give equal markers, so a changed password
is still an update and Git-vs-cluster drift still compares like with like.

A key is sensitive when its name, case-insensitively, contains one of :data:`SENSITIVE_NAME_PARTS`
(the list was read off the CRDs in the Hedgehog 25.x API: ``grep -i 'password\\|token\\|key\\|secret'``).
Deliberately not redacted: ``caPEM``/``certPEM`` (public certificates), BGP communities
(``inboundCommunity``, ``outboundCommunity``, ``baseVPCCommunity``: routing tags, not SNMP
communities) and ``noPassAuth`` (a flag). The annotation
``kubectl.kubernetes.io/last-applied-configuration`` repeats the whole object, so it is redacted
the same way.
"""

import dataclasses
import json
import re

from ..fields import fingerprint

__all__ = ('SENSITIVE_NAME_PARTS', 'is_redacted', 'redact', 'redact_resource')

SENSITIVE_NAME_PARTS = ('password', 'passwd', 'secret', 'token', 'privatekey', 'sshkey', 'authorizedkey')
SENSITIVE_NAME = re.compile('|'.join(SENSITIVE_NAME_PARTS), re.IGNORECASE)
LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'
MARKER = re.compile(r'^<redacted hmac:[0-9a-f]{24}>$')


def _marker(value):
    return f'<redacted hmac:{fingerprint(json.dumps(value, sort_keys=True, separators=(",", ":")))}>'


def is_redacted(value):
    return isinstance(value, str) and bool(MARKER.match(value))


def redact(value):
    """``value`` with every sensitive key's value (a string, list or mapping) replaced by its marker."""
    if isinstance(value, dict):
        return {
            key: _marker(item)
            if isinstance(key, str) and SENSITIVE_NAME.search(key) and item not in (None, '', [], {})
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _redact_annotations(annotations):
    if LAST_APPLIED not in annotations:
        return annotations
    try:
        applied = json.dumps(redact(json.loads(annotations[LAST_APPLIED])), sort_keys=True)
    except (TypeError, ValueError):
        applied = _marker(annotations[LAST_APPLIED])
    return {**annotations, LAST_APPLIED: applied}


def redact_resource(obj):
    """The :class:`~netbox_hedgehog.sources.base.ResourceObject` with its spec, status and annotations redacted."""
    return dataclasses.replace(
        obj,
        spec=redact(obj.spec),
        status=redact(obj.status),
        annotations=_redact_annotations(obj.annotations),
    )
