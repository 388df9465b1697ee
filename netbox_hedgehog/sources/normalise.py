"""Checks that decide whether a source object can be stored, shared by the sources.

A source hands over whatever its input held: YAML in Git turns unquoted dates into
``datetime.date``, ``on:`` into the key ``True``, ``.nan`` into a float that JSON cannot
hold, and nothing bounds a name's length. Stored as is, such an object fails the run's
transaction (and so every other object of the fabric) or is rewritten on every run.
:func:`object_problem` names what is wrong so that the source can skip just that object.
"""

import datetime
import math

# Deeper nesting than this is refused: no Hedgehog object comes close, and the JSON encoder recurses.
MAX_DEPTH = 64
# The HedgehogResource columns a source fills from the object's own text.
TEXT_COLUMNS = {
    'api_version': 'apiVersion',
    'kind': 'kind',
    'namespace': 'metadata.namespace',
    'name': 'metadata.name',
    'source_path': 'the file path',
}
JSON_FIELDS = {'spec': 'spec', 'status': 'status', 'labels': 'metadata.labels', 'annotations': 'metadata.annotations'}
STRING_MAPS = ('labels', 'annotations')


def object_problem(obj):
    """Why ``obj`` (a :class:`~netbox_hedgehog.sources.base.ResourceObject`) cannot be stored; None if it can."""
    from ..models import HedgehogResource

    for column, label in TEXT_COLUMNS.items():
        value = getattr(obj, column)
        if not isinstance(value, str):
            return f'{label} must be text, not {_shown(value)} (quote it)'
        limit = HedgehogResource._meta.get_field(column).max_length
        if len(value) > limit:
            return f'{label} is {len(value)} characters long; at most {limit} fit'
        problem = _text_problem(value)
        if problem:
            return f'{label} {problem}'
    for field, label in JSON_FIELDS.items():
        value = getattr(obj, field)
        if not isinstance(value, dict):
            return f'{label} must be a mapping, not {_shown(value)}'
        problem = json_problem(value, label)
        if problem:
            return problem
    for field in STRING_MAPS:
        for key, value in getattr(obj, field).items():
            if not isinstance(value, str):
                return f'{JSON_FIELDS[field]}.{key} must be text, not {_shown(value)} (quote it)'
    return None


def json_problem(value, path):
    """Why ``value`` is not plain JSON that stores and compares as it was read; None if it is.

    Walks iteratively (no recursion on hostile depth) and names the first offending place.
    """
    stack = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f'{where}: nested deeper than {MAX_DEPTH} levels'
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return (
                        f'{where}: the key {_shown(key)} is not text (YAML reads unquoted on, off, yes, no, '
                        'true, false and numbers as values; quote the key)'
                    )
                problem = _text_problem(key)
                if problem:
                    return f'{where}: a key {problem}'
                stack.append((child, f'{where}.{key}', depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f'{where}[{index}]', depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return f'{where} {problem}'
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f'{where}: {item} is not a JSON number'
        elif isinstance(item, (datetime.date, datetime.datetime)):
            return f'{where}: {item.isoformat()} was read as a date/time, which JSON cannot hold (quote it)'
        elif item is not None and not isinstance(item, (bool, int)):
            return f'{where}: {_shown(item)} is not a JSON value'
    return None


def _text_problem(text):
    if '\x00' in text:
        return 'contains a NUL character'
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return 'is not valid Unicode'
    return None


def _shown(value):
    """A short description of a value for a message: its YAML-ish type and (short) text."""
    kind = type(value).__name__
    text = repr(value)
    return f'{kind} {text[:40]}{"…" if len(text) > 40 else ""}'
