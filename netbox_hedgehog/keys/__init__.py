"""Key fields of each Hedgehog kind, lifted out of spec/status into real columns of HedgehogResource.

``key_fields(kind, spec, status)`` always returns every name of ``KEY_FIELD_DEFAULTS`` (lists fresh
for each call); odd or partial shapes give defaults, never an exception (a sync must not fail on
them). Each API group has its module with an ``EXTRACTORS`` dict (kind -> function); a kind none of
them names gets the defaults.

``name`` (the object's metadata.name) is optional: kinds whose key fields are in their name rather
than their spec use it — an Agent's switch, a DHCPSubnet's VPC when ``spec.subnet`` is missing.
"""

import logging
from datetime import datetime

from . import agent, dhcp, gateway, vpc, wiring
from .common import MAX_LENGTH, asn, integer, mapping, text, texts

logger = logging.getLogger('netbox_hedgehog.keys')

KEY_FIELD_DEFAULTS = {
    'role': '',
    'asn': None,
    'profile': '',
    'connection_type': '',
    'devices': [],
    'ports': [],
    'subnets': [],
    'vpc': '',
    'connection': '',
    'ipv4_namespace': '',
    'vlan_namespace': '',
    'heartbeat': None,
    'applied_generation': None,
}

EXTRACTORS = {}
for _module in (wiring, vpc, dhcp, agent, gateway):
    EXTRACTORS.update(_module.EXTRACTORS)


def _fit(name, value):
    """``value`` made to fit column ``name``; the column's default when it cannot."""
    if name == 'asn':
        return asn(value)
    if name == 'applied_generation':
        return integer(value)
    if name == 'heartbeat':
        return value if isinstance(value, datetime) and value.tzinfo is not None else None
    if isinstance(KEY_FIELD_DEFAULTS[name], list):
        return texts(value, name)
    if name in MAX_LENGTH:
        return text(value, name)
    return KEY_FIELD_DEFAULTS[name]


def defaults():
    """A fresh copy of ``KEY_FIELD_DEFAULTS`` (its lists are new objects)."""
    return {name: (list(value) if isinstance(value, list) else value) for name, value in KEY_FIELD_DEFAULTS.items()}


def key_fields(kind, spec, status, *, name=''):
    """The key-field columns of one object of ``kind`` (all of them; defaults where the kind has none)."""
    fields = defaults()
    extractor = EXTRACTORS.get(kind)
    if extractor is None:
        return fields
    try:
        found = extractor(mapping(spec), mapping(status), name if isinstance(name, str) else '')
    except Exception:  # an odd shape the extractor did not foresee: defaults, never a failed sync
        logger.warning('Could not read the key fields of a %s %r; using defaults', kind, name, exc_info=True)
        return fields
    for field, value in mapping(found).items():
        if field in fields:
            fields[field] = _fit(field, value)
    return fields
