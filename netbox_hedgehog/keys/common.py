"""Small, forgiving readers shared by the per-group key extractors.

Every helper accepts anything (a source may hand over odd shapes) and returns a value that
fits its column, or the column's default.
"""

import re
from datetime import UTC, datetime, timedelta, timezone

# max_length of the HedgehogResource key-field columns (and of their array elements)
MAX_LENGTH = {
    'role': 50,
    'profile': 253,
    'connection_type': 30,
    'devices': 253,
    'ports': 300,
    'subnets': 64,
    'vpc': 253,
    'connection': 253,
    'ipv4_namespace': 253,
    'vlan_namespace': 253,
}
MAX_ASN = 2**32 - 1
MAX_INT64 = 2**63 - 1


def mapping(value):
    """``value`` if it is a dict, else an empty dict."""
    return value if isinstance(value, dict) else {}


def sequence(value):
    """``value`` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def dig(value, *path):
    """``value[path[0]][path[1]]…`` through dicts only; None where the path breaks."""
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def text(value, column):
    """A non-empty string cut to the column's max_length; '' for anything else."""
    if not isinstance(value, str):
        return ''
    return value[: MAX_LENGTH[column]]


def texts(values, column):
    """The strings of a list, each cut to the column's max_length; empty ones and repeats dropped, order kept."""
    seen = []
    for value in values if isinstance(values, (list, tuple)) else ():
        value = text(value, column)
        if value and value not in seen:
            seen.append(value)
    return seen


def integer(value, minimum=0, maximum=MAX_INT64):
    """An int (never a bool) within [minimum, maximum], else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if minimum <= value <= maximum else None


def asn(value):
    return integer(value, 0, MAX_ASN)


_TIMESTAMP = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$'
)


def timestamp(value):
    """An RFC 3339 time (or a datetime, as YAML loaders produce) as an aware datetime; None otherwise.

    Fractions finer than microseconds are cut; a time without an offset is taken as UTC.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    tz = UTC
    if offset and offset not in ('Z', 'z'):
        digits = offset[1:].replace(':', '')
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-delta if offset[0] == '-' else delta)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            min(int(second), 59),
            int((fraction or '0')[:6].ljust(6, '0')),
            tzinfo=tz,
        )
    except (ValueError, OverflowError):
        return None


def device_of(port):
    """The device part of a ``device/port`` string; '' when there is none."""
    device, slash, rest = port.partition('/')
    return device if slash and rest else ''
